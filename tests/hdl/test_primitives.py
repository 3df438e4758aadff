"""The ECP5 primitive PE (``primitives = "ecp5"``): the engine built from MULT18X18D blocks and
their behavioural model gives NumPy's results and the cycle model's cycles on both simulators,
gated and ungated, dense and N:M, unsigned 16-bit operands, with the output stage; the
Verilog instantiates one block per PE with the registers set; the model refuses a
configuration outside the subset it models."""

import subprocess

import pytest

from zeroskip import ConfigError, ZeroskipConfig
from zeroskip.hdl.array import WeightStationaryArray
from zeroskip.hdl.pe import ProcessingElement
from zeroskip.hdl.primitives import mult18x18d_model, mult18x18d_parameters
from zeroskip.hdl.verilog import generate_verilog, simulation_verilog
from zeroskip.models.cycles import array_latency, pe_latency
from zeroskip.testbench.runner import simulate

from ..conftest import require_simulator
from .test_engine import OUTPUT_STAGE_SLOW_CONFIGS, _check, _check_output_stage, adversarial_cases

CONFIGS = {
    "4x4-gated": ZeroskipConfig(rows=4, cols=4, acc_depth=4, primitives="ecp5",
                                output_stage=False),
    "4x4-ungated": ZeroskipConfig(rows=4, cols=4, acc_depth=4, zero_gating=False,
                                  primitives="ecp5", output_stage=False),
    "3x2-u16u16": ZeroskipConfig(rows=3, cols=2, act_width=16, act_signed=False,
                                 weight_width=16, weight_signed=False, acc_width=48,
                                 primitives="ecp5", output_stage=False),
    "4x4-2:4": ZeroskipConfig(rows=4, cols=4, sparsity="2:4", primitives="ecp5",
                              output_stage=False),
    "4x3-u4s6-rle": ZeroskipConfig(rows=4, cols=3, act_width=4, act_signed=False,
                                   weight_width=6, acc_width=12, weight_format="rle",
                                   primitives="ecp5", output_stage=False),
    # PEs that multiply in LUT logic beside those with blocks (lut_pe_cols), or all of them:
    # int8, unsigned 16-bit halves, signed 3-bit halves of a 6-bit weight, N:M.
    "4x4-gated-lut2": ZeroskipConfig(rows=4, cols=4, acc_depth=4, primitives="ecp5",
                                     lut_pe_cols=2, output_stage=False),
    "3x2-u16u16-ungated-lut2": ZeroskipConfig(rows=3, cols=2, act_width=16, act_signed=False,
                                              weight_width=16, weight_signed=False,
                                              acc_width=48, zero_gating=False,
                                              primitives="ecp5", lut_pe_cols=2,
                                              output_stage=False),
    "4x3-u4s6-rle-lut1": ZeroskipConfig(rows=4, cols=3, act_width=4, act_signed=False,
                                        weight_width=6, acc_width=12, weight_format="rle",
                                        primitives="ecp5", lut_pe_cols=1, output_stage=False),
    "4x4-2:4-lut3": ZeroskipConfig(rows=4, cols=4, sparsity="2:4", primitives="ecp5",
                                   lut_pe_cols=3, output_stage=False),
}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_primitive_engine_matches_numpy(simulator, config_name, build_root):
    require_simulator(simulator)
    cfg = CONFIGS[config_name]
    cases = adversarial_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


def test_default_engine_with_primitives_matches_numpy(build_root):
    """The configuration ``zeroskip synth --target ecp5`` places: 8×8 int8, gated, output
    stage on."""
    require_simulator("verilator")
    cfg = ZeroskipConfig(primitives="ecp5")
    cases = adversarial_cases(cfg)[:6]
    reports, _ = simulate(cfg, cases, simulator="verilator", build_root=build_root)
    _check(reports, cases)


