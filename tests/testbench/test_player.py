"""The stream player end to end: results and cycles on both simulators, Verilator's
optimisation choice and build reuse, waveforms for toggle counting, and every way a run can go
wrong (a missing simulator, run files of another configuration or cut short, a deadlock) as
an error that says what happened. That the player agrees with the cocotb endpoints cycle for
cycle is tests/hdl/test_engine.py's test_player_and_cocotb_agree_cycle_for_cycle."""

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.testbench import player
from zeroskip.testbench.activity import count_toggles
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.player import PlayerError, build_player, choose_opt, run_player
from zeroskip.testbench.player_files import PlayerFileError, read_outcomes, write_run
from zeroskip.testbench.runner import SimulatorUnavailable, simulate, wave_file

from ..conftest import require_simulator

CFG = ZeroskipConfig(rows=3, cols=2, acc_depth=4, output_stage=False)
CASES = [GemmCase(9, 7, 5, seed=1), GemmCase(1, 1, 1, seed=2),
         GemmCase(11, 8, 3, seed=3, stall=0.5), GemmCase(6, 4, 4, seed=4, act_kind="zeros")]


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_cases_back_to_back_match_numpy_and_the_cycle_model(simulator, build_root,
                                                            tmp_path):
    require_simulator(simulator)
    out = tmp_path / "c.npy"
    cases = CASES + [GemmCase(5, 6, 3, seed=9, results_out=str(out))]
    reports, run_dir = simulate(CFG, cases, simulator=simulator, build_root=build_root)
    assert [r["name"] for r in reports] == [c.name for c in cases]
    for r, case in zip(reports, cases):
        assert r["passed"], r["error"]
        assert r["harness"] == "player" and r["run_seconds"] > 0
        if not case.stall:
            assert r["cycles"] == r["model_cycles"]
        else:
            assert r["cycles"] > r["model_cycles"]
    assert np.load(out).shape == (5, 3)
    assert (run_dir / "player.manifest").read_text().startswith("zeroskip-player 1 ")


def test_verilator_level_is_chosen_per_run_and_builds_are_reused(build_root):
    require_simulator("verilator")
    short = [GemmCase(4, 3, 2, seed=1)]
    assert choose_opt(CFG, 1000, build_root=build_root) == "O0"
    assert choose_opt(CFG, 10**8, build_root=build_root) == "O2"
    reports, _ = simulate(CFG, short, simulator="verilator", build_root=build_root)
    assert reports[0]["verilator_opt"] == "O0" and reports[0]["build_seconds"] > 0
    again, _ = simulate(CFG, short, simulator="verilator", build_root=build_root,
                        run_name="again")
    assert again[0]["build_seconds"] == 0.0 and again[0]["cycles"] == reports[0]["cycles"]
    fast, _ = simulate(CFG, short, simulator="verilator", build_root=build_root, opt="O2",
                       run_name="fast")
    assert fast[0]["verilator_opt"] == "O2" and fast[0]["cycles"] == reports[0]["cycles"]
    # With an -O2 build at hand, even a short run takes it.
    assert choose_opt(CFG, 1000, build_root=build_root) == "O2"
    with pytest.raises(ValueError, match="opt must be one of O0, O2, not 'O9'"):
        simulate(CFG, short, simulator="verilator", build_root=build_root, opt="O9")


@pytest.mark.parametrize("simulator, suffix", [("icarus", ".fst"), ("verilator", ".vcd")])
def test_waveforms_carry_the_pe_signals_for_toggle_counting(simulator, suffix, build_root):
    require_simulator(simulator)
    reports, run_dir = simulate(CFG, CASES[:1], simulator=simulator, build_root=build_root,
                                waves=True)
    assert reports[0]["passed"]
    wave = wave_file(run_dir)
    assert wave.suffix == suffix
    toggles = count_toggles(wave)
    assert toggles["pes"] == CFG.multipliers and toggles["datapath"] > 0


