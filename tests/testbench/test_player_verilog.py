"""The player's testbench text: generated from the configuration (payload widths, the
configuration digest it checks the run files against), deterministic, and wired to every
port of the engine."""

import re

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import (activation_row_layout, command_layout,
                                  compressed_word_layout, result_row_layout, weight_row_layout)
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.synth.wrapper import module_ports
from zeroskip.testbench.player_verilog import PLAYER_TOP, payload_widths, player_verilog


def test_payload_widths_are_the_layouts():
    dense = ZeroskipConfig(rows=3, cols=5, act_width=4, acc_width=20, output_stage=True)
    assert payload_widths(dense) == {
        "cmd": command_layout(dense).size, "weights": weight_row_layout(dense).size,
        "activations": activation_row_layout(dense).size,
        "results": result_row_layout(dense).size}
    compressed = dense.replace(weight_format="csr")
    assert payload_widths(compressed)["weights"] == compressed_word_layout(compressed).size


def test_the_testbench_is_generated_for_its_configuration():
    cfg = ZeroskipConfig(rows=2, cols=3, output_stage=False)
    text = player_verilog(cfg)
    assert text == player_verilog(cfg)
    assert f"module {PLAYER_TOP};" in text and f'DIGEST = "{cfg.digest()}"' in text
    widths = payload_widths(cfg)
    assert f"CW = {widths['cmd']}, WW = {widths['weights']}, " \
           f"AW = {widths['activations']}" in text and f"RW = {widths['results']}" in text
    other = cfg.replace(cols=4)
    assert player_verilog(other) != text and other.digest() in player_verilog(other)


def test_every_engine_port_is_connected():
    cfg = ZeroskipConfig(rows=2, cols=2, weight_format="bitmask")
    text = player_verilog(cfg)
    instance = text[text.index(f"{cfg.name} dut ("):]
    instance = instance[:instance.index(");")]
    connected = set(re.findall(r"\.(\w+)\(", instance))
    ports = {name for name, _, _ in module_ports(generate_verilog(cfg), cfg.name)}
    assert connected == ports


def test_the_player_module_name_is_reserved():
    """An engine named like the player's testbench module would clash with it in the core's
    sim target (and in every player build)."""
    from zeroskip.config import RESERVED_NAMES, ConfigError

    assert PLAYER_TOP in RESERVED_NAMES
    with pytest.raises(ConfigError, match="stream player"):
        ZeroskipConfig(name=PLAYER_TOP)
