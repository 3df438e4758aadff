import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.folds import fold_sequence
from zeroskip.models.gemm import gemm_reference, random_operands
from zeroskip.models.streams import (pack_activations, pack_weights, result_row_count,
                                     unpack_results)


def _engine_in_numpy(cfg, a, w):
    """Replays the streams fold by fold, as the engine does, and returns the result rows."""
    m, k = a.shape
    n = w.shape[1]
    acts, weights = pack_activations(cfg, a, n), pack_weights(cfg, w, m)
    rows, acc = [], {}
    ai = wi = 0
    for f in fold_sequence(cfg, m, k, n):
        tile_w = np.zeros((cfg.rows, cfg.cols), dtype=np.int64)
        tile_w[:f.k_rows] = weights[wi:wi + f.k_rows]
        wi += f.k_rows
        block = acts[ai:ai + f.tile_rows] @ tile_w
        ai += f.tile_rows
        total = block + (0 if f.first_k else acc[f.m_base, f.n_base])
        acc[f.m_base, f.n_base] = total
        if f.last_k:
            total = total.copy()
            total[:, f.n_cols:] = 0
            rows.append(total)
    assert ai == len(acts) and wi == len(weights)
    return np.concatenate(rows)


@pytest.mark.parametrize("shape", [(5, 7, 4), (1, 1, 1), (9, 2, 8), (4, 6, 3)])
def test_stream_packing_round_trip(shape):
    cfg = ZeroskipConfig(rows=2, cols=3, acc_depth=4)
    a, w = random_operands(cfg, *shape, seed=1)
    rows = _engine_in_numpy(cfg, a, w)
    assert len(rows) == result_row_count(cfg, *shape)
    assert np.array_equal(unpack_results(cfg, rows, *shape), gemm_reference(cfg, a, w))


def test_unpack_rejects_wrong_row_count_and_dirty_lanes():
    cfg = ZeroskipConfig(rows=2, cols=3)
    with pytest.raises(ValueError, match="expected 2 result rows"):
        unpack_results(cfg, np.zeros((3, 3)), 2, 2, 2)
    rows = np.zeros((2, 3), dtype=np.int64)
    rows[0, 2] = 1  # N = 2: lane 2 must be zero
    with pytest.raises(ValueError, match="past N are not zero"):
        unpack_results(cfg, rows, 2, 2, 2)


