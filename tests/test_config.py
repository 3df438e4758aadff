import json

import pytest

from zeroskip.config import ConfigError, ZeroskipConfig, default_config, load_config, parameter_table


def test_defaults_and_derived():
    cfg = ZeroskipConfig()
    assert (cfg.rows, cfg.cols, cfg.acc_width) == (8, 8, 32)
    assert cfg.output_stage and cfg.zero_gating
    assert cfg.multipliers == 64
    assert cfg.operand_range("act") == (-128, 127)
    assert cfg.replace(act_signed=False, weight_signed=False).acc_signed is False
    assert cfg.replace(act_signed=False).operand_range("act") == (0, 255)
    assert cfg.max_dim == 65535


@pytest.mark.parametrize("field, value, message", [
    ("rows", 0, "rows must be between 1 and 64, not 0"),
    ("cols", 65, "cols must be between 1 and 64, not 65"),
    ("act_width", 1, "act_width must be between 2 and 16, not 1"),
    ("weight_width", 17, "weight_width must be between 2 and 16, not 17"),
    ("acc_width", 15, "acc_width must be between 16 and 48, not 15"),
    ("acc_width", 49, "acc_width must be between 16 and 48, not 49"),
    ("rows", True, "rows must be an integer, not True"),
    ("rows", "4", "rows must be an integer, not '4'"),
    ("act_signed", 1, "act_signed must be true or false, not 1"),
    ("dataflow", "output_stationary",
     "dataflow must be one of 'weight_stationary', not 'output_stationary'"),
    ("name", "9lives", "name must be a Verilog identifier"),
    ("acc_depth", 0, "acc_depth must be between 1 and 65536, not 0"),
    ("output_stage", "yes", "output_stage must be true or false, not 'yes'"),
    ("out_width", 1, "out_width must be between 2 and 16, not 1"),
    ("out_width", 17, "out_width must be between 2 and 16, not 17"),
    ("requant_mult_width", 0, "requant_mult_width must be between 1 and 32, not 0"),
    ("requant_mult_width", 33, "requant_mult_width must be between 1 and 32, not 33"),
])
def test_validation_names_parameter_and_range(field, value, message):
    with pytest.raises(ConfigError) as e:
        ZeroskipConfig(**{field: value})
    assert message in str(e.value)


def test_frozen():
    with pytest.raises(Exception):
        ZeroskipConfig().rows = 3


def test_toml_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('rows = 3\ncols = 5\nname = "mine"\nact_signed = false\n')
    cfg = load_config(path, {"cols": 6})
    assert (cfg.rows, cfg.cols, cfg.name, cfg.act_signed) == (3, 6, "mine", False)


def test_toml_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("rows = = 3\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("rowz = 3\n")
    with pytest.raises(ConfigError, match="unknown parameter 'rowz'"):
        load_config(unknown)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")


def test_json_round_trip_and_digest():
    cfg = ZeroskipConfig(rows=3, weight_signed=False)
    again = ZeroskipConfig.from_dict(json.loads(cfg.to_json()))
    assert again == cfg and again.digest() == cfg.digest()
    assert cfg.digest() != cfg.replace(rows=4).digest()


def test_one_default():
    """The field defaults are the default configuration: the demo's, and what every command
    starts from without --config."""
    assert default_config() == ZeroskipConfig() == load_config()
    assert (default_config().rows, default_config().cols) == (8, 8)
    assert default_config().output_stage


def test_parameter_table_covers_every_field():
    names = [row[0] for row in parameter_table()]
    assert names == list(ZeroskipConfig.__dataclass_fields__)


def test_configuration_doc_is_generated_from_the_root():
    from pathlib import Path

    from zeroskip.config import config_reference_markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    assert doc.read_text() == config_reference_markdown(), \
        "docs/configuration.md is stale: regenerate it (command at its top)"


def test_output_stage_fields():
    cfg = ZeroskipConfig()
    assert (cfg.output_stage, cfg.out_width, cfg.requant_mult_width) == (True, 8, 16)
    assert cfg.requant_max_shift == 32 + 16 - 1
    assert ZeroskipConfig(acc_width=48, requant_mult_width=32).requant_max_shift == 79
    # Requantised results travel in the accumulator lanes: out_width must fit them, but only
    # when the stage exists.
    narrow = dict(act_width=2, weight_width=2, acc_width=4, out_width=8)
    assert ZeroskipConfig(**narrow, output_stage=False).out_width == 8
    with pytest.raises(ConfigError, match=r"out_width must be at most acc_width \(4\) with "
                                          r"output_stage.*not 8"):
        ZeroskipConfig(**narrow, output_stage=True)
    assert ZeroskipConfig(**dict(narrow, out_width=4), output_stage=True).out_width == 4


def test_fields_that_sparsity_implies_follow_it_on_replace():
    sparse = ZeroskipConfig(rows=4, sparsity="2:4")
    assert (sparse.weight_format, sparse.nm_pattern) == ("nm", "2:4")
    dense = sparse.replace(sparsity="dense")
    assert (dense.sparsity, dense.weight_format) == ("dense", "dense")
    assert dense == ZeroskipConfig(rows=4)
    quarter = sparse.replace(sparsity="1:4")
    assert (quarter.weight_format, quarter.nm_pattern) == ("nm", "1:4")
    assert quarter == ZeroskipConfig(rows=4, sparsity="1:4")
    # The same through a configuration that was read back from its resolved JSON.
    again = ZeroskipConfig.from_dict(json.loads(sparse.to_json()))
    assert again.replace(sparsity="dense") == dense
    # A change that names the derived fields too keeps them.
    assert sparse.replace(sparsity="dense", weight_format="nm").weight_format == "nm"
    # A dense configuration's own weight format is not derived, so it stays, and a
    # sparsity that contradicts it is an error naming both.
    assert ZeroskipConfig(rows=4, weight_format="nm", nm_pattern="1:2").replace(
        rows=8).nm_pattern == "1:2"
    with pytest.raises(ConfigError, match="sparsity '2:4' implies weight_format 'nm'"):
        ZeroskipConfig(rows=4, weight_format="bitmask").replace(sparsity="2:4")


@pytest.mark.parametrize("name", ["module", "wire", "begin", "logic", "int", "priority",
                                  "soft", "always_ff", "endmodule", "uwire"])
def test_name_must_not_be_a_verilog_keyword(name):
    with pytest.raises(ConfigError, match=f"name must not be a Verilog or SystemVerilog "
                                          f"keyword, not '{name}'"):
        ZeroskipConfig(name=name)


def test_every_keyword_is_rejected_and_every_other_identifier_is_kept_verbatim():
    """Yosys escapes a keyword used as a module name (``module \\logic (``); every name the
    configuration accepts must come out of the generator as written."""
    import re

    from hypothesis import given, settings, strategies as st

    from zeroskip.hdl.verilog import generate_verilog
    from zeroskip.verilog_names import VERILOG_KEYWORDS

    for keyword in VERILOG_KEYWORDS:
        with pytest.raises(ConfigError):
            ZeroskipConfig(name=keyword)

    identifiers = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z").filter(
        lambda s: s not in VERILOG_KEYWORDS)

    @settings(max_examples=15, deadline=None)
    @given(st.one_of(identifiers, st.sampled_from(sorted(VERILOG_KEYWORDS)).map(
        lambda k: k + "_")))
    def check(name):
        text = generate_verilog(ZeroskipConfig(name=name, rows=1, cols=1))
        assert re.findall(r"^module (\S+?)\(", text, re.M) == [name, f"{name}_row",
                                                                  f"{name}_pe"]

    check()
