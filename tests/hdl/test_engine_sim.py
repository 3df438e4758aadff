"""GemmEngine in Amaranth's simulator: a fast check, independent of cocotb, of results,
stream order and cycle counts on tiny configurations."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl import GemmEngine
from zeroskip.models.cycles import predict_cycles
from zeroskip.models.gemm import gemm_reference, random_operands
from zeroskip.models.streams import pack_activations, pack_weights, unpack_results


def run_engine(cfg, m, k, n, seed=0):
    a, w = random_operands(cfg, m, k, n, seed=seed)
    dut = GemmEngine(cfg)
    weights, acts = pack_weights(cfg, w, m), pack_activations(cfg, a, n)
    rows, stamps = [], {}

    async def testbench(ctx):
        ctx.set(dut.cmd.payload, {"m": m, "k": k, "n": n})
        ctx.set(dut.cmd.valid, 1)
        ctx.set(dut.results.ready, 1)
        wi = ai = cycle = 0
        while "last" not in stamps:
            ctx.set(dut.weights.valid, wi < len(weights))
            if wi < len(weights):
                ctx.set(dut.weights.payload, [int(x) for x in weights[wi]])
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
            assert cycle < 20 * predict_cycles(cfg, m, k, n) + 100, "engine hung"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    got = unpack_results(cfg, rows, m, k, n)
    return got, gemm_reference(cfg, a, w), stamps["last"] - stamps["cmd"] + 1


@pytest.mark.parametrize("rows, cols, depth, shape", [
    (2, 3, 512, (5, 7, 4)),
    (1, 1, 512, (3, 2, 2)),
    (3, 2, 4, (9, 10, 7)),
])
def test_engine_results_and_cycles(rows, cols, depth, shape):
    cfg = ZeroskipConfig(rows=rows, cols=cols, acc_depth=depth)
    got, expected, cycles = run_engine(cfg, *shape)
    assert np.array_equal(got, expected)
    assert cycles == predict_cycles(cfg, *shape)
