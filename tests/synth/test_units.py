"""Parts of the synthesis flow that need no EDA tool: target checks, hierarchy counting,
nextpnr log and report parsing, the wrapper's port reading, Markdown."""

import json
import re

import pytest
from amaranth.back import verilog

from zeroskip import ZeroskipConfig
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.synth.cells import classify, instance_counts, subtree_cells
from zeroskip.synth.nextpnr import overused, read_pnr_report, utilization_from_log
from zeroskip.synth.targets import TARGETS, resolve_target
from zeroskip.synth.wrapper import OutOfContextWrapper, module_ports


@pytest.mark.parametrize("target, device, pnr, message", [
    ("vhdl", None, False, "target must be one of 'generic', 'ice40', 'ecp5', 'xilinx', "
                          "not 'vhdl'"),
    ("ice40", "up3k", False, "device for target 'ice40' must be one of 'up5k', 'hx8k', "
                             "not 'up3k'"),
    ("ecp5", "LFE5U-12F", False, "device for target 'ecp5' must be one of 'LFE5U-25F', "
                                 "'LFE5U-45F', 'LFE5U-85F', not 'LFE5U-12F'"),
    ("generic", "up5k", False, "target 'generic' takes no device, not 'up5k'"),
    ("generic", None, True, "pnr is available for targets 'ice40', 'ecp5', not 'generic'"),
    ("xilinx", None, True, "pnr is available for targets 'ice40', 'ecp5', not 'xilinx'"),
])
def test_bad_target_device_or_pnr_names_the_parameter(target, device, pnr, message):
    with pytest.raises(ValueError) as e:
        resolve_target(target, device, pnr=pnr)
    assert message in str(e.value)


def test_devices_default_and_match_without_case():
    assert resolve_target("ice40")[1].name == "up5k"
    assert resolve_target("ecp5", "lfe5u-85f", pnr=True)[1].name == "LFE5U-85F"
    assert resolve_target("generic")[1] is None
    assert not resolve_target("ice40", "hx8k")[1].has_dsp


def _stat(modules):
    return {"modules": {f"\\{name}": {"num_cells_by_type": cells}
                        for name, cells in modules.items()}}


def test_hierarchy_totals_multiply_instances():
    stat = _stat({
        "top": {"SB_LUT4": 10, "SB_DFF": 3, "top_row": 2, "$scopeinfo": 4},
        "top_row": {"top_pe": 3, "SB_DFF": 1},
        "top_pe": {"SB_LUT4": 5, "SB_MAC16": 1},
        "unused": {"SB_LUT4": 1000},
    })
    assert instance_counts(stat, "top") == {"top": 1, "top_row": 2, "top_pe": 6}
    assert subtree_cells(stat, "top") == {"SB_DFF": 5, "SB_LUT4": 40, "SB_MAC16": 6}
    counts = classify(subtree_cells(stat, "top"), TARGETS["ice40"].cell_classes)
    assert counts == {"luts": 40, "ffs": 5, "carry": 0, "dsps": 6, "brams": 0, "lutram": None}
    assert classify({"$_AND_": 3, "$_DFF_P_": 2, "$_SDFFE_PP0P_": 1},
                    TARGETS["generic"].cell_classes)["ffs"] == 3


def test_xilinx_classes_keep_lut_ram_apart_from_block_ram():
    cells = {"LUT6": 2, "LUT1": 1, "RAMB18E1": 1, "RAM32M": 3, "SRL16E": 4, "FDRE": 7,
             "MUXF7": 1}
    assert classify(cells, TARGETS["xilinx"].cell_classes) == {
        "luts": 3, "ffs": 7, "carry": 0, "dsps": 0, "brams": 1, "lutram": 7}


_NEXTPNR_LOG = """Info: Device utilisation:
Info: 	         ICESTORM_LC:    1729/   5280    32%
Info: 	        ICESTORM_RAM:       7/     30    23%
Info: 	        ICESTORM_DSP:       9/      8   112%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_DSP'
"""


def test_utilisation_from_a_failed_nextpnr_log():
    utilization = utilization_from_log(_NEXTPNR_LOG)
    assert utilization["ICESTORM_DSP"] == {"used": 9, "available": 8}
    assert utilization["ICESTORM_LC"] == {"used": 1729, "available": 5280}
    assert overused(utilization) == ["ICESTORM_DSP 9/8 (112%)"]
    assert utilization_from_log("ERROR: no such file") == {}


def test_pnr_report_takes_the_slowest_clock_and_a_register_path(tmp_path):
    step = {"from": {"cell": "a"}, "to": {"cell": "b"}}
    report = {
        "fmax": {"clk_a": {"achieved": 80.5, "constraint": 100},
                 "clk_b": {"achieved": 60.25, "constraint": 100}},
        "utilization": {"TRELLIS_COMB": {"used": 10, "available": 100},
                        "DCCA": {"used": 0, "available": 56}},
        "critical_paths": [
            {"from": "<async>", "to": "clk_a", "path": [dict(step, delay=50.0, type="routing")]},
            {"from": "clk_b", "to": "clk_b", "path": [
                dict(step, delay=1.0, type="clk-to-q"), dict(step, delay=2.0, type="routing"),
                dict(step, delay=0.5, type="logic")]},
        ],
    }
    (tmp_path / "r.json").write_text(json.dumps(report))
    timing = read_pnr_report(tmp_path / "r.json")
    assert timing["fmax_mhz"] == 60.25
    assert timing["fmax_by_clock"] == {"clk_a": 80.5, "clk_b": 60.25}
    assert timing["utilization"] == {"TRELLIS_COMB": {"used": 10, "available": 100}}
    assert timing["critical_path"] == {"from": "a", "to": "b", "delay_ns": 3.5,
                                       "logic_ns": 0.5, "routing_ns": 2.0}


def test_wrapper_reads_every_engine_port():
    cfg = ZeroskipConfig(rows=2, cols=3, act_width=4, weight_width=5, acc_width=16)
    ports = {name: (width, is_input)
             for name, width, is_input in module_ports(generate_verilog(cfg), cfg.name)}
    assert ports["activations__payload"] == (2 * 4, True)
    assert ports["results__payload"] == (3 * 16 + 1, False)
    assert ports["clk"] == (1, True) and ports["busy"] == (1, False)
    wrapper = OutOfContextWrapper(cfg.name, [(n, w, i) for n, (w, i) in ports.items()])
    inputs = sum(w for n, (w, i) in ports.items() if i and n not in ("clk", "rst"))
    assert wrapper.input_bits == inputs
    assert wrapper.output_bits == sum(w for w, i in ports.values() if not i)
    text = verilog.convert(wrapper, name="w", emit_src=False)
    instance = text[text.index(f"  {cfg.name} engine ("):]
    instance = instance[:instance.index(");")]
    for name in ports:
        assert f".{name}(" in instance
    assert sorted(re.findall(r"^\s*(input|output) (\w+);", text, re.MULTILINE)) == [
        ("input", "capture"), ("input", "clk"), ("input", "rst"), ("input", "serial_in"),
        ("input", "shift"), ("output", "serial_out")]


def test_wrapper_refuses_ports_it_cannot_read():
    text = "module e(clk, rst, \\odd.port );\n  input clk;\n  input rst;\nendmodule\n"
    with pytest.raises(ValueError, match="could not read every port of module 'e'"):
        module_ports(text, "e")
    with pytest.raises(ValueError, match="module 'f' is not in the Verilog text"):
        module_ports(text, "f")
