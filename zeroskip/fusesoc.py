"""The FuseSoC core (CAPI2) that ``zeroskip generate`` writes beside the Verilog.

Targets:

``default``
    The RTL fileset and its toplevel, for a user's own core to depend on.
``lint``
    Verilator ``--lint-only -Wall`` with the generated waiver file (``<name>.vlt``), which
    waives exactly the Amaranth output idioms (:mod:`zeroskip.hdl.lint`): a clean lint of the
    user's flow starts from zero warnings.
``sim``
    Icarus running the stream player (:mod:`zeroskip.testbench.player_verilog`) on a run of
    smoke-test GEMMs that ``generate`` writes into ``<name>_player_run/`` (copied into the
    work root by the core). The player writes ``results.hex`` and ``player.report`` there;
    ``zeroskip.testbench.player.judge_run`` checks them. A user replaces the run
    with their own by writing it with ``zeroskip.testbench.player_files.write_run``. With
    ``interface = "axis"`` the player drives the AXI4-Stream ports (same cycles: the top is
    wiring); the protocol-level test of that top is the cocotbext-axi one
    (``zeroskip.testbench.runner.simulate_axis``).

The text depends only on the configuration and the file names, so it is byte-identical for
the same configuration.
"""

__all__ = ["core_name", "core_file"]


def core_name(cfg):
    """The core's VLNV: ``zeroskip:gemm:<name>:0.1.0``."""
    from . import __version__

    return f"zeroskip:gemm:{cfg.name}:{__version__}"


def _fileset(name, files, file_type, *, copy=False):
    lines = [f"  {name}:", "    files:"]
    for path in files:
        lines.append(f"      - {path}: {{copyto: {path.split('/')[-1]}}}" if copy
                     else f"      - {path}")
    lines.append(f"    file_type: {file_type}")
    return lines


def core_file(cfg, *, verilog, waivers, sim_models=None, player=None, player_run=()):
    """The CAPI2 text. ``verilog``, ``waivers``, ``sim_models`` (behavioural primitive
    models) and ``player`` (the player testbench) are file names relative to the core;
    ``player_run`` the run files the ``sim`` target copies into its work root."""
    lines = ["CAPI=2:", "", f"name: {core_name(cfg)}",
             f"description: zeroskip {cfg.rows}x{cfg.cols} GEMM engine ({cfg.interface} "
             f"interface, {cfg.weight_format} weights"
             + (f", {cfg.sparsity} sparsity" if cfg.sparse else "") + ")", "",
             "filesets:"]
    lines += _fileset("rtl", [verilog], "verilogSource")
    if sim_models:
        # Behavioural models of the vendor primitives, for simulators and lint; a vendor
        # flow uses its own library instead.
        lines += _fileset("sim_models", [sim_models], "verilogSource")
    lines += _fileset("lint_waivers", [waivers], "vlt")
    if player:
        lines += _fileset("player", [player], "verilogSource")
        lines += _fileset("player_run", list(player_run), "user", copy=True)
    models = ["sim_models"] if sim_models else []
    lines += ["", "targets:",
              "  default: &default",
              "    filesets: [rtl]",
              f"    toplevel: {cfg.name}",
              "",
              "  lint:",
              "    default_tool: verilator",
              f"    filesets: [{', '.join(['rtl', *models, 'lint_waivers'])}]",
              f"    toplevel: {cfg.name}",
              "    tools:",
              "      verilator:",
              "        mode: lint-only",
              "        verilator_options: [-Wall]"]
    if player:
        from .testbench.player_verilog import PLAYER_TOP

        lines += ["",
                  "  sim:",
                  "    default_tool: icarus",
                  f"    filesets: [{', '.join(['rtl', *models, 'player', 'player_run'])}]",
                  f"    toplevel: {PLAYER_TOP}",
                  "    tools:",
                  "      icarus:",
                  "        iverilog_options: [-g2012]"]
    return "\n".join(lines) + "\n"
