"""Start-up shared by the cocotb tests: clock and reset."""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

__all__ = ["start_clock_and_reset"]


async def start_clock_and_reset(dut, cycles=3):
    """Start a 10 ns clock on ``dut.clk`` and hold ``dut.rst`` for ``cycles`` cycles; returns
    on a falling edge, where the tests drive and sample."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
