"""The ``zeroskip`` command line: generate, sim, demo, synth, sweep."""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .config import ConfigError, ZeroskipConfig, default_config, load_config, parameter_table
from .files import OutputError, check_output_dir, check_output_file, write_files_atomically
from .synth.targets import TARGETS

__all__ = ["main"]

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _bool(text):
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _add_config_flags(parser):
    group = parser.add_argument_group("configuration (override --config; see docs/configuration.md)")
    group.add_argument("--config", metavar="FILE.toml", type=Path,
                       help="TOML configuration file (default: built-in defaults)")
    for name, type_name, default, allowed, help_text in parameter_table():
        kind = {"int": int, "bool": _bool, "str": str}[type_name]
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"cfg_{name}", type=kind,
                           metavar=type_name.upper(),
                           help=f"{help_text} [{allowed}; default {default}]")


def _config_from_args(args, base=None):
    overrides = {f.name: getattr(args, f"cfg_{f.name}")
                 for f in dataclasses.fields(ZeroskipConfig)
                 if getattr(args, f"cfg_{f.name}") is not None}
    if args.config is None and base is not None:
        return ZeroskipConfig.from_dict({**base.to_dict(), **overrides})
    return load_config(args.config, overrides)


def _gemm_dims(text):
    parts = text.split(",")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        dims = []
    if len(dims) != 3:
        raise argparse.ArgumentTypeError(f"expected M,K,N (three integers), not {text!r}")
    return tuple(dims)


def _fraction_parser(*, allow_one):
    """argparse type for a float in [0, 1] (or [0, 1) without ``allow_one``)."""
    interval = "[0, 1]" if allow_one else "[0, 1)"

    def parse(text):
        try:
            f = float(text)
        except ValueError:
            f = -1.0
        if not (0.0 <= f <= 1.0 if allow_one else 0.0 <= f < 1.0):
            noun = "fraction" if allow_one else "probability"
            raise argparse.ArgumentTypeError(f"expected a {noun} in {interval}, not {text!r}")
        return f
    return parse


_probability = _fraction_parser(allow_one=False)
_fraction = _fraction_parser(allow_one=True)


