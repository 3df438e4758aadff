"""The out-of-context wrapper: it reads every engine port from the generated Verilog and drives them from pins."""

import re

import pytest
from amaranth.back import verilog

from zeroskip import ZeroskipConfig
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.synth.wrapper import OutOfContextWrapper, module_ports


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
