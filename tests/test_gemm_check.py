"""Reports of the GEMM check flow computed without a simulator: the weights stream's size and
the fields derived from a simulator's report."""

import math

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.gemm_check import gemm_report, weight_stream_report
from zeroskip.models.codecs import prune_nm
from zeroskip.models.streams import pack_weights
from zeroskip.models.wire import compressed_weight_words
from zeroskip.wire_fields import bits_for

# 3x2 array with 4 accumulator rows: M=10 is three tiles (4, 4, 2), K=5 two K folds (3, 2),
# N=3 two N folds (2, 1).
M, K, N = 10, 5, 3
TILES = 3


def _cfg(rows=3, **fields):
    return ZeroskipConfig(rows=rows, cols=2, acc_depth=4, output_stage=False, **fields)


def _weights(cfg, k=K, n=N, zeros=0.5, seed=1):
    rng = np.random.default_rng(seed)
    lo, hi = cfg.operand_range("weight")
    w = rng.integers(lo, hi + 1, size=(k, n))
    w = np.where(rng.random((k, n)) < zeros, 0, w)
    w[0, 0] = 0  # at least one zero and one non-zero whatever the seed
    w[-1, -1] = hi
    return prune_nm(w, *cfg.nm) if cfg.weight_format == "nm" else w


def test_dense_stream_sends_every_fold_row_per_tile():
    cfg = _cfg()
    w = _weights(cfg)
    report = weight_stream_report(cfg, w, M)
    # Per tile: per N fold, the K folds' 3 + 2 rows; two N folds; three tiles.
    rows = TILES * 2 * (3 + 2)
    assert len(pack_weights(cfg, w, M)) == rows
    assert report["format"] == "dense"
    assert report["words"] == report["dense_words"] == rows
    assert report["words_over_dense"] == 1.0
    # Every row is C lanes of weight_width bits, padding lanes included.
    expected_bits = rows * cfg.cols * cfg.weight_width
    assert report["bits_per_weight"] == round(expected_bits / (w.size * TILES), 4)
    assert report["weight_zero_fraction"] == round(np.count_nonzero(w == 0) / w.size, 4)


def test_bitmask_stream_size_by_hand():
    cfg = _cfg(weight_format="bitmask")
    w = _weights(cfg)
    report = weight_stream_report(cfg, w, M)
    # Every fold is padded to R=3 rows: 4 folds of 3 rows per tile. Each row is a C-bit mask
    # and each non-zero weight appears once per tile.
    rows = TILES * 4 * cfg.rows
    bits = rows * cfg.cols + TILES * np.count_nonzero(w) * cfg.weight_width
    words = math.ceil(bits / (cfg.cols * cfg.weight_width))
    dense_words = TILES * 2 * (3 + 2)
    assert report["words"] == words
    assert report["dense_words"] == dense_words
    assert report["words_over_dense"] == round(words / dense_words, 4)
    assert report["bits_per_weight"] == round(bits / (w.size * TILES), 4)


def test_csr_stream_size_by_hand():
    cfg = _cfg(weight_format="csr")
    w = _weights(cfg, zeros=0.3, seed=4)
    report = weight_stream_report(cfg, w, M)
    rows = TILES * 4 * cfg.rows
    pair = bits_for(cfg.cols - 1) + cfg.weight_width
    bits = rows * bits_for(cfg.cols) + TILES * np.count_nonzero(w) * pair
    assert report["words"] == math.ceil(bits / (cfg.cols * cfg.weight_width))
    assert report["bits_per_weight"] == round(bits / (w.size * TILES), 4)


@pytest.mark.parametrize("fields", [dict(weight_format="bitmask"), dict(weight_format="csr"),
                                    dict(weight_format="rle", rle_run_width=2),
                                    dict(rows=4, weight_format="nm", nm_pattern="1:4"),
                                    dict(weight_format="dense")],
                         ids=lambda f: f["weight_format"])
