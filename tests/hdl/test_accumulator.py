"""The accumulator alone in Amaranth's simulator, against a dictionary that accumulates the
same rows: K folds summed per memory row, finished rows out with their lanes past the tile
masked, exactly ``latency`` cycles after they came in, and rows of the same memory row one
or two cycles apart (the forwarding paths) as well as far apart."""

import random
import zlib

import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.accumulator import Accumulator
from zeroskip.hdl.layouts import psum_shape
from zeroskip.models.cycles import ACCUMULATOR_LATENCY
from zeroskip.models.gemm import wrap


def _rows(cfg, rng, count, *, gap_choices):
    """Rows of a few memory rows, each K-fold sequence first_k .. last_k, issued with gaps
    drawn from ``gap_choices`` (0: back to back). Each sequence has one n_cols, as an output
    tile has in the engine."""
    shape = psum_shape(cfg)
    lo, hi = ((-(1 << (shape.width - 1)), 1 << (shape.width - 1)) if shape.signed
              else (0, 1 << shape.width))
    out = []
    pending, n_cols = {}, {}
    for _ in range(count):
        addr = rng.randrange(min(cfg.acc_depth, 3))
        k = pending.get(addr, 0)
        folds = 3
        if k == 0:
            n_cols[addr] = rng.randint(1, cfg.cols)
        out.append({"addr": addr, "first_k": k == 0, "last_k": k == folds - 1,
                    "n_cols": n_cols[addr],
                    "psum": [rng.randrange(lo, hi) for _ in range(cfg.cols)],
                    "gap": rng.choice(gap_choices)})
        pending[addr] = (k + 1) % folds
    out[-1]["last"] = True
    return out


def _expected(cfg, rows):
    partial, finished = {}, []
    for row in rows:
        base = [0] * cfg.cols if row["first_k"] else partial[row["addr"]]
        total = [int(wrap([b + p], cfg.acc_width, cfg.acc_signed)[0])
                 for b, p in zip(base, row["psum"])]
        if row["last_k"]:
            finished.append(([t if c < row["n_cols"] else 0 for c, t in enumerate(total)],
                             bool(row.get("last"))))
        else:
            partial[row["addr"]] = total
    return finished


def _simulate(cfg, rows):
    dut = Accumulator(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got, sent_at, seen_at = [], [], []

    async def tb(ctx):
        cycle = 0
        schedule = []
        for row in rows:
            schedule += [None] * row["gap"] + [row]
        for item in schedule + [None] * (dut.latency + 2):
            if item is None:
                ctx.set(dut.meta.valid, 0)
            else:
                ctx.set(dut.psum, item["psum"])
                ctx.set(dut.meta, {"valid": 1, "addr": item["addr"],
                                   "first_k": item["first_k"], "last_k": item["last_k"],
                                   "last": bool(item.get("last")),
                                   "n_cols": item["n_cols"]})
                if item["last_k"]:
                    sent_at.append(cycle)
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.row_valid):
                row = ctx.get(dut.row)
                got.append(([int(row.data[c]) for c in range(cfg.cols)], bool(row.last)))
                seen_at.append(cycle)

    sim.add_testbench(tb)
    sim.run()
    return got, sent_at, seen_at


CONFIGS = {
    "s32-4lanes": ZeroskipConfig(rows=2, cols=4, acc_depth=4),
    "u12-3lanes": ZeroskipConfig(rows=2, cols=3, act_width=4, act_signed=False, weight_width=4,
                                 weight_signed=False, acc_width=12, acc_depth=2,
                                 output_stage=False),
    "depth-1": ZeroskipConfig(rows=1, cols=2, acc_depth=1, output_stage=False),
}


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("gaps", [(0,), (0, 1), (0, 1, 2, 5)], ids=["b2b", "1apart", "mixed"])
def test_rows_accumulate_over_k_folds_at_the_stated_latency(config_name, gaps):
    cfg = CONFIGS[config_name]
    rows = _rows(cfg, random.Random(zlib.crc32(f"{config_name}{gaps}".encode())), 60,
                 gap_choices=gaps)
    got, sent_at, seen_at = _simulate(cfg, rows)
    assert got == _expected(cfg, rows)
    assert [s - t for s, t in zip(seen_at, sent_at)] == [ACCUMULATOR_LATENCY] * len(got)


def test_latency_is_the_models():
    assert Accumulator.LATENCY == ACCUMULATOR_LATENCY
