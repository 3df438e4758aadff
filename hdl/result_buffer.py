"""The result buffer: finished rows wait here for the results stream."""

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ResultBuffer"]


class ResultBuffer(wiring.Component):
    """A first-in first-out buffer of ``depth`` rows in front of a stream with registered
    outputs.

    It has no ``w_rdy``: the engine writes only rows it reserved a slot for (the injector's
    credits), so the buffer never overflows. That keeps the write side free of a level
    count, whose loop (level, room, write, level) through ``lib.fifo.SyncFIFO`` was the
    engine's critical path on an ECP5 (124 MHz); here emptiness is a compare of two
    pointers, and nothing the write does feeds back into it in the same cycle.

    The rows live in a memory with a combinational read (LUT RAM; with ``lut_ram`` it asks
    for it with ``ram_style = "distributed"``, as an FPGA flow would otherwise merge the
    output register into a block RAM's read, 5.8 ns on an ECP5). A row written in cycle y
    can be on the stream in cycle y + 2.

    Parameters
    ----------
    shape : shape-castable
        A row.
    depth : int
        Rows the buffer holds (rounded up to a power of two).
    lut_ram : bool
        Ask for LUT RAM.

    Members
    -------
    w_en : In(1)
        Write ``w_data`` (a slot must be free).
    w_data : In(shape)
    out : Out(stream.Signature(shape))
        The rows, in order, from a register.
    """

    def __init__(self, shape, depth, *, lut_ram):
        self._shape = shape
        self._depth = 1 << max(0, (depth - 1).bit_length())
        self._lut_ram = lut_ram
        super().__init__({
            "w_en": In(1),
            "w_data": In(shape),
            "out": Out(stream.Signature(shape)),
        })

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        depth = self._depth
        m.submodules.storage = storage = memory.Memory(
            shape=self._shape, depth=depth, init=[],
            attrs={"ram_style": "distributed"} if self._lut_ram else None)
        wr = storage.write_port()
        rd = storage.read_port(domain="comb")
        # Pointers with one bit more than the address: equal means empty.
        bits = (depth - 1).bit_length()
        produce = Signal(bits + 1)
        consume = Signal(bits + 1)
        filled = Signal()
        refill = Signal()
        m.d.comb += [
            wr.addr.eq(produce[:bits]), wr.data.eq(self.w_data), wr.en.eq(self.w_en),
            rd.addr.eq(consume[:bits]),
            filled.eq(produce != consume),
            refill.eq(~self.out.valid | self.out.ready),
        ]
        with m.If(self.w_en):
            m.d.sync += produce.eq(produce + 1)
        with m.If(refill):
            m.d.sync += [self.out.payload.eq(rd.data), self.out.valid.eq(filled)]
            with m.If(filled):
                m.d.sync += consume.eq(consume + 1)
        return m
