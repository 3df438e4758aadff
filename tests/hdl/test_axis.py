"""The AXI4-Stream top: port names and widths that Vivado's IP packager and LiteX infer
interfaces from, tlast exactly where a stream has a last, and no logic of its own."""

import pytest
from zeroskip.hdl.axis import tdata_width
from zeroskip.hdl.verilog import generate_verilog

from zeroskip import ZeroskipConfig


def _ports(verilog, module):
    start = verilog.index(f"module {module}(")
    body = verilog[start:verilog.index("endmodule", start)]
    ports = {}
    for line in body.splitlines():
        words = line.strip().rstrip(";").split()
        if words and words[0] in ("input", "output"):
            width = 1
            if words[1].startswith("["):
                hi, lo = words[1][1:-1].split(":")
                width = int(hi) - int(lo) + 1
            ports[words[-1]] = (words[0], width)
    return ports


STREAM_PORTS = {"tdata", "tvalid", "tready"}


@pytest.mark.parametrize("kw,weights_tlast", [
    ({}, False), ({"weight_format": "rle"}, True), ({"sparsity": "2:4", "rows": 4}, True),
    ({"act_width": 6, "weight_width": 5, "acc_width": 20, "output_stage": False}, False),
    ({"primitives": "ecp5"}, False),
])
def test_ports_follow_axi4_stream_naming(kw, weights_tlast):
    cfg = ZeroskipConfig(**{"rows": 3, "cols": 3, "interface": "axis", "name": "axis_top", **kw})
    ports = _ports(generate_verilog(cfg), "axis_top")
    expected = {"aclk": ("input", 1), "aresetn": ("input", 1), "busy": ("output", 1)}
    for prefix, master in (("s_axis_cmd", False), ("s_axis_weights", False),
                           ("s_axis_activations", False), ("m_axis_results", True)):
        fwd, back = ("output", "input") if master else ("input", "output")
        names = {f"{prefix}_{s}" for s in STREAM_PORTS}
        if prefix == "m_axis_results" or (prefix == "s_axis_weights" and weights_tlast):
            names.add(f"{prefix}_tlast")
        for name in names:
            assert name in ports, name
            assert ports[name][0] == (back if name.endswith("tready") else fwd), name
        assert ports[f"{prefix}_tdata"][1] % 8 == 0
        expected.update({n: ports[n] for n in names})
    assert ports == expected
    # Payload widths: results carry C lanes of acc_width, activations k_per_fold lanes.
    assert ports["m_axis_results_tdata"][1] == tdata_width(cfg.cols * cfg.acc_width)
    assert ports["s_axis_activations_tdata"][1] == tdata_width(cfg.k_per_fold * cfg.act_width)


def test_the_top_adds_no_logic():
    """The wrapper is wiring: Yosys reads the same cells as in the native engine, but for the
    one inverter of aresetn (submodule instances aside, which the wrapper nests one level
    deeper)."""
    from zeroskip.synth import design_cell_counts

    native = ZeroskipConfig(rows=2, cols=2, weight_format="bitmask")
    axis = native.replace(interface="axis")
    native_cells, axis_cells = (
        {k: v for k, v in design_cell_counts(generate_verilog(c), c.name).items() if "." not in k}
        for c in (native, axis))
    native_cells["$not"] += 1
    assert axis_cells == native_cells


def test_tdata_width_rounds_up_to_bytes():
    assert [tdata_width(b) for b in (1, 7, 8, 9, 72, 73)] == [8, 8, 8, 16, 72, 80]


# Cells a combinational path stops at: every flip-flop kind Yosys' proc makes, and memories
# (written on the clock; their read ports are registered by the result buffer and accumulator).
_STATE = "$dff,$sdff,$dffe,$sdffe,$sdffce,$adff,$adffe,$aldff,$dffsr,$mem_v2"


def _combinational_outputs(verilog, top, tmp_path):
    """Output ports in the combinational fan-out of any input port, by Yosys."""
    from zeroskip.synth.yosys import run_yosys

    (tmp_path / "design.v").write_text(verilog)
    run_yosys(["read_verilog design.v", f"hierarchy -top {top}", "proc", "flatten",
               "memory -nomap", "opt_clean",
               f"select -set cone i:* %co*:-{_STATE}",
               "tee -q -o paths.txt select -list @cone o:* %i"], cwd=tmp_path)
    return sorted(line.split("/", 1)[1] for line in (tmp_path / "paths.txt").read_text().split()
                  if "/" in line)


@pytest.mark.parametrize("kw", [{"weight_format": "bitmask"}, {"sparsity": "2:4"}],
                         ids=["bitmask", "2:4"])
def test_no_output_depends_combinationally_on_an_input(kw, tmp_path):
    """AXI4-Stream's rule that a tvalid never waits on its tready, and more: no output of
    the top (tvalid, tdata, tlast, tready, busy) is in the combinational cone of any input,
    so the top composes with any interconnect without a timing loop."""
    cfg = ZeroskipConfig(rows=2, cols=2, interface="axis", **kw)
    assert _combinational_outputs(generate_verilog(cfg), cfg.name, tmp_path) == []


def test_the_combinational_check_finds_a_path(tmp_path):
    """The check itself: an output gated by an input is found, a registered one is not."""
    verilog = ("module t(input clk, input a, input b, output y, output z);\n"
               "  reg r; always @(posedge clk) if (b) r <= a; else r <= 0;\n"
               "  assign y = r; assign z = r & b;\nendmodule\n")
    assert _combinational_outputs(verilog, "t", tmp_path) == ["z"]