@pytest.mark.parametrize("m", [1, 4, 9, 13])
def test_report_matches_the_streams(fields, m):
    cfg = _cfg(**fields)
    w = _weights(cfg, k=7, n=5, seed=m)
    report = weight_stream_report(cfg, w, m)
    tiles = -(-m // cfg.acc_depth)
    dense_words = len(pack_weights(cfg, w, m))
    if cfg.weight_format == "dense":
        words, bits = dense_words, dense_words * cfg.cols * cfg.weight_width
    else:
        stream = compressed_weight_words(cfg, w, m)
        words, bits = len(stream.words), stream.bits
    assert report == {"format": cfg.weight_format, "words": words, "dense_words": dense_words,
                      "words_over_dense": round(words / dense_words, 4),
                      "bits_per_weight": round(bits / (w.size * tiles), 4),
                      "weight_zero_fraction": round(float(np.mean(w == 0)), 4)}


def test_stream_grows_with_every_tile():
    cfg = _cfg(weight_format="bitmask")
    w = _weights(cfg)
    one_tile = weight_stream_report(cfg, w, cfg.acc_depth)
    three_tiles = weight_stream_report(cfg, w, 3 * cfg.acc_depth)
    # Weights are sent again for every M tile, so per weight of W the cost is the same.
    assert three_tiles["dense_words"] == 3 * one_tile["dense_words"]
    assert three_tiles["bits_per_weight"] == one_tile["bits_per_weight"]
    assert three_tiles["weight_zero_fraction"] == one_tile["weight_zero_fraction"]


def _sim_report(m, k, n, cycles, **changes):
    report = {"m": m, "k": k, "n": n, "cycles": cycles, "passed": True, "error": None,
              "model_cycles": cycles, "stall": 0.3, "results": [[1, 2]], "name": "case",
              "harness": "player", "build_seconds": 1.5, "run_seconds": 0.25}
    report.update(changes)
    return report


def test_gemm_report_fields_from_a_sim_report():
    cfg = _cfg()
    report = gemm_report(cfg, _sim_report(7, 5, 3, 97, model_cycles=95, passed=False,
                                          error="mismatch at (0, 0)"), simulator="icarus")
    # 7*5*3 MACs over 3*2 multipliers for 97 cycles; SCALE-Sim: ceil(5/3)*ceil(3/2) = 4 folds
    # of 2*3 + 2 + 7 - 2 cycles.
    assert report == {"gemm": {"m": 7, "k": 5, "n": 3}, "passed": False,
                      "error": "mismatch at (0, 0)", "cycles": 97, "model_cycles": 95,
                      "scalesim_ws_cycles": 4 * 13, "utilization": 0.1804, "stall": 0.3,
                      "simulator": "icarus", "harness": "player", "build_seconds": 1.5,
                      "run_seconds": 0.25}


def test_gemm_report_on_a_sparse_array_uses_the_kept_k():
    cfg = ZeroskipConfig(rows=2, cols=2, sparsity="2:4", output_stage=False)
    report = gemm_report(cfg, _sim_report(10, 5, 3, 60), simulator="verilator")
    # K' = ceil(5 * 2 / 4) = 3: ceil(3/2) * ceil(3/2) = 4 folds of 2*2 + 2 + 10 - 2 cycles.
    assert report["scalesim_ws_cycles"] == 4 * 14
    # 150 MACs over 4 multipliers for 60 cycles.
    assert report["utilization"] == 0.625


@pytest.mark.parametrize("cycles", [0, None])
def test_gemm_report_without_cycles_has_no_utilization(cycles):
    report = gemm_report(_cfg(), _sim_report(4, 3, 2, cycles, passed=False, error="timeout"),
                         simulator="icarus")
    assert report["utilization"] is None
    assert report["cycles"] is cycles


def test_bits_per_weight_on_an_array_no_nm_pattern_fits():
    """rows = 2: no 2:4 N:M stream fits the array, so its column is None (not an error);
    1:2 fits."""
    import numpy as np

    from zeroskip import ZeroskipConfig
    from zeroskip.gemm_check import format_bits_per_weight

    cfg = ZeroskipConfig(rows=2, cols=4)
    w = np.zeros((8, 4), dtype=np.int64)
    w[::2] = 1
    bits = format_bits_per_weight(cfg, w, "2:4")
    assert bits["nm"] is None and bits["dense"] == 8.0 and bits["bitmask"] < 8.0
    assert format_bits_per_weight(cfg, w, "1:2")["nm"] is not None
    assert format_bits_per_weight(cfg, w)["nm"] is None
