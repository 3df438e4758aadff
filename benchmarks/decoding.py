"""Engine cycles with each weight decoder versus the dense engine, measured on the RTL in one
run: the same GEMMs and the same weights, at weight densities 0.1 to 1.0 (N:M at its own
pattern). Prints a table, writes benchmarks/results/decoding.json.

Shapes: a short M (weight loading, hence decoding, bounds each fold) and a long M (compute
bounds each fold). Usage: python benchmarks/decoding.py [--simulator S] [--size R]
"""

import argparse
import json
import sys

from common import add_simulation_options
from zeroskip import ZeroskipConfig
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate

DENSITIES = (0.1, 0.25, 0.5, 0.75, 1.0)
FORMATS = ("bitmask", "csr", "rle")
NM_PATTERNS = ("2:4", "1:4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_simulation_options(parser, "decoding")
    args = parser.parse_args()
    s = args.size
    base = ZeroskipConfig(rows=s, cols=s, output_stage=False)
    shapes = [(s, 8 * s, 8 * s), (32 * s, 8 * s, 8 * s)]
    build = args.build_dir.resolve()

    def run(cfg, cases):
        reports, _ = simulate(cfg, cases, simulator=args.simulator, build_root=build,
                              run_name="decoding")
        for r in reports:
            assert r["passed"] and r["cycles"] == r["model_cycles"], r
        return {r["name"]: r["cycles"] for r in reports}

    unstructured = [GemmCase(m, k, n, seed=3, weight_zeros=round(1 - d, 4))
                    for (m, k, n) in shapes for d in DENSITIES]
    nm_cases = {p: [GemmCase(m, k, n, seed=3) for (m, k, n) in shapes] for p in NM_PATTERNS}
    dense = run(base, unstructured + nm_cases["2:4"])
    rows = []
    for fmt in FORMATS:
        cycles = run(base.replace(weight_format=fmt), unstructured)
        for case in unstructured:
            rows.append({"format": fmt, "gemm": f"{case.m}x{case.k}x{case.n}",
                         "density": round(1 - case.weight_zeros, 4),
                         "cycles": cycles[case.name], "dense_cycles": dense[case.name],
                         "ratio": round(cycles[case.name] / dense[case.name], 4)})
    for pattern in NM_PATTERNS:
        cycles = run(base.replace(weight_format="nm", nm_pattern=pattern), nm_cases[pattern])
        n, m = map(int, pattern.split(":"))
        for case in nm_cases[pattern]:
            dense_cycles = dense[nm_cases["2:4"][nm_cases[pattern].index(case)].name]
            rows.append({"format": f"nm {pattern}", "gemm": f"{case.m}x{case.k}x{case.n}",
                         "density": n / m, "cycles": cycles[case.name],
                         "dense_cycles": dense_cycles,
                         "ratio": round(cycles[case.name] / dense_cycles, 4)})

    print(f"Engine cycles with a weight decoder / dense engine, {s}x{s} int8, "
          f"{args.simulator} (RTL cycles; the cycle model agreed on every run)")
    print(f"{'format':>9} {'gemm':>12} {'density':>8} {'cycles':>8} {'dense':>8} {'ratio':>7}")
    for r in rows:
        print(f"{r['format']:>9} {r['gemm']:>12} {r['density']:>8} {r['cycles']:>8} "
              f"{r['dense_cycles']:>8} {r['ratio']:>7}")
    worst = max((r for r in rows if r["density"] >= 0.25), key=lambda r: r["ratio"])
    print(f"worst slowdown at density >= 0.25: {worst['ratio']} ({worst['format']}, "
          f"{worst['gemm']}, density {worst['density']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"size": s, "simulator": args.simulator, "rows": rows,
                                    "worst_at_density_0.25_up": worst}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
