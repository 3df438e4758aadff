"""``zeroskip synth``: usage errors exit 2 and write nothing; a tool failure exits 1 and writes
no report; a run writes report.json and report.md."""

import json

import pytest

from zeroskip.cli import main
from zeroskip.synth import YosysError

SMALL = ["--rows", "2", "--cols", "2", "--output-stage", "false", "--act-width", "4",
         "--weight-width", "4", "--acc-width", "16"]


def test_help_lists_targets_and_devices(capsys):
    with pytest.raises(SystemExit) as e:
        main(["synth", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "{generic,ice40,ecp5,xilinx}" in out and "ice40: up5k, hx8k (default up5k)" in out


@pytest.mark.parametrize("argv, message", [
    (["--target", "generic", "--pnr"], "pnr is available for targets 'ice40', 'ecp5', "
                                       "not 'generic'"),
    (["--target", "xilinx", "--pnr"], "not 'xilinx' (it reports logic depth instead)"),
    (["--target", "ice40", "--device", "up3k"], "device for target 'ice40' must be one of "
                                                "'up5k', 'hx8k', not 'up3k'"),
    (["--target", "generic", "--device", "xc7"], "target 'generic' takes no device"),
    (["--target", "asic"], "argument --target: invalid choice: 'asic'"),
    ([], "the following arguments are required: --target"),
    (["--target", "ice40", "--rows", "0"], "rows must be between 1 and 64, not 0"),
    (["--target", "ecp5", "--pnr", "--timing-weight", "0"], "--timing-weight"),
])
def test_bad_flags_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["synth", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_output_that_is_a_file_exits_2(tmp_path, capsys):
    out = tmp_path / "report"
    out.write_text("keep me")
    assert main(["synth", "--target", "generic", "-o", str(out)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert out.read_text() == "keep me"


def test_tool_failure_exits_1_without_reports(tmp_path, capsys, monkeypatch):
    def failing_yosys(script, *, cwd, **options):
        raise YosysError("yosys exited with status 1:\nERROR: simulated failure")

    monkeypatch.setattr("zeroskip.synth.synthesis.run_yosys", failing_yosys)
    out = tmp_path / "out"
    assert main(["synth", "--target", "ice40", *SMALL, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ERROR: simulated failure" in err and "logs in" in err
    assert not (out / "report.json").exists() and not (out / "report.md").exists()


def test_generic_run_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["synth", "--target", "generic", *SMALL, "--weight-format", "rle",
                 "-o", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["target"] == "generic" and report["device"] is None
    # The gate library has no LUTs, carry or DSP cells: those are "not applicable".
    assert report["luts"] is None and report["carry"] is None and report["dsps"] is None
    assert report["cells"] > 0 and report["ffs"] > 0
    assert report["cells_by_type"].get("$_XOR_", 0) > 0
    # Memories stay memory cells rather than being expanded into flip-flops: the
    # accumulator memory alone holds acc_depth × cols × acc_width bits (16384 here).
    c = report["config"]
    assert report["brams"] >= 1 and report["ffs"] < c["acc_depth"] * c["cols"] * c["acc_width"] // 8
    assert report["config"]["weight_format"] == "rle"
    assert report["modules"]["weight_decoder"]["cells"] > 0
    assert report["modules"]["pe"]["instances"] == 4
    # An adder of 16-bit sums after a 4×4 multiplier is more than a few gates deep.
    assert report["logic_depth"]["levels"] >= 8
    markdown = (out / "report.md").read_text()
    assert "| all cells | " + str(report["cells"]) + " |" in markdown
    assert "| LUTs | – |" in markdown
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md", "work"]
    assert "report.md" in capsys.readouterr().out
