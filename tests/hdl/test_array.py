"""WeightStationaryArray and ArrayRow in Amaranth's simulator.

The testbench drives the array as the engine does: R weight rows shifted in per fold (the
first row shifted in ends in array row 0), the next fold's rows shifted while the current one
streams (from ``swap_settle`` cycles after its swap row), one activation row per cycle with
``act_swap`` on the first row of a fold, and with ``zero_gating`` the zero flags beside the
values. Every activation row's sums must appear at ``psum`` exactly ``latency`` cycles later
and equal the exact products with the fold's weights (NumPy, wrapped at the psum width).
"""

import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.array import ArrayRow, WeightStationaryArray, array_row_signature
from zeroskip.hdl.layouts import psum_shape
from zeroskip.hdl.pe import ProcessingElement
from zeroskip.models.codecs import prune_nm
from zeroskip.models.gemm import wrap
from zeroskip.models.sparse import compress_nm


@dataclass
class _Fold:
    w: np.ndarray  # [k_per_fold, C], dense (N:M pruned for a sparse array)
    a: np.ndarray  # [rows of the fold, k_per_fold]


def _operands(cfg, shape, which, rng, zeros=0.3):
    """Random operands with some zeros and the range's extremes among them."""
    lo, hi = cfg.operand_range(which)
    x = rng.integers(lo, hi, size=shape, endpoint=True)
    x[rng.random(shape) < 0.15] = lo
    x[rng.random(shape) < 0.15] = hi
    x[rng.random(shape) < zeros] = 0
    return x


def _random_fold(cfg, rows, rng, act_zeros=0.3):
    w = _operands(cfg, (cfg.k_per_fold, cfg.cols), "weight", rng)
    if cfg.sparse:
        w = prune_nm(w, *cfg.nm)
    return _Fold(w=w, a=_operands(cfg, (rows, cfg.k_per_fold), "act", rng, act_zeros))


def _sums(cfg, a, w):
    """``sum_k a[t, k] * w[k, c]`` for every row t: exact, then wrapped at the psum width
    (which only bites when the accumulator is narrower than a column of products)."""
    shape = psum_shape(cfg)
    return wrap(a @ w, shape.width, shape.signed).tolist()


def _weight_rows(cfg, w):
    """The R rows shifted into the array for weights ``w``, first row first. For an N:M
    sparse array, PE row g·N + s holds slot s of group g: (value, index in the group)."""
    if not cfg.sparse:
        return [([int(v) for v in row], [int(v) == 0 for v in row]) for row in w]
    keep, _ = cfg.nm
    values, indices = compress_nm(cfg, w)            # [group, column, slot]
    rows = []
    for r in range(cfg.rows):
        g, s = divmod(r, keep)
        slots = [{"value": int(values[g, c, s]), "index": int(indices[g, c, s])}
                 for c in range(cfg.cols)]
        rows.append((slots, [slot["value"] == 0 for slot in slots]))
    return rows


def _bits(flags):
    return sum(int(f) << i for i, f in enumerate(flags))


def _schedule(cfg, array, folds, *, settle):
    """Per-cycle inputs for ``folds`` at full rate, and ``(cycle, expected sums)`` of every
    activation row. Fold f+1's weights shift from ``settle`` cycles after fold f's swap row
    (``array.swap_settle`` is the earliest allowed); its swap row follows fold f's last row,
    or the end of its loading if that is later."""
    inputs = defaultdict(dict)
    presented = []
    shift_from = rows_free = 0
    for fold in folds:
        for j, (row, zero) in enumerate(_weight_rows(cfg, fold.w)):
            inputs[shift_from + j].update(w_shift=1, w_row=row, w_row_zero=zero)
        swap = max(rows_free, shift_from + cfg.rows)
        for t, (acts, sums) in enumerate(zip(fold.a.tolist(), _sums(cfg, fold.a, fold.w))):
            inputs[swap + t].update(act=acts, act_swap=t == 0)
            presented.append((swap + t, sums))
        rows_free = swap + len(fold.a)
        shift_from = swap + settle
    return inputs, presented


def _garbage_weight_row(cfg, rng):
    lo, hi = cfg.operand_range("weight")
    values = [int(rng.integers(lo, hi, endpoint=True)) for _ in range(cfg.cols)]
    if not cfg.sparse:
        return values
    return [{"value": v, "index": int(rng.integers(cfg.act_group))} for v in values]