def _positive(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return n


def _seed(text):
    try:
        s = int(text)
    except ValueError:
        s = -1
    if s < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, not {text!r}")
    return s


def _requant_pair(text):
    parts = text.split(",")
    try:
        pair = [int(p) for p in parts]
    except ValueError:
        pair = []
    if len(pair) != 2:
        raise argparse.ArgumentTypeError(f"expected MULT,SHIFT (two integers), not {text!r}")
    return tuple(pair)


def _build_parser():
    parser = _Parser(prog="zeroskip", description="Generate, simulate and check sparse "
                     "systolic-array GEMM accelerators.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gen = sub.add_parser("generate", help="write <name>.v and <name>.json for a configuration",
                         description="Write DIR/<name>.v (the engine and its modules) and "
                                     "DIR/<name>.json (the resolved configuration).")
    _add_config_flags(gen)
    gen.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)

    sim = sub.add_parser("sim", help="simulate one random GEMM and check it against NumPy",
                         description="Generate the engine, run a seeded random GEMM through "
                                     "it in a cocotb simulation, check every result against "
                                     "NumPy and report cycles. Exit status 0 only if it passed.")
    _add_config_flags(sim)
    sim.add_argument("--gemm", metavar="M,K,N", type=_gemm_dims, required=True)
    sim.add_argument("--seed", type=_seed, default=0)
    sim.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    sim.add_argument("--stall", metavar="P", type=_probability, default=0.0,
                     help="probability of an idle or backpressure cycle on every stream "
                          "(seeded); 0 measures the engine's own cycle count")
    sim.add_argument("--act-zeros", metavar="F", type=_fraction,
                     help="exact fraction of zero activations in the random GEMM (0 to 1)")
    sim.add_argument("--weight-zeros", metavar="F", type=_fraction,
                     help="exact fraction of zero weights in the random GEMM (0 to 1); with "
                          "--weight-format nm the weights are then N:M-pruned")
    sim.add_argument("--requant", metavar="MULT,SHIFT", type=_requant_pair,
                     help="requantise the results in hardware (needs --output-stage true): "
                          "y = saturate((acc·MULT + 2**(SHIFT-1)) >> SHIFT) to out_width bits; "
                          "MULT in [0, 2**requant_mult_width - 1], SHIFT in "
                          "[0, acc_width + requant_mult_width - 1]")
    sim.add_argument("--relu", action="store_true",
                     help="with --requant: ReLU before saturating")
    sim.add_argument("--waves", action="store_true", help="record a waveform (FST or VCD)")
    sim.add_argument("--activity", action="store_true",
                     help="count bit toggles by signal class from a waveform (JSON key "
                          "'toggles') and the relative energy proxy")
    sim.add_argument("--compare-gating", action="store_true",
                     help="run the same GEMM with and without zero-gating and report both and "
                          "'gated_over_ungated' (datapath toggles)")
    sim.add_argument("--json", metavar="FILE", type=Path, help="also write the report as JSON")
    sim.add_argument("--build-dir", metavar="DIR", type=Path,
                     help="build cache (default: $ZEROSKIP_BUILD_DIR or ~/.cache/zeroskip)")

    demo = sub.add_parser("demo", help="the main job: a pruned int8 network on the default "
                                       "configuration's hardware",
                          description="Train the digits MLP (64-128-64-10), prune it (2:4, "
                                      "1:4, 50/75/90%%) and quantise it to int8; run the test "
                                      "split through the RTL of the dense, 2:4 and 1:4 engines "
                                      "layer by layer (output stage on the device), check "
                                      "every logit against the NumPy int8 model, count "
                                      "toggles gated and ungated, and write DIR/report.md, "
                                      "DIR/report.json and PNG plots.")
    demo.add_argument("-o", "--output", metavar="DIR", type=Path, default=Path("demo"))
    demo.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    demo.add_argument("--build-dir", metavar="DIR", type=Path)
    demo.add_argument("--quick", action="store_true",
                      help="run a subset of the test split (first 24 images)")
    demo.add_argument("--images", metavar="N", type=int,
                      help="run the first N test images (default: all 360)")
    demo.add_argument("--weights", metavar="FILE", type=Path,
                      help="also run your own network: a saved model, or int8/float weights "
                           "(.npz w0, w1, ... or a one-layer .npy) for 64 inputs and 10 "
                           "outputs, calibrated on the training images")
    demo.add_argument("--synth", action="store_true",
                      help="also synthesise each engine for ECP5-85 with nextpnr (area, "
                           "fmax; cached between runs)")
    demo.add_argument("-j", "--jobs", metavar="N", type=int, default=2,
                      help="engines simulated at once (default 2)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")

    devices = "; ".join(f"{name}: {', '.join(t.devices)} (default {t.default_device})"
                        for name, t in TARGETS.items() if t.devices)
    syn = sub.add_parser("synth", help="synthesise for an FPGA target: LUTs, FFs, DSPs, fmax",
                         description="Synthesise the engine with Yosys for TARGET and write "
                                     "DIR/report.json and DIR/report.md (resources in total "
                                     "and per PE, row, decoder; logic depth). With --pnr, "
                                     "place and route it inside an out-of-context wrapper "
                                     "with nextpnr and report fmax and utilisation. Tool "
                                     "scripts, logs and netlists go to DIR/work.")
    _add_config_flags(syn)
    syn.add_argument("--target", required=True, choices=tuple(TARGETS))
    syn.add_argument("--device", metavar="D", help=f"device of the target ({devices})")
    syn.add_argument("--no-dsp", action="store_true",
                     help="do not map multipliers to DSP blocks")
    syn.add_argument("--no-booth", action="store_true",
                     help="map LUT multipliers with Yosys' default array instead of radix-4 "
                          "Booth (for comparison)")
    syn.add_argument("--pnr", action="store_true",
                     help="place and route with nextpnr for fmax (ice40, ecp5)")
    syn.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)
    _add_sweep_parser(sub)
    return parser


