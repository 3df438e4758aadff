"""Adding a repeated block either as an Amaranth submodule or as a named Verilog instance."""

from amaranth.hdl import ClockSignal, Instance, ResetSignal
from amaranth.lib import wiring

__all__ = ["add_block"]


def add_block(m, name, make, signature, module_name=None):
    """Add one copy of a repeated block to ``m`` and return an object with its ports.

    With ``module_name=None`` the block is ``make()``, an Amaranth submodule: every copy is
    elaborated, which Amaranth's simulator needs. Otherwise the block is an ``Instance`` of the
    Verilog module ``module_name`` (converted once elsewhere) with ports ``signature``: the
    Verilog then holds one definition of the block instead of one per copy, and conversion
    time grows with the number of block *kinds*, not copies.
    """
    if module_name is None:
        m.submodules[name] = block = make()
        return block
    ports = signature.create(path=(name,))
    connections = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
    for member_name, member in signature.members.items():
        prefix = "i_" if member.flow == wiring.In else "o_"
        connections[prefix + member_name] = getattr(ports, member_name)
    m.submodules[name] = Instance(module_name, **connections)
    return ports
