"""The pipelining helpers delay() and delay_held() in Amaranth's simulator."""

import random
import re

import pytest
from amaranth.back import rtlil
from amaranth.hdl import ClockDomain, Fragment, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from zeroskip.hdl.pipeline import delay, delay_held

_CYCLES = (0, 1, 3)


class _Delays(wiring.Component):
    """One input delayed by each of ``cycles`` (by delay(), or by delay_held() with a zero
    flag), with its own sync domain so that a testbench can drive its reset."""

    def __init__(self, cycles, *, held=False, reset_less=False):
        self._cycles = cycles
        self._held = held
        self._reset_less = reset_less
        members = {"value": In(signed(8)), "zero": In(1)}
        for c in cycles:
            members[f"out_{c}"] = Out(signed(8))
            members[f"out_zero_{c}"] = Out(1)
        super().__init__(members)
        self.domain = ClockDomain("sync")
        self.returned = {}

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.domain
        for c in self._cycles:
            if self._held:
                value, zero = delay_held(m, self.value, self.zero, c, name=f"line{c}")
                m.d.comb += getattr(self, f"out_zero_{c}").eq(zero)
            else:
                value = delay(m, self.value, c, name=f"line{c}", reset_less=self._reset_less)
            self.returned[c] = value
            m.d.comb += getattr(self, f"out_{c}").eq(value)
        return m


def _simulate(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bound(ctx):
        await testbench(ctx, dut)

    sim.add_testbench(bound)
    sim.run()


def _stream(dut, inputs):
    """Per cycle: set the inputs, read every output (before that cycle's clock edge)."""
    seen = []

    async def tb(ctx, dut):
        for value, zero in inputs:
            ctx.set(dut.value, value)
            ctx.set(dut.zero, zero)
            seen.append({name: ctx.get(getattr(dut, name)) for name in dut.signature.members
                         if name.startswith("out")})
            await ctx.tick()

    _simulate(dut, tb)
    return seen


@pytest.mark.parametrize("reset_less", [False, True])
def test_delay_latency_is_exactly_cycles(reset_less):
    rng = random.Random(1)
    values = [rng.randrange(-128, 128) for _ in range(40)]
    seen = _stream(_Delays(_CYCLES, reset_less=reset_less), [(v, 0) for v in values])
    for c in _CYCLES:
        assert [s[f"out_{c}"] for s in seen[c:]] == values[:len(values) - c], c


def test_delay_of_zero_cycles_is_the_value_itself():
    dut = _Delays([0])
    Fragment.get(dut, None)
    assert dut.returned[0] is dut.value


@pytest.mark.parametrize("reset_less", [False, True])
def test_delay_names_its_stages(reset_less):
    text = rtlil.convert(_Delays([3, 1], reset_less=reset_less))
    names = set(re.findall(r"\\(line\d_d\d+)\b", text))
    assert names == {"line3_d1", "line3_d2", "line3_d3", "line1_d1"}


@pytest.mark.parametrize("reset_less", [False, True])
def test_reset_clears_only_stages_that_have_a_reset(reset_less):
    values = [11, -22, 33, -44, 55, -66, 77]
    reset_at = 4
    seen = []

    async def tb(ctx, dut):
        for i, value in enumerate(values):
            ctx.set(dut.value, value)
            ctx.set(dut.domain.rst, i == reset_at)
            seen.append(ctx.get(dut.out_3))
            await ctx.tick()
        seen.append(ctx.get(dut.out_3))

    _simulate(_Delays([3], reset_less=reset_less), tb)
    # Output at cycle t is the input of cycle t - 3; the reset edge at the end of cycle
    # `reset_at` empties a line that has a reset, until inputs after the reset come through.
    delayed = [0, 0, 0] + values
    if reset_less:
        expected = delayed[:len(seen)]
    else:
        expected = [0 if reset_at < t <= reset_at + 3 else delayed[t] for t in range(len(seen))]
    assert seen == expected


@pytest.mark.parametrize("cycles", [-1, -3])
def test_negative_cycles_raise_value_error_naming_cycles(cycles):
    m = Module()
    with pytest.raises(ValueError, match=rf"^cycles must be non-negative, not {cycles}$"):
        delay(m, Signal(4), cycles, name="x")
    # Elaborated, so that Amaranth does not warn about an unused module.
    assert not Fragment.get(m, None).statements


def _held_inputs(count, seed):
    """Values with zero flags; a flagged cycle's value is garbage (never 0), as the flag
    alone says the value is zero."""
    rng = random.Random(seed)
    return [(rng.choice([v for v in range(-128, 128) if v]), int(rng.random() < 0.5))
            for _ in range(count)]


def test_delay_held_delays_the_flag_and_represents_the_value():
    inputs = _held_inputs(60, seed=2)
    seen = _stream(_Delays(_CYCLES, held=True), inputs)
    represented = [0 if zero else value for value, zero in inputs]
    for c in _CYCLES:
        out = seen[c:]
        assert [s[f"out_zero_{c}"] for s in out] == [z for _, z in inputs[:len(out)]], c
        got = [0 if s[f"out_zero_{c}"] else s[f"out_{c}"] for s in out]
        assert got == represented[:len(out)], c


def test_delay_held_data_bits_do_not_switch_while_flagged():
    """Each stage keeps its data while the flag entering it is set: output data changes only
    when a flag-clear value arrives, and then it is that value."""
    inputs = _held_inputs(60, seed=3)
    seen = _stream(_Delays([1, 2, 3], held=True), inputs)
    for c in (1, 2, 3):
        for t in range(c + 1, len(seen)):
            value, zero = inputs[t - c]
            previous, now = seen[t - 1][f"out_{c}"], seen[t][f"out_{c}"]
            assert now == (previous if zero else value), (c, t)
    assert any(z for _, z in inputs) and any(not z for _, z in inputs)


def test_delay_held_refuses_negative_cycles_like_delay():
    m = Module()
    with pytest.raises(ValueError, match=r"^cycles must be non-negative, not -2$"):
        delay_held(m, Signal(4), Signal(), -2, name="x")
    assert not Fragment.get(m, None).statements