def _add_sweep_parser(sub):
    sweep = sub.add_parser(
        "sweep", help="synthesise a grid of configurations in parallel: CSV, JSON, plots",
        description="Synthesise every valid combination of a grid (a TOML file of value lists "
                    "and/or the list flags below; flags replace the file's keys) on local "
                    "processes or a Dask cluster, and write DIR/sweep.csv, DIR/sweep.json and "
                    "three PNG plots. Results are cached by a hash of configuration, target, "
                    "options and tool versions. See docs/synthesis.md, 'Sweeps'.")
    sweep.add_argument("grid", metavar="GRID.toml", type=Path, nargs="?",
                       help="grid file (e.g. benchmarks/grids/int8.toml)")
    group = sweep.add_argument_group("grid flags (comma-separated lists, e.g. --rows 4,8 "
                                     "--zero-gating true,false)")
    for name, type_name, default, allowed, _ in parameter_table():
        shown = str(default).lower() if isinstance(default, bool) else default
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"grid_{name}", metavar="LIST",
                           help=f"[{allowed}; default {shown}]")
    group.add_argument("--targets", dest="grid_targets", metavar="LIST",
                       help="targets, each TARGET or TARGET:DEVICE (e.g. generic,ice40:hx8k); "
                            "default generic")
    group.add_argument("--dsp", dest="grid_dsp", metavar="LIST",
                       help="DSP inference: true, false or true,false (default true)")
    group.add_argument("--pnr", dest="grid_pnr", action=argparse.BooleanOptionalAction,
                       help="place and route (ice40, ecp5; other targets report logic depth)")
    run = sweep.add_argument_group("running")
    run.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)
    run.add_argument("-j", "--jobs", metavar="N", type=_positive, default=None,
                     help="local worker processes (default: the CPU count)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the jobs on this Dask scheduler (tcp://host:8786) instead")
    run.add_argument("--cache", metavar="DIR", type=Path,
                     help="result cache (default: $ZEROSKIP_CACHE_DIR/synth or "
                          "~/.cache/zeroskip/synth)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--no-plots", action="store_true", help="write only CSV and JSON")
    run.add_argument("--quiet", action="store_true", help="no progress bar or skip notes")


def _cmd_generate(args):
    from .hdl.verilog import generate_verilog

    cfg = _config_from_args(args)
    out = args.output
    check_output_dir(out)
    files = {out / f"{cfg.name}.v": generate_verilog(cfg), out / f"{cfg.name}.json": cfg.to_json()}
    write_files_atomically(files)
    for path in files:
        print(path)
    return 0


def _cmd_sim(args):
    from .gemm_check import run_gemm_check

    cfg = _config_from_args(args)
    if args.json:
        check_output_file(args.json, "--json")
    if args.build_dir:
        check_output_dir(args.build_dir, "--build-dir")
    m, k, n = args.gemm
    for dim_name, value in zip("MKN", args.gemm):
        if not 1 <= value <= cfg.max_dim:
            raise UsageError(f"zeroskip sim: --gemm {dim_name} must be between 1 and "
                             f"{cfg.max_dim} (dim_width={cfg.dim_width}), not {value}")
    requant = None
    if args.relu and args.requant is None:
        raise UsageError("zeroskip sim: --relu needs --requant MULT,SHIFT")
    if args.requant is not None:
        if not cfg.output_stage:
            raise UsageError("zeroskip sim: --requant needs an engine with an output stage "
                             "(--output-stage true)")
        mult, shift = args.requant
        if not 0 <= mult < 1 << cfg.requant_mult_width:
            raise UsageError(f"zeroskip sim: --requant MULT must be between 0 and "
                             f"{(1 << cfg.requant_mult_width) - 1} "
                             f"(requant_mult_width={cfg.requant_mult_width}), not {mult}")
        if not 0 <= shift <= cfg.requant_max_shift:
            raise UsageError(f"zeroskip sim: --requant SHIFT must be between 0 and "
                             f"{cfg.requant_max_shift} (acc_width + requant_mult_width - 1), "
                             f"not {shift}")
        requant = (mult, shift, args.relu)
    report = run_gemm_check(cfg, m, k, n, seed=args.seed, simulator=args.simulator,
                            requant=requant,
                            stall=args.stall, waves=args.waves, build_root=args.build_dir,
                            act_zeros=args.act_zeros, weight_zeros=args.weight_zeros,
                            activity=args.activity, compare_gating=args.compare_gating)
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if args.json:
        write_files_atomically({args.json: text})
    print(text, end="")
    return 0 if report["passed"] else EXIT_FAILED


def _cmd_demo(args):
    from .nn.demo import run_demo

    if args.images is not None and args.images < 1:
        raise UsageError(f"zeroskip demo: --images must be at least 1, not {args.images}")
    if args.jobs < 1:
        raise UsageError(f"zeroskip demo: --jobs must be at least 1, not {args.jobs}")
    check_output_dir(args.output)
    if args.build_dir:
        check_output_dir(args.build_dir, "--build-dir")
    try:
        ok = run_demo(default_config(), args.output, simulator=args.simulator,
                      build_root=args.build_dir, quick=args.quick, images=args.images,
                      weights=args.weights, synth=args.synth, jobs=args.jobs,
                      progress=not args.no_progress)
    except (ValueError, TypeError) as e:
        raise UsageError(f"zeroskip demo: {e}") from None
    return 0 if ok else EXIT_FAILED


