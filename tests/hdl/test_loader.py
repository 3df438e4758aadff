"""The weight loader in Amaranth's simulator, with the injector's side played by the test:
each fold shifts its k_rows stream rows and then zero rows up to R into the shadow chains,
in fold order (models.folds), one register after each transfer; nothing shifts while the
shadow is full, nor within ``settle`` cycles after the fold was started (``swapped``)."""

import random

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.loader import WeightLoader
from zeroskip.models.folds import fold_sequence

from .test_folds import WithDims, start_command

SETTLE = 3


def _run(cfg, m, k, n, *, valid_p, swap_wait, seed):
    dut = WeightLoader(cfg, settle=SETTLE, all_rows=False)
    rng = random.Random(seed)
    folds = fold_sequence(cfg, m, k, n)
    stream_rows = [[rng.randrange(1, 100) for _ in range(cfg.cols)]
                   for f in folds for _ in range(f.k_rows)]
    shifted, full_at, swapped_at, taken_at = [], [], [], []

    async def tb(ctx):
        await start_command(ctx, dut, m, k, n)
        pending = list(stream_rows)
        cycle, wait = 0, None
        while len(shifted) < cfg.rows * len(folds):
            offer = bool(pending) and rng.random() < valid_p
            ctx.set(dut.rows.valid, offer)
            if offer:
                ctx.set(dut.rows.payload, pending[0])
            # The injector: start the fold swap_wait cycles after the shadow filled.
            swap = False
            if ctx.get(dut.shadow_full):
                wait = swap_wait if wait is None else wait
                swap = wait == 0
                wait -= 1
            if swap:
                swapped_at.append(cycle)
                wait = None
            ctx.set(dut.swapped, swap)
            if ctx.get(dut.w_shift):
                zeros = ctx.get(dut.w_row_zero)
                shifted.append((cycle, [int(v) for v in ctx.get(dut.w_row)],
                                [(zeros >> c) & 1 for c in range(cfg.cols)]))
            if ctx.get(dut.shadow_full):
                full_at.append(cycle)
            if offer and ctx.get(dut.rows.ready):
                pending.pop(0)
                taken_at.append(cycle)
            await ctx.tick()
            cycle += 1
            assert cycle < 5000, "loader stopped"

    sim = Simulator(WithDims(dut, cfg))
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return folds, stream_rows, shifted, full_at, swapped_at, taken_at


@pytest.mark.parametrize("valid_p, swap_wait", [(1.0, 0), (0.5, 2), (0.8, 7)])
@pytest.mark.parametrize("dims", [(3, 7, 5), (1, 1, 1), (2, 4, 2)])
def test_folds_shift_their_rows_then_zero_rows(dims, valid_p, swap_wait):
    cfg = ZeroskipConfig(rows=3, cols=2, acc_depth=2, output_stage=False)
    folds, stream_rows, shifted, full_at, swapped_at, taken_at = _run(
        cfg, *dims, valid_p=valid_p, swap_wait=swap_wait, seed=sum(dims))
    expected, rows = [], iter(stream_rows)
    for f in folds:
        for r in range(cfg.rows):
            row = next(rows) if r < f.k_rows else [0] * cfg.cols
            expected.append((row, [int(v == 0) for v in row]))
    assert [(row, zero) for _, row, zero in shifted] == expected
    # A fold's shifts land while the shadow is not full, and not before settle cycles after
    # the previous fold was started (its shift lands one cycle after the transfer).
    cycles = [c for c, _, _ in shifted]
    for i, start in enumerate(swapped_at):
        later = cycles[cfg.rows * (i + 1):cfg.rows * (i + 2)]
        assert all(c > start + SETTLE for c in later), (i, start, later)
    assert not set(taken_at) & set(full_at), "a row was taken while the shadow was full"


def test_latency_is_one():
    assert WeightLoader(ZeroskipConfig(), settle=1, all_rows=False).latency == 1
