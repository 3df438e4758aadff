"""Spine benchmarks: RTL cycles vs the cycle model vs SCALE-Sim v3's WS formula, utilization
for growing M, Verilog generation time, and Verilator vs Icarus simulation time.

Prints tables and writes benchmarks/results/spine.json. Every figure comes from this run.
Usage: python benchmarks/spine.py [--quick] [--out FILE]
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from zeroskip import ZeroskipConfig
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.models.cycles import scalesim_ws_cycles, utilization
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) for x, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cycles_vs_scalesim(build_root, quick):
    results = []
    for size in ((4, 8) if quick else (4, 8, 16)):
        cfg = ZeroskipConfig(rows=size, cols=size, output_stage=False)
        long_m = 4 * (2 * size)
        shapes = [(long_m, 4 * size, 4 * size), (2 * long_m, 3 * size + 1, 2 * size + 3),
                  (long_m, size, size), (size, 4 * size, 4 * size), (1, 2 * size, 2 * size)]
        cases = [GemmCase(*s, seed=i) for i, s in enumerate(shapes)]
        reports, _ = simulate(cfg, cases, simulator="verilator", build_root=build_root,
                              run_name="bench-cycles")
        for case, r in zip(cases, reports):
            ss = scalesim_ws_cycles(cfg, case.m, case.k, case.n)
            folds = -(-case.k // size) * -(-case.n // size)
            results.append({"array": f"{size}x{size}", "m": case.m, "k": case.k, "n": case.n,
                            "folds": folds, "passed": r["passed"], "rtl_cycles": r["cycles"],
                            "model_cycles": r["model_cycles"], "scalesim_ws_cycles": ss,
                            "rtl_over_scalesim": round(r["cycles"] / ss, 4),
                            "utilization": round(utilization(cfg, case.m, case.k, case.n,
                                                             r["cycles"]), 4)})
    return results


def utilization_vs_m(build_root, quick):
    cfg = ZeroskipConfig(rows=8, cols=8, output_stage=False)
    ms = (8, 32, 128) if quick else (1, 8, 16, 32, 64, 128, 256, 512)
    cases = [GemmCase(m, 64, 64, seed=m) for m in ms]
    reports, _ = simulate(cfg, cases, simulator="verilator", build_root=build_root,
                          run_name="bench-util")
    return [{"m": c.m, "k": c.k, "n": c.n, "passed": r["passed"], "rtl_cycles": r["cycles"],
             "model_cycles": r["model_cycles"],
             "utilization": round(utilization(cfg, c.m, c.k, c.n, r["cycles"]), 4)}
            for c, r in zip(cases, reports)]


def generation_time(quick):
    out = []
    for size in ((8, 32) if quick else (8, 16, 32, 64)):
        cfg = ZeroskipConfig(rows=size, cols=size, output_stage=False)
        t0 = time.perf_counter()
        text = generate_verilog(cfg)
        out.append({"array": f"{size}x{size}", "seconds": round(time.perf_counter() - t0, 2),
                    "verilog_bytes": len(text)})
    return out


def simulator_speed(build_root):
    """Wall time of the same 16x16 GEMM on both simulators. A trivial 1x1x1 run on the cached
    build measures each simulator's fixed cost (start-up, cocotb, Python), which is
    subtracted so the ratio compares simulation speed proper."""
    cfg = ZeroskipConfig(rows=16, cols=16, output_stage=False)
    case = GemmCase(128, 64, 64, seed=1)
    out = {}
    for sim in ("icarus", "verilator"):
        timings = []
        for name, cases in (("build", [GemmCase(1, 1, 1)]), ("fixed", [GemmCase(1, 1, 1)]),
                            ("gemm", [case])):
            t0 = time.perf_counter()
            reports, _ = simulate(cfg, cases, simulator=sim, build_root=build_root,
                                  run_name=f"bench-speed-{name}")
            timings.append(time.perf_counter() - t0)
        out[sim] = {"build_seconds": round(timings[0], 2), "fixed_seconds": round(timings[1], 2),
                    "gemm_seconds": round(timings[2], 2),
                    "net_seconds": round(timings[2] - timings[1], 2),
                    "passed": reports[0]["passed"], "rtl_cycles": reports[0]["cycles"]}
    out["gemm"] = {"array": "16x16", "m": case.m, "k": case.k, "n": case.n}
    out["icarus_over_verilator"] = round(out["icarus"]["net_seconds"] /
                                         out["verilator"]["net_seconds"], 2)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes, no simulator race")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "spine.json")
    parser.add_argument("--build-dir", type=Path, default=Path(".bench-build"))
    args = parser.parse_args()
    build_root = args.build_dir.resolve()

    results = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()}}
    results["cycles"] = cycles_vs_scalesim(build_root, args.quick)
    print("RTL cycles (Verilator) vs cycle model vs SCALE-Sim v3 WS formula")
    print(table(["array", "M", "K", "N", "folds", "RTL", "model", "SCALE-Sim", "RTL/SS",
                 "util"],
                [[r["array"], r["m"], r["k"], r["n"], r["folds"], r["rtl_cycles"],
                  r["model_cycles"], r["scalesim_ws_cycles"], r["rtl_over_scalesim"],
                  r["utilization"]] for r in results["cycles"]]))

    results["utilization"] = utilization_vs_m(build_root, args.quick)
    print("\nUtilization, 8x8 array, K = N = 64")
    print(table(["M", "RTL cycles", "model", "utilization"],
                [[r["m"], r["rtl_cycles"], r["model_cycles"], r["utilization"]]
                 for r in results["utilization"]]))

    results["generation"] = generation_time(args.quick)
    print("\nVerilog generation time")
    print(table(["array", "seconds", "bytes"],
                [[r["array"], r["seconds"], r["verilog_bytes"]] for r in results["generation"]]))

    if not args.quick:
        results["simulators"] = s = simulator_speed(build_root)
        print(f"\nSame 16x16 GEMM {s['gemm']['m']}x{s['gemm']['k']}x{s['gemm']['n']} "
              f"({s['verilator']['rtl_cycles']} cycles), builds cached, fixed start-up cost "
              f"subtracted: Icarus {s['icarus']['net_seconds']} s, Verilator "
              f"{s['verilator']['net_seconds']} s: Icarus/Verilator = "
              f"{s['icarus_over_verilator']}")

    all_passed = all(r["passed"] for r in results["cycles"] + results["utilization"])
    exact = all(r["rtl_cycles"] == r["model_cycles"]
                for r in results["cycles"] + results["utilization"])
    results["all_passed"], results["model_exact"] = all_passed, exact
    print(f"\nall results match NumPy: {all_passed}; cycle model exact on every shape: {exact}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all_passed and exact else 1


if __name__ == "__main__":
    sys.exit(main())
