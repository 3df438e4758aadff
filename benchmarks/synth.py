"""Synthesis benchmark: resources, logic depth and fmax of int8 engines per FPGA flow.

Runs zeroskip.synth.synthesize for each size × (dense gated, dense ungated, each compressed
weight format gated) × flow, prints a table (totals of the flattened engine; PE figures from
the hierarchy-keeping run; fmax from nextpnr with the out-of-context wrapper) and merges the
rows into benchmarks/results/synth.json (a row is replaced when the same case is run again,
so subsets can be run one at a time). One tool process runs at a time; see
docs/synthesis.md for what each figure means.

Usage: python benchmarks/synth.py [--sizes 4 8] [--flows generic ice40 ...]
       [--formats dense bitmask ...] [--no-ungated] [--no-pnr] [--fresh]
"""

import argparse
import json
import sys
from pathlib import Path

from zeroskip import ZeroskipConfig
from zeroskip.config import WEIGHT_FORMATS
from zeroskip.synth import DesignDoesNotFit, NextpnrError, YosysError, synthesize

RESULTS = Path(__file__).parent / "results"

# name: synthesize() arguments. pnr is dropped with --no-pnr.
FLOWS = {
    "generic": dict(target="generic"),
    "ice40": dict(target="ice40", device="up5k", pnr=True),
    "ice40-nodsp": dict(target="ice40", device="up5k", dsp=False, pnr=True),
    "ecp5": dict(target="ecp5", device="LFE5U-85F", pnr=True),
    "xilinx": dict(target="xilinx", device="xc7"),
    "xilinx-nodsp": dict(target="xilinx", device="xc7", dsp=False),
}


def cases(sizes, formats, ungated):
    for size in sizes:
        for weight_format in formats:
            for gating in ((True, False) if ungated and weight_format == "dense" else (True,)):
                yield size, weight_format, gating


def summarise(report):
    modules = report["modules"]
    timing = report["timing"] or {}
    return {
        **{key: report[key] for key in ("device", "dsp_inference", "luts", "ffs", "carry",
                                        "dsps", "brams", "lutram", "cells",
                                        "out_of_context_wrapper", "fmax_mhz")},
        "pe": {key: modules["pe"][key] for key in ("luts", "ffs", "carry", "dsps", "cells")},
        "decoder": {key: modules["weight_decoder"][key] for key in ("luts", "ffs", "cells")}
        if "weight_decoder" in modules else None,
        "modules_total": report["modules_total"],
        "logic_depth": report["logic_depth"]["levels"],
        "critical_path": timing.get("critical_path"),
        "utilization": timing.get("utilization"),
        "seconds": report["seconds"],
        "tools": report["tools"],
    }


def fmt(value):
    return "-" if value is None else str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--flows", nargs="+", choices=tuple(FLOWS), default=list(FLOWS))
    parser.add_argument("--formats", nargs="+", choices=WEIGHT_FORMATS,
                        default=list(WEIGHT_FORMATS))
    parser.add_argument("--no-ungated", dest="ungated", action="store_false",
                        help="skip the ungated (zero_gating false) dense engines")
    parser.add_argument("--no-pnr", dest="pnr", action="store_false",
                        help="synthesis only, no nextpnr (no fmax)")
    parser.add_argument("--fresh", action="store_true", help="drop earlier rows of the JSON")
    parser.add_argument("--out", type=Path, default=RESULTS / "synth.json")
    parser.add_argument("--build-dir", type=Path, default=Path(".bench-build") / "synth")
    args = parser.parse_args()

    rows = []
    if args.out.exists() and not args.fresh:
        rows = json.loads(args.out.read_text())["rows"]

    header = (f"{'size':>5} {'format':>8} {'gating':>6} {'flow':>12} {'LUTs':>6} {'FFs':>6} "
              f"{'carry':>5} {'DSPs':>4} {'BRAMs':>5} {'PE LUTs':>7} {'PE FFs':>6} "
              f"{'depth':>5} {'fmax':>7} {'seconds':>7}")
    print(header)
    for size, weight_format, gating in cases(args.sizes, args.formats, args.ungated):
        cfg = ZeroskipConfig(rows=size, cols=size, act_width=8, weight_width=8,
                             zero_gating=gating, weight_format=weight_format, output_stage=False)
        for flow in args.flows:
            options = dict(FLOWS[flow])
            if not args.pnr:
                options.pop("pnr", None)
            key = {"size": size, "weight_format": weight_format, "zero_gating": gating,
                   "flow": flow, "pnr": options.get("pnr", False)}
            name = f"{size}x{size}-{weight_format}-{'gated' if gating else 'ungated'}-{flow}"
            row = dict(key)
            try:
                report = synthesize(cfg, workdir=args.build_dir / name, **options)
                row.update(summarise(report))
                row["fits"] = True if key["pnr"] else None
            except DesignDoesNotFit as e:
                # Place and route found the device too small: keep synthesis' figures.
                row.update(summarise(e.report), fits=False, error=str(e),
                           pnr_utilization={bel: u for bel, u in e.utilization.items()
                                            if u["used"]})
            except (YosysError, NextpnrError) as e:
                row.update(error=str(e))
            rows = [r for r in rows if {k: r.get(k) for k in key} != key] + [row]
            pe = row.get("pe", {})
            if row.get("fits") is False:
                fmax = "no fit"
            elif "error" in row:
                fmax = "error"
            else:
                fmax = row.get("fmax_mhz")
            print(f"{size:>5} {weight_format:>8} {str(gating).lower():>6} {flow:>12} "
                  f"{fmt(row.get('luts')):>6} {fmt(row.get('ffs')):>6} "
                  f"{fmt(row.get('carry')):>5} {fmt(row.get('dsps')):>4} "
                  f"{fmt(row.get('brams')):>5} {fmt(pe.get('luts')):>7} "
                  f"{fmt(pe.get('ffs')):>6} {fmt(row.get('logic_depth')):>5} "
                  f"{fmt(fmax):>7} {fmt(row.get('seconds', {}).get('total')):>7}",
                  flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"act_width": 8, "weight_width": 8, "rows": sorted(
                rows, key=lambda r: (r["size"], r["weight_format"], not r["zero_gating"],
                                     r["flow"]))}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
