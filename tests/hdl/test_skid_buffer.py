"""The skid buffer in Amaranth's simulator: payloads come out in order, none lost or
repeated, under random pauses on both sides; one transfer per cycle when neither side
pauses; a payload accepted into an empty buffer is on ``out`` a cycle later; and ``ready``
and ``valid`` do not follow the other side's handshake within a cycle."""

import random

import pytest
from amaranth.sim import Simulator

from zeroskip.hdl.skid_buffer import SkidBuffer


def _run(payloads, valid_p, ready_p, seed):
    dut = SkidBuffer(16)
    rng = random.Random(seed)
    got, events = [], []

    async def tb(ctx):
        pending, cycle = list(payloads), 0
        while len(got) < len(payloads):
            offer = bool(pending) and rng.random() < valid_p
            ready = rng.random() < ready_p
            # Registered outputs: sample them before driving this cycle's inputs, and check
            # that driving the inputs does not change them.
            in_ready, out_valid = ctx.get(dut.inp.ready), ctx.get(dut.out.valid)
            ctx.set(dut.inp.valid, offer)
            if offer:
                ctx.set(dut.inp.payload, pending[0])
            ctx.set(dut.out.ready, ready)
            assert (ctx.get(dut.inp.ready), ctx.get(dut.out.valid)) == (in_ready, out_valid)
            if out_valid and ready:
                got.append(ctx.get(dut.out.payload))
                events.append(("out", cycle))
            if offer and in_ready:
                pending.pop(0)
                events.append(("in", cycle))
            await ctx.tick()
            cycle += 1
            assert cycle < 50 * len(payloads) + 100, "buffer stopped"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return got, events


@pytest.mark.parametrize("valid_p, ready_p", [(1.0, 1.0), (0.5, 0.5), (1.0, 0.3), (0.3, 1.0)])
def test_order_under_pauses(valid_p, ready_p):
    rng = random.Random(7)
    payloads = [rng.randrange(1 << 16) for _ in range(300)]
    got, _ = _run(payloads, valid_p, ready_p, seed=int(valid_p * 10 + ready_p * 100))
    assert got == payloads


def test_full_rate_and_one_cycle_latency():
    payloads = list(range(1, 41))
    got, events = _run(payloads, 1.0, 1.0, seed=0)
    assert got == payloads
    ins = [c for kind, c in events if kind == "in"]
    outs = [c for kind, c in events if kind == "out"]
    assert ins == list(range(len(payloads)))
    assert outs == [c + 1 for c in ins]
