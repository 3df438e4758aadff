"""The N:M sparse array's arithmetic from compressed weights, against the dense reference."""

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.gemm import gemm_reference, random_operands


@pytest.mark.parametrize("sparsity", ["1:2", "1:4", "2:4", "2:8", "4:8"])
def test_sparse_model_equals_dense_reference(sparsity):
    from zeroskip.models.codecs import check_nm
    from zeroskip.models.sparse import compress_nm, sparse_gemm_reference

    cfg = ZeroskipConfig(rows=8, sparsity=sparsity, acc_width=20)
    for seed, (m, k, n) in enumerate([(5, 19, 7), (1, 1, 1), (9, 64, 3)]):
        a, w = random_operands(cfg, m, k, n, seed=seed, act_kind="alternating" if seed == 2
                               else "random")
        check_nm(w, *cfg.nm)
        values, indices = compress_nm(cfg, w)
        assert values.shape == (-(-k // cfg.nm[1]), n, cfg.nm[0])
        assert np.array_equal(sparse_gemm_reference(cfg, a, values, indices),
                              gemm_reference(cfg, a, w))


def test_sparse_model_rejects_violations():
    from zeroskip.models.sparse import compress_nm

    cfg = ZeroskipConfig(rows=4, sparsity="1:4")
    with pytest.raises(ValueError, match="violate 1:4 sparsity: column 1, K positions 4..7"):
        compress_nm(cfg, np.array([[0, 0]] * 4 + [[0, 1], [0, 1], [0, 0], [0, 0]]))
