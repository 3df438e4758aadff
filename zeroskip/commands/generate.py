"""``zeroskip generate``: the Verilog of one engine, its resolved configuration, its lint
waivers and its FuseSoC core."""

import tempfile
from pathlib import Path

from ..files import check_output_dir, write_files_atomically
from .options import add_config_flags, config_from_args

NAME = "generate"
HELP = "write <name>.v, <name>.json, <name>.vlt and <name>.core for a configuration"
DESCRIPTION = ("Write DIR/<name>.v (the engine and its modules), DIR/<name>.json (the "
               "resolved configuration), DIR/<name>.vlt (Verilator waivers of the Amaranth "
               "output idioms: --lint-only -Wall with it reports nothing) and DIR/<name>.core "
               "(a FuseSoC CAPI2 core with targets lint and sim: "
               "the stream player in DIR/<name>_player.v on a smoke-test run in "
               "DIR/<name>_player_run/); with --primitives ecp5 also DIR/<name>_sim_models.v, "
               "behavioural models of the primitives for simulators (a vendor flow uses its "
               "own library instead).")


def add_arguments(parser):
    add_config_flags(parser)
    parser.add_argument("-o", "--output", metavar="DIR", type=Path, required=True)


def player_run_files(cfg):
    """``{file name: bytes}`` of the smoke-test run the core's ``sim`` target plays."""
    from ..testbench.cases import smoke_cases
    from ..testbench.player_files import write_run

    with tempfile.TemporaryDirectory() as tmp:
        write_run(cfg, smoke_cases(cfg), tmp)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def generated_files(cfg, out):
    """``{path: text or bytes}`` of everything ``generate`` writes for ``cfg`` into ``out``."""
    from ..fusesoc import core_file
    from ..hdl.lint import verilator_waivers
    from ..hdl.primitives import simulation_models
    from ..hdl.verilog import generate_verilog

    name = cfg.name
    files = {out / f"{name}.v": generate_verilog(cfg), out / f"{name}.json": cfg.to_json(),
             out / f"{name}.vlt": verilator_waivers(cfg)}
    models = simulation_models(cfg)
    if models:
        files[out / f"{name}_sim_models.v"] = models
    from ..testbench.player_verilog import player_verilog

    player = f"{name}_player.v"
    files[out / player] = player_verilog(cfg)
    run = {f"{name}_player_run/{file}": data for file, data in player_run_files(cfg).items()}
    files.update({out / path: data for path, data in run.items()})
    files[out / f"{name}.core"] = core_file(
        cfg, verilog=f"{name}.v", waivers=f"{name}.vlt",
        sim_models=f"{name}_sim_models.v" if models else None, player=player,
        player_run=list(run))
    return files


def run(args):
    cfg = config_from_args(args)
    out = args.output
    check_output_dir(out)
    files = generated_files(cfg, out)
    write_files_atomically(files)
    for path in files:
        if path.parent == out:
            print(path)
    return 0
