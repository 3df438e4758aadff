"""Timing-closure benchmark: fmax, area and effective throughput of the issue #15 cases.

Each case runs zeroskip.synth.synthesize on ECP5 LFE5U-85F (speed 6) with nextpnr over
several placement seeds (fmax is their median), or on xc7 without DSPs for area alone, and
writes benchmarks/results/timing/<case>.json; the table is printed from every case file
present, so cases can run in separate processes (two cores: two at a time) and one at a
time. Gating's area is the gated case against its ungated twin from the same source tree.

Usage: python benchmarks/timing.py [--cases NAME ...] [--seeds 3] [--seed-jobs 1] [--table]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from zeroskip import ZeroskipConfig
from zeroskip.synth import synthesize
from zeroskip.synth.cells import cells_by_block

RESULTS = Path(__file__).parent / "results" / "timing"

# name: (configuration fields, target, flow arguments, fmax goal in MHz or None)
ECP5 = ("ecp5", {"device": "LFE5U-85F", "pnr": True})
XC7 = ("xilinx", {"device": "xc7", "dsp": False})
CASES = {
    "ecp5-8x8": ({"rows": 8, "cols": 8}, *ECP5, 150),
    "ecp5-8x8-ungated": ({"rows": 8, "cols": 8, "zero_gating": False}, *ECP5, None),
    "ecp5-8x8-2:4": ({"rows": 8, "cols": 8, "sparsity": "2:4"}, *ECP5, 140),
    "ecp5-8x8-1:4": ({"rows": 8, "cols": 8, "sparsity": "1:4"}, *ECP5, 140),
    # The engine zeroskip run generates: biases, ties rounded to even (no goal of its own;
    # what it costs against ecp5-8x8).
    "ecp5-8x8-bias-even": ({"rows": 8, "cols": 8, "bias": True,
                            "requant_rounding": "half_even"}, *ECP5, None),
    **{f"ecp5-4x4-{fmt}": ({"rows": 4, "cols": 4, "weight_format": fmt}, *ECP5, 125)
       for fmt in ("dense", "bitmask", "nm", "csr", "rle")},
    "ecp5-16x16": ({"rows": 16, "cols": 16}, *ECP5, 125),
    "xc7-8x8": ({"rows": 8, "cols": 8}, *XC7, None),
    "xc7-8x8-ungated": ({"rows": 8, "cols": 8, "zero_gating": False}, *XC7, None),
    "xc7-pe": ({"rows": 2, "cols": 2}, *XC7, None),
    "xc7-pe-ungated": ({"rows": 2, "cols": 2, "zero_gating": False}, *XC7, None),
}


def run_case(name, seeds, workdir, seed_jobs=1):
    fields, target, flow, goal = CASES[name]
    cfg = ZeroskipConfig(**fields)
    started = time.monotonic()
    report = synthesize(cfg, target, breakdown=name.startswith("xc7-pe"),
                        seeds=tuple(range(1, seeds + 1)), seed_jobs=seed_jobs,
                        workdir=workdir / name, **flow)
    timing = report["timing"] or {}
    row = {
        "case": name, "config": fields, "target": target, "flow": flow, "goal_mhz": goal,
        "primitives": report["config"]["primitives"],
        **{k: report[k] for k in ("luts", "ffs", "carry", "dsps", "brams", "lutram",
                                  "fmax_mhz", "fmax_seeds_mhz", "dsp_budget",
                                  "lut_pe_multipliers")},
        "pe_luts": report["modules"]["pe"]["luts"] if report["modules"] else None,
        "lut_pe_cols": report["config"]["lut_pe_cols"],
        "throughput": report.get("throughput"),
        "critical_path": timing.get("critical_path"),
        "placer_timing_weight": timing.get("placer_timing_weight"),
        "commit": _commit(),
        "seconds": round(time.monotonic() - started, 1),
        "tools": report["tools"],
        "luts_by_block": _luts_by_block(workdir / name, target),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name.replace(':', '_')}.json").write_text(
        json.dumps(row, indent=2, sort_keys=True) + "\n")
    return row


def _commit():
    """The source tree's commit (with ``-dirty`` when files differ from it), or None."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hdl", "synth",
                                "models", "zeroskip"], cwd=root, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


