"""The skid buffer: a stream register slice whose outputs and ``ready`` are all registers."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """Two registers between a stream's source and its sink, at one transfer per cycle.

    ``out.valid``, ``out.payload`` and ``inp.ready`` come from flip-flops, so neither side's
    handshake reaches the other in the same cycle: the sink's enables start at the buffer's
    registers, not at the source's ``valid`` (for the engine's weight decoder, the word's
    ``valid`` from outside had been the start of its critical path). A payload accepted into
    an empty buffer is on ``out`` in the next cycle. The second register (the skid) takes the
    payload that arrives while ``out`` is held; ``inp.ready`` falls while it is in use.

    Amaranth 0.5's ``lib.stream`` has no buffers and ``lib.fifo``'s queues take their
    ``w_rdy`` from a level count (``SyncFIFOBuffered``'s output also arrives two cycles after
    its write), so this is written out (see the README's design notes).

    Parameters
    ----------
    shape : shape-castable
        The payload.

    Members
    -------
    inp : In(stream.Signature(shape))
    out : Out(stream.Signature(shape))
        The payloads of ``inp``, in order, each once.
    """

    def __init__(self, shape):
        super().__init__({
            "inp": In(stream.Signature(shape)),
            "out": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        # The payload registers are data: no reset (the valid flags have one).
        skid = Signal.like(self.out.payload, name="skid", reset_less=True)
        payload = Signal.like(self.out.payload, name="payload", reset_less=True)
        m.d.comb += self.out.payload.eq(payload)
        skid_full = Signal()
        accepted = Signal()
        moves = Signal()        # out takes a payload this cycle
        m.d.comb += [
            self.inp.ready.eq(~skid_full),
            accepted.eq(self.inp.valid & ~skid_full),
            moves.eq(~self.out.valid | self.out.ready),
        ]
        with m.If(moves):
            # out takes the older payload: the skid's, else the one arriving.
            m.d.sync += [payload.eq(Mux(skid_full, skid, self.inp.payload)),
                         self.out.valid.eq(skid_full | accepted),
                         skid_full.eq(0)]
        with m.Elif(accepted):
            m.d.sync += [skid.eq(self.inp.payload), skid_full.eq(1)]
        return m
