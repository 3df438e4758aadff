"""The result buffer in Amaranth's simulator: rows come out in order, none lost or repeated,
under random back-pressure with the buffer kept full; a row written into an empty buffer is
on the stream two cycles later."""

import random

import pytest
from amaranth.sim import Simulator

from zeroskip.hdl.result_buffer import ResultBuffer


def _run(depth, rows, write_p, ready_p, seed, banks=1):
    dut = ResultBuffer(16, depth, lut_ram=False, banks=banks)
    rng = random.Random(seed)
    got, sent = [], []
    events = []

    async def tb(ctx):
        outstanding = 0   # written, not yet taken: the engine's credits keep it <= depth
        cycle = 0
        pending = list(rows)
        while len(got) < len(rows):
            write = bool(pending) and outstanding < depth and rng.random() < write_p
            ready = rng.random() < ready_p
            ctx.set(dut.w_en, write)
            if write:
                ctx.set(dut.w_data, pending[0])
            ctx.set(dut.out.ready, ready)
            taken = ctx.get(dut.out.valid) and ready
            if taken:
                got.append(ctx.get(dut.out.payload))
                events.append(("out", cycle))
            if write:
                sent.append(pending.pop(0))
                events.append(("in", cycle))
            outstanding += write - taken
            await ctx.tick()
            cycle += 1
            assert cycle < 50 * len(rows) + 100, "buffer stopped"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return got, sent, events


@pytest.mark.parametrize("banks", [1, 3, 16])
@pytest.mark.parametrize("depth", [1, 2, 5, 16])
@pytest.mark.parametrize("write_p, ready_p", [(1.0, 1.0), (0.9, 0.3), (0.3, 0.9), (0.6, 0.6)])
def test_rows_leave_in_order(depth, write_p, ready_p, banks):
    """One memory, or the row cut into banks (3: uneven, 16: a bit each), each read at its own
    pointer: every bit of every row comes out in order."""
    rows = [random.Random(depth).randrange(1 << 16) for _ in range(80)]
    got, sent, _ = _run(depth, rows, write_p, ready_p, seed=depth * 100 + int(10 * ready_p),
                        banks=banks)
    assert got == sent == rows


def test_a_row_written_into_an_empty_buffer_leaves_two_cycles_later():
    _, _, events = _run(4, [7], 1.0, 1.0, seed=0)
    assert events == [("in", 0), ("out", 2)]


def test_banks_fit_the_row():
    with pytest.raises(ValueError, match="banks must be between 1 and the row's 8 bits, not 9"):
        ResultBuffer(8, 4, lut_ram=False, banks=9)


def test_depth_is_rounded_up_to_a_power_of_two():
    assert [ResultBuffer(8, d, lut_ram=False).depth for d in (1, 2, 3, 5, 40)] == \
        [1, 2, 4, 8, 64]