def test_a_missing_simulator_is_named_before_anything_is_written(build_root, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(SimulatorUnavailable, match="Icarus Verilog \\(iverilog\\) is not "
                                                   "installed"):
        simulate(CFG, CASES[:1], simulator="icarus", build_root=build_root)
    assert not any(build_root.iterdir())


def test_reset_cases_need_the_cocotb_harness(build_root):
    require_simulator("icarus")
    with pytest.raises(ValueError, match="reset_phase needs harness 'cocotb'"):
        simulate(CFG, [GemmCase(9, 7, 5, reset_phase="stream")], simulator="icarus",
                 build_root=build_root)


def _built(simulator, build_root, cfg=CFG):
    command, _ = build_player(cfg, simulator, build_root=build_root,
                              opt="O0" if simulator == "verilator" else "O2")
    return command


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_run_files_of_another_configuration_are_refused(simulator, build_root, tmp_path):
    require_simulator(simulator)
    other = CFG.replace(acc_depth=8)
    planned = write_run(other, CASES[:1], tmp_path / "run")
    run_player(_built(simulator, build_root), tmp_path / "run")
    with pytest.raises(PlayerFileError) as e:
        read_outcomes(CFG, tmp_path / "run", planned)
    assert f"the files were written for configuration {other.digest()}" in str(e.value)
    assert f"this player is built for {CFG.digest()}" in str(e.value)
    assert not (tmp_path / "run" / "results.hex").read_text()


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_run_files_cut_short_are_named(simulator, build_root, tmp_path):
    require_simulator(simulator)
    run = tmp_path / "run"
    planned = write_run(CFG, CASES[:1], run)
    data = (run / "activations.bin").read_bytes()
    (run / "activations.bin").write_bytes(data[:len(data) // 2])
    run_player(_built(simulator, build_root), run)
    (outcome,) = read_outcomes(CFG, run, planned)
    assert outcome.reason == "data"
    message = player.stall_message(CFG, planned[0], outcome)
    assert message.startswith("the run files end before the words the manifest promises")


def _deadlocked(simulator, build_root, run, tamper):
    """A stalled case whose files ``tamper`` changes after they are written."""
    case = GemmCase(3 * (CFG.rows + CFG.cols) + 20, 7, 5, seed=5, stall=0.2)
    planned = write_run(CFG, [case], run)
    tamper(run, planned[0])
    run_player(_built(simulator, build_root), run)
    (outcome,) = read_outcomes(CFG, run, planned)
    return planned[0], outcome


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_a_deadlock_stops_at_its_limit_and_names_the_stalled_stream(simulator, build_root,
                                                                     tmp_path):
    require_simulator(simulator)

    def hold_results(run, plan):
        # The sink never takes a row: the result FIFO fills and the engine stops taking
        # activations (it only injects a row with a FIFO slot reserved for its result).
        path = run / "pause_results.bin"
        path.write_bytes(b"\xff" * len(path.read_bytes()))

    plan, outcome = _deadlocked(simulator, build_root, tmp_path / "held", hold_results)
    assert outcome.reason == "idle" and outcome.cycles_run < plan.budget
    message = player.stall_message(CFG, plan, outcome)
    assert "no stream moved for" in message and "the engine stopped taking activations" in \
        message and "results are not being taken" in message

    def fewer_activations(run, plan):
        # The manifest promises fewer activation rows than the command needs.
        manifest = (run / "player.manifest").read_text().splitlines()
        fields = manifest[1].split()
        fields[1] = str(int(fields[1]) - 4)
        (run / "player.manifest").write_text("\n".join([manifest[0], " ".join(fields)]) +
                                             "\n")

    plan, outcome = _deadlocked(simulator, build_root, tmp_path / "dry", fewer_activations)
    message = player.stall_message(CFG, plan, outcome)
    assert outcome.reason == "idle"
    assert f"activations ran dry: the engine took all {plan.activation_words - 4} words " \
           f"and asks for more" in message
    with pytest.raises(PlayerError, match="did not finish within 0 s"):
        run_player(_built(simulator, build_root), tmp_path / "dry", timeout=1e-6)


def test_a_failed_case_does_not_disturb_the_next(build_root, tmp_path, monkeypatch):
    """A case that ends early (its budget cut to a few cycles) leaves its unread words
    behind; the next case still reads its own and passes."""
    require_simulator("icarus")
    monkeypatch.setattr("zeroskip.testbench.player_files.cycle_budget",
                        lambda model, stall: 5 if model > 100 else 4 * model + 1000)
    cases = [GemmCase(12, 9, 5, seed=1), GemmCase(3, 2, 2, seed=2)]
    reports, _ = simulate(CFG, cases, simulator="icarus", build_root=build_root)
    assert not reports[0]["passed"] and "cycle budget of 5 cycles" in reports[0]["error"]
    assert reports[1]["passed"] and reports[1]["cycles"] == reports[1]["model_cycles"]
