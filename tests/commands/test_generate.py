"""zeroskip generate: Verilog and resolved configuration, deterministic, from flags and TOML."""

import json
import subprocess
import sys

from zeroskip.cli import main

from ..conftest import one_line_error, require_simulator


def test_generate_writes_verilog_and_config(tmp_path, capsys):
    assert main(["generate", "--rows", "3", "--cols", "2", "--name", "g32",
                 "-o", str(tmp_path / "out")]) == 0
    verilog = (tmp_path / "out" / "g32.v").read_text()
    config = json.loads((tmp_path / "out" / "g32.json").read_text())
    assert "module g32(" in verilog and "module g32_pe(" in verilog
    assert config["rows"] == 3 and config["cols"] == 2 and config["name"] == "g32"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "g32.core", "g32.json", "g32.v", "g32.vlt", "g32_player.v", "g32_player_run"]
    from zeroskip.testbench.player_files import RUN_FILES

    inputs = {f for f in RUN_FILES if f not in ("results.hex", "player.report")}
    assert {p.name for p in (tmp_path / "out" / "g32_player_run").iterdir()} == inputs


def test_generate_with_primitives_writes_the_models_a_simulator_needs(tmp_path):
    """With --primitives ecp5 the Verilog instantiates MULT18X18D and DP16KD; the third file
    holds their behavioural models, and the two compile on their own."""
    assert main(["generate", "--rows", "2", "--cols", "2", "--name", "p22", "--primitives",
                 "ecp5", "-o", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "p22.core", "p22.json", "p22.v", "p22.vlt", "p22_player.v", "p22_player_run",
        "p22_sim_models.v"]
    verilog, models = (out / "p22.v").read_text(), (out / "p22_sim_models.v").read_text()
    assert "MULT18X18D #(" in verilog and "DP16KD #(" in verilog
    assert "module MULT18X18D(" in models and "module DP16KD(" in models
    require_simulator("icarus")
    subprocess.run(["iverilog", "-g2012", "-s", "p22", "-o", "sim", "p22.v", "p22_sim_models.v"],
                   cwd=out, check=True)


def test_generate_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    toml = tmp_path / "c.toml"
    toml.write_text("rows = 4\ncols = 3\nact_signed = false\n")
    assert main(["generate", "--config", str(toml), "-o", str(a)]) == 0
    # A second run in another process must give byte-identical files.
    subprocess.run([sys.executable, "-m", "zeroskip.cli", "generate", "--config", str(toml),
                    "-o", str(b)], check=True, capture_output=True)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert len(files) > 6 and files == sorted(str(p.relative_to(b)) for p in b.rglob("*")
                                              if p.is_file())
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_generate_axis_is_deterministic(tmp_path):
    outs = []
    for folder in ("a", "b"):
        subprocess.run([sys.executable, "-m", "zeroskip.cli", "generate", "--interface", "axis",
                        "--weight-format", "bitmask", "-o", str(tmp_path / folder)],
                       check=True, capture_output=True)
        outs.append({str(p.relative_to(tmp_path / folder)): p.read_bytes()
                     for p in (tmp_path / folder).rglob("*") if p.is_file()})
    assert sorted({path.split("/")[0] for path in outs[0]}) == [
        "zeroskip_gemm.core", "zeroskip_gemm.json", "zeroskip_gemm.v", "zeroskip_gemm.vlt",
        "zeroskip_gemm_player.v", "zeroskip_gemm_player_run"]
    assert outs[0] == outs[1]
    assert b"s_axis_weights_tlast" in outs[0]["zeroskip_gemm.v"]


def test_a_failed_generate_leaves_no_files(tmp_path, capsys, monkeypatch):
    """Every file is staged and renamed into place only when all are written: a failure in
    the renames leaves nothing behind, not even the player's run folder."""

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    out = tmp_path / "out"
    monkeypatch.setattr("zeroskip.files.os.replace", broken)
    assert main(["generate", "--rows", "2", "--cols", "2", "-o", str(out)]) == 2
    one_line_error(capsys, "No space left on device")
    assert not out.exists()


def test_config_file_with_flag_override(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("rows = 4\ncols = 3\n")
    assert main(["generate", "--config", str(toml), "--cols", "5", "-o", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "zeroskip_gemm.json").read_text())["cols"] == 5


def test_generate_rejects_a_keyword_name(tmp_path, capsys):
    assert main(["generate", "--name", "module", "-o", str(tmp_path / "out")]) == 2
    one_line_error(capsys, "name must not be a Verilog or SystemVerilog keyword, not "
                            "'module'")
    assert not (tmp_path / "out").exists()


def test_generate_fits_the_smoke_run_to_the_command_fields(tmp_path):
    """With dim_width=2 (dimensions up to 3) the sim target's GEMMs shrink to fit, and
    generate still succeeds."""
    from zeroskip import ZeroskipConfig
    from zeroskip.testbench.cases import smoke_cases

    assert main(["generate", "--dim-width", "2", "--rows", "4", "--cols", "2",
                 "-o", str(tmp_path / "out")]) == 0
    cases = smoke_cases(ZeroskipConfig(dim_width=2, rows=4, cols=2))
    assert cases and all(max(c.m, c.k, c.n) <= 3 for c in cases)
