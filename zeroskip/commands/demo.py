"""``zeroskip demo``: the main job, a pruned int8 network on the default configuration's
hardware."""

import sys
from pathlib import Path

from ..config import default_config
from ..files import check_output_dir
from .options import EXIT_FAILED, UsageError, positive

NAME = "demo"
HELP = "the main job: a pruned int8 network on the default configuration's hardware"
DESCRIPTION = ("Train the digits MLP (64-128-64-10), prune it (2:4, 1:4, 50/75/90%%) and "
               "quantise it to int8; run the test split through the RTL of the dense, 2:4 and "
               "1:4 engines layer by layer (output stage on the device), check every logit "
               "against the NumPy int8 model, count toggles gated and ungated, and write "
               "DIR/report.md, DIR/report.json and PNG plots.")


def add_arguments(parser):
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, default=Path("demo"))
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--build-dir", metavar="DIR", type=Path)
    parser.add_argument("--quick", action="store_true",
                        help="run a subset of the test split (first 24 images)")
    parser.add_argument("--images", metavar="N", type=positive,
                        help="run the first N test images (default: all 360)")
    parser.add_argument("--weights", metavar="FILE", type=Path,
                        help="also run your own network: a saved model, or int8/float weights "
                             "(.npz w0, w1, ... or a one-layer .npy) for 64 inputs and 10 "
                             "outputs, calibrated on the training images")
    parser.add_argument("--synth", action="store_true",
                        help="also synthesise each engine for ECP5-85 with nextpnr (area, "
                             "fmax; cached between runs)")
    parser.add_argument("-j", "--jobs", metavar="N", type=positive, default=2,
                        help="engines simulated at once (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    from ..nn.demo import run_demo
    from ..testbench.player import PlayerError
    from ..testbench.runner import SimulatorUnavailable

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
    except (SimulatorUnavailable, PlayerError) as e:
        print(f"zeroskip demo: {e}", file=sys.stderr)
        return EXIT_FAILED
    return 0 if ok else EXIT_FAILED
