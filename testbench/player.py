"""The stream player: GEMMs on the RTL at the simulator's own speed.

Python writes every case's commands, operand words and pause patterns into files
(:mod:`~zeroskip.testbench.player_files`); a Verilog testbench generated for the
configuration (:mod:`~zeroskip.testbench.player_verilog`) drives the engine's streams from
them, captures every result row and the cycle counts, and stops by itself; Python then checks
each case against NumPy and the cycle model (:mod:`~zeroskip.testbench.checks`, the same
check the cocotb test makes). No Python runs per cycle.

Verilator builds the testbench into a binary (``--binary --timing``); Icarus into a vvp file.
Builds are cached per configuration, simulator, optimisation level and waveform support.
Verilator's C++ is built at ``-O2`` or ``-O0``, chosen per run (:func:`choose_opt`): ``-O2``
builds take about 1-2 s longer and then simulate 3 to 10 times faster, so ``-O0`` wins only
for runs shorter than about 350 k cycles without an ``-O2`` build at hand.
"""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from zeroskip.hdl.verilog import simulation_verilog

from .checks import case_report, timeout_report
from .player_files import PlayerFileError, read_outcomes, stall_message, write_run
from .player_verilog import PLAYER_TOP, player_verilog

__all__ = ["VERILATOR_OPTS", "PlayerError", "choose_opt", "build_player", "run_player",
           "judge_run", "simulate_player"]

VERILATOR_OPTS = ("O0", "O2")

# Fitted to benchmarks/player.py's clean builds (4x4, 8x8, 16x16 on 2 cores): an -O2 build
# takes about 0.95 s + 4.5 ms per PE longer than -O0, and then saves about 2.2 us + 18 ns per
# PE on every simulated cycle. -O2 pays off from about 300-400 k cycles.
_EXTRA_BUILD_S = 0.95
_EXTRA_BUILD_PER_PE_S = 0.0045
_SAVED_PER_CYCLE_S = 2.2e-6
_SAVED_PER_PE_CYCLE_S = 1.8e-8

_VERILATOR_FLAGS = ["--binary", "--timing", "-Wno-fatal", "-Wno-WIDTHEXPAND",
                    "-Wno-WIDTHTRUNC", "--x-assign", "fast", "--x-initial", "fast",
                    "--output-split-cfuncs", "500", "--top-module", PLAYER_TOP,
                    # This g++ needs it for the coroutines behind --timing.
                    "-CFLAGS", "-fcoroutines"]


class PlayerError(RuntimeError):
    """The player could not build or run; the message says why and where the log is."""


def _build_dir(cfg, simulator, build_root, opt, waves):
    from .runner import default_build_root

    root = Path(build_root or default_build_root()).resolve()
    level = f"-{opt}" if simulator == "verilator" else ""
    return root / f"player-{simulator}{level}{'-waves' if waves else ''}-{cfg.name}-" \
                  f"{cfg.digest()}"


def _built(build_dir, stamp_text):
    stamp = build_dir / "player-build.stamp"
    return stamp.exists() and stamp.read_text() == stamp_text


def choose_opt(cfg, cycles, *, build_root=None, waves=False):
    """The Verilator optimisation level for a run of about ``cycles`` cycles: ``O2`` if an
    ``-O2`` build of this configuration is at hand or the run is long enough to repay the
    longer build, else ``O0``."""
    pes = cfg.rows * cfg.cols
    if (_build_dir(cfg, "verilator", build_root, "O2", waves) / "player-build.stamp").exists():
        return "O2"
    threshold = (_EXTRA_BUILD_S + _EXTRA_BUILD_PER_PE_S * pes) / \
        (_SAVED_PER_CYCLE_S + _SAVED_PER_PE_CYCLE_S * pes)
    return "O2" if cycles >= threshold else "O0"


