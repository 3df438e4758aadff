"""The bias queue: rows leave in order, each held from its ``next`` until the following one,
and ``ready`` falls only when it is full; its depth is the cycle model's."""

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl import GemmEngine
from zeroskip.hdl.bias import BiasQueue
from zeroskip.models.cycles import bias_queue_depth


def test_rows_leave_in_order_and_are_held():
    cfg = ZeroskipConfig(rows=2, cols=2, acc_width=20, bias=True)
    dut = BiasQueue(cfg, depth=3)
    rows = [[-(1 << 19), (1 << 19) - 1], [5, -6], [0, 1], [7, 7]]

    async def testbench(ctx):
        taken = 0
        for cycle in range(6):   # offer every row, one per cycle: three fit
            ctx.set(dut.rows.valid, taken < len(rows))
            if taken < len(rows):
                ctx.set(dut.rows.payload, rows[taken])
            *_, ready = await ctx.tick().sample(dut.rows.ready)
            taken += ready and taken < len(rows)
        assert taken == 3 and not ctx.get(dut.rows.ready)
        ctx.set(dut.rows.valid, 0)
        for i in range(3):
            ctx.set(dut.next, 1)
            await ctx.tick()
            ctx.set(dut.next, 0)
            for _ in range(3):   # held until the next "next"
                assert [int(x) for x in ctx.get(dut.bias)] == rows[i]
                await ctx.tick()
        assert ctx.get(dut.rows.ready)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("kwargs", [{}, {"rows": 1, "cols": 1}, {"rows": 1, "cols": 16},
                                    {"rows": 16, "cols": 2, "primitives": "ecp5"},
                                    {"sparsity": "2:4"}])
def test_depth_is_the_models(kwargs):
    cfg = ZeroskipConfig(bias=True, **kwargs)
    assert GemmEngine(cfg).bias_queue_depth == bias_queue_depth(cfg)
