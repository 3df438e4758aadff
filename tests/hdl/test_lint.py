"""Verilator lint of the generated Verilog: with the waivers of :mod:`zeroskip.hdl.lint`,
``verilator --lint-only -Wall`` reports nothing for every configuration the suite simulates
(and a few more), with and without the ECP5 primitives (then linted together with their
behavioural models); and the waivers are not blanket: real bugs of the waived rules in a file
named like the generated one are still reported."""

import re
import subprocess

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.hdl.lint import WAIVED_RULES, verilator_waivers
from zeroskip.hdl.primitives import simulation_models
from zeroskip.hdl.verilog import generate_verilog
from zeroskip.testbench.runner import verilator_root

from ..conftest import require_simulator
from ..strategies import WIRE_CONFIGS
from .test_engine import (BIAS_CONFIGS, BIAS_SLOW_CONFIGS, CONFIGS, FORMAT_CONFIGS,
                          OUTPUT_STAGE_SLOW_CONFIGS)
from .test_primitives import CONFIGS as PRIMITIVE_CONFIGS
from .test_primitives import OUTPUT_STAGE_CONFIGS as PRIMITIVE_OUTPUT_STAGE_CONFIGS
from ..testbench.test_axis import CONFIGS as AXIS_CONFIGS


def _matrix():
    """The suite's configurations (engine spine, weight formats, output stage, primitives,
    decoders), once each, and configurations of idioms none of them has."""
    groups = {"engine": CONFIGS, "format": FORMAT_CONFIGS, "os": OUTPUT_STAGE_SLOW_CONFIGS,
              "ecp5": PRIMITIVE_CONFIGS, "ecp5-os": PRIMITIVE_OUTPUT_STAGE_CONFIGS,
              "wire": WIRE_CONFIGS, "bias": {**BIAS_CONFIGS, **BIAS_SLOW_CONFIGS},
              # The AXI4-Stream top of each configuration its cocotbext-axi test simulates.
              "axis": {name: cfg.replace(interface="axis") for name, cfg in AXIS_CONFIGS.items()}}
    extra = {
        "default": ZeroskipConfig(),   # the same as os-8x8 today
        "default-ecp5": ZeroskipConfig(primitives="ecp5"),
        # One bias beat per bias row (4 activation lanes of 16 bits carry one 32-bit bias).
        "bias-4x1-one-beat-ecp5": ZeroskipConfig(rows=4, cols=1, act_width=16, bias=True,
                                                 primitives="ecp5"),
        "8x8-2:4-ungated": ZeroskipConfig(sparsity="2:4", zero_gating=False),
        "4x2-1:4-ecp5-ungated": ZeroskipConfig(rows=4, cols=2, sparsity="1:4", zero_gating=False,
                                               primitives="ecp5"),
        # Dimensions of one bit: the fold sequencer's fits-in-one-fold compares are constant.
        "2x2-dim1": ZeroskipConfig(rows=2, cols=2, dim_width=1, acc_depth=3,
                                   output_stage=False),
        # More rows than a DP16KD holds: the accumulator falls back to an inferred memory.
        "2x2-acc600-ecp5-u": ZeroskipConfig(rows=2, cols=2, acc_depth=600, act_signed=False,
                                            weight_signed=False, primitives="ecp5"),
        "2x2-named-ecp5": ZeroskipConfig(name="lint_me", rows=2, cols=2, primitives="ecp5"),
        # LUT-multiplier PE columns beside block PEs, with the output stage's blocks.
        "4x4-lut3-ecp5": ZeroskipConfig(rows=4, cols=4, primitives="ecp5", lut_pe_cols=3),
        # AXI4-Stream ports: each tdata is its payload padded to whole bytes.
        "8x8-axis": ZeroskipConfig(interface="axis"),
        "2x2-axis-1:2": ZeroskipConfig(rows=2, cols=2, interface="axis", act_width=16,
                                       weight_width=5, acc_width=40, sparsity="1:2"),
        "3x5-axis-csr-ecp5": ZeroskipConfig(rows=3, cols=5, interface="axis", weight_format="csr",
                                            output_stage=False, primitives="ecp5"),
    }
    out, seen = {}, set()
    for prefix, configs in {**groups, "extra": extra}.items():
        for name, cfg in configs.items():
            if cfg not in seen:
                out[name if prefix == "extra" else f"{prefix}-{name}"] = cfg
                seen.add(cfg)
    return out


MATRIX = _matrix()


@pytest.fixture
def verilator():
    require_simulator("verilator")
    return str(verilator_root() / "bin" / "verilator")


def _lint(verilator, folder, top, files):
    """Run the lint; returns (exit code, output, [(rule, file, line, message)])."""
    r = subprocess.run([verilator, "--lint-only", "-Wall", "--top-module", top, *files],
                       cwd=folder, capture_output=True, text=True, timeout=120)
    output = r.stdout + r.stderr
    found = re.findall(r"^%(?:Warning|Error)-(\w+): ([^:\s]+):(\d+):\d+: (.*)$", output, re.M)
    return r.returncode, output, [(rule, f, int(line), msg) for rule, f, line, msg in found]


def _write(folder, cfg):
    """Write ``<name>.vlt``, ``<name>.v`` (and the models with primitives); return the files
    in lint order."""
    files = {f"{cfg.name}.vlt": verilator_waivers(cfg), f"{cfg.name}.v": generate_verilog(cfg)}
    models = simulation_models(cfg)
    if models:
        files[f"{cfg.name}_sim_models.v"] = models
    for name, text in files.items():
        (folder / name).write_text(text)
    return list(files)