def _run(cfg, make_folds, *, early=0, seed=0):
    """Simulate the array on the folds ``make_folds(array)`` returns, shifting each next
    fold's weights ``early`` cycles before ``swap_settle``. Returns the folds and
    ``[(sums seen latency cycles after a row was presented, its expected sums)]`` in
    presentation order."""
    dut = WeightStationaryArray(cfg)
    folds = make_folds(dut)
    inputs, presented = _schedule(cfg, dut, folds, settle=dut.swap_settle - early)
    end = presented[-1][0] + dut.latency + 1
    rng = np.random.default_rng(seed)
    act_lo, act_hi = cfg.operand_range("act")
    seen = []

    async def tb(ctx):
        for cycle in range(end):
            step = inputs.get(cycle, {})
            # Idle lanes carry garbage: no weight shifts or swaps happen without their flags.
            acts = step.get("act", [int(v) for v in rng.integers(act_lo, act_hi, endpoint=True,
                                                                 size=cfg.k_per_fold)])
            ctx.set(dut.w_shift, step.get("w_shift", 0))
            ctx.set(dut.w_row, step.get("w_row", _garbage_weight_row(cfg, rng)))
            ctx.set(dut.act_swap, step.get("act_swap", 0))
            ctx.set(dut.act_swap_lines, step.get("act_swap", 0))
            if cfg.zero_gating:
                # A lane flagged zero may hold anything: give it a non-zero garbage value.
                zero = [v == 0 for v in acts]
                acts = [int(rng.choice([act_lo, act_hi])) if z else v for v, z in zip(acts, zero)]
                ctx.set(dut.act_zero, _bits(zero))
                ctx.set(dut.w_row_zero, _bits(step.get("w_row_zero", [False] * cfg.cols)))
            ctx.set(dut.act, acts)
            seen.append([int(v) for v in ctx.get(dut.psum)])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return folds, [(seen[cycle + dut.latency], sums) for cycle, sums in presented]


_CONFIGS = {
    "dense_gated_3x4": dict(rows=3, cols=4, acc_width=20, zero_gating=True),
    "dense_ungated_4x2_narrow_acc": dict(rows=4, cols=2, act_signed=False, weight_width=6,
                                         acc_width=14, zero_gating=False),
    "dense_gated_1x1": dict(rows=1, cols=1, act_width=4, weight_width=4, acc_width=8,
                            zero_gating=True),
    "dense_ungated_5x3_unsigned": dict(rows=5, cols=3, act_signed=False, weight_signed=False,
                                       acc_width=24, zero_gating=False),
    "sparse_2_4_gated": dict(rows=4, cols=3, acc_width=20, sparsity="2:4", zero_gating=True),
    "sparse_2_4_ungated": dict(rows=4, cols=3, acc_width=20, sparsity="2:4",
                               zero_gating=False),
    "sparse_1_4_gated": dict(rows=2, cols=2, acc_width=20, sparsity="1:4", zero_gating=True),
}


def _config(kw):
    return ZeroskipConfig(**{"act_width": 8, "weight_width": 8, "output_stage": False, **kw})


@pytest.mark.parametrize("kw", _CONFIGS.values(), ids=_CONFIGS.keys())
def test_sums_arrive_latency_cycles_after_their_row(kw):
    cfg = _config(kw)
    rng = np.random.default_rng(1)

    def make_folds(array):
        # The first fold streams just long enough to hide the next fold's loading; the
        # second is shorter, so the third waits for its weights; single-row folds follow.
        counts = [array.swap_settle + cfg.rows, 3, 5, 1, 1, 2]
        return [_random_fold(cfg, count, rng) for count in counts]

    folds, results = _run(cfg, make_folds)
    assert len(results) == sum(len(fold.a) for fold in folds)
    for i, (got, expected) in enumerate(results):
        assert got == expected, f"activation row {i}"


def _distinct_folds(cfg, rows, rng):
    """Two folds whose weights give different sums in every column of every row of either
    fold, so that a row computed with the other fold's weights shows."""
    while True:
        first, second = (_random_fold(cfg, rows, rng, act_zeros=0.1) for _ in range(2))
        a = np.concatenate([first.a, second.a])
        if np.all(np.array(_sums(cfg, a, first.w)) != np.array(_sums(cfg, a, second.w))):
            return first, second


_SWAP_CASES = ("dense_gated_3x4", "dense_ungated_4x2_narrow_acc", "sparse_2_4_gated",
               "sparse_2_4_ungated")


@pytest.mark.parametrize("name", _SWAP_CASES)
def test_next_folds_weights_are_adopted_exactly_at_its_swap_row(name):
    """Fold 2's weights shift in while fold 1 streams (from the earliest allowed cycle);
    every row of fold 1 keeps fold 1's weights, and from fold 2's swap row, which follows
    fold 1's last row at once, every column uses fold 2's."""
    cfg = _config(_CONFIGS[name])
    rng = np.random.default_rng(2)
    (first, second), results = _run(cfg, lambda array: _distinct_folds(
        cfg, array.swap_settle + cfg.rows + 2, rng))
    got = [sums for sums, _ in results]
    rows = len(first.a)
    assert got[:rows] == _sums(cfg, first.a, first.w)
    assert got[rows:] == _sums(cfg, second.a, second.w)


