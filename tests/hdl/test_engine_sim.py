"""GemmEngine in Amaranth's simulator: a fast check, independent of cocotb, of results,
stream order and cycle counts on tiny configurations."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl import GemmEngine
from zeroskip.models.cycles import predict_cycles
from zeroskip.models.gemm import gemm_reference, random_operands
from zeroskip.models.requant import requantize
from zeroskip.models.streams import pack_activations, unpack_results
from zeroskip.testbench.payloads import weights_stream_words


def run_engine(cfg, m, k, n, seed=0, weight_zeros=None, requant=None):
    a, w = random_operands(cfg, m, k, n, seed=seed, weight_zeros=weight_zeros)
    dut = GemmEngine(cfg)
    weights, acts = weights_stream_words(cfg, w, m), pack_activations(cfg, a, n)
    model_cycles = predict_cycles(cfg, m, k, n, w)
    rows, stamps = [], {}

    async def testbench(ctx):
        command = {"m": m, "k": k, "n": n}
        if cfg.output_stage:
            mult, shift, relu = requant or (0, 0, 0)
            command.update(requant=requant is not None, relu=relu, mult=mult, shift=shift)
        ctx.set(dut.cmd.payload, command)
        ctx.set(dut.cmd.valid, 1)
        ctx.set(dut.results.ready, 1)
        wi = ai = cycle = 0
        while "last" not in stamps:
            ctx.set(dut.weights.valid, wi < len(weights))
            if wi < len(weights):
                ctx.set(dut.weights.payload, dut.weights.payload.shape().from_bits(weights[wi]))
            ctx.set(dut.activations.valid, ai < len(acts))
            if ai < len(acts):
                ctx.set(dut.activations.payload, [int(x) for x in acts[ai]])
            *_, cmd_ok, w_ok, a_ok, r_valid, r_payload = await ctx.tick().sample(
                dut.cmd.ready & dut.cmd.valid, dut.weights.ready & dut.weights.valid,
                dut.activations.ready & dut.activations.valid, dut.results.valid,
                dut.results.payload)
            if cmd_ok:
                stamps["cmd"] = cycle
                ctx.set(dut.cmd.valid, 0)
            wi += w_ok
            ai += a_ok
            if r_valid:
                rows.append([int(x) for x in r_payload.data])
                if r_payload.last:
                    stamps["last"] = cycle
            cycle += 1
            assert cycle < 20 * model_cycles + 100, "engine hung"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    got = unpack_results(cfg, rows, m, k, n)
    expected = gemm_reference(cfg, a, w)
    if requant is not None:
        expected = requantize(expected, *requant[:2], relu=requant[2], out_width=cfg.out_width)
    return got, expected, stamps["last"] - stamps["cmd"] + 1, model_cycles


@pytest.mark.parametrize("rows, cols, depth, shape", [
    (2, 3, 512, (5, 7, 4)),
    (1, 1, 512, (3, 2, 2)),
    (3, 2, 4, (9, 10, 7)),
])
def test_engine_results_and_cycles(rows, cols, depth, shape):
    cfg = ZeroskipConfig(rows=rows, cols=cols, acc_depth=depth)
    got, expected, cycles, model_cycles = run_engine(cfg, *shape)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("weight_format", ["bitmask", "nm", "csr", "rle"])
@pytest.mark.parametrize("rows, cols, shape, weight_zeros", [
    (4, 3, (5, 9, 7), 0.5),     # ragged K and N: padded rows and lanes
    (4, 4, (20, 8, 4), 0.0),    # every weight non-zero: the densest records
    (2, 2, (3, 5, 3), 1.0),     # all zero
    (4, 4, (2, 16, 8), 0.25),   # M=2: weight loading, hence decoding, bounds the folds
])
def test_compressed_engine_results_and_cycles(weight_format, rows, cols, shape, weight_zeros):
    cfg = ZeroskipConfig(rows=rows, cols=cols, weight_format=weight_format,
                         nm_pattern="1:2" if rows == 2 else "2:4")
    got, expected, cycles, model_cycles = run_engine(cfg, *shape, weight_zeros=weight_zeros)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("sparsity, rows, cols, shape, gating", [
    ("2:4", 4, 3, (5, 19, 7), True),
    ("1:4", 2, 2, (6, 9, 3), True),
    ("1:2", 2, 3, (4, 7, 5), False),
    ("4:8", 4, 2, (3, 17, 3), True),
    ("2:8", 2, 2, (3, 30, 2), False),
])
def test_sparse_engine_results_and_cycles(sparsity, rows, cols, shape, gating):
    cfg = ZeroskipConfig(rows=rows, cols=cols, sparsity=sparsity, zero_gating=gating)
    got, expected, cycles, model_cycles = run_engine(cfg, *shape, weight_zeros=0.3)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("requant", [None, (37, 14, 0), (37, 14, 1), (1, 0, 0)])
def test_output_stage_results_and_cycles(requant):
    """Requantised (or raw, requant None) results and cycles, two cycles more than without
    the stage."""
    cfg = ZeroskipConfig(rows=2, cols=3, acc_depth=4, output_stage=True)
    got, expected, cycles, model_cycles = run_engine(cfg, 9, 7, 5, requant=requant)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles
    assert model_cycles == predict_cycles(cfg.replace(output_stage=False), 9, 7, 5) + 2
    if requant is not None:
        assert expected.min() >= (0 if requant[2] else -128) and expected.max() <= 127
    if requant == (1, 0, 0):
        assert {-128, 127} <= set(expected.flat)   # saturates at both ends
    elif requant is not None:
        assert len(np.unique(expected)) > 5   # not all saturated or zero
