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




@pytest.mark.parametrize("kwargs", [
    {"rows": 2, "cols": 3},                                   # 96 bias bits in 16-bit rows
    {"rows": 4, "cols": 4, "act_width": 5, "acc_width": 13, "act_signed": False,
     "weight_signed": False},                                 # unsigned, padded last row
    {"rows": 2, "cols": 2, "sparsity": "1:4"},                # 8 lanes per row
])
def test_bias_rows_carry_the_accumulator_fields(kwargs):
    """The bias rows are the biases' acc_width-bit fields, lane 0 lowest, read back from the
    activation lanes' act_width-bit fields exactly."""
    from zeroskip.models.streams import bias_rows
    from zeroskip.wire_fields import bias_beats

    cfg = ZeroskipConfig(bias=True, **kwargs)
    lo, hi = cfg.operand_range("acc")
    values = np.array([lo, hi, -1 if lo < 0 else 1, 0][:cfg.cols])
    rows = bias_rows(cfg, values)
    assert rows.shape == (bias_beats(cfg), cfg.k_per_fold)
    assert rows.min() >= cfg.operand_range("act")[0] and rows.max() <= cfg.operand_range("act")[1]
    bits = sum((int(x) & ((1 << cfg.act_width) - 1)) << (i * cfg.act_width)
               for i, x in enumerate(rows.reshape(-1)))
    back = [(bits >> (c * cfg.acc_width)) & ((1 << cfg.acc_width) - 1) for c in range(cfg.cols)]
    assert back == [int(v) & ((1 << cfg.acc_width) - 1) for v in values]
    assert bits >> (cfg.cols * cfg.acc_width) == 0


def test_bias_rows_lead_each_tiles_first_k_fold():
    """With cfg.bias the activations stream holds, per output tile, its C biases (lanes past N
    zero) ahead of the first K fold's rows, and nothing ahead of later K folds."""
    from zeroskip.models.streams import bias_rows
    from zeroskip.wire_fields import bias_beats

    cfg = ZeroskipConfig(rows=2, cols=3, acc_depth=4, bias=True)
    a, _ = random_operands(cfg, 5, 5, 4, seed=2)
    bias = np.array([10, -20, 30, -40])
    acts = pack_activations(cfg, a, 4, bias)
    beats, i = bias_beats(cfg), 0
    for f in fold_sequence(cfg, 5, 5, 4):
        if f.first_k:
            lanes = np.zeros(cfg.cols, dtype=np.int64)
            lanes[:f.n_cols] = bias[f.n_base:f.n_base + f.n_cols]
            assert np.array_equal(acts[i:i + beats], bias_rows(cfg, lanes))
            i += beats
        i += f.tile_rows
    assert i == len(acts)
    plain = pack_activations(cfg.replace(bias=False), a, 4)
    assert len(acts) == len(plain) + beats * 4   # 2 M tiles x 2 N folds
    assert np.array_equal(pack_activations(cfg, a, 4)[:beats], bias_rows(cfg, [0, 0, 0]))


def test_bias_is_checked():
    cfg = ZeroskipConfig(rows=2, cols=3, bias=True, acc_width=20)
    a = np.zeros((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="bias must be a vector of N=3"):
        pack_activations(cfg, a, 3, [1, 2])
    with pytest.raises(ValueError, match=r"bias values must lie in \[-524288, 524287\]"):
        pack_activations(cfg, a, 3, [0, 0, 1 << 19])
    with pytest.raises(ValueError, match="engine has no bias"):
        pack_activations(cfg.replace(bias=False), a, 3, [0, 0, 0])
    w = np.ones((2, 3), dtype=np.int64)
    assert gemm_reference(cfg, a + 1, w, [524287, 0, -5]).tolist() == [[-524287, 2, -3]] * 2
