"""ProcessingElement in Amaranth's simulator."""

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import psum_shape
from zeroskip.hdl.pe import ProcessingElement
from zeroskip.models.gemm import wrap


LATENCY = ProcessingElement.LATENCY


def _run(cfg, testbench):
    dut = ProcessingElement(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bound(ctx):
        await testbench(ctx, dut)

    sim.add_testbench(bound)
    sim.run()


def _stream(cfg, shadow, rows):
    """Preload ``shadow`` (a weight, or ``(weight, zero flag)``), then present one row per
    cycle: dicts of PE inputs (``act_in``, ``swap_in``, ``act_zero_in``, ``w_chain_in``...)
    and ``psum`` (the partial sum that meets this row's product, given ``LATENCY - 1``
    cycles later, as the PE above delivers it). Returns per row ``(psum_out, act_out,
    swap_out, op_act, product_reg)``: the sum after the row's last register, the pass-through
    one cycle after the row, and the pipeline registers as the row's product lands."""
    out, passed, operands, products = [], [], [], []

    async def tb(ctx, dut):
        weight, zero = shadow if isinstance(shadow, tuple) else (shadow, shadow == 0)
        ctx.set(dut.w_chain_in, weight)
        if cfg.zero_gating:
            ctx.set(dut.w_zero_chain_in, zero)
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        for t in range(len(rows) + LATENCY):
            row = rows[t] if t < len(rows) else {}
            for name in ("act_in", "swap_in", "act_zero_in", "w_chain_in", "w_zero_chain_in",
                         "w_shift"):
                if name in ("act_zero_in", "w_zero_chain_in") and not cfg.zero_gating:
                    continue
                ctx.set(getattr(dut, name), row.get(name, 0))
            partner = t - (LATENCY - 1)
            ctx.set(dut.psum_in, rows[partner]["psum"] if 0 <= partner < len(rows) else 0)
            await ctx.tick()
            if t < len(rows):   # the edge after the row: its operand is registered
                passed.append((ctx.get(dut.act_out), ctx.get(dut.swap_out)))
                operands.append(ctx.get(dut.op_act))
            if 0 <= t - 1 < len(rows):   # one edge later: its product is
                products.append(ctx.get(dut.product_reg))
            if 0 <= partner < len(rows):
                out.append(ctx.get(dut.psum_out))

    _run(cfg, tb)
    return [(o, a, s, op, prod) for o, (a, s), op, prod in zip(out, passed, operands,
                                                                products)]


@pytest.mark.parametrize("gating", [True, False])
def test_mac_uses_shadow_on_swap_then_keeps_it(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    seen = _stream(cfg, -7, [
        # Swap row: adopts the shadow weight for its own product.
        {"act_in": 3, "swap_in": 1, "psum": 100},
        # A new shadow weight does not disturb the active one.
        {"act_in": -2, "w_chain_in": 5, "w_shift": 1, "psum": 1},
        # The next swap adopts it.
        {"act_in": 4, "swap_in": 1, "psum": -3},
    ])
    assert [(o, a, s) for o, a, s, _, _ in seen] == [(100 - 21, 3, 1), (1 + 14, -2, 0),
                                                     (-3 + 20, 4, 1)]
    assert [prod for *_, prod in seen] == [-21, 14, 20]


def test_latency_is_the_register_count():
    """An activation's product reaches psum_out three edges after it arrived: no sooner
    (the pipeline is really there), no later."""
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=False)
    times = []

    async def tb(ctx, dut):
        ctx.set(dut.w_chain_in, 9)
        ctx.set(dut.w_shift, 1)
        await ctx.tick()
        ctx.set(dut.w_shift, 0)
        ctx.set(dut.swap_in, 1)
        ctx.set(dut.act_in, 2)
        for t in range(6):
            await ctx.tick()
            ctx.set(dut.swap_in, 0)
            ctx.set(dut.act_in, 0)
            if ctx.get(dut.psum_out) == 18:
                times.append(t + 1)

    _run(cfg, tb)
    pe = ProcessingElement(cfg)
    Fragment.get(pe, None)   # elaborated: a property read is not an unused design
    assert times[0] == LATENCY == pe.latency


@pytest.mark.parametrize("gating", [True, False])
def test_accumulator_wraps_at_acc_width(gating):
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16, zero_gating=gating)
    seen = _stream(cfg, -128, [{"act_in": -128, "swap_in": 1, "psum": 32767}])
    assert seen[0][0] == int(wrap([32767 + 16384], 16, True)[0])


def test_mixed_signedness_product():
    cfg = ZeroskipConfig(act_width=4, act_signed=False, weight_width=4, acc_width=8,
                         output_stage=False)
    seen = _stream(cfg, -8, [{"act_in": 15, "swap_in": 1, "psum": 0}])
    assert seen[0][0] == -120


def test_gated_pe_holds_its_operands_and_clears_the_product_on_zero():
    cfg = ZeroskipConfig(zero_gating=True)
    seen = _stream(cfg, 3, [
        {"act_in": 5, "swap_in": 1, "psum": 10},
        # A zero activation: act_in keeps the stale 7 (held upstream) with the flag set.
        {"act_in": 7, "act_zero_in": 1, "psum": 20},
        {"act_in": 6, "psum": 40, "w_chain_in": 99, "w_zero_chain_in": 1, "w_shift": 1},
        # A zero weight (99 flagged zero) is adopted at the swap: it gates every row after.
        {"act_in": 8, "swap_in": 1, "psum": 30},
        {"act_in": 2, "psum": 50},
    ])
    # Sums: 10 + 5·3; 20 (gated); 40 + 6·3; 30 and 50 (the zero weight gates).
    assert [o for o, *_ in seen] == [25, 20, 58, 30, 50]
    # The activation register holds 5 while the flag is set, and passes 7 with it.
    assert [a for _, a, *_ in seen] == [5, 5, 6, 8, 2]
    # Operands: 5, then held (5), 6, then held under the zero weight; products cleared.
    assert [op for *_, op, _ in seen] == [5, 5, 6, 6, 6]
    assert [prod for *_, prod in seen] == [15, 0, 18, 0, 0]


def test_a_zero_weight_does_not_load_the_weight_register():
    """The weight in use keeps its last non-zero value when a zero weight is adopted, so
    the multiplier's weight input does not switch."""
    cfg = ZeroskipConfig(zero_gating=True)
    values = []

    async def tb(ctx, dut):
        for weight, zero in ((6, 0), (0, 1)):
            ctx.set(dut.w_chain_in, weight)
            ctx.set(dut.w_zero_chain_in, zero)
            ctx.set(dut.w_shift, 1)
            await ctx.tick()
            ctx.set(dut.w_shift, 0)
            ctx.set(dut.swap_in, 1)
            await ctx.tick()
            ctx.set(dut.swap_in, 0)
            values.append((ctx.get(dut.active), ctx.get(dut.active_zero)))

    _run(cfg, tb)
    assert values == [(6, 0), (6, 1)]


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
