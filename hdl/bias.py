"""The bias queue: bias rows between the activation injector and the accumulator."""

from amaranth.hdl import Module
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import bias_row_layout

__all__ = ["BiasQueue"]


class BiasQueue(wiring.Component):
    """Holds each output tile's bias row from the moment the injector has gathered it (before
    the tile's first row enters the array) until that row reaches the accumulator, and then
    presents it for the tile's first K fold.

    The rows wait in an ``amaranth.lib.fifo.SyncFIFOBuffered``; ``bias`` is a register loaded
    from its head on ``next``, so the accumulator's operand never comes from the FIFO's
    memory in the same cycle.

    Parameters
    ----------
    cfg : ZeroskipConfig
    depth : int
        Rows the FIFO holds (:func:`zeroskip.models.cycles.bias_queue_depth`: enough that
        ``rows.ready`` never stalls an engine whose streams do not).

    Members
    -------
    rows : In(stream.Signature(bias_row_layout))
        Bias rows in tile order.
    next : In(1)
        Load the next row into ``bias`` (one must be queued).
    bias : Out(bias_row_layout)
        The current tile's biases, from the cycle after ``next``.
    """

    def __init__(self, cfg, depth):
        self._cfg = cfg
        self._depth = depth
        super().__init__({
            "rows": In(stream.Signature(bias_row_layout(cfg))),
            "next": In(1),
            "bias": Out(bias_row_layout(cfg)),
        })

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        layout = bias_row_layout(self._cfg)
        m.submodules.fifo = queue = fifo.SyncFIFOBuffered(width=layout.size, depth=self._depth)
        m.d.comb += [
            queue.w_data.eq(self.rows.payload),
            queue.w_en.eq(self.rows.valid),
            self.rows.ready.eq(queue.w_rdy),
            queue.r_en.eq(self.next),
        ]
        with m.If(self.next):
            m.d.sync += self.bias.eq(queue.r_data)
        return m
