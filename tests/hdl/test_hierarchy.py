"""add_block: a repeated block as an Amaranth submodule (simulated) or as a named Verilog
instance (checked in the converted Verilog)."""

import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl.hierarchy import add_block
from zeroskip.hdl.pe import pe_signature

_LANES = data.ArrayLayout(signed(3), 2)
_SIGNATURE = wiring.Signature({
    "a": In(unsigned(4)),
    "b": In(unsigned(4)),
    "en": In(unsigned(1)),
    "sum": Out(unsigned(5)),
    "count": Out(unsigned(4)),
    "lanes": Out(_LANES),
})


class _Block(wiring.Component):
    """A block with combinational and registered outputs: ``sum = a + b``; ``count`` counts
    cycles with ``en``; ``lanes`` holds ``(a, -a)`` truncated to 3 bits."""

    def __init__(self):
        super().__init__(_SIGNATURE)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.sum.eq(self.a + self.b), self.lanes[0].eq(self.a),
                     self.lanes[1].eq(-self.a)]
        with m.If(self.en):
            m.d.sync += self.count.eq(self.count + 1)
        return m


class _Wrapper(wiring.Component):
    """Binds some of the block's ports to its own and reads an unbound output (``lanes``)
    through the object add_block returns."""

    x: In(unsigned(4))
    y: In(unsigned(4))
    go: In(unsigned(1))
    total: Out(unsigned(5))
    ticks: Out(unsigned(4))
    lane_bits: Out(unsigned(6))

    def __init__(self, module_name=None):
        self._module_name = module_name
        self.made = []
        super().__init__()

    def _make(self):
        block = _Block()
        self.made.append(block)
        return block

    def elaborate(self, platform):
        m = Module()
        block = add_block(m, "blk", self._make, _SIGNATURE, self._module_name,
                          bind={"a": self.x, "b": self.y, "en": self.go, "sum": self.total,
                                "count": self.ticks})
        m.d.comb += self.lane_bits.eq(block.lanes.as_value())
        self.block = block
        return m


def test_submodule_drives_and_observes_bound_signals():
    dut = _Wrapper()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen = []
    steps = [(3, 9, 1), (15, 15, 0), (7, 0, 1), (1, 2, 1), (0, 0, 0)]

    async def tb(ctx):
        for x, y, go in steps:
            ctx.set(dut.x, x)
            ctx.set(dut.y, y)
            ctx.set(dut.go, go)
            seen.append((ctx.get(dut.total), ctx.get(dut.ticks), ctx.get(dut.lane_bits)))
            await ctx.tick()

    sim.add_testbench(tb)
    sim.run()
    # The block was made once and is the object returned.
    assert dut.made == [dut.block]
    expected, ticks = [], 0
    for x, y, go in steps:
        low, high = x & 7, -x & 7
        expected.append((x + y, ticks, low | high << 3))
        ticks += go
    assert seen == expected


def _instance_ports(text, module_name, instance):
    """``{port: connected expression}`` of the one instance of ``module_name``."""
    found = re.findall(rf"^\s*{module_name}\s+{instance}\s*\((.*?)\);", text, re.M | re.S)
    assert len(found) == 1, text
    return dict(re.findall(r"\.(\w+)\(([^()]*)\)", found[0]))


def test_instance_binds_every_port_and_clock_and_reset():
    dut = _Wrapper(module_name="shared_block")
    text = verilog.convert(dut, name="top", emit_src=False)
    ports = _instance_ports(text, "shared_block", "blk")
    assert set(ports) == set(_SIGNATURE.members) | {"clk", "rst"}
    # Bound signals are the instance's connections themselves, clk and rst the domain's.
    assert {name: ports[name] for name in ("a", "b", "en", "sum", "count", "clk", "rst")} == {
        "a": "x", "b": "y", "en": "go", "sum": "total", "count": "ticks", "clk": "clk",
        "rst": "rst"}
    # The unbound output reaches the wrapper through the returned ports.
    assert ports["lanes"] == "lane_bits"
    # The block is not elaborated: its Verilog is converted once elsewhere.
    assert dut.made == []
    assert not re.search(r"^\s*module\s+shared_block\b", text, re.M)


@pytest.mark.parametrize("kw", [dict(zero_gating=True), dict(zero_gating=False),
                                dict(zero_gating=True, sparsity="2:4")])
def test_instance_of_a_pe_connects_its_whole_signature(kw):
    cfg = ZeroskipConfig(rows=4, cols=2, acc_width=20, output_stage=False, **kw)
    signature = pe_signature(cfg)

    class PeWrapper(wiring.Component):
        def __init__(self):
            super().__init__({"psum": Out(signature.members["psum_out"].shape)})

        def elaborate(self, platform):
            m = Module()
            ports = add_block(m, "pe_7", None, signature, "zs_pe")
            m.d.comb += self.psum.eq(ports.psum_out)
            return m

    text = verilog.convert(PeWrapper(), name="pe_top", emit_src=False)
    ports = _instance_ports(text, "zs_pe", "pe_7")
    assert set(ports) == set(signature.members) | {"clk", "rst"}
    assert (ports["clk"], ports["rst"], ports["psum_out"]) == ("clk", "rst", "psum")
