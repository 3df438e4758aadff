"""The ``zeroskip`` command line: generate, sim, demo."""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .config import ConfigError, ZeroskipConfig, default_config, load_config, parameter_table
from .outputs import write_files_atomically

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

    demo = sub.add_parser("demo", help="the main job on the embedded default configuration",
                          description="Generate the default engine, run a set of GEMMs through "
                                      "it, check them against NumPy and the cycle model, and "
                                      "write a report.")
    demo.add_argument("-o", "--output", metavar="DIR", type=Path, default=Path("demo-out"))
    demo.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator")
    demo.add_argument("--build-dir", metavar="DIR", type=Path)
    return parser


def _cmd_generate(args):
    from .hdl.verilog import generate_verilog

    cfg = _config_from_args(args)
    out = args.output
    if out.exists() and not out.is_dir():
        raise UsageError(f"zeroskip generate: --output {str(out)!r} exists and is not a folder")
    files = {out / f"{cfg.name}.v": generate_verilog(cfg), out / f"{cfg.name}.json": cfg.to_json()}
    write_files_atomically(files)
    for path in files:
        print(path)
    return 0


def _cmd_sim(args):
    from .flows import run_gemm_check

    cfg = _config_from_args(args)
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
    from .demo import run_demo

    return 0 if run_demo(default_config(), args.output, simulator=args.simulator,
                         build_root=args.build_dir) else EXIT_FAILED


def main(argv=None):
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return {"generate": _cmd_generate, "sim": _cmd_sim, "demo": _cmd_demo}[args.command](args)
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as e:
        print(f"zeroskip: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
