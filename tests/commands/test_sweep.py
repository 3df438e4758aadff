"""``zeroskip sweep``: the command's grid errors, one line and exit status 2, nothing written."""

import pytest

from zeroskip.cli import main


@pytest.mark.parametrize("text, argv, message", [
    ("rows = [4]\nbogus = 1\n", [], "unknown key 'bogus' in grid file"),
    ("rows = [4\n", [], "is not valid TOML"),
    ("[rows]\nx = 1\n", [], "rows in grid file"),
    ("rows = [4]\n", ["--rows", "4,x"], "--rows takes comma-separated integers, not 'x'"),
    ("rows = [4]\n", ["--zero-gating", "maybe"], "--zero-gating takes comma-separated true/false"),
    ("rows = [4]\n", ["--targets", "generic", "--pnr", "--sparsity", "9:9"],
     "sparsity values must be among"),
    ("rows = [1]\nsparsity = '2:4'\n", [], "no valid combination in the grid (1 skipped)"),
])
def test_cli_grid_errors_exit_2_and_write_nothing(tmp_path, capsys, text, argv, message):
    grid = tmp_path / "g.toml"
    grid.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(grid), *argv, "-o", str(out), "--cache",
                 str(tmp_path / "cache"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("zeroskip sweep: ")
    assert not out.exists() and not (tmp_path / "cache").exists()
