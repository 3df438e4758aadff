"""FoldSequencer in Amaranth's simulator, against the fold order of the golden model."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.folds import FoldSequencer, first_fold
from zeroskip.hdl.layouts import command_layout
from zeroskip.models.folds import fold_sequence

_OUTPUTS = ("m_base", "n_base", "k_base", "tile_rows", "tile_last", "k_rows", "n_cols", "first_k",
            "last_k", "last")


def _expected(folds):
    """The sequencer's outputs for each fold of ``folds``: ``last`` only on the final one."""
    return [{"m_base": f.m_base, "n_base": f.n_base, "k_base": f.k_base,
             "tile_rows": f.tile_rows, "tile_last": f.tile_rows - 1, "k_rows": f.k_rows,
             "n_cols": f.n_cols,
             "first_k": int(f.first_k), "last_k": int(f.last_k), "last": int(i == len(folds) - 1)}
            for i, f in enumerate(folds)]


def _outputs(ctx, dut):
    return {name: ctx.get(getattr(dut, name)) for name in _OUTPUTS}


class WithDims(Elaboratable):
    """``dut`` (a sequencer, or a block with :func:`command_members`) with its first fold
    computed from ``dims``, as the engine's command stage computes it. The dimensions are
    also reachable as ``dut.restart_dims``, where the helpers below set them."""

    def __init__(self, dut, cfg):
        self.dut = dut
        self._cfg = cfg
        self.dims = Signal(command_layout(cfg))
        dut.restart_dims = self.dims   # what the helpers below set

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut
        m.d.comb += self.dut.first_fold.eq(first_fold(m, self._cfg, self.dims))
        return m


def _set_dims(ctx, dut, m, k, n):
    ctx.set(dut.restart_dims.m, m)
    ctx.set(dut.restart_dims.k, k)
    ctx.set(dut.restart_dims.n, n)


def _scramble_dims(ctx, dut, m, k, n):
    """After the restart the engine's payload moves on (the next command waits there): the
    walk must not read it."""
    _set_dims(ctx, dut, m + 1, k + 3, n + 2)


async def _command(ctx, dut, m, k, n):
    """Present M, K, N and pulse ``restart`` for one cycle."""
    _set_dims(ctx, dut, m, k, n)
    ctx.set(dut.restart, 1)
    await ctx.tick()
    ctx.set(dut.restart, 0)
    _scramble_dims(ctx, dut, m, k, n)


async def start_command(ctx, dut, m, k, n):
    """Start a command of M, K, N on a block with :func:`~zeroskip.hdl.folds.command_members`
    (the loader, the injector): ``start`` for one cycle, then ``running``."""
    _set_dims(ctx, dut, m, k, n)
    ctx.set(dut.start, 1)
    await ctx.tick()
    ctx.set(dut.start, 0)
    _scramble_dims(ctx, dut, m, k, n)
    ctx.set(dut.running, 1)


async def _walk(ctx, dut, steps, rng=None, *, spaced=False):
    """Outputs of ``steps`` folds, advancing after each; with ``rng``, idle cycles (advance
    low) come between folds and must leave the outputs unchanged. ``spaced``: one idle cycle
    at least before each advance (after the restart and after each advance), as a spaced
    sequencer's block guarantees."""
    seen = []
    for _ in range(steps):
        idle = int(spaced)
        while idle or (rng is not None and rng.random() < 0.4):
            idle = 0
            held = _outputs(ctx, dut)
            await ctx.tick()
            assert _outputs(ctx, dut) == held, "outputs moved without advance"
        seen.append(_outputs(ctx, dut))
        ctx.set(dut.advance, 1)
        await ctx.tick()
        ctx.set(dut.advance, 0)
    return seen


def _simulate(cfg, testbench, *, spaced=False):
    dut = FoldSequencer(cfg, spaced=spaced)
    sim = Simulator(WithDims(dut, cfg))
    sim.add_clock(1e-8)

    async def bound(ctx):
        await testbench(ctx, dut)

    sim.add_testbench(bound)
    sim.run()


