"""N:M skipping: cycles of the N:M sparse engine versus the dense engine with the same
multipliers, measured on the RTL in one run, beside SCALE-Sim v3's sparse model (dense formula
with K' = K·N/M). Prints a table, writes benchmarks/results/sparsity.json.

Usage: python benchmarks/sparsity.py [--simulator S] [--size R] [--gemm M,K,N]
"""

import argparse
import json
import sys

from common import add_simulation_options
from zeroskip import ZeroskipConfig
from zeroskip.models.cycles import scalesim_ws_cycles
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate

PATTERNS = ("1:2", "1:4", "2:4", "2:8", "4:8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_simulation_options(parser, "sparsity")
    parser.add_argument("--gemm", default="256,512,256", help="M,K,N (default 256,512,256)")
    args = parser.parse_args()
    m, k, n = map(int, args.gemm.split(","))
    case = GemmCase(m, k, n, seed=5)
    rows = []
    dense_cycles = None
    for sparsity in ("dense",) + PATTERNS:
        cfg = ZeroskipConfig(rows=args.size, cols=args.size, sparsity=sparsity, output_stage=False)
        reports, _ = simulate(cfg, [case], simulator=args.simulator,
                              build_root=args.build_dir.resolve(), run_name="sparsity")
        r = reports[0]
        assert r["passed"] and r["cycles"] == r["model_cycles"], r
        dense_cycles = dense_cycles or r["cycles"]
        n_keep, group = cfg.nm if cfg.sparse else (1, 1)
        scalesim = scalesim_ws_cycles(cfg, m, k, n)
        rows.append({"sparsity": sparsity, "multipliers": cfg.multipliers,
                     "k_per_fold": cfg.k_per_fold, "cycles": r["cycles"],
                     "speedup": round(dense_cycles / r["cycles"], 4),
                     "speedup_limit": group / n_keep,
                     "scalesim_cycles": scalesim,
                     "cycles_over_scalesim": round(r["cycles"] / scalesim, 4)})
    print(f"N:M sparse vs dense engine, {args.size}x{args.size} multipliers, GEMM "
          f"{m}x{k}x{n}, {args.simulator} (RTL cycles = cycle model on every run)")
    print(f"{'sparsity':>8} {'K/fold':>7} {'cycles':>9} {'speed-up':>9} {'limit':>6} "
          f"{'SCALE-Sim':>10} {'RTL/SS':>7}")
    for r in rows:
        print(f"{r['sparsity']:>8} {r['k_per_fold']:>7} {r['cycles']:>9} {r['speedup']:>9} "
              f"{r['speedup_limit']:>6} {r['scalesim_cycles']:>10} "
              f"{r['cycles_over_scalesim']:>7}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"size": args.size, "gemm": [m, k, n],
                                    "simulator": args.simulator, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