def _luts_by_block(workdir, target):
    """The engine's LUTs in the placed netlist by the block their names put them in (ECP5
    runs write the netlist; the out-of-context wrapper keeps the engine as one module, its
    ``engine`` cell); ``None`` without a netlist."""
    path = workdir / "netlist.json"
    if target != "ecp5" or not path.exists():
        return None
    netlist = json.loads(path.read_text())
    top = next(name for name, module in netlist["modules"].items()
               if int(module.get("attributes", {}).get("top", "0"), 2))
    engine = netlist["modules"][top]["cells"]["engine"]["type"]
    return cells_by_block(netlist, engine, ("LUT4",))


def load_rows():
    rows = {}
    for path in sorted(RESULTS.glob("*.json")):
        row = json.loads(path.read_text())
        rows[row["case"]] = row
    return rows


def fmt(value, spec=""):
    return "-" if value is None else format(value, spec)


def print_table(rows):
    print("| case | primitives | fmax MHz (median) | seeds | goal | LUTs | FFs | DSPs | "
          "GMAC/s | critical path (from -> to: ns, logic / routing) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in CASES:
        row = rows.get(name)
        if row is None:
            continue
        goal = row["goal_mhz"]
        met = "" if goal is None or row["fmax_mhz"] is None else \
            (" met" if row["fmax_mhz"] >= goal else " missed")
        cp = row["critical_path"]
        path = "-" if not cp else (f"{cp['from']} -> {cp['to']}: {cp['delay_ns']:.2f}, "
                                   f"{cp['logic_ns']:.2f} / {cp['routing_ns']:.2f}")
        gmacs = (row["throughput"] or {}).get("gmacs_per_s")
        print(f"| {name} | {row['primitives']} | {fmt(row['fmax_mhz'])} | "
              f"{fmt(row['fmax_seeds_mhz'])} | {fmt(goal)}{met} | {row['luts']} | "
              f"{row['ffs']} | {fmt(row['dsps'])} | {fmt(gmacs)} | {path} |")
    print()
    for gated, ungated in (("ecp5-8x8", "ecp5-8x8-ungated"), ("xc7-8x8", "xc7-8x8-ungated")):
        if gated in rows and ungated in rows:
            a, b = rows[gated]["luts"], rows[ungated]["luts"]
            print(f"gating, {gated}: {a} against {b} LUTs ungated ({100 * (a - b) / b:+.1f}%)")
            blocks_a = rows[gated].get("luts_by_block")
            blocks_b = rows[ungated].get("luts_by_block")
            if blocks_a and blocks_b:
                # Where the difference lies: blocks whose RTL gating does not change (the
                # accumulator, the output stage) differ only by what a flattened synthesis
                # does with its neighbours.
                deltas = {k: blocks_a.get(k, 0) - blocks_b.get(k, 0)
                          for k in sorted(set(blocks_a) | set(blocks_b))}
                print("  by block: " + ", ".join(f"{k} {d:+d}" for k, d in deltas.items() if d))
    if "xc7-pe" in rows:
        extra = f", ungated {rows['xc7-pe-ungated']['pe_luts']}" \
            if "xc7-pe-ungated" in rows else ""
        print(f"int8 PE on xc7 without DSPs: {rows['xc7-pe']['pe_luts']} LUTs gated{extra}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-jobs", type=int, default=1,
                        help="placement seeds at once (up to the cores; results are the same)")
    parser.add_argument("--table", action="store_true", help="print the table only")
    parser.add_argument("--build-dir", type=Path, default=Path(".bench-build") / "timing")
    args = parser.parse_args()
    if not args.table:
        for name in args.cases:
            row = run_case(name, args.seeds, args.build_dir, args.seed_jobs)
            print(f"{name}: {row['fmax_mhz']} MHz {row['fmax_seeds_mhz']}, {row['luts']} LUTs, "
                  f"{row['seconds']} s", file=sys.stderr, flush=True)
    print_table(load_rows())


if __name__ == "__main__":
    main()
