"""The command line as a whole: help on every command, and bad input of every kind (flags,
values, configuration files, output paths) as one line, a non-zero exit and no files."""

import pytest

from zeroskip.cli import main

from .conftest import file_tree, one_line_error, run_cli_read_only


def test_help_on_every_command(capsys):
    from zeroskip.commands import COMMANDS

    names = [command.NAME for command in COMMANDS]
    assert names == ["generate", "sim", "run", "demo", "synth", "sweep"]
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    top = " ".join(capsys.readouterr().out.split())
    for command in COMMANDS:
        assert f"{command.NAME} {command.HELP}" in top
        with pytest.raises(SystemExit) as e:
            main([command.NAME, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: zeroskip {command.NAME}")
        assert " ".join(command.DESCRIPTION.replace("%%", "%").split()[:4]) in \
            " ".join(out.split())


@pytest.mark.parametrize("argv, message", [
    (["generate", "--rows", "0"], "rows must be between 1 and 64, not 0"),
    (["generate", "--rows", "x"], "argument --rows: invalid int value: 'x'"),
    (["generate", "--act-signed", "maybe"], "expected true or false, not 'maybe'"),
    (["generate", "--acc-width", "8"], "acc_width must be between 16 and 48, not 8"),
    (["generate", "--bogus", "1"], "unrecognized arguments: --bogus"),
    (["sim", "--gemm", "1,2"], "expected M,K,N (three integers), not '1,2'"),
    (["sim", "--gemm", "1,0,2"], "--gemm: K must be between 1 and 65535 (dim_width=16), not 0"),
    (["sim", "--gemm", "70000,1,1"], "--gemm: M must be between 1 and 65535"),
    (["sim", "--gemm", "2,2,2", "--stall", "1.5"], "expected a probability in [0, 1)"),
    (["sim", "--gemm", "2,2,2", "--seed", "-3"], "expected a non-negative integer"),
    (["sim", "--gemm", "2,2,2", "--simulator", "vcs"], "invalid choice: 'vcs'"),
    (["sim", "--gemm", "2,2,2", "--act-zeros", "1.2"], "expected a fraction in [0, 1]"),
    (["sim", "--gemm", "2,2,2", "--weight-zeros", "x"], "expected a fraction in [0, 1]"),
    (["generate", "--zero-gating", "2"], "expected true or false, not '2'"),
    (["generate", "--weight-format", "coo"], "weight_format must be one of 'dense', 'bitmask'"),
    (["generate", "--weight-format", "nm", "--nm-pattern", "2:3"], "nm_pattern must be one of"),
    (["generate", "--weight-format", "nm", "--rows", "6"],
     "nm_pattern '2:4' needs rows to be a multiple of 4"),
    (["generate", "--rle-run-width", "9"], "rle_run_width must be between 1 and 8, not 9"),
    (["generate", "--sparsity", "3:4"], "sparsity must be one of 'dense', '1:2'"),
    (["generate", "--sparsity", "2:4", "--rows", "3"],
     "sparsity '2:4' needs rows to be a multiple of 2"),
    (["generate", "--sparsity", "2:4", "--weight-format", "bitmask"],
     "sparsity '2:4' implies weight_format 'nm' with nm_pattern '2:4'"),
    (["generate", "--output-stage", "maybe"], "expected true or false, not 'maybe'"),
    (["generate", "--out-width", "17"], "out_width must be between 2 and 16, not 17"),
    (["generate", "--requant-mult-width", "0"],
     "requant_mult_width must be between 1 and 32, not 0"),
    (["generate", "--output-stage", "true", "--act-width", "4", "--weight-width", "4",
      "--acc-width", "8", "--out-width", "9"], "out_width must be at most acc_width (8)"),
    (["sim", "--gemm", "2,2,2", "--requant", "5"], "expected MULT,SHIFT (two integers), not '5'"),
    (["sim", "--gemm", "2,2,2", "--requant", "5,x"], "expected MULT,SHIFT (two integers)"),
    (["sim", "--gemm", "2,2,2", "--output-stage", "false", "--requant", "5,3"],
     "--requant: requant needs a configuration with output_stage = true"),
    (["sim", "--gemm", "2,2,2", "--output-stage", "true", "--requant", "65536,3"],
     "--requant: requant multiplier must be an integer in [0, 65535] "
     "(requant_mult_width=16), not 65536"),
    (["sim", "--gemm", "2,2,2", "--output-stage", "true", "--requant=-1,3"],
     "--requant: requant multiplier must be an integer in [0, 65535]"),
    (["sim", "--gemm", "2,2,2", "--output-stage", "true", "--requant-mult-width", "8",
      "--requant", "5,40"],
     "--requant: requant shift must be an integer in [0, 39] "
     "(acc_width + requant_mult_width - 1), not 40"),
    (["sim", "--gemm", "2,2,2", "--output-stage", "true", "--relu"],
     "--relu needs --requant MULT,SHIFT"),
])
def test_bad_input_one_line_exit_2_no_files(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = argv + (["-o", str(tmp_path / "out")] if argv[0] == "generate" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_config_file_exit_2(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text("rows = 100\n")
    assert main(["generate", "--config", str(toml), "-o", str(tmp_path / "out")]) == 2
    assert "rows must be between 1 and 64, not 100" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# Output paths: one line, a non-zero exit, nothing left behind -------------------------------

@pytest.mark.parametrize("command", [
    ["generate"], ["synth", "--target", "generic"], ["demo"],
    ["sweep", "--rows", "1", "--targets", "generic"]])
def test_a_file_in_the_output_path_is_one_line(command, tmp_path, capsys):
    (tmp_path / "some_file").write_text("in the way\n")
    before = file_tree(tmp_path)
    for out in ("some_file/sub", "some_file"):
        assert main([*command, "-o", str(tmp_path / out)]) == 2
        one_line_error(capsys, f"zeroskip {command[0]}: --output", "some_file")
    assert file_tree(tmp_path) == before


def test_a_failure_while_writing_leaves_no_file_and_no_new_folder(tmp_path, capsys,
                                                                  monkeypatch):
    """The second of two files fails (as on a full disk or a permission change): the first
    is not left behind, nor the folders made for them."""
    import tempfile as tempfile_module

    real_mkstemp = tempfile_module.mkstemp
    calls = []

    def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr("zeroskip.files.tempfile.mkstemp", failing_second)
    assert main(["generate", "--rows", "1", "--cols", "1", "-o",
                 str(tmp_path / "new" / "deeper")]) == 2
    one_line_error(capsys, "zeroskip generate: cannot write", "zeroskip_gemm.json",
                    "Permission denied")
    assert file_tree(tmp_path) == []


def test_a_read_only_output_folder_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    proc = run_cli_read_only(ro, ["generate", "--rows", "1", "--cols", "1", "-o",
                               str(ro / "out")])
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"zeroskip generate: --output {str(ro / 'out')!r}: cannot write in {str(ro)!r} "
        f"(permission denied or read-only)"]
    assert list(ro.iterdir()) == []


