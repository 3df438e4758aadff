"""On-chip accumulation of the K folds' partial results, pipelined for speed."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .layouts import acc_shape, psum_shape, result_row_layout

__all__ = ["Accumulator", "accumulator_meta_layout"]


def accumulator_meta_layout(cfg):
    """What travels beside a row of partial sums: whether it is a row at all, its row in the
    accumulator memory, whether it starts (``first_k``) or finishes (``last_k``) its output
    tile, whether it is the command's very last row, and the tile's column count."""
    return data.StructLayout({
        "valid": 1, "addr": range(cfg.acc_depth), "first_k": 1, "last_k": 1, "last": 1,
        "n_cols": range(cfg.cols + 1),
    })


class Accumulator(wiring.Component):
    """Adds each row of column sums to the partial row kept for it, over a tile's K folds,
    and emits the finished rows.

    A row's partial results live in a memory of ``acc_depth`` rows × C lanes
    (``amaranth.lib.memory.Memory``, block RAM on an FPGA). Four stages:

    0. the row arrives; its memory row is read;
    1. the read data leaves the memory;
    2. the read data is registered (the block RAM's own output register, which takes a read
       from 5.8 ns to under 1 ns on an ECP5), the sum ``psum + partial`` is formed (``psum``
       alone for a tile's first K fold), written back unless this is the last K fold, and
       registered for output;
    3. a finished row (last K fold) leaves, lanes past the tile's ``n_cols`` set to 0.

    A row is written two edges after its read, so a later row of the same memory row that
    comes one or two cycles behind it would read the old value (tiles of one or two rows do
    that). The last two sums are kept with their memory rows and forwarded to such a row
    instead of the memory's data.

    Parameters
    ----------
    cfg : ZeroskipConfig

    Members
    -------
    psum : In(ArrayLayout(psum_shape, C))
        A row of column sums from the array.
    meta : In(accumulator_meta_layout)
        The row's bookkeeping, in the same cycle.
    row : Out(result_row_layout)
        A finished row: C accumulators (``acc_width``, wrapping) and ``last``.
    row_valid : Out(1)
        ``row`` holds a finished row, :attr:`latency` cycles after it arrived.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "psum": In(data.ArrayLayout(psum_shape(cfg), cfg.cols)),
            "meta": In(accumulator_meta_layout(cfg)),
            "row": Out(result_row_layout(cfg)),
            "row_valid": Out(1),
        })

    # Cycles from a row at psum/meta to the finished row at row/row_valid.
    LATENCY = 3

    @property
    def latency(self):
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        lanes = data.ArrayLayout(acc_shape(cfg), cfg.cols)
        meta_layout = accumulator_meta_layout(cfg)
        m.submodules.acc_mem = acc_mem = memory.Memory(shape=lanes, depth=cfg.acc_depth,
                                                       init=[])
        rd = acc_mem.read_port()
        wr = acc_mem.write_port()

        # Stage 0 -> 1: read; the row and its bookkeeping wait beside the memory.
        psum_1 = Signal.like(self.psum, name="psum_1")
        meta_1 = Signal(meta_layout, name="meta_1")
        m.d.comb += rd.addr.eq(self.meta.addr)
        m.d.sync += [psum_1.eq(self.psum), meta_1.eq(self.meta)]

        # Stage 1 -> 2: the read data registered; forwarding decided one stage ahead.
        psum_2 = Signal.like(self.psum, name="psum_2")
        meta_2 = Signal(meta_layout, name="meta_2")
        partial = Signal(lanes, name="partial_read")
        m.d.sync += [psum_2.eq(psum_1), meta_2.eq(meta_1), partial.eq(rd.data)]
        # The sums of the two rows ahead, as they were written, with their memory rows.
        sum_now = Signal(lanes, name="acc_sum")
        recent_1 = Signal(lanes, name="recent_sum_1")
        recent_2 = Signal(lanes, name="recent_sum_2")
        wrote_1, wrote_2 = Signal(name="recent_wrote_1"), Signal(name="recent_wrote_2")
        addr_1 = Signal.like(self.meta.addr, name="recent_addr_1")
        addr_2 = Signal.like(self.meta.addr, name="recent_addr_2")
        writes = Signal()
        m.d.comb += writes.eq(meta_2.valid & ~meta_2.last_k)
        m.d.sync += [recent_1.eq(sum_now), wrote_1.eq(writes), addr_1.eq(meta_2.addr),
                     recent_2.eq(recent_1), wrote_2.eq(wrote_1), addr_2.eq(addr_1)]
        # In stage 1 the row ahead by one is in stage 2 and the one ahead by two just wrote.
        use_1, use_2 = Signal(name="forward_1"), Signal(name="forward_2")
        m.d.sync += [use_1.eq(writes & (meta_2.addr == meta_1.addr)),
                     use_2.eq(wrote_1 & (addr_1 == meta_1.addr))]

        # Stage 2: the sum, written back or registered for output.
        before = Signal(lanes, name="acc_partial")
        m.d.comb += before.eq(Mux(use_1, recent_1, Mux(use_2, recent_2, partial)))
        out_row = Signal(result_row_layout(cfg), name="acc_row")
        for c in range(cfg.cols):
            m.d.comb += [
                sum_now[c].eq(psum_2[c] + Mux(meta_2.first_k, 0, before[c])),
                wr.data[c].eq(sum_now[c]),
            ]
            m.d.sync += out_row.data[c].eq(Mux(c < meta_2.n_cols, sum_now[c], 0))
        out_valid = Signal(name="acc_row_valid")
        m.d.comb += [wr.addr.eq(meta_2.addr), wr.en.eq(writes)]
        m.d.sync += [out_row.last.eq(meta_2.last), out_valid.eq(meta_2.valid & meta_2.last_k)]

        # Stage 3: out.
        m.d.comb += [self.row.eq(out_row), self.row_valid.eq(out_valid)]
        return m
