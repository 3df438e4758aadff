"""Running Yosys: its failures carry its own message; cell counts read by its frontend."""

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.synth import YosysError, design_cell_counts, run_yosys
from zeroskip.synth.yosys import yosys_version


def test_yosys_failure_carries_yosys_message(tmp_path):
    with pytest.raises(YosysError) as e:
        run_yosys(["read_verilog missing_design.v"], cwd=tmp_path)
    assert "missing_design.v" in str(e.value)


def test_cell_counts_of_a_module_multiply_its_instances():
    """The PE module's ``$mul`` cells times its instances: one multiplier per PE, whatever
    else (the output stage's requantisation multipliers) the design holds."""
    cfg = ZeroskipConfig(rows=2, cols=3, output_stage=True)
    text = generate_verilog(cfg)
    assert design_cell_counts(text, cfg.name, module=f"{cfg.name}_pe")["$mul"] == 6
    whole = design_cell_counts(text, cfg.name)
    assert whole["$mul"] > 0 and f"{cfg.name}_row" not in whole


def test_version_is_read_from_the_log():
    assert yosys_version("\n Yosys 0.70 (git sha1 28ba3cb92, clang++ 18)\n") == \
        "Yosys 0.70 (git sha1 28ba3cb92)"
    assert yosys_version("no banner") is None
