from itertools import combinations

import numpy as np
import pytest

from zeroskip.models.codecs import check_nm
from zeroskip.nn.mlp import init_weights
from zeroskip.nn.pruning import (NM_VARIANTS, UNSTRUCTURED_VARIANTS, layer_error, prune_layer,
                                 prune_scores, pruning_masks)


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


# Activation-aware (Wanda-style) scoring and the error pruning adds to a layer --------------

def test_activation_score_is_magnitude_times_input_norm():
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(8, 3)), rng.normal(size=(20, 8))
    expected = np.abs(w) * np.sqrt((x ** 2).sum(axis=0))[:, None]
    np.testing.assert_allclose(prune_scores(w, "activation", x), expected)
    np.testing.assert_array_equal(prune_scores(w, "magnitude"), np.abs(w))


def test_activation_pruning_keeps_the_best_n_of_m_by_score():
    """Brute force per group: the kept N weights of every M consecutive K positions of a
    column are those of the largest scores, and the result is N:M sparse."""
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=(16, 5)), rng.normal(size=(30, 16)) * rng.uniform(0.1, 5, 16)
    pruned = prune_layer(w, "2:4", score="activation", calibration=x)
    check_nm(pruned, 2, 4)
    scores = prune_scores(w, "activation", x)
    for c in range(5):
        for g in range(0, 16, 4):
            best = max(combinations(range(4), 2),
                       key=lambda keep: scores[g + np.array(keep), c].sum())
            kept = tuple(np.flatnonzero(pruned[g:g + 4, c]))
            assert kept == best, (c, g)


def test_activation_scoring_cuts_the_layer_error_on_uneven_inputs():
    """Inputs whose features differ in scale (as a real layer's do): scoring by |W|·‖X‖
    leaves less output error than |W| alone, for 2:4 and 1:4, on held-out inputs too."""
    rng = np.random.default_rng(2)
    scale = rng.lognormal(0, 1.2, size=64)
    w = rng.normal(size=(64, 32))
    calib, held_out = (rng.normal(size=(200, 64)) * scale for _ in range(2))
    for variant in ("2:4", "1:4"):
        errors = {score: layer_error(held_out, w, prune_layer(w, variant, score=score,
                                                               calibration=calib))
                  for score in ("magnitude", "activation")}
        assert errors["activation"]["relative_error"] < errors["magnitude"]["relative_error"]
        assert errors["activation"]["cosine"] > errors["magnitude"]["cosine"]


def test_layer_error_and_bad_scoring_input():
    x, w = np.eye(3), np.diag([3.0, 4.0, 0.0])
    assert layer_error(x, w, w) == {"relative_error": 0.0, "cosine": pytest.approx(1.0)}
    result = layer_error(x, w, np.diag([3.0, 0.0, 0.0]))
    assert result["relative_error"] == pytest.approx(4 / 5)
    assert result["cosine"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="needs calibration activations of rows × 4"):
        prune_layer(np.ones((4, 2)), "2:4", score="activation", calibration=np.ones((5, 3)))
    with pytest.raises(ValueError, match="prune score must be one of magnitude, activation"):
        prune_layer(np.ones((4, 2)), "2:4", score="hessian")


def test_a_network_that_breaks_the_pattern_is_refused_naming_layer_column_and_group():
    from zeroskip.nn.pruning import check_layers_nm

    rng = np.random.default_rng(5)
    good = prune_layer(rng.normal(size=(8, 3)), "2:4")
    bad = good.copy()
    bad[4:8, 2] = 1.0                      # column 2, K positions 4..7: four non-zeros
    check_layers_nm([("fc1", good)], "2:4")
    with pytest.raises(ValueError) as e:
        check_layers_nm([("fc1", good), ("fc2", bad)], "2:4")
    message = str(e.value)
    assert "layer 'fc2'" in message and "column 2" in message and "4..7" in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("text, spec", [("none", None), ("2:4", ("nm", (2, 4))),
                                        ("1:8", ("nm", (1, 8))),
                                        ("unstructured:0.5", ("unstructured", 0.5)),
                                        ("unstructured:0", ("unstructured", 0.0))])
def test_prune_specs(text, spec):
    from zeroskip.nn.pruning import parse_prune

    assert parse_prune(text) == spec


@pytest.mark.parametrize("text", ["2:3", "4:4", "0:4", "unstructured:1", "unstructured:-0.1",
                                  "unstructured:x", "50%", "2-4", ""])
def test_bad_prune_specs_name_the_forms(text):
    from zeroskip.nn.pruning import parse_prune

    with pytest.raises(ValueError, match="--prune must be none, N:M") as e:
        parse_prune(text)
    assert len(str(e.value).splitlines()) == 1


def test_prune_by_spec_counts_and_scores():
    from zeroskip.nn.pruning import parse_prune, prune_by_spec

    rng = np.random.default_rng(5)
    w = rng.normal(size=(16, 6))
    nm = prune_by_spec(w, parse_prune("1:4"))
    check_nm(nm, 1, 4)
    assert np.count_nonzero(nm) == 4 * 6 and set(nm[nm != 0]) <= set(w.ravel())
    un = prune_by_spec(w, parse_prune("unstructured:0.75"))
    assert np.count_nonzero(un) == 96 - 72
    assert np.array_equal(prune_by_spec(w, None), w)
    # Activation scores: a feature that is always zero loses all its weights first.
    x = rng.normal(size=(40, 16))
    x[:, 3] = 0.0
    by_act = prune_by_spec(w, parse_prune("unstructured:0.0625"), score="activation",
                           calibration=x)
    assert not by_act[3].any() and np.count_nonzero(by_act) == 90