def build_player(cfg, simulator, *, build_root=None, opt="O2", waves=False):
    """Build (or reuse) the player of ``cfg`` for ``simulator``; returns ``(command,
    seconds)``: the command line that runs it in a run folder, and the build time (0.0 when
    the build was cached)."""
    from .runner import prepare_simulator, verilator_root

    prepare_simulator(simulator)
    if simulator == "verilator" and opt not in VERILATOR_OPTS:
        raise ValueError(f"opt must be one of {', '.join(VERILATOR_OPTS)}, not {opt!r}")
    build_dir = _build_dir(cfg, simulator, build_root, opt, waves)
    build_dir.mkdir(parents=True, exist_ok=True)
    engine, bench = simulation_verilog(cfg), player_verilog(cfg)
    if simulator == "verilator":
        flags = _VERILATOR_FLAGS + (["--trace"] if waves else [])
        make = f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-{opt} OPT_SLOW=-{opt} OPT_GLOBAL=-{opt}"
        command = [str(build_dir / "obj" / f"V{PLAYER_TOP}")]
    else:
        flags, make = ["-g2012", "-s", PLAYER_TOP], ""
        command = ["vvp", "-n", str(build_dir / "player.vvp")] + (["-fst"] if waves else [])
    stamp_text = hashlib.sha256("\0".join([engine, bench, *flags, make]).encode()).hexdigest()
    if _built(build_dir, stamp_text):
        return command, 0.0
    (build_dir / "player-build.stamp").unlink(missing_ok=True)
    (build_dir / "engine.v").write_text(engine)
    (build_dir / "player.v").write_text(bench)
    started = time.monotonic()
    if simulator == "verilator":
        root = verilator_root()
        env = dict(os.environ, VERILATOR_ROOT=str(root),
                   PATH=f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                   MAKEFLAGS=make)
        shutil.rmtree(build_dir / "obj", ignore_errors=True)
        proc = subprocess.run(["verilator", *flags, "-Mdir", "obj", "-j",
                               str(min(2, os.cpu_count() or 1)), "player.v", "engine.v"],
                              cwd=build_dir, env=env, capture_output=True, text=True)
    else:
        proc = subprocess.run(["iverilog", *flags, "-o", "player.vvp", "player.v", "engine.v"],
                              cwd=build_dir, capture_output=True, text=True)
    (build_dir / "build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise PlayerError(f"building the {simulator} player failed (log "
                          f"{build_dir / 'build.log'}):\n{tail}")
    (build_dir / "player-build.stamp").write_text(stamp_text)
    return command, round(time.monotonic() - started, 3)


def run_player(command, run_dir, *, waves=None, timeout=None):
    """Run a built player in ``run_dir`` (which holds the run files); returns the run time.
    ``waves`` is the waveform file to write there, if any. The player stops by itself at each
    case's cycle budget; ``timeout`` (seconds) only guards against a simulator that hangs."""
    args = list(command) + ([f"+waves={waves}"] if waves else [])
    started = time.monotonic()
    with open(Path(run_dir) / "sim.log", "w") as log:
        try:
            proc = subprocess.run(args, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PlayerError(f"the player did not finish within {timeout:.0f} s; see "
                              f"{Path(run_dir) / 'sim.log'}") from None
    seconds = round(time.monotonic() - started, 3)
    if proc.returncode != 0:
        raise PlayerError(f"the player exited with status {proc.returncode}; see "
                          f"{Path(run_dir) / 'sim.log'}")
    return seconds


def judge_run(cfg, planned, run_dir):
    """One report per case (as :func:`~zeroskip.testbench.runner.simulate` gives them) from
    what a player wrote in ``run_dir`` for the run ``planned`` (from
    :func:`~zeroskip.testbench.player_files.write_run`), wherever it ran: here, or under
    FuseSoC. Raises :class:`PlayerError` if the player refused the files or stopped early."""
    try:
        outcomes = read_outcomes(cfg, run_dir, planned)
    except PlayerFileError as e:
        raise PlayerError(str(e)) from None
    reports = []
    for plan, outcome in zip(planned, outcomes):
        if outcome.reason == "done":
            reports.append(case_report(cfg, plan.case, plan.a, plan.w, outcome.results,
                                       outcome.cycles, outcome.sent, plan.model_cycles))
        else:
            reports.append(timeout_report(plan.case, plan.model_cycles,
                                          stall_message(cfg, plan, outcome)))
    return reports


def simulate_player(cfg, cases, *, simulator="verilator", build_root=None, run_name="run",
                    waves=False, opt="auto"):
    """Run ``cases`` through the player; returns ``(reports, run_dir)`` with one report per
    case, as :func:`~zeroskip.testbench.runner.simulate` gives them, each also carrying
    ``harness``, ``build_seconds``, ``run_seconds`` (the simulator run itself) and, on
    Verilator, ``verilator_opt``."""
    from .runner import prepare_simulator

    prepare_simulator(simulator)
    for case in cases:
        if case.reset_phase is not None:
            raise ValueError(f"case {case.name}: reset_phase needs harness 'cocotb' (the "
                             f"player does not drive reset)")
    from .runner import default_build_root

    root = Path(build_root or default_build_root()).resolve()
    run_dir = root / f"player-{simulator}-runs-{cfg.name}-{cfg.digest()}" / run_name
    planned = write_run(cfg, cases, run_dir)
    if simulator == "verilator" and opt == "auto":
        opt = choose_opt(cfg, sum(p.model_cycles for p in planned), build_root=build_root,
                         waves=waves)
    command, build_seconds = build_player(cfg, simulator, build_root=build_root, opt=opt,
                                          waves=waves)
    wave_name = None
    if waves:
        wave_name = f"{cfg.name}.vcd" if simulator == "verilator" else f"{cfg.name}.fst"
    # A backstop far beyond any budget: 10 minutes plus 1 ms per budgeted cycle.
    timeout = 600 + 1e-3 * sum(p.budget for p in planned)
    run_seconds = run_player(command, run_dir, waves=wave_name, timeout=timeout)
    reports = judge_run(cfg, planned, run_dir)
    for report in reports:
        report.update(harness="player", build_seconds=build_seconds, run_seconds=run_seconds)
        if simulator == "verilator":
            report["verilator_opt"] = opt
    return reports, run_dir
