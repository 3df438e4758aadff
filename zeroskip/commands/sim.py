"""``zeroskip sim``: one seeded random GEMM on the RTL, checked against NumPy and the cycle
model."""

import json
import sys
from pathlib import Path

from ..config import ConfigError
from ..files import check_output_dir, check_output_file, write_files_atomically
from .options import (EXIT_FAILED, UsageError, add_config_flags, config_from_args, fraction,
                      gemm_dims, non_negative, probability, requant_pair)

NAME = "sim"
HELP = "simulate one random GEMM and check it against NumPy"
DESCRIPTION = ("Generate the engine, run a seeded random GEMM through it on a simulator, "
               "check every result against NumPy and report cycles. Exit status 0 only if "
               "it passed.")


def add_arguments(parser):
    add_config_flags(parser)
    parser.add_argument("--gemm", metavar="M,K,N", type=gemm_dims, required=True)
    parser.add_argument("--seed", type=non_negative, default=0)
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--harness", choices=("player", "cocotb", "axis"), default="player",
                        help="player: a generated Verilog testbench plays the streams from "
                             "files at the simulator's speed; cocotb: the cycle-by-cycle "
                             "Python endpoints; axis: the AXI4-Stream top driven by "
                             "cocotbext-axi (default player)")
    parser.add_argument("--stall", metavar="P", type=probability, default=0.0,
                        help="probability of an idle or backpressure cycle on every stream "
                             "(seeded); 0 measures the engine's own cycle count")
    parser.add_argument("--act-zeros", metavar="F", type=fraction,
                        help="exact fraction of zero activations in the random GEMM (0 to 1)")
    parser.add_argument("--weight-zeros", metavar="F", type=fraction,
                        help="exact fraction of zero weights in the random GEMM (0 to 1); "
                             "with --weight-format nm the weights are then N:M-pruned")
    parser.add_argument("--requant", metavar="MULT,SHIFT", type=requant_pair,
                        help="requantise the results in hardware (needs --output-stage "
                             "true): y = saturate((acc·MULT + 2**(SHIFT-1)) >> SHIFT) to "
                             "out_width bits; MULT in [0, 2**requant_mult_width - 1], SHIFT "
                             "in [0, acc_width + requant_mult_width - 1]")
    parser.add_argument("--relu", action="store_true",
                        help="with --requant: ReLU before saturating")
    parser.add_argument("--waves", action="store_true", help="record a waveform (FST or VCD)")
    parser.add_argument("--activity", action="store_true",
                        help="count bit toggles by signal class from a waveform (JSON key "
                             "'toggles') and the relative energy proxy")
    parser.add_argument("--compare-gating", action="store_true",
                        help="run the same GEMM with and without zero-gating and report both "
                             "and 'gated_over_ungated' (datapath toggles)")
    parser.add_argument("--json", metavar="FILE", type=Path,
                        help="also write the report as JSON")
    parser.add_argument("--build-dir", metavar="DIR", type=Path,
                        help="build cache (default: $ZEROSKIP_BUILD_DIR or ~/.cache/zeroskip)")


def run(args):
    from ..gemm_check import check_activity, run_gemm_check
    from ..models.requant import check_requant
    from ..testbench.player import PlayerError
    from ..testbench.runner import SimulationFailed, SimulatorUnavailable

    cfg = config_from_args(args)
    if args.json:
        check_output_file(args.json, "--json")
    if args.build_dir:
        check_output_dir(args.build_dir, "--build-dir")
    m, k, n = args.gemm
    try:
        cfg.check_gemm(m, k, n, allow_empty=False)
    except ConfigError as e:
        raise UsageError(f"zeroskip sim: --gemm: {e}") from None
    if args.relu and args.requant is None:
        raise UsageError("zeroskip sim: --relu needs --requant MULT,SHIFT")
    if args.harness == "axis" and (args.waves or args.activity or args.compare_gating):
        raise UsageError("zeroskip sim: --waves, --activity and --compare-gating need "
                         "--harness player or cocotb, not axis")
    if args.activity or args.compare_gating:
        try:
            check_activity(cfg)
        except ValueError as e:
            raise UsageError(f"zeroskip sim: --activity/--compare-gating: {e}") from None
    requant = None if args.requant is None else (*args.requant, args.relu)
    try:
        check_requant(cfg, requant)
    except ValueError as e:
        raise UsageError(f"zeroskip sim: --requant: {e}") from None
    try:
        report = run_gemm_check(cfg, m, k, n, seed=args.seed, simulator=args.simulator,
                                harness=args.harness, requant=requant, stall=args.stall,
                                waves=args.waves, build_root=args.build_dir,
                                act_zeros=args.act_zeros, weight_zeros=args.weight_zeros,
                                activity=args.activity, compare_gating=args.compare_gating)
    except (SimulatorUnavailable, SimulationFailed, PlayerError) as e:
        print(f"zeroskip sim: {e}", file=sys.stderr)
        return EXIT_FAILED
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if args.json:
        write_files_atomically({args.json: text})
    print(text, end="")
    return 0 if report["passed"] else EXIT_FAILED
