import numpy as np
import pytest

from zeroskip.models.codecs import check_nm
from zeroskip.nn.mlp import init_weights
from zeroskip.nn.pruning import NM_VARIANTS, UNSTRUCTURED_VARIANTS, pruning_masks


@pytest.mark.parametrize("variant", NM_VARIANTS)
def test_nm_masks_keep_the_n_largest_of_every_m_along_k(variant):
    n, m = NM_VARIANTS[variant]
    weights = init_weights(seed=1)
    weights[1][4:8, 3] = 0.0  # exact zeros are still ranked: the count stays N
    for w, mask in zip(weights, pruning_masks(weights, variant)):
        k, cols = w.shape
        groups = mask.reshape(k // m, m, cols)       # K is the row axis: groups of M rows
        assert np.all(groups.sum(axis=1) == n)
        check_nm(np.where(mask, 1, 0), n, m)
        mag = np.abs(w).reshape(k // m, m, cols)
        kept_min = np.where(groups, mag, np.inf).min(axis=1)
        dropped_max = np.where(groups, -np.inf, mag).max(axis=1)
        assert np.all(kept_min >= dropped_max)


@pytest.mark.parametrize("variant", UNSTRUCTURED_VARIANTS)
def test_unstructured_levels_are_exact(variant):
    level = UNSTRUCTURED_VARIANTS[variant]
    weights = init_weights(seed=2)
    for w, mask in zip(weights, pruning_masks(weights, variant)):
        assert (~mask).sum() == round(level * w.size)
        assert np.abs(w[mask]).min() >= np.abs(w[~mask]).max()


def test_dense_keeps_all_and_unknown_variants_are_named():
    weights = init_weights(seed=0)
    assert all(m.all() for m in pruning_masks(weights, "dense"))
    with pytest.raises(ValueError, match=r"pruning variant must be one of dense, 2:4, .*not '3:4'"):
        pruning_masks(weights, "3:4")
