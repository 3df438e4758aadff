"""ProcessingElement in Amaranth's simulator."""

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import psum_shape
from zeroskip.hdl.pe import ProcessingElement
from zeroskip.models.gemm import wrap


def _run(cfg, testbench):
    dut = ProcessingElement(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bound(ctx):
        await testbench(ctx, dut)

    sim.add_testbench(bound)
    sim.run()


async def _cycle(ctx, dut, **inputs):
    """Set the named PE inputs, then let one clock edge pass."""
    for name, value in inputs.items():
        ctx.set(getattr(dut, name), value)
    await ctx.tick()


async def _load_shadow(ctx, dut, weight):
    await _cycle(ctx, dut, w_chain_in=weight, w_shift=1)
    ctx.set(dut.w_shift, 0)


@pytest.mark.parametrize("gating", [True, False])
def test_mac_uses_shadow_on_swap_then_keeps_it(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    seen = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -7)
        assert ctx.get(dut.w_chain_out) == -7
        # Swap row: multiplies by the shadow weight in the same cycle.
        await _cycle(ctx, dut, act_in=3, swap_in=1, psum_in=100)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.swap_out)))
        # A new shadow weight does not disturb the active one.
        await _cycle(ctx, dut, swap_in=0, w_chain_in=5, w_shift=1, act_in=-2, psum_in=1)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.swap_out)))

    _run(cfg, tb)
    assert seen == [(100 - 21, 3, 1), (1 + 14, -2, 0)]


@pytest.mark.parametrize("gating", [True, False])
def test_accumulator_wraps_at_acc_width(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    out = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -128)
        await _cycle(ctx, dut, act_in=-128, swap_in=1, psum_in=32767)
        out.append(ctx.get(dut.psum_out))

    _run(cfg, tb)
    assert out == [int(wrap([32767 + 16384], 16, True)[0])]


def test_mixed_signedness_product():
    cfg = ZeroskipConfig(act_width=4, act_signed=False, weight_width=4, acc_width=8)
    out = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -8)
        await _cycle(ctx, dut, act_in=15, swap_in=1)
        out.append(ctx.get(dut.psum_out))

    _run(cfg, tb)
    assert out == [-120]


def test_gated_pe_holds_operand_and_bypasses_on_zero():
    cfg = ZeroskipConfig(zero_gating=True)
    seen = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, 3)
        await _cycle(ctx, dut, act_in=5, swap_in=1, psum_in=10)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))
        # A zero activation: act_in keeps the stale 7 (held upstream) with the flag set.
        await _cycle(ctx, dut, swap_in=0, act_in=7, act_zero_in=1, psum_in=20)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))
        # A zero weight: the flag travels with it up the chain; after a swap it gates.
        await _cycle(ctx, dut, act_zero_in=0, w_chain_in=0, w_zero_chain_in=1, w_shift=1)
        await _cycle(ctx, dut, w_shift=0, swap_in=1, psum_in=30)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))

    _run(cfg, tb)
    assert seen == [(10 + 15, 5, 0), (20, 5, 1), (30, 7, 0)]


@pytest.mark.parametrize("kw", [dict(rows=1), dict(rows=8), dict(rows=5, act_signed=False),
                                dict(rows=64, act_signed=False, weight_signed=False),
                                dict(rows=16, act_width=16, weight_width=16, acc_width=40),
                                dict(rows=64, acc_width=18)])
def test_psum_holds_a_column_of_extreme_products_and_no_more(kw):
    """The narrowed partial sum must hold R times the extreme products exactly (else results
    would differ from the accumulator-width model) and be no wider than needed or than
    acc_width."""
    cfg = ZeroskipConfig(**kw)
    shape = psum_shape(cfg)
    a_lo, a_hi = cfg.operand_range("act")
    w_lo, w_hi = cfg.operand_range("weight")
    products = [a * w for a in (a_lo, a_hi) for w in (w_lo, w_hi)]
    lo, hi = cfg.rows * min(products), cfg.rows * max(products)
    fits = (-(1 << (shape.width - 1)) <= lo and hi < (1 << (shape.width - 1))) if shape.signed \
        else (0 <= lo and hi < (1 << shape.width))
    if shape.width < cfg.acc_width:
        assert fits
        narrower = shape.width - 1
        assert not ((-(1 << (narrower - 1)) <= lo and hi < (1 << (narrower - 1))) if shape.signed
                    else hi < (1 << narrower))
    else:
        assert shape.width == cfg.acc_width
