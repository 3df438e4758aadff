"""zeroskip.host: the bytes of each AXI4-Stream for a GEMM are the engine's payload words
without their last bit, little-endian in whole bytes; the result bytes come back as C; bad
input gets one clear error naming the parameter."""

import re

import numpy as np
import pytest
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.models.gemm import gemm_reference, random_operands
from zeroskip.models.streams import pack_activations, pack_weights
from zeroskip.models.wire import compressed_weight_words
from zeroskip.testbench.payloads import activation_words, weight_words

from zeroskip import ZeroskipConfig
from zeroskip.host import (
    command_word,
    pack_gemm,
    pack_lanes,
    result_rows,
    tdata_bytes,
    unpack_lanes,
    unpack_results,
)

CONFIGS = [
    ZeroskipConfig(rows=4, cols=4),
    ZeroskipConfig(rows=3, cols=5, act_width=6, weight_width=5, acc_width=20,
                   act_signed=False, output_stage=False),
    ZeroskipConfig(rows=4, cols=4, weight_format="csr"),
    ZeroskipConfig(rows=4, cols=2, sparsity="2:4"),
    ZeroskipConfig(rows=2, cols=3, act_width=16, weight_width=16, acc_width=48),
    ZeroskipConfig(rows=3, cols=2, acc_width=20, bias=True),
]


def _beats(buffer, nbytes):
    return [int.from_bytes(buffer[i:i + nbytes], "little")
            for i in range(0, len(buffer), nbytes)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.rows}x{c.cols}-{c.weight_format}")
def test_tdata_bytes_are_the_ports_widths(cfg):
    verilog = generate_verilog(cfg.replace(interface="axis"))
    prefixes = {"cmd": "s_axis_cmd", "weights": "s_axis_weights",
                "activations": "s_axis_activations", "results": "m_axis_results"}
    for stream, nbytes in tdata_bytes(cfg).items():
        hi = re.search(rf"(?:input|output) \[(\d+):0\] {prefixes[stream]}_tdata;", verilog)
        assert int(hi.group(1)) + 1 == 8 * nbytes, stream


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.rows}x{c.cols}-{c.weight_format}")
def test_stream_bytes_are_the_payload_words(cfg):
    m, k, n = 7, 2 * cfg.k_per_fold + 1, cfg.cols + 2
    a, w = random_operands(cfg, m, k, n, seed=3)
    requant = (1000, 9, True) if cfg.output_stage else None
    bias = np.arange(n) * 3 - 5 if cfg.bias else None
    gemm = pack_gemm(cfg, a, w, requant, bias)
    nb = tdata_bytes(cfg)
    assert _beats(gemm.cmd, nb["cmd"]) == [command_word(cfg, m, k, n, requant)]
    assert _beats(gemm.activations, nb["activations"]) == \
        activation_words(cfg, pack_activations(cfg, a, n, bias))
    if cfg.weight_format == "dense":
        expected = weight_words(cfg, pack_weights(cfg, w, m))
    else:
        expected = compressed_weight_words(cfg, w, m).words
    assert _beats(gemm.weights, nb["weights"]) == expected
    assert gemm.result_bytes % nb["results"] == 0 and gemm.mkn == (m, k, n)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.rows}x{c.cols}-{c.weight_format}")
def test_results_unpack_from_the_stream_order(cfg):
    """Pack C in the results stream's order (lanes past N zero) into beats, as the engine
    would send them, and unpack: C again, also for extreme values."""
    from zeroskip.models.folds import fold_sequence

    m, k, n = 9, cfg.k_per_fold + 2, cfg.cols + 3
    lo, hi = cfg.operand_range("acc")
    rng = np.random.default_rng(5)
    c = rng.integers(lo, hi, size=(m, n), endpoint=True)
    c[0, :] = lo
    c[-1, :] = hi
    rows = []
    for f in fold_sequence(cfg, m, k, n):
        if f.last_k:
            block = np.zeros((f.tile_rows, cfg.cols), dtype=np.int64)
            block[:, :f.n_cols] = c[f.m_base:f.m_base + f.tile_rows,
                                    f.n_base:f.n_base + f.n_cols]
            rows.append(block)
    rows = np.concatenate(rows)
    data = pack_lanes(rows, cfg.acc_width, tdata_bytes(cfg)["results"])
    assert len(data) == pack_gemm(cfg, *random_operands(cfg, m, k, n, seed=1)).result_bytes
    assert np.array_equal(result_rows(cfg, data), rows)
    assert np.array_equal(unpack_results(cfg, data, m, k, n), c)
    # A DMA buffer of another element type holds the same bytes.
    words = np.frombuffer(data, dtype=np.uint8).copy()
    if len(words) % 4 == 0:
        assert np.array_equal(result_rows(cfg, words.view(np.uint32)), rows)
    # A lane past N that is not zero is a wrong result stream, not a value to drop.
    if n % cfg.cols:
        bad = rows.copy()
        bad[-1, cfg.cols - 1] = 1          # the last N fold is the partial one
        with pytest.raises(ValueError, match="lanes past N are not zero"):
            unpack_results(cfg, pack_lanes(bad, cfg.acc_width, tdata_bytes(cfg)["results"]),
                           m, k, n)


