"""The activation injector in Amaranth's simulator, with the loader and the result side
played by the test: rows enter one register after their transfer with the bookkeeping of
the fold order (models.folds), a fold's first row waits for the shadow weights and marks
the swap, zero lanes raise their flag and hold their value, and rows of last K folds stop at
the credit limit until results are delivered."""

import random

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.injector import ActivationInjector
from zeroskip.models.folds import fold_sequence

from .test_folds import WithDims, start_command


def _run(cfg, m, k, n, *, credits, valid_p, full_p, deliver_p, seed):
    dut = ActivationInjector(cfg, credits=credits)
    rng = random.Random(seed)
    folds = fold_sequence(cfg, m, k, n)
    rows = [[rng.choice([0, rng.randrange(1, 100)]) for _ in range(cfg.k_per_fold)]
            for f in folds for _ in range(f.tile_rows)]
    seen, swaps, reserved_max = [], [], [0]

    async def tb(ctx):
        await start_command(ctx, dut, m, k, n)
        pending, cycle, full, in_flight, last_swap = list(rows), 0, False, 0, -cfg.rows
        held = [0] * cfg.k_per_fold
        while len(seen) < len(rows):
            offer = bool(pending) and rng.random() < valid_p
            ctx.set(dut.activations.valid, offer)
            if offer:
                ctx.set(dut.activations.payload, pending[0])
            # The loader fills the shadow, which takes R weight rows after a swap at least.
            refilled = cycle > last_swap + cfg.rows and rng.random() < full_p
            full = full or refilled
            ctx.set(dut.shadow_full, full)
            deliver = in_flight > 0 and rng.random() < deliver_p
            ctx.set(dut.delivered, deliver)
            if ctx.get(dut.meta.valid):
                meta = ctx.get(dut.meta)
                flags = ctx.get(dut.act_zero)
                lanes = [int(v) for v in ctx.get(dut.act)]
                for r in range(cfg.k_per_fold):
                    if not (flags >> r) & 1:
                        held[r] = lanes[r]
                value = [0 if (flags >> r) & 1 else held[r] for r in range(cfg.k_per_fold)]
                seen.append((int(meta.addr), bool(meta.first_k), bool(meta.last_k),
                             int(meta.n_cols), bool(meta.last), value,
                             bool(ctx.get(dut.act_swap))))
            # The array's swap lines start from a copy of act_swap (of their own flip-flop).
            assert ctx.get(dut.act_swap_lines) == ctx.get(dut.act_swap), cycle
            if ctx.get(dut.swapped):
                swaps.append(cycle)
                assert full, "a fold started without its shadow weights"
                full, last_swap = False, cycle
            if offer and ctx.get(dut.activations.ready):
                in_flight += fold_of(len(rows) - len(pending)).last_k
                pending.pop(0)
            in_flight -= deliver
            reserved_max[0] = max(reserved_max[0], in_flight)
            await ctx.tick()
            cycle += 1
            assert cycle < 20000, "injector stopped"

    def fold_of(index):
        for f in folds:
            if index < f.tile_rows:
                return f
            index -= f.tile_rows

    sim = Simulator(WithDims(dut, cfg))
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    expected = []
    i = 0
    for f_index, f in enumerate(folds):
        for r in range(f.tile_rows):
            expected.append((r, f.first_k, f.last_k, f.n_cols,
                             f_index == len(folds) - 1 and r == f.tile_rows - 1, rows[i],
                             r == 0))
            i += 1
    return seen, expected, swaps, reserved_max[0], len(folds)


@pytest.mark.parametrize("valid_p, full_p, deliver_p", [(1.0, 1.0, 1.0), (0.6, 0.3, 0.5),
                                                         (0.9, 0.8, 0.1)])
@pytest.mark.parametrize("dims", [(5, 3, 3), (1, 1, 1), (7, 2, 5)])
def test_rows_enter_in_fold_order(dims, valid_p, full_p, deliver_p):
    cfg = ZeroskipConfig(rows=2, cols=2, acc_depth=3, output_stage=False)
    credits = 3
    seen, expected, swaps, reserved_max, n_folds = _run(
        cfg, *dims, credits=credits, valid_p=valid_p, full_p=full_p, deliver_p=deliver_p,
        seed=sum(dims))
    assert seen == expected
    assert len(swaps) == n_folds
    assert reserved_max <= credits


def test_latency_is_one():
    assert ActivationInjector(ZeroskipConfig(), credits=4).latency == 1
