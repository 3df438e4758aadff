"""zeroskip sim: one random GEMM on the RTL, its report, waves, toggles, compressed and sparse engines, the output stage."""

import json
import os

import pytest

from zeroskip.cli import main

from ..conftest import file_tree, one_line_error, require_simulator, run_cli_read_only


def test_sim_reports_measured_figures(tmp_path, capsys, in_tmp_cwd):
    require_simulator("icarus")
    report_path = tmp_path / "r.json"
    rc = main(["sim", "--rows", "2", "--cols", "3", "--gemm", "5,7,4", "--seed", "3",
               "--simulator", "icarus", "--json", str(report_path),
               "--build-dir", str(tmp_path / "build")])
    assert rc == 0
    report = json.loads(report_path.read_text())
    assert json.loads(capsys.readouterr().out) == report
    assert report["passed"] is True
    assert report["cycles"] == report["model_cycles"] > 0
    assert report["multipliers"] == 6
    assert report["utilization"] == pytest.approx(5 * 7 * 4 / (6 * report["cycles"]), abs=1e-4)
    assert report["config"]["rows"] == 2 and report["gemm"] == {"m": 5, "k": 7, "n": 4}


@pytest.mark.parametrize("simulator, suffix", [("icarus", ".fst"), ("verilator", ".vcd")])
def test_sim_waves(simulator, suffix, tmp_path, capsys, in_tmp_cwd):
    require_simulator(simulator)
    assert main(["sim", "--rows", "1", "--cols", "2", "--gemm", "2,2,3", "--waves",
                 "--simulator", simulator, "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["waves"].endswith(suffix)
    assert os.path.getsize(report["waves"]) > 0


def test_sim_compare_gating(tmp_path, capsys, in_tmp_cwd):
    require_simulator("icarus")
    assert main(["sim", "--rows", "2", "--cols", "2", "--gemm", "12,4,4", "--act-zeros", "0.5",
                 "--compare-gating", "--simulator", "icarus",
                 "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    gated, ungated = report["gated"], report["ungated"]
    assert report["passed"] and gated["passed"] and ungated["passed"]
    assert gated["cycles"] == ungated["cycles"] == report["model_cycles"]
    assert report["gated_over_ungated"] == round(
        gated["toggles"]["datapath"] / ungated["toggles"]["datapath"], 4)
    assert 0 < report["gated_over_ungated"] < 1
    assert report["act_zeros"] == 0.5


@pytest.mark.parametrize("weight_format, extra", [("nm", ["--nm-pattern", "1:4"]),
                                                  ("rle", ["--rle-run-width", "3"])])
def test_sim_compressed_weights(weight_format, extra, tmp_path, capsys, in_tmp_cwd):
    require_simulator("verilator")
    assert main(["sim", "--rows", "4", "--cols", "4", "--gemm", "9,13,7", "--weight-zeros",
                 "0.5", "--weight-format", weight_format, *extra, "--simulator", "verilator",
                 "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["predicted_cycles_match"]
    stream = report["weight_stream"]
    assert stream["format"] == weight_format and 0 < stream["words"] < stream["dense_words"]
    # 1:4 pruning on top of the requested 50%: K=13 leaves one short group per column.
    assert stream["weight_zero_fraction"] >= (0.7 if weight_format == "nm" else 0.5)


def test_sim_sparse_engine(tmp_path, capsys, in_tmp_cwd):
    require_simulator("icarus")
    assert main(["sim", "--rows", "2", "--cols", "2", "--sparsity", "1:4", "--gemm", "6,21,3",
                 "--simulator", "icarus", "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["predicted_cycles_match"]
    assert report["multipliers"] == 4
    assert report["config"]["weight_format"] == "nm" and report["config"]["nm_pattern"] == "1:4"
    # 21 K positions in folds of 2·4/1 = 8: 3 K folds instead of 11.
    assert report["scalesim_ws_cycles"] == 3 * 2 * (2 * 2 + 2 + 6 - 2)


def test_sim_output_stage(tmp_path, capsys, in_tmp_cwd):
    require_simulator("icarus")
    assert main(["sim", "--rows", "2", "--cols", "2", "--output-stage", "true", "--gemm",
                 "6,5,3", "--requant", "300,14", "--relu", "--simulator", "icarus",
                 "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["predicted_cycles_match"]
    assert report["requant"] == {"mult": 300, "shift": 14, "relu": True, "out_width": 8}
    assert report["config"]["output_stage"] is True


def test_sim_checks_its_json_path_before_simulating(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["sim", "--gemm", "1,1,1", "--json", str(tmp_path / "f" / "r.json")]) == 2
    one_line_error(capsys, "zeroskip sim: --json", "exists and is not a folder")
    assert main(["sim", "--gemm", "1,1,1", "--build-dir", str(tmp_path / "f")]) == 2
    one_line_error(capsys, "zeroskip sim: --build-dir", "exists and is not a folder")
    assert file_tree(tmp_path) == ["f"]


def test_sim_writes_nothing_in_the_working_folder(tmp_path):
    """Counting multipliers with Yosys and building the simulator use folders of their own:
    run from a read-only working folder, the command succeeds and the folder stays empty."""
    require_simulator("icarus")
    work = tmp_path / "work"
    work.mkdir()
    proc = run_cli_read_only(work, ["sim", "--rows", "1", "--cols", "1", "--gemm", "2,2,2",
                                    "--simulator", "icarus", "--build-dir",
                                    str(tmp_path / "build")], cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["multipliers"] == 1
    assert file_tree(work) == []


@pytest.mark.parametrize("harness", ["player", "cocotb"])
def test_sim_reports_its_harness_and_timings(harness, tmp_path, capsys, in_tmp_cwd):
    require_simulator("icarus")
    assert main(["sim", "--rows", "2", "--cols", "2", "--gemm", "7,5,3", "--stall", "0.3",
                 "--simulator", "icarus", "--harness", harness,
                 "--build-dir", str(tmp_path / "build")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["harness"] == harness
    assert report["build_seconds"] >= 0 and report["run_seconds"] > 0
    assert report["cycles"] > report["model_cycles"]   # stalled


def test_sim_without_the_simulator_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["sim", "--rows", "1", "--cols", "1", "--gemm", "1,1,1", "--simulator",
                 "icarus", "--build-dir", str(tmp_path / "build")]) == 1
    one_line_error(capsys, "zeroskip sim: Icarus Verilog (iverilog) is not installed")


def test_sim_axis_harness(tmp_path, capsys, in_tmp_cwd):
    """zeroskip sim --harness axis runs the AXI4-Stream top under cocotbext-axi."""
    require_simulator("icarus")
    assert main(["sim", "--rows", "2", "--cols", "2", "--gemm", "5,3,4", "--harness", "axis",
                 "--simulator", "icarus", "--weight-format", "csr", "--stall", "0.3",
                 "--build-dir", str(tmp_path / "b")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["harness"] == "axis"


@pytest.mark.parametrize("flag", ["--waves", "--activity", "--compare-gating"])
def test_sim_axis_harness_refuses_what_it_cannot_record(flag, tmp_path, capsys):
    assert main(["sim", "--gemm", "3,3,3", "--harness", "axis", flag,
                 "--build-dir", str(tmp_path / "b")]) == 2
    one_line_error(capsys, "need --harness player or cocotb, not axis")
    assert not (tmp_path / "b").exists()