@pytest.mark.parametrize("config_name", list(MATRIX))
def test_generated_verilog_lints_clean(config_name, verilator, tmp_path):
    cfg = MATRIX[config_name]
    files = _write(tmp_path, cfg)
    code, output, warnings = _lint(verilator, tmp_path, cfg.name, files)
    assert code == 0 and not warnings and "%Warning" not in output, output


def test_waivers_are_deterministic_and_scoped():
    cfg = ZeroskipConfig(rows=2, cols=2, primitives="ecp5")
    text = verilator_waivers(cfg)
    assert text == verilator_waivers(ZeroskipConfig(rows=2, cols=2, primitives="ecp5"))
    assert text.startswith("`verilator_config\n")
    waivers = [line for line in text.splitlines() if line.startswith("lint_off")]
    assert waivers
    files = {f'"*{cfg.name}.v"', f'"*{cfg.name}_sim_models.v"'}
    for line in waivers:
        # Every waiver names its rule, one of the generated files, and a message pattern.
        m = re.fullmatch(r'lint_off -rule ([A-Z]+) -file ("[^"]+") -match "([^"]+)"', line)
        assert m and m.group(1) in WAIVED_RULES and m.group(2) in files, line
        assert m.group(3).strip("*?"), line
    # Every other line is a comment or blank: each block of waivers says why.
    assert all(not line or line.startswith(("//", "lint_off", "`verilator_config"))
               for line in text.splitlines())
    renamed = verilator_waivers(ZeroskipConfig(name="other", rows=2, cols=2, primitives="ecp5"))
    assert '"*other.v"' in renamed and f'"*{cfg.name}.v"' not in renamed
    assert "_sim_models" not in verilator_waivers(ZeroskipConfig(rows=2, cols=2))


# A module named like the engine, in a file named like the engine's (so the waivers' -file
# applies), with one bug of each waived rule on lines that resemble the waived idioms, and
# idioms that must stay quiet. Each "expect" marks a line that must be reported.
CANARY = """\
module {name}(clk, a, b, s, y, z, w, q, lt);
  input clk;
  input [7:0] a;
  input [7:0] b;
  input [3:0] s;
  output [3:0] y;
  output [15:0] z;
  output [3:0] w;
  output [8:0] q;
  output lt;
  wire [3:0] \\$1 ;
  wire [8:0] \\$2 ;
  wire \\$3 ;
  wire [8:0] \\$4 ;
  wire [7:0] unread;
  reg [7:0] dead = 8'h00;  // expect UNUSEDSIGNAL: a register nothing reads
  reg [7:0] held = 8'h00;
  assign y = a + b;  // expect WIDTHTRUNC: the sum's upper bits are lost
  assign \\$1  = a + b;  // expect WIDTHTRUNC: the same into a temporary
  assign w = \\$1 ;
  assign z = a;  // expect WIDTHEXPAND: an assignment that widens
  assign \\$2  = $signed(s) + b;  // expect WIDTHEXPAND: a signed operand zero-extended
  assign q = \\$2 ;
  assign \\$3  = $signed(s) < a;  // expect WIDTHEXPAND: a signed compare made unsigned
  assign lt = \\$3  | \\$4 [8] | held[0];
  assign \\$4  = a + 8'h80;
  assign unread = held;
  always @(posedge clk)
    dead <= a;
  always @(posedge clk)
    held <= b;
endmodule
"""


def test_waivers_still_report_real_bugs_of_waived_rules(verilator, tmp_path):
    cfg = ZeroskipConfig(rows=2, cols=2, primitives="ecp5")
    (tmp_path / f"{cfg.name}.vlt").write_text(verilator_waivers(cfg))
    (tmp_path / "canary").mkdir()
    source = CANARY.format(name=cfg.name)
    (tmp_path / "canary" / f"{cfg.name}.v").write_text(source)
    expected = sorted((m.group(1), i) for i, line in enumerate(source.splitlines(), 1)
                      for m in [re.search(r"// expect (\w+)", line)] if m)
    _, output, warnings = _lint(verilator, tmp_path, cfg.name,
                                [f"{cfg.name}.vlt", f"canary/{cfg.name}.v"])
    assert sorted((rule, line) for rule, _, line, _ in warnings) == expected, output
    # Without the waivers the idioms are reported too: the control file is what hides them.
    _, output, bare = _lint(verilator, tmp_path, cfg.name, [f"canary/{cfg.name}.v"])
    assert {rule for rule, *_ in bare} - {rule for rule, _ in expected} == {"PROCASSINIT"}, output
    assert len(bare) > len(warnings) + 1, output


def test_waivers_still_report_missing_primitive_pins(verilator, tmp_path):
    """The PE's MULT18X18D without its clock, an operand bit, its gate's reset and the top bit
    of its product: each reported, though the block's deliberately open pins are waived."""
    cfg = ZeroskipConfig(rows=2, cols=2, primitives="ecp5")
    files = _write(tmp_path, cfg)
    netlist = tmp_path / f"{cfg.name}.v"
    text = netlist.read_text()
    start = text.index(") mult (")
    end = text.index(");", start)
    top_bit = f"P{cfg.act_width + cfg.weight_width - 1}"
    removed = ("CLK0", "A0", "RST0", top_bit)
    block, count = re.subn(r"\n\s*\.(%s)\([^\n]*\),?(?=\n)" % "|".join(removed), "",
                           text[start:end])
    assert count == len(removed)
    netlist.write_text(text[:start] + block + text[end:])
    _, output, warnings = _lint(verilator, tmp_path, cfg.name, files)
    missing = {re.fullmatch(r"Instance has missing pin: '(\w+)'", msg).group(1)
               for rule, _, _, msg in warnings if rule == "PINMISSING"}
    assert missing == set(removed), output
