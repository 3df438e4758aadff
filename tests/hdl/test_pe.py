"""ProcessingElement in Amaranth's simulator."""

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
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


async def _load_shadow(ctx, dut, weight):
    ctx.set(dut.w_chain_in, weight)
    ctx.set(dut.w_shift, 1)
    await ctx.tick()
    ctx.set(dut.w_shift, 0)


@pytest.mark.parametrize("gating", [True, False])
def test_mac_uses_shadow_on_swap_then_keeps_it(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    seen = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -7)
        assert ctx.get(dut.w_chain_out) == -7
        # Swap row: multiplies by the shadow weight in the same cycle.
        ctx.set(dut.act_in, 3)
        ctx.set(dut.swap_in, 1)
        ctx.set(dut.psum_in, 100)
        await ctx.tick()
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.swap_out)))
        # A new shadow weight does not disturb the active one.
        ctx.set(dut.swap_in, 0)
        ctx.set(dut.w_chain_in, 5)
        ctx.set(dut.w_shift, 1)
        ctx.set(dut.act_in, -2)
        ctx.set(dut.psum_in, 1)
        await ctx.tick()
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.swap_out)))

    _run(cfg, tb)
    assert seen == [(100 - 21, 3, 1), (1 + 14, -2, 0)]


@pytest.mark.parametrize("gating", [True, False])
def test_accumulator_wraps_at_acc_width(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    out = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -128)
        ctx.set(dut.act_in, -128)
        ctx.set(dut.swap_in, 1)
        ctx.set(dut.psum_in, 32767)
        await ctx.tick()
        out.append(ctx.get(dut.psum_out))

    _run(cfg, tb)
    assert out == [int(wrap([32767 + 16384], 16, True)[0])]


def test_mixed_signedness_product():
    cfg = ZeroskipConfig(act_width=4, act_signed=False, weight_width=4, acc_width=8)
    out = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, -8)
        ctx.set(dut.act_in, 15)
        ctx.set(dut.swap_in, 1)
        await ctx.tick()
        out.append(ctx.get(dut.psum_out))

    _run(cfg, tb)
    assert out == [-120]


def test_gated_pe_holds_operand_and_bypasses_on_zero():
    cfg = ZeroskipConfig(zero_gating=True)
    seen = []

    async def tb(ctx, dut):
        await _load_shadow(ctx, dut, 3)
        ctx.set(dut.act_in, 5)
        ctx.set(dut.swap_in, 1)
        ctx.set(dut.psum_in, 10)
        await ctx.tick()
        ctx.set(dut.swap_in, 0)
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))
        # A zero activation: act_in keeps the stale 7 (held upstream) with the flag set.
        ctx.set(dut.act_in, 7)
        ctx.set(dut.act_zero_in, 1)
        ctx.set(dut.psum_in, 20)
        await ctx.tick()
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))
        # A zero weight: the flag travels with it up the chain; after a swap it gates.
        ctx.set(dut.act_zero_in, 0)
        ctx.set(dut.w_chain_in, 0)
        ctx.set(dut.w_zero_chain_in, 1)
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        ctx.set(dut.swap_in, 1)
        ctx.set(dut.psum_in, 30)
        await ctx.tick()
        seen.append((ctx.get(dut.psum_out), ctx.get(dut.act_out), ctx.get(dut.act_zero_out)))

    _run(cfg, tb)
    assert seen == [(10 + 15, 5, 0), (20, 5, 1), (30, 7, 0)]
