"""``zeroskip sweep``: a grid of configurations through synthesis, in parallel, cached."""

import argparse
import sys
from pathlib import Path

from ..config import parameter_table
from ..files import check_output_dir, write_files_atomically
from .options import EXIT_FAILED, UsageError, positive

NAME = "sweep"
HELP = "synthesise a grid of configurations in parallel: CSV, JSON, plots"
DESCRIPTION = ("Synthesise every valid combination of a grid (a TOML file of value lists "
               "and/or the list flags below; flags replace the file's keys) on local "
               "processes or a Dask cluster, and write DIR/sweep.csv, DIR/sweep.json and "
               "three PNG plots. Results are cached by a hash of the generated design, the "
               "flow and the tool versions. See docs/synthesis.md, 'Sweeps'.")


def add_arguments(parser):
    parser.add_argument("grid", metavar="GRID.toml", type=Path, nargs="?",
                        help="grid file (e.g. benchmarks/grids/int8.toml)")
    group = parser.add_argument_group("grid flags (comma-separated lists, e.g. --rows 4,8 "
                                      "--zero-gating true,false)")
    for name, type_name, default, allowed, _ in parameter_table():
        shown = str(default).lower() if isinstance(default, bool) else default
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"grid_{name}", metavar="LIST",
                           help=f"[{allowed}; default {shown}]")
    group.add_argument("--targets", dest="grid_targets", metavar="LIST",
                       help="targets, each TARGET or TARGET:DEVICE (e.g. "
                            "generic,ice40:hx8k); default generic")
    group.add_argument("--dsp", dest="grid_dsp", metavar="LIST",
                       help="DSP inference: true, false or true,false (default true)")
    group.add_argument("--pnr", dest="grid_pnr", action=argparse.BooleanOptionalAction,
                       help="place and route (ice40, ecp5; other targets report logic "
                            "depth)")
    group.add_argument("--seeds", dest="grid_seeds", metavar="N", type=positive,
                       help="with place and route: seeds 1..N, median fmax (default 3)")
    group.add_argument("--dsp-budget", dest="grid_dsp_budget", metavar="LIST",
                       help="PE multipliers in DSP blocks at most, the rest in LUTs "
                            "(default: what the device has)")
    run = parser.add_argument_group("running")
    run.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)
    run.add_argument("-j", "--jobs", metavar="N", type=positive, default=None,
                     help="local worker processes (default: the CPU count)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the jobs on this Dask scheduler (tcp://host:8786) instead")
    run.add_argument("--cache", metavar="DIR", type=Path,
                     help="result cache (default: $ZEROSKIP_CACHE_DIR/synth or "
                          "~/.cache/zeroskip/synth)")
    run.add_argument("--no-cache", action="store_true",
                     help="neither read nor write the cache")
    run.add_argument("--no-plots", action="store_true", help="write only CSV and JSON")
    run.add_argument("--quiet", action="store_true", help="no progress bar or skip notes")


def _grid(args):
    from ..synth.grid import GridError, grid_keys, load_grid, parse_list_flag

    try:
        overrides = {key: parse_list_flag(key, getattr(args, f"grid_{key}"))
                     for key in grid_keys()
                     if key not in ("pnr", "seeds") and getattr(args, f"grid_{key}") is not None}
        for key in ("pnr", "seeds"):
            if getattr(args, f"grid_{key}") is not None:
                overrides[key] = getattr(args, f"grid_{key}")
        return load_grid(args.grid, overrides)
    except GridError as e:
        raise UsageError(f"zeroskip sweep: {e}") from None


def run(args):
    from ..synth.grid import expand_grid
    from ..synth.sweep import default_cache_dir, run_sweep

    out = args.output
    check_output_dir(out)
    if args.cache and not args.no_cache:
        check_output_dir(args.cache, "--cache")
    jobs, skipped = expand_grid(_grid(args))
    if not args.quiet:
        for s in skipped:
            values = ", ".join(f"{k}={v!r}" for k, v in s.values.items())
            print(f"skipped {values}: {s.reason}", file=sys.stderr)
    if not jobs:
        raise UsageError("zeroskip sweep: no valid combination in the grid "
                         f"({len(skipped)} skipped)")
    cache = None if args.no_cache else (args.cache or default_cache_dir())
    try:
        outcome = run_sweep(jobs, skipped, cache_dir=cache, n_workers=args.jobs,
                            scheduler=args.scheduler, progress=not args.quiet,
                            plots=not args.no_plots)
    except OSError as e:
        # Results finished before the failure are in the cache; a re-run picks them up.
        where = f"Dask scheduler {args.scheduler!r}" if args.scheduler else "local workers"
        print(f"zeroskip sweep: {where} failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    files = {out / name: content for name, content in outcome.files.items()}
    write_files_atomically(files)
    for line in outcome.messages():
        print(line, file=sys.stderr)
    print(outcome.summary_line())
    for path in files:
        print(path)
    return EXIT_FAILED if outcome.errors else 0
