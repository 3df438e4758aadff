"""Small pipelining helpers shared by the array and the engine."""

from amaranth.hdl import Signal

__all__ = ["delay", "delay_held"]


def delay(m, value, cycles, *, name, reset_less=False):
    """Return ``value`` delayed by ``cycles`` registers in ``m.d.sync`` (``cycles=0``: itself).

    The stages are named ``{name}_d{i}`` so skew and deskew lines read well in a waveform.
    Pure data lines should be ``reset_less``: no reset fan-out, and FPGA tools can then pack
    them into shift-register LUTs (SRL16/SRL32), which cannot have a reset.
    """
    if cycles < 0:
        raise ValueError(f"cycles must be non-negative, not {cycles!r}")
    shape = value.shape()
    current = value
    for i in range(cycles):
        stage = Signal(shape, name=f"{name}_d{i + 1}", reset_less=reset_less)
        m.d.sync += stage.eq(current)
        current = stage
    return current


def delay_held(m, value, zero, cycles, *, name):
    """Delay a zero-flagged value: ``(value, zero)`` delayed by ``cycles`` stages, where a stage
    keeps its old value (clock enable) when the flag entering it is set, so zeros cause no
    switching on the data bits. The pair represents ``0 if zero else value``."""
    if cycles < 0:
        raise ValueError(f"cycles must be non-negative, not {cycles!r}")
    for i in range(cycles):
        stage = Signal(value.shape(), name=f"{name}_d{i + 1}", reset_less=True)
        stage_zero = Signal(name=f"{name}_zero_d{i + 1}")
        with m.If(~zero):
            m.d.sync += stage.eq(value)
        m.d.sync += stage_zero.eq(zero)
        value, zero = stage, stage_zero
    return value, zero