_CASES = {
    # acc_depth tiles M (5 rows in tiles of 2), ragged K (5 = 2 + 2 + 1) and N (7 = 3 + 3 + 1).
    "m_tiles_ragged_k_n": (dict(rows=2, cols=3, acc_depth=2), (5, 5, 7)),
    # Every dimension an exact multiple: the last fold of each kind is full.
    "exact_multiples": (dict(rows=4, cols=3, acc_depth=2), (4, 8, 6)),
    # N:M sparse: a fold covers k_per_fold = 4 * 4 / 2 = 8 K positions, not R.
    "sparse_2_4": (dict(rows=4, cols=3, acc_depth=2, sparsity="2:4"), (3, 19, 4)),
    "sparse_1_4_k_below_fold": (dict(rows=2, cols=2, acc_depth=4, sparsity="1:4"), (5, 3, 3)),
    "single_fold_m_k_n_1": (dict(rows=4, cols=4, acc_depth=8), (1, 1, 1)),
    "one_by_one_array": (dict(rows=1, cols=1, acc_depth=1), (3, 2, 2)),
    # Every command field at its largest value: bases plus a fold size exceed the field width.
    "max_dims": (dict(rows=4, cols=4, acc_depth=4, dim_width=4), (15, 15, 15)),
    # The default configuration's command carries output-stage fields after m, k, n.
    "default_with_output_stage": (dict(acc_depth=512, output_stage=True), (600, 9, 17)),
}


@pytest.mark.parametrize("spaced", [False, True], ids=["any_advance", "spaced"])
@pytest.mark.parametrize("kw, dims", _CASES.values(), ids=_CASES.keys())
def test_walk_matches_fold_sequence(kw, dims, spaced):
    cfg = ZeroskipConfig(**{"output_stage": False, **kw})
    expected = _expected(fold_sequence(cfg, *dims))
    seen = []

    async def tb(ctx, dut):
        await _command(ctx, dut, *dims)
        seen.extend(await _walk(ctx, dut, len(expected), random.Random(sum(dims)),
                                spaced=spaced))

    _simulate(cfg, tb, spaced=spaced)
    assert len(expected) > 0
    assert seen == expected


@pytest.mark.parametrize("spaced", [False, True], ids=["any_advance", "spaced"])
@pytest.mark.parametrize("advance_too", [False, True], ids=["restart", "restart_and_advance"])
def test_restart_mid_walk_returns_to_first_fold(advance_too, spaced):
    """A restart part-way through returns to the first fold, of the new command's dims; it
    wins over an advance in the same cycle."""
    cfg = ZeroskipConfig(rows=2, cols=2, acc_depth=3, output_stage=False)
    first, second = (7, 5, 5), (4, 3, 3)
    expected_first = _expected(fold_sequence(cfg, *first))
    expected_second = _expected(fold_sequence(cfg, *second))
    part = len(expected_first) // 2 + 1
    seen = {}

    async def tb(ctx, dut):
        await _command(ctx, dut, *first)
        seen["part"] = await _walk(ctx, dut, part, spaced=spaced)
        seen["before"] = _outputs(ctx, dut)
        ctx.set(dut.advance, int(advance_too))
        await _command(ctx, dut, *second)
        ctx.set(dut.advance, 0)
        seen["second"] = await _walk(ctx, dut, len(expected_second), spaced=spaced)
        await _command(ctx, dut, *first)
        seen["again"] = await _walk(ctx, dut, len(expected_first), spaced=spaced)

    _simulate(cfg, tb, spaced=spaced)
    assert seen["part"] == expected_first[:part]
    assert seen["before"] == expected_first[part] != expected_first[0]
    assert seen["second"] == expected_second
    assert seen["again"] == expected_first
