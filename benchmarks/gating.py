"""Zero-gating benchmark: bit toggles gated vs ungated at growing activation zero fractions,
the same GEMMs on the same array, one run. Prints a table, writes benchmarks/results/gating.json.

Ratios are gated/ungated at the same zero fraction. "datapath" = multiplier operands +
products + partial sums; "multiplier" = operands + products; "energy" is the weighted proxy of
zeroskip.models.energy. Usage: python benchmarks/gating.py [--simulator S] [--size N]
"""

import argparse
import json
import sys

from common import add_simulation_options
from zeroskip import ZeroskipConfig
from zeroskip.gemm_check import measure_activity
from zeroskip.models.energy import relative_energy
from zeroskip.testbench.cases import GemmCase

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.9)


def ratio(a, b):
    return round(a / b, 4) if b else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_simulation_options(parser, "gating")
    args = parser.parse_args()

    rows = []
    for zeros in FRACTIONS:
        case = GemmCase(8 * args.size, 4 * args.size, 4 * args.size, seed=11, act_zeros=zeros)
        runs = {}
        for gating in (True, False):
            cfg = ZeroskipConfig(rows=args.size, cols=args.size, zero_gating=gating,
                                 output_stage=False)
            report, toggles = measure_activity(cfg, case, simulator=args.simulator,
                                               build_root=args.build_dir.resolve())
            assert report["passed"], report["error"]
            runs[gating] = dict(toggles, multiplier=toggles["operands"] + toggles["products"],
                                energy=relative_energy(toggles), cycles=report["cycles"])
        g, u = runs[True], runs[False]
        rows.append({"act_zeros": zeros, "gemm": case.name, "gated": g, "ungated": u, **{
            f"{key}_ratio": ratio(g[key], u[key])
            for key in ("datapath", "multiplier", "operands", "products", "psums", "total",
                        "energy")}})

    header = ["act zeros", "datapath", "multiplier", "operands", "products", "psums", "total",
              "energy"]
    print(f"Gated / ungated toggles, {args.size}x{args.size} int8 array, "
          f"{rows[0]['gemm'].split('-')[0]} GEMMs, {args.simulator}")
    print("  ".join(f"{h:>10}" for h in header))
    for r in rows:
        print("  ".join(f"{x:>10}" for x in [r["act_zeros"]] + [
            r[f"{k}_ratio"] for k in ("datapath", "multiplier", "operands", "products",
                                      "psums", "total", "energy")]))
    dense = rows[0]
    print(f"\nat 0% zeros: gated total toggles / ungated = {dense['total_ratio']} "
          f"(control flags: {dense['gated']['control']} vs {dense['ungated']['control']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"size": args.size, "simulator": args.simulator,
                                    "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
