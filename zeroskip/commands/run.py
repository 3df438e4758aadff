"""``zeroskip run``: your own ONNX model on the generated engine, through the RTL."""

import sys
from pathlib import Path

from ..files import check_output_dir
from .options import EXIT_FAILED, UsageError, add_config_flags, config_from_args

NAME = "run"
HELP = "run an ONNX model layer by layer through the RTL and check it against onnxruntime"
DESCRIPTION = (
    "Read an ONNX model (MatMul/Gemm/Add/Relu/Flatten/Reshape chains, float or int8 QDQ, "
    "MatMulInteger, QLinearMatMul), prune a float model to --prune, quantise it to int8 with "
    "activation scales from --calibration, run every layer of --inputs as GEMM commands on "
    "the engine's RTL (biases in the accumulators, requantisation and ReLU in the output "
    "stage, ties rounded to even as onnxruntime does unless --requant-rounding says "
    "otherwise), check every result against the NumPy int8 model and the outputs against "
    "onnxruntime and the float model, and write DIR/report.md, DIR/report.json, PNG plots "
    "and DIR/outputs.npy. Exit status 0 only if every RTL result equals the model.")


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL.onnx", type=Path)
    add_config_flags(parser)
    parser.add_argument("--prune", metavar="SPEC", default="none",
                        help="none, N:M along K (e.g. 2:4; an N:M engine needs its pattern "
                             "or a sparser one) or unstructured:F (F in [0, 1)); float "
                             "models only (default none)")
    parser.add_argument("--prune-score", choices=("magnitude", "activation"),
                        default="magnitude",
                        help="rank weights by |W|, or by |W| times the L2 norm of their "
                             "input feature over the calibration data (default magnitude)")
    parser.add_argument("--calibration", metavar="X.npy", type=Path, required=True,
                        help="inputs that set the activation scales (the model's input "
                             "shape, any batch)")
    parser.add_argument("--inputs", metavar="X.npy", type=Path, required=True,
                        help="inputs to run; batch rows become GEMM rows M")
    parser.add_argument("--labels", metavar="Y.npy", type=Path,
                        help="class index per input row: the report adds accuracy")
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    parser.add_argument("--build-dir", metavar="DIR", type=Path,
                        help="build cache (default: $ZEROSKIP_BUILD_DIR or ~/.cache/zeroskip)")


def _file_fields(args):
    """The fields the ``--config`` file sets (it has been read once already, so it parses)."""
    from ..config import tomllib

    if args.config is None:
        return {}
    with open(args.config, "rb") as f:
        return tomllib.load(f)


def run(args):
    from ..nn.onnx_run import load_array, plan_run, run_files, run_plan
    from ..testbench.player import PlayerError
    from ..testbench.runner import SimulationFailed, SimulatorUnavailable

    cfg = config_from_args(args)
    if args.cfg_requant_rounding is None and "requant_rounding" not in _file_fields(args):
        # onnxruntime's QuantizeLinear rounds ties to even; so does this engine, unless asked.
        cfg = cfg.replace(requant_rounding="half_even")
    check_output_dir(args.output)
    if args.build_dir:
        check_output_dir(args.build_dir, "--build-dir")
    try:
        arrays = {flag: load_array(path, f"--{flag}") for flag, path in
                  (("calibration", args.calibration), ("inputs", args.inputs),
                   ("labels", args.labels)) if path is not None}
        plan = plan_run(cfg, args.model, calibration=arrays["calibration"],
                        inputs=arrays["inputs"], labels=arrays.get("labels"),
                        prune=args.prune, prune_score=args.prune_score)
    except (ValueError, TypeError) as e:
        raise UsageError(f"zeroskip run: {e}") from None
    try:
        summary, outputs = run_plan(plan, simulator=args.simulator, build_root=args.build_dir,
                                    progress=lambda text: print(text, file=sys.stderr))
    except (SimulatorUnavailable, SimulationFailed, PlayerError, ValueError) as e:
        # ValueError: what the checks before the run could not see (onnxruntime refusing
        # the graph, say); one line, no report.
        print(f"zeroskip run: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILED
    run_files(args.output, summary, outputs)
    cycles = summary["cycles"]
    print(f"{len(summary['layers'])} layers, {cycles if cycles is not None else '?'} RTL "
          f"cycles (cycle model {summary['model_cycles']}, dense engine "
          f"{summary['dense_cycles']}); RTL = int8 model: "
          f"{'yes' if summary['rtl_matches_model'] else 'NO'}; bit-exact with onnxruntime: "
          f"{'yes' if summary['matches_onnxruntime'] else 'no'}; top-1 agreement with "
          f"onnxruntime {summary['agreement_onnxruntime']}, with float "
          f"{summary['agreement_float']}; report in {args.output}/report.md")
    return 0 if summary["rtl_matches_model"] else EXIT_FAILED
