"""What the commands share: argument types with one-line messages, and configuration flags
generated from the configuration root, applied over a TOML file and the defaults."""

import argparse
import dataclasses

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.commands.options import (add_config_flags, config_from_args, fraction, gemm_dims,
                                       non_negative, parse_bool, positive, probability,
                                       requant_pair)
from zeroskip.config import ConfigError

FIELDS = [f.name for f in dataclasses.fields(ZeroskipConfig)]

# Every field away from its default (dataflow has one choice), valid together.
NON_DEFAULT = ZeroskipConfig(name="tiny_gemm", rows=4, cols=3, act_width=4, weight_width=5,
                             acc_width=20, act_signed=False, weight_signed=False,
                             dim_width=10, acc_depth=16, zero_gating=False,
                             weight_format="nm", nm_pattern="1:4", rle_run_width=3,
                             sparsity="1:4", output_stage=False, out_width=6,
                             requant_mult_width=9, primitives="ecp5", interface="axis",
                             requant_rounding="half_even", bias=True, lut_pe_cols=1)


def _flag(name):
    return f"--{name.replace('_', '-')}"


def _text(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parser():
    parser = argparse.ArgumentParser(prog="zeroskip test")
    add_config_flags(parser)
    return parser


def _rejects(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse(text)
    assert str(e.value) == message


@pytest.mark.parametrize("text, value", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("On", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("OFF", False)])
def test_parse_bool_accepts(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["maybe", "", "2", "tru", " true", "y"])
def test_parse_bool_rejects(text):
    _rejects(parse_bool, text, f"expected true or false, not {text!r}")


@pytest.mark.parametrize("text, dims", [("1,2,3", (1, 2, 3)), ("65535,1,7", (65535, 1, 7)),
                                        (" 4, 5 ,6", (4, 5, 6)), ("0,0,0", (0, 0, 0))])
def test_gemm_dims_accepts_three_integers(text, dims):
    assert gemm_dims(text) == dims


@pytest.mark.parametrize("text", ["1,2", "1,2,3,4", "a,b,c", "", "1;2;3", "1,2,", "1.0,2,3"])
def test_gemm_dims_rejects(text):
    _rejects(gemm_dims, text, f"expected M,K,N (three integers), not {text!r}")


@pytest.mark.parametrize("text, pair", [("3,4", (3, 4)), ("65535,0", (65535, 0)),
                                        ("-1,2", (-1, 2))])
def test_requant_pair_accepts_two_integers(text, pair):
    assert requant_pair(text) == pair


@pytest.mark.parametrize("text", ["3", "1,2,3", "x,1", "", "1.5,2"])
def test_requant_pair_rejects(text):
    _rejects(requant_pair, text, f"expected MULT,SHIFT (two integers), not {text!r}")


@pytest.mark.parametrize("text, value", [("0", 0.0), ("0.25", 0.25), ("0.999", 0.999),
                                         ("1e-3", 0.001)])
def test_probability_accepts_zero_up_to_one(text, value):
    assert probability(text) == value


@pytest.mark.parametrize("text", ["1", "1.0", "-0.01", "2", "nan", "inf", "half", ""])
def test_probability_rejects(text):
    _rejects(probability, text, f"expected a probability in [0, 1), not {text!r}")


@pytest.mark.parametrize("text, value", [("0", 0.0), ("0.5", 0.5), ("1", 1.0), ("1.0", 1.0)])
def test_fraction_accepts_zero_to_one(text, value):
    assert fraction(text) == value


@pytest.mark.parametrize("text", ["1.0001", "-0.5", "nan", "x", ""])
def test_fraction_rejects(text):
    _rejects(fraction, text, f"expected a fraction in [0, 1], not {text!r}")


@pytest.mark.parametrize("text, value", [("1", 1), ("64", 64), ("+3", 3)])
def test_positive_accepts(text, value):
    assert positive(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "x", ""])
def test_positive_rejects(text):
    _rejects(positive, text, f"expected a positive integer, not {text!r}")


@pytest.mark.parametrize("text, value", [("0", 0), ("1", 1), ("1000", 1000)])
def test_non_negative_accepts(text, value):
    assert non_negative(text) == value


@pytest.mark.parametrize("text", ["-1", "-100", "0.5", "x", ""])
def test_non_negative_rejects(text):
    _rejects(non_negative, text, f"expected a non-negative integer, not {text!r}")


def test_argument_type_error_is_argparse_usage_error(capsys):
    parser = argparse.ArgumentParser(prog="zeroskip test")
    parser.add_argument("--stall", type=probability)
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--stall", "1"])
    assert e.value.code == 2
    assert "argument --stall: expected a probability in [0, 1), not '1'" in \
        capsys.readouterr().err


def test_one_flag_per_config_field_all_unset_by_default():
    args = _parser().parse_args([])
    assert vars(args) == {"config": None, **{f"cfg_{name}": None for name in FIELDS}}


def test_every_field_is_set_by_its_flag():
    values = NON_DEFAULT.to_dict()
    assert [n for n in FIELDS if values[n] == getattr(ZeroskipConfig(), n)] == ["dataflow"]
    argv = [a for name in FIELDS for a in (_flag(name), _text(values[name]))]
    args = _parser().parse_args(argv)
    for name in FIELDS:
        parsed = getattr(args, f"cfg_{name}")
        assert parsed == values[name] and type(parsed) is type(values[name]), name
    assert config_from_args(args) == NON_DEFAULT


def test_flag_help_shows_allowed_values_and_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping inside a flag's help
    lines = {}
    for line in _parser().format_help().splitlines():
        if line.strip().startswith("--"):
            flag = line.split()[0]
            lines[flag] = line
        elif lines:
            lines[flag] += line  # a long flag's help starts on the next line
    default = ZeroskipConfig()
    for name in FIELDS:
        assert f"default {_text(getattr(default, name))}]" in lines[_flag(name)], name
    assert "[1 .. 64; default 8]" in lines["--rows"]
    assert "[act_width + weight_width .. 48; default 32]" in lines["--acc-width"]
    assert "[true, false; default true]" in lines["--zero-gating"]


def test_bad_bool_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["--zero-gating", "maybe"])
    assert e.value.code == 2
    assert "argument --zero-gating: expected true or false, not 'maybe'" in \
        capsys.readouterr().err


def test_no_flags_give_the_default_configuration():
    assert config_from_args(_parser().parse_args([])) == ZeroskipConfig()


def test_flags_apply_over_the_defaults():
    args = _parser().parse_args(["--rows", "2", "--output-stage", "false", "--name", "g"])
    assert config_from_args(args) == ZeroskipConfig(rows=2, output_stage=False, name="g")


def test_flags_apply_over_a_config_file(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('rows = 4\ncols = 3\nact_signed = false\nzero_gating = true\n'
                    'weight_format = "csr"\n')
    args = _parser().parse_args(["--config", str(toml), "--cols", "5", "--zero-gating", "no"])
    # A flag set to false still overrides the file's true.
    assert config_from_args(args) == ZeroskipConfig(rows=4, cols=5, act_signed=False,
                                                    zero_gating=False, weight_format="csr")


def test_invalid_flag_value_is_a_config_error():
    args = _parser().parse_args(["--rows", "0"])
    with pytest.raises(ConfigError, match=r"^rows must be between 1 and 64, not 0$"):
        config_from_args(args)


def test_unknown_key_in_config_file_is_a_config_error(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("rowz = 4\n")
    with pytest.raises(ConfigError, match="unknown parameter 'rowz' in config file"):
        config_from_args(_parser().parse_args(["--config", str(toml)]))