# The output stage's multipliers as MULT18X18D blocks: two per lane in 18-bit chunks
# (acc 32 × mult 16), six (acc 48 × mult 32), unsigned accumulators.
OUTPUT_STAGE_CONFIGS = {
    "4x3-2:4": ZeroskipConfig(rows=4, cols=3, acc_depth=4, sparsity="2:4", primitives="ecp5"),
    **{name: OUTPUT_STAGE_SLOW_CONFIGS[name].replace(primitives="ecp5")
       for name in ("2x3-u4u4-acc12-o5-m6", "3x2-s16s16-acc48-o16-m32")},
}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(OUTPUT_STAGE_CONFIGS))
def test_primitive_output_stage(simulator, config_name, build_root, tmp_path):
    require_simulator(simulator)
    _check_output_stage(OUTPUT_STAGE_CONFIGS[config_name], simulator, build_root, tmp_path)


def test_verilog_instantiates_one_registered_block_per_pe():
    cfg = ZeroskipConfig(rows=2, cols=3, primitives="ecp5")
    text = generate_verilog(cfg)
    # One PE module, instantiated R×C times, holds a block; the output stage has two per
    # lane (the accumulator's low 18 bits and its signed top 14 bits, times the multiplier).
    assert text.count("MULT18X18D #(") == 1 + 2 * cfg.cols
    assert text.count(f"{cfg.name}_pe pe_") == cfg.cols
    for name, value in mult18x18d_parameters(gated=True).items():
        assert f'.{name}("{value}")' in text, name
    assert "MULT18X18D" not in generate_verilog(cfg.replace(primitives="none"))
    # The simulators get the model; the synthesis flow and users' tools do not.
    assert "module MULT18X18D(" in simulation_verilog(cfg)
    assert "module MULT18X18D(" not in text


def test_lut_pe_columns_are_a_module_of_their_own():
    """The last ``lut_pe_cols`` PEs of each row instantiate ``{name}_pe_lut``, which has no
    block and a Booth-ready pair of half products; with every column in LUTs the block's PE
    module and (without an output stage) its model are not emitted."""
    cfg = ZeroskipConfig(rows=2, cols=3, primitives="ecp5", lut_pe_cols=2)
    text = generate_verilog(cfg)
    assert text.count(f"{cfg.name}_pe pe_") == 1 and text.count(f"{cfg.name}_pe_lut pe_") == 2
    assert text.count("MULT18X18D #(") == 1 + 2 * cfg.cols
    lut_module = text[text.index(f"module {cfg.name}_pe_lut("):]
    assert "MULT18X18D" not in lut_module and "product_hi" in lut_module
    every = ZeroskipConfig(rows=2, cols=3, primitives="ecp5", lut_pe_cols=3, output_stage=False)
    text = simulation_verilog(every)
    assert f"module {every.name}_pe(" not in text and "MULT18X18D" not in text
    assert generate_verilog(cfg.replace(lut_pe_cols=0)).count("_pe_lut") == 0


def test_lut_pe_columns_need_primitives_and_fit_the_array():
    with pytest.raises(ConfigError, match="lut_pe_cols needs primitives"):
        ZeroskipConfig(lut_pe_cols=1)
    with pytest.raises(ConfigError, match="lut_pe_cols must be between 0 and 8, not 9"):
        ZeroskipConfig(primitives="ecp5", lut_pe_cols=9)
    with pytest.raises(ValueError, match="needs cfg.primitives"):
        ProcessingElement(ZeroskipConfig(), lut_multiplier=True)


def test_model_refuses_configurations_it_does_not_model(tmp_path):
    require_simulator("icarus")
    (tmp_path / "model.v").write_text(mult18x18d_model())
    (tmp_path / "top.v").write_text(
        'module top; MULT18X18D #(.REG_INPUTA_CLK("CLK0"), .REG_INPUTB_CLK("CLK0"), '
        '.REG_OUTPUT_CLK("CLK0"), .GSR("DISABLED"), .REG_PIPELINE_CLK("CLK0")) m (); '
        'initial #1 $display("ran"); endmodule\n')
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "model.v", "top.v"], cwd=tmp_path,
                   check=True)
    out = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert "outside the modelled subset" in out and "ran" not in out


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_the_blocks_input_registers_add_one_cycle_to_the_pe(config_name):
    cfg = CONFIGS[config_name]
    assert ProcessingElement.latency_of(cfg) == pe_latency(cfg) == \
        ProcessingElement.LATENCY + 1 == pe_latency(cfg.replace(primitives="none")) + 1
    assert WeightStationaryArray(cfg).latency == array_latency(cfg)
