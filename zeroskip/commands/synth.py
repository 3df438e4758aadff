"""``zeroskip synth``: one engine through Yosys (and nextpnr) for an FPGA target."""

import sys
from pathlib import Path

from ..files import check_output_dir, write_files_atomically
from ..synth.targets import TARGETS
from .options import (EXIT_FAILED, UsageError, add_config_flags, config_from_args,
                      non_negative, positive)

NAME = "synth"
HELP = "synthesise for an FPGA target: LUTs, FFs, DSPs, fmax"
DESCRIPTION = ("Synthesise the engine with Yosys for TARGET and write DIR/report.json and "
               "DIR/report.md (resources in total and per PE, row, decoder; logic depth). "
               "With --pnr, place and route it inside an out-of-context wrapper with nextpnr "
               "and report fmax and utilisation. Tool scripts, logs and netlists go to "
               "DIR/work.")


def add_arguments(parser):
    add_config_flags(parser)
    devices = "; ".join(f"{name}: {', '.join(t.devices)} (default {t.default_device})"
                        for name, t in TARGETS.items() if t.devices)
    parser.add_argument("--target", required=True, choices=tuple(TARGETS))
    parser.add_argument("--device", metavar="D", help=f"device of the target ({devices})")
    parser.add_argument("--no-dsp", action="store_true",
                        help="do not map multipliers to DSP blocks")
    parser.add_argument("--no-booth", action="store_true",
                        help="map LUT multipliers with Yosys' default array instead of "
                             "radix-4 Booth (for comparison)")
    parser.add_argument("--pnr", action="store_true",
                        help="place and route with nextpnr for fmax (ice40, ecp5)")
    parser.add_argument("--seeds", metavar="N", type=positive, default=3,
                        help="with --pnr: place with seeds 1..N and report the median fmax "
                             "(default 3)")
    parser.add_argument("--seed-jobs", metavar="N", type=positive, default=1,
                        help="with --pnr: place N seeds at once, each a nextpnr process (up "
                             "to the machine's cores; default 1)")
    parser.add_argument("--timing-weight", metavar="N", type=positive,
                        help="with --pnr: nextpnr's placer timing weight "
                             "(--placer-heap-timingweight; default: the target's, ecp5 "
                             f"{TARGETS['ecp5'].pnr_timing_weight}, ice40 nextpnr's own 10)")
    parser.add_argument("--dsp-budget", metavar="N", type=non_negative,
                        help="map at most N PE multipliers to DSP blocks, the rest to LUTs "
                             "(with ecp5 primitives by whole PE columns; default: as many as "
                             "the device has)")
    parser.add_argument("--no-primitives", action="store_true",
                        help="keep the PEs vendor-neutral (inferred multipliers) where the "
                             "target has primitives zeroskip uses (ecp5: MULT18X18D with its "
                             "registers, the default; the PE columns beyond the device's "
                             "blocks multiply in LUTs over the same register stages)")
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)


def run(args):
    from ..synth import (DesignDoesNotFit, NextpnrError, YosysError, report_json,
                         report_markdown, resolve_target, synthesize)
    from ..synth.synthesis import with_primitives

    cfg = config_from_args(args)
    try:
        spec, dev = resolve_target(args.target, args.device, pnr=args.pnr)
        with_primitives(cfg, spec, dev, dsp=not args.no_dsp, dsp_budget=args.dsp_budget,
                        primitives=not args.no_primitives)
    except ValueError as e:
        raise UsageError(f"zeroskip synth: {e}") from None
    out = args.output
    check_output_dir(out)
    work = out / "work"
    try:
        report = synthesize(cfg, args.target, device=args.device, dsp=not args.no_dsp,
                            booth=not args.no_booth, pnr=args.pnr,
                            seeds=tuple(range(1, args.seeds + 1)),
                            dsp_budget=args.dsp_budget, primitives=not args.no_primitives,
                            seed_jobs=args.seed_jobs, timing_weight=args.timing_weight,
                            workdir=work)
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