@pytest.mark.parametrize("width,signed", [(1, False), (5, True), (8, True), (20, True),
                                          (48, True), (16, False)])
def test_lanes_round_trip_in_both_byte_orders(width, signed):
    rng = np.random.default_rng(width)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    rows = rng.integers(lo, hi, size=(17, 3), endpoint=True)
    rows[0], rows[1] = lo, hi
    nbytes = -(-3 * width // 8) + 1
    for order in ("little", "big"):
        buffer = pack_lanes(rows, width, nbytes, order)
        assert len(buffer) == 17 * nbytes
        assert np.array_equal(unpack_lanes(buffer, nbytes, 3, width, signed, order), rows)
    first = int.from_bytes(pack_lanes(rows[:1], width, nbytes), "little")
    assert first == sum((int(x) & ((1 << width) - 1)) << (i * width)
                        for i, x in enumerate(rows[0]))


def test_round_trip_through_the_reference():
    """What a host does: pack, (hardware), unpack; here the reference stands in for the
    hardware's result bytes."""
    cfg = CONFIGS[0]
    a, w = random_operands(cfg, 6, 5, 7, seed=2)
    gemm = pack_gemm(cfg, a, w)
    from zeroskip.models.folds import fold_sequence

    c = gemm_reference(cfg, a, w)
    rows = []
    for f in fold_sequence(cfg, 6, 5, 7):
        if f.last_k:
            block = np.zeros((f.tile_rows, cfg.cols), dtype=np.int64)
            block[:, :f.n_cols] = c[f.m_base:f.m_base + f.tile_rows, f.n_base:f.n_base + f.n_cols]
            rows.append(block)
    data = pack_lanes(np.concatenate(rows), cfg.acc_width, tdata_bytes(cfg)["results"])
    assert len(data) == gemm.result_bytes
    assert np.array_equal(unpack_results(cfg, data, 6, 5, 7), c)


@pytest.mark.parametrize("call,message", [
    (lambda cfg: pack_gemm(cfg, np.zeros((2, 3), int), np.zeros((4, 2), int)),
     "a must be M×K and w K×N"),
    (lambda cfg: pack_gemm(cfg, np.full((2, 3), 128), np.zeros((3, 2), int)),
     "a must hold integers in [-128, 127]"),
    (lambda cfg: pack_gemm(cfg, np.zeros((2, 3), int), np.full((3, 2), 0.5)),
     "w must hold integers in [-128, 127]"),
    (lambda cfg: pack_gemm(cfg, np.zeros((70000, 1), int), np.zeros((1, 1), int)),
     "M must be between 0 and 65535"),
    (lambda cfg: pack_gemm(cfg, np.zeros((2, 3), int), np.zeros((3, 2), int),
                           requant=(1 << 16, 0, False)),
     "requant multiplier must be an integer in [0, 65535]"),
    (lambda cfg: pack_gemm(cfg, np.array([["a"]]), np.zeros((1, 1), int)),
     "a must hold integers in [-128, 127]"),
    (lambda cfg: pack_gemm(cfg, np.zeros((2, 3), int), np.zeros((3, 2), int),
                           requant=(1, 2)),
     "requant must be (mult, shift, relu) or None"),
    (lambda cfg: pack_gemm(cfg, np.zeros((2, 3), int), np.zeros((3, 2), int), bias=[1, 2]),
     "bias given, but the engine has no bias"),
    (lambda cfg: pack_gemm(cfg.replace(bias=True), np.zeros((2, 3), int),
                           np.zeros((3, 2), int), bias=[1, 2, 3]),
     "bias must be a vector of N=2 values"),
    (lambda cfg: pack_gemm(cfg.replace(bias=True), np.zeros((2, 3), int),
                           np.zeros((3, 2), int), bias=[1 << 31, 0]),
     "bias values must lie in [-2147483648, 2147483647]"),
    (lambda cfg: unpack_results(cfg, b"", -1, 2, 2), "M must be between 0 and 65535"),
    (lambda cfg: result_rows(cfg, b"\0" * 15), "result bytes must be a multiple of 16"),
    (lambda cfg: unpack_results(cfg, b"\0" * 16, 2, 2, 2), "expected 2 result rows"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError) as e:
        call(CONFIGS[0])
    assert message in str(e.value)
    assert len(str(e.value).splitlines()) == 1