@pytest.mark.parametrize("name", _SWAP_CASES)
def test_shifting_before_swap_settle_corrupts_the_bottom_right_pe(name):
    """``swap_settle`` is the earliest safe shift: one cycle sooner, the bottom-right PE
    adopts the next fold's first weight row instead of its own, so fold 1's last column is
    wrong while the other columns are not."""
    cfg = _config(_CONFIGS[name])
    rng = np.random.default_rng(3)

    def make_folds(array):
        while True:
            first, second = _distinct_folds(cfg, array.swap_settle + cfg.rows, rng)
            # The bottom-right PE's own weight differs from the one the early shift gives it.
            (own, _), (early, _) = _weight_rows(cfg, first.w)[-1], _weight_rows(cfg, second.w)[0]
            if own[-1] != early[-1]:
                return first, second

    (first, second), results = _run(cfg, make_folds, early=1)
    got = [sums for sums, _ in results]
    rows = len(first.a)
    expected = _sums(cfg, first.a, first.w)
    assert [row[:-1] for row in got[:rows]] == [row[:-1] for row in expected]
    assert [row[-1] for row in got[:rows]] != [row[-1] for row in expected]
    assert got[rows:] == _sums(cfg, second.a, second.w)


@pytest.mark.parametrize("gating", [True, False], ids=["gated", "ungated"])
def test_row_moves_activations_right_and_sums_down(gating):
    """ArrayRow alone: a shift loads its C shadow weights from ``w_chain_in`` (and shows them
    at ``w_chain_out``, to the row above); the activation entering PE 0 reaches PE c c cycles
    later with its swap flag, and ``psum_out[c]`` is ``psum_in[c]`` plus
    its product with the weight PE c adopted at the fold's swap, the PE's latency after the
    activation arrived."""
    cfg = _config(dict(rows=2, cols=3, acc_width=20, zero_gating=gating))
    dut = ArrayRow(cfg)
    flags = {"act_zero_in", "w_zero_chain_in", "w_zero_chain_out"}
    assert set(dut.signature.members) == set(array_row_signature(cfg).members)
    assert flags & set(dut.signature.members) == (flags if gating else set())
    shape = psum_shape(cfg)
    rng = random.Random(4)
    folds = {1: [-7, 0, 5], 7: [3, -128, 127]}       # swap cycle: the fold's weights
    shifts = {0: folds[1], 3: folds[7]}               # PE 2 adopts fold 1's at cycle 1 + 2
    end = 14
    acts = [rng.choice([-128, 127, 0, rng.randrange(-128, 128)]) for _ in range(end)]
    psum_in = [[rng.randrange(-(1 << 16), 1 << 16) for _ in range(cfg.cols)]
               for _ in range(end)]
    seen = []

    async def tb(ctx):
        for t in range(end):
            weights = shifts.get(t)
            ctx.set(dut.w_shift, weights is not None)
            ctx.set(dut.w_chain_in, weights or [rng.randrange(-128, 128) for _ in range(3)])
            ctx.set(dut.swap_in, t in folds)
            ctx.set(dut.psum_in, psum_in[t])
            ctx.set(dut.act_in, acts[t])
            if gating:
                # A flagged activation may hold anything.
                ctx.set(dut.act_in, acts[t] or rng.choice([-128, 127]))
                ctx.set(dut.act_zero_in, acts[t] == 0)
                ctx.set(dut.w_zero_chain_in, _bits([w == 0 for w in weights or [1] * 3]))
            seen.append(([int(v) for v in ctx.get(dut.psum_out)],
                         [int(v) for v in ctx.get(dut.w_chain_out)]))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert seen[1][1] == folds[1] and seen[4][1] == folds[7]
    latency = ProcessingElement.LATENCY
    for t in range(1, end - latency):
        for c in range(cfg.cols):
            entered = t - c                           # the cycle its activation entered PE 0
            if entered < 1:
                continue
            weight = folds[max(s for s in folds if s <= entered)][c]
            # The partial sum that meets this product arrives latency - 1 cycles after it.
            partner = psum_in[t + latency - 1][c]
            expected = wrap([partner + acts[entered] * weight], shape.width, shape.signed)
            assert seen[t + latency][0][c] == int(expected[0]), (t, c)
