"""Simulation speed: the stream player against the cocotb endpoints, Verilator's -O0 against
-O2 (clean builds and runs), and one real layer (a transformer FFN up-projection with 128
tokens, 128×384×1536 on the default 8×8 engine) through the player with its memory use.

Prints tables and writes benchmarks/results/player.json. Every figure comes from this run;
compare ratios measured here, not against other machines.
Usage: python benchmarks/player.py [--quick] [--out FILE]
"""

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zeroskip import ZeroskipConfig
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) for x, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _run(cfg, case, build_root, **options):
    started = time.monotonic()
    reports, _ = simulate(cfg, [case], build_root=build_root, **options)
    (report,) = reports
    assert report["passed"], report["error"]
    return report, round(time.monotonic() - started, 2)


def harnesses(build_root, quick):
    """The same GEMM on every harness and simulator; builds cached before timing."""
    cfg = ZeroskipConfig()
    case = GemmCase(64, 128, 128 if quick else 256, seed=1)
    rows = []
    for simulator, harness, opt in (("verilator", "player", "O2"),
                                    ("verilator", "player", "O0"),
                                    ("verilator", "cocotb", "auto"),
                                    ("icarus", "player", "auto"),
                                    ("icarus", "cocotb", "auto")):
        _run(cfg, GemmCase(1, 1, 1), build_root, simulator=simulator, harness=harness,
             opt=opt)  # build
        report, total = _run(cfg, case, build_root, simulator=simulator, harness=harness,
                             opt=opt)
        rows.append({"simulator": simulator, "harness": harness,
                     "verilator_opt": opt if harness == "player" and simulator ==
                     "verilator" else None,
                     "gemm": [case.m, case.k, case.n], "cycles": report["cycles"],
                     "run_seconds": report["run_seconds"], "total_seconds": total,
                     "cycles_per_second": round(report["cycles"] / report["run_seconds"])})
    return rows


def optimisation_levels(quick):
    """Clean Verilator player builds at -O0 and -O2, and the run of a GEMM on each."""
    rows = []
    for size in ((4, 8) if quick else (4, 8, 16)):
        cfg = ZeroskipConfig(rows=size, cols=size)
        case = GemmCase(128, 32 * size, 32 * size, seed=2)
        for opt in ("O0", "O2"):
            build_root = Path(tempfile.mkdtemp(prefix="zeroskip-bench-opt-"))
            try:
                report, total = _run(cfg, case, build_root, simulator="verilator", opt=opt)
            finally:
                shutil.rmtree(build_root, ignore_errors=True)
            rows.append({"array": f"{size}x{size}", "opt": opt, "cycles": report["cycles"],
                         "build_seconds": report["build_seconds"],
                         "run_seconds": report["run_seconds"],
                         "cycles_per_second": round(report["cycles"] / report["run_seconds"])})
    return rows


def long_layer(build_root, quick):
    """One long GEMM through the player on Verilator -O2, with this process's peak memory."""
    cfg = ZeroskipConfig()
    m, k, n = (128, 384, 384) if quick else (128, 384, 1536)
    case = GemmCase(m, k, n, seed=3)
    report, total = _run(cfg, case, build_root, simulator="verilator", opt="O2")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"gemm": [m, k, n], "cycles": report["cycles"],
            "model_cycles": report["model_cycles"], "build_seconds": report["build_seconds"],
            "run_seconds": report["run_seconds"], "total_seconds": total,
            "cycles_per_second": round(report["cycles"] / report["run_seconds"]),
            "python_peak_rss_mb": round(self_rss, 1),
            "largest_child_peak_rss_mb": round(child_rss, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "player.json")
    args = parser.parse_args()
    build_root = Path(tempfile.mkdtemp(prefix="zeroskip-bench-player-"))
    try:
        # The long layer first, so that the peak memory is that of the layer alone.
        layer = long_layer(build_root, args.quick)
        speeds = harnesses(build_root, args.quick)
        levels = optimisation_levels(args.quick)
    finally:
        shutil.rmtree(build_root, ignore_errors=True)
    print("One layer through the player (Verilator -O2):")
    print(table(["GEMM", "cycles", "run s", "total s", "cycles/s", "Python MB"],
                [["x".join(map(str, layer["gemm"])), f"{layer['cycles']:,}",
                  layer["run_seconds"], layer["total_seconds"],
                  f"{layer['cycles_per_second']:,}", layer["python_peak_rss_mb"]]]))
    print("\nThe same GEMM per simulator and harness (builds cached):")
    print(table(["simulator", "harness", "opt", "cycles", "run s", "cycles/s"],
                [[r["simulator"], r["harness"], r["verilator_opt"] or "", f"{r['cycles']:,}",
                  r["run_seconds"], f"{r['cycles_per_second']:,}"] for r in speeds]))
    print("\nVerilator player, clean builds:")
    print(table(["array", "opt", "cycles", "build s", "run s", "cycles/s"],
                [[r["array"], r["opt"], f"{r['cycles']:,}", r["build_seconds"],
                  r["run_seconds"], f"{r['cycles_per_second']:,}"] for r in levels]))
    results = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()},
               "long_layer": layer, "harnesses": speeds, "optimisation_levels": levels}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
