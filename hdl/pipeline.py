"""Small pipelining helpers shared by the array and the engine."""

from amaranth.hdl import Signal

__all__ = ["delay"]


def delay(m, value, cycles, *, name):
    """Return ``value`` delayed by ``cycles`` registers in ``m.d.sync`` (``cycles=0``: itself).

    The stages are named ``{name}_d{i}`` so skew and deskew lines read well in a waveform.
    """
    if cycles < 0:
        raise ValueError(f"cycles must be non-negative, not {cycles!r}")
    shape = value.shape()
    current = value
    for i in range(cycles):
        stage = Signal(shape, name=f"{name}_d{i + 1}")
        m.d.sync += stage.eq(current)
        current = stage
    return current
