"""``zeroskip generate``: the Verilog and resolved configuration of one engine."""

from pathlib import Path

from ..files import check_output_dir, write_files_atomically
from .options import add_config_flags, config_from_args

NAME = "generate"
HELP = "write <name>.v and <name>.json for a configuration"
DESCRIPTION = ("Write DIR/<name>.v (the engine and its modules) and DIR/<name>.json (the "
               "resolved configuration); with --primitives ecp5 also "
               "DIR/<name>_sim_models.v, behavioural models of the primitives for simulators "
               "(a vendor flow uses its own library instead).")


def add_arguments(parser):
    add_config_flags(parser)
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)


def run(args):
    from ..hdl.primitives import simulation_models
    from ..hdl.verilog import generate_verilog

    cfg = config_from_args(args)
    out = args.output
    check_output_dir(out)
    files = {out / f"{cfg.name}.v": generate_verilog(cfg), out / f"{cfg.name}.json": cfg.to_json()}
    models = simulation_models(cfg)
    if models:
        files[out / f"{cfg.name}_sim_models.v"] = models
    write_files_atomically(files)
    for path in files:
        print(path)
    return 0
