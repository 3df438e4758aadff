"""The result buffer: finished rows wait here for the results stream."""

from amaranth.hdl import Module, Shape, Signal, Value
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

    With ``banks`` above 1 the row's bits are cut into that many memories, each read at its
    own copy of the read pointer. The copies count alike but each from its own value, so
    synthesis keeps them apart (it merges only registers whose inputs are the same signals),
    and each sits by its bank: one pointer fanning out to every LUT RAM of an 8×8 engine's
    row was the 1:4 engine's critical path (7.5 ns, 6.2 of it routing).

    Parameters
    ----------
    shape : shape-castable
        A row.
    depth : int
        Rows the buffer holds (rounded up to a power of two).
    lut_ram : bool
        Ask for LUT RAM.
    banks : int
        Memories the row's bits are cut into (at most one per bit).

    Members
    -------
    w_en : In(1)
        Write ``w_data`` (a slot must be free).
    w_data : In(shape)
    out : Out(stream.Signature(shape))
        The rows, in order, from a register.
    """

    def __init__(self, shape, depth, *, lut_ram, banks=1):
        self._shape = shape
        self._depth = 1 << max(0, (depth - 1).bit_length())
        self._lut_ram = lut_ram
        width = Shape.cast(shape).width
        if not 1 <= banks <= width:
            raise ValueError(f"banks must be between 1 and the row's {width} bits, not {banks}")
        # Bank b holds bits [edges[b], edges[b + 1]), as even as the width allows.
        self._edges = [b * width // banks for b in range(banks + 1)]
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
        bits = (depth - 1).bit_length()
        # Pointers with one bit more than the address: equal means empty. Every bank compares
        # its own read pointer with the write pointer, so that the step of its pointer depends
        # on it alone: bank 0's compare stepping every bank's pointer was the 8×8 engine's
        # critical path (7.4 ns, 5.9 of it routing). Bank 0's says whether the output loads.
        produce = Signal(bits + 1)
        banks = len(self._edges) - 1
        consumes = [Signal(bits + 1, name=f"consume_{b}" if b else "consume")
                    for b in range(banks)]
        filled = [Signal(name=f"filled_{b}" if b else "filled") for b in range(banks)]
        refill = Signal()
        # The output register is data: no reset (``out.valid`` has one).
        payload = Signal.like(self.out.payload, name="payload", reset_less=True)
        m.d.comb += self.out.payload.eq(payload)
        w_bits, out_bits = Value.cast(self.w_data), Value.cast(payload)
        for b, (lo, hi) in enumerate(zip(self._edges, self._edges[1:])):
            m.submodules[f"storage_{b}" if b else "storage"] = storage = memory.Memory(
                shape=hi - lo, depth=depth, init=[],
                attrs={"ram_style": "distributed"} if self._lut_ram else None)
            wr = storage.write_port()
            rd = storage.read_port(domain="comb")
            m.d.comb += [wr.addr.eq(produce[:bits]), wr.data.eq(w_bits[lo:hi]),
                         wr.en.eq(self.w_en), rd.addr.eq(consumes[b][:bits])]
            m.d.comb += filled[b].eq(produce != consumes[b])
            with m.If(refill):
                m.d.sync += out_bits[lo:hi].eq(rd.data)
                with m.If(filled[b]):
                    m.d.sync += consumes[b].eq(consumes[b] + 1)
        m.d.comb += refill.eq(~self.out.valid | self.out.ready)
        with m.If(self.w_en):
            m.d.sync += produce.eq(produce + 1)
        with m.If(refill):
            m.d.sync += self.out.valid.eq(filled[0])
        return m
