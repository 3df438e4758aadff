"""Adding a repeated block either as an Amaranth submodule or as a named Verilog instance."""

from amaranth.hdl import ClockSignal, Instance, ResetSignal
from amaranth.lib import wiring

__all__ = ["add_block"]


def add_block(m, name, make, signature, module_name=None, *, bind=None):
    """Add one copy of a repeated block to ``m`` and return an object with its ports.

    ``bind`` maps port names to signals of ``m`` that the ports connect to (inputs driven from
    them, outputs driving them). For an instance, the signals are passed to it directly, which
    spares Amaranth a net and an assignment per bit.

    With ``module_name=None`` the block is ``make()``, an Amaranth submodule: every copy is
    elaborated, which Amaranth's simulator needs. Otherwise the block is an ``Instance`` of the
    Verilog module ``module_name`` (converted once elsewhere) with ports ``signature``: the
    Verilog then holds one definition of the block instead of one per copy, and conversion
    time grows with the number of block *kinds*, not copies.
    """
    bind = bind or {}
    if module_name is None:
        m.submodules[name] = block = make()
        for port_name, signal in bind.items():
            port = getattr(block, port_name)
            if signature.members[port_name].flow == wiring.In:
                m.d.comb += port.eq(signal)
            else:
                m.d.comb += signal.eq(port)
        return block
    ports = signature.create(path=(name,))
    connections = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
    for member_name, member in signature.members.items():
        prefix = "i_" if member.flow == wiring.In else "o_"
        connections[prefix + member_name] = bind.get(member_name, getattr(ports, member_name))
    m.submodules[name] = Instance(module_name, **connections)
    return ports