def _cmd_synth(args):
    from .synth import (DesignDoesNotFit, NextpnrError, YosysError, report_json,
                        report_markdown, resolve_target, synthesize)

    cfg = _config_from_args(args)
    try:
        resolve_target(args.target, args.device, pnr=args.pnr)
    except ValueError as e:
        raise UsageError(f"zeroskip synth: {e}") from None
    out = args.output
    check_output_dir(out)
    work = out / "work"
    try:
        report = synthesize(cfg, args.target, device=args.device, dsp=not args.no_dsp,
                            booth=not args.no_booth, pnr=args.pnr, workdir=work)
    except DesignDoesNotFit as e:
        print(f"zeroskip synth: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (YosysError, NextpnrError) as e:
        print(f"zeroskip synth: {e}\n(logs in {work})", file=sys.stderr)
        return EXIT_FAILED
    files = {out / "report.json": report_json(report), out / "report.md": report_markdown(report)}
    write_files_atomically(files)
    print(report_markdown(report), end="")
    for path in files:
        print(path)
    return 0


def _cmd_sweep(args):
    from .synth.grid import GridError, expand_grid, grid_keys, load_grid, parse_list_flag
    from .synth.sweep import default_cache_dir, run_jobs
    from .synth.sweep_report import plot_pngs, rows_from_results, sweep_csv, sweep_json

    out = args.output
    check_output_dir(out)
    if args.cache and not args.no_cache:
        check_output_dir(args.cache, "--cache")
    try:
        overrides = {key: parse_list_flag(key, getattr(args, f"grid_{key}"))
                     for key in grid_keys()
                     if key != "pnr" and getattr(args, f"grid_{key}") is not None}
        if args.grid_pnr is not None:
            overrides["pnr"] = args.grid_pnr
        grid = load_grid(args.grid, overrides)
    except GridError as e:
        raise UsageError(f"zeroskip sweep: {e}") from None
    jobs, skipped = expand_grid(grid)
    if not args.quiet:
        for s in skipped:
            values = ", ".join(f"{k}={v!r}" for k, v in s.values.items())
            print(f"skipped {values}: {s.reason}", file=sys.stderr)
    if not jobs:
        raise UsageError("zeroskip sweep: no valid combination in the grid "
                         f"({len(skipped)} skipped)")
    cache = None if args.no_cache else (args.cache or default_cache_dir())
    job_dicts = [job.to_dict() for job in jobs]
    try:
        result = run_jobs(job_dicts, cache_dir=cache, n_workers=args.jobs,
                          scheduler=args.scheduler, progress=not args.quiet)
    except OSError as e:
        # Results finished before the failure are in the cache; a re-run picks them up.
        where = f"Dask scheduler {args.scheduler!r}" if args.scheduler else "local workers"
        print(f"zeroskip sweep: {where} failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    rows = rows_from_results(job_dicts, result)
    failed = [r for r in rows if r["status"] != "ok"]
    retried = [r for r in rows if r["retries"]]
    summary = {"jobs": len(jobs), "computed": result.computed, "cached": result.cached,
               "failed": len(failed), "retried": len(retried), "skipped": len(skipped),
               "skipped_reasons": [{"values": s.values, "reason": s.reason} for s in skipped],
               "scheduler": args.scheduler, "cache": str(cache) if cache else None}
    files = {out / "sweep.csv": sweep_csv(rows), out / "sweep.json": sweep_json(rows, summary)}
    if not args.no_plots:
        files.update({out / name: png for name, png in plot_pngs(rows).items()})
    write_files_atomically(files)
    for row in failed:
        print(f"{row['status']}: {row['target']} {row['device'] or ''} {row['rows']}x"
              f"{row['cols']} {row['variant']}: {row['error']}", file=sys.stderr)
    for row in retried:
        print(f"retried: {row['target']} {row['device'] or ''} {row['rows']}x{row['cols']} "
              f"{row['variant']}: {row['retries']} (ran again once)", file=sys.stderr)
    print(f"{len(jobs)} jobs: {result.computed} computed, {result.cached} cached, "
          f"{len(failed)} failed, {len(skipped)} combinations skipped")
    for path in files:
        print(path)
    return EXIT_FAILED if any(r["status"] == "error" for r in rows) else 0


def main(argv=None):
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return {"generate": _cmd_generate, "sim": _cmd_sim, "demo": _cmd_demo,
                "synth": _cmd_synth, "sweep": _cmd_sweep}[args.command](args)
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as e:
        print(f"zeroskip: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as e:
        print(f"zeroskip {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        # A path the command needs (a build folder, a cache) turned out unusable mid-way.
        where = f"{e.filename!r}: " if e.filename else ""
        print(f"zeroskip {args.command}: cannot use {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
