"""The cocotb runner: which simulators it accepts and how it says one is missing, where a run's
waveform is, one build folder per (simulator, configuration), and a real Icarus run that
reuses its build."""

import os

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.cycles import predict_cycles
from zeroskip.testbench import runner
from zeroskip.testbench.cases import GemmCase, case_operands
from zeroskip.testbench.runner import (SIMULATORS, SimulatorUnavailable, prepare_simulator,
                                       simulate, wave_file)

from ..conftest import require_simulator

# The smallest engine: a quick Verilog generation and Icarus build.
TINY = ZeroskipConfig(rows=1, cols=1, output_stage=False)


@pytest.mark.parametrize("simulator", ["modelsim", "Icarus", "", "verilator "])
def test_an_unknown_simulator_is_refused_naming_the_known_ones(simulator):
    with pytest.raises(ValueError) as e:
        prepare_simulator(simulator)
    message = str(e.value)
    assert message.startswith("simulator must be one of") and repr(simulator) in message
    assert all(known in message for known in SIMULATORS)


def test_a_missing_iverilog_is_reported_as_unavailable(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SimulatorUnavailable, match="iverilog"):
        prepare_simulator("icarus")
    # It looks on PATH: an iverilog there is enough.
    fake = tmp_path / "bin" / "iverilog"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    prepare_simulator("icarus")
    # And through shutil.which, whatever PATH says.
    monkeypatch.setattr(runner.shutil, "which", lambda name, *args, **kwargs: None)
    with pytest.raises(SimulatorUnavailable, match="not installed"):
        prepare_simulator("icarus")
    assert issubclass(SimulatorUnavailable, RuntimeError)


@pytest.mark.parametrize("suffix", [".fst", ".vcd"])
def test_wave_file_finds_the_waveform_of_a_run(suffix, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("sim.log", "results.json", "cases.json", "old.fst.gz", "trace.vcd.txt"):
        (run_dir / name).write_text("")
    with pytest.raises(FileNotFoundError) as e:
        wave_file(run_dir)
    assert str(run_dir) in str(e.value)
    (run_dir / f"engine{suffix}").write_text("")
    assert wave_file(run_dir) == run_dir / f"engine{suffix}"


def test_build_folders_are_per_simulator_and_configuration(tmp_path, monkeypatch):
    """simulate() with the simulator replaced by a stand-in that records where it builds."""
    builds = []

    def fake_run_cocotb(simulator, build_dir, top, verilog_text, test_module, run_dir,
                        extra_env, *, waves=False):
        builds.append(build_dir)
        assert run_dir.parent == build_dir and top in verilog_text
        if waves and simulator == "icarus":
            (build_dir / f"{top}.fst").write_text("")   # where Icarus dumps
        with open(extra_env["ZEROSKIP_RESULTS"], "w") as f:
            f.write('[{"passed": true}]')
        return 1.5, 0.25

    monkeypatch.setattr(runner, "run_cocotb", fake_run_cocotb)
    other = TINY.replace(acc_depth=8)           # same name, another configuration
    runs = {}
    for key, cfg, simulator, waves in (
            ("icarus", TINY, "icarus", False),
            ("icarus again", ZeroskipConfig(rows=1, cols=1, output_stage=False), "icarus",
             False),
            ("verilator", TINY, "verilator", False),
            ("other", other, "icarus", False),
            ("icarus waves", TINY, "icarus", True),
            ("verilator waves", TINY, "verilator", True)):
        reports, run_dir = simulate(cfg, [GemmCase(1, 1, 1)], simulator=simulator,
                                    harness="cocotb", build_root=tmp_path,
                                    run_name=f"run{len(runs)}", waves=waves)
        assert reports == [{"passed": True, "harness": "cocotb", "build_seconds": 1.5,
                            "run_seconds": 0.25}]
        assert run_dir.parent == builds[-1]
        runs[key] = builds[-1]
        assert runs[key].parent == tmp_path.resolve()
        assert cfg.digest() in runs[key].name and simulator in runs[key].name
        assert (runs[key] / f"{cfg.name}.json").read_text() == cfg.to_json()
        if waves and simulator == "icarus":
            assert wave_file(run_dir).parent == run_dir   # each run keeps its waveform
    assert runs["icarus"] == runs["icarus again"]
    assert len({runs[k] for k in ("icarus", "verilator", "other", "icarus waves")}) == 4
    # Verilator's one build can trace; Icarus compiles the dumping in.
    assert runs["verilator waves"] == runs["verilator"]


def test_a_real_icarus_cocotb_run_matches_the_cycle_model_and_reuses_its_build(build_root):
    require_simulator("icarus")
    case = GemmCase(3, 5, 2, seed=7)
    reports, run_dir = simulate(TINY, [case], harness="cocotb", build_root=build_root)
    assert len(reports) == 1
    report = reports[0]
    assert report["passed"], report["error"]
    _, w = case_operands(TINY, case)
    assert report["name"] == case.name
    assert report["cycles"] == report["model_cycles"] == predict_cycles(TINY, 3, 5, 2, w)
    build = run_dir.parent
    compiled = build / "sim.vvp"
    built_at = compiled.stat().st_mtime_ns
    verilog_at = (build / f"{TINY.name}.v").stat().st_mtime_ns

    again, again_dir = simulate(TINY, [case], harness="cocotb", build_root=build_root,
                                run_name="again")
    assert again_dir.parent == build and again[0]["passed"]
    assert again[0]["cycles"] == report["cycles"]
    assert compiled.stat().st_mtime_ns == built_at   # not rebuilt
    assert (build / f"{TINY.name}.v").stat().st_mtime_ns == verilog_at

    changed = TINY.replace(acc_depth=4)
    other, other_dir = simulate(changed, [case], harness="cocotb", build_root=build_root)
    assert other[0]["passed"], other[0]["error"]
    assert other_dir.parent != build and (other_dir.parent / "sim.vvp").exists()
    assert compiled.stat().st_mtime_ns == built_at
    assert sorted(p.name for p in build_root.iterdir()) == sorted(
        p.name for p in (build, other_dir.parent))
    assert os.path.samefile(build.parent, build_root)
