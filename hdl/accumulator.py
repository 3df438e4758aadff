"""On-chip accumulation of the K folds' partial results, pipelined for speed."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .layouts import acc_shape, bias_row_layout, psum_shape, result_row_layout
from .primitives import DP16KD_DEPTH, dp16kd_ram

__all__ = ["Accumulator", "accumulator_meta_layout"]


def accumulator_meta_layout(cfg):
    """What travels beside a row of partial sums: whether it is a row at all, its row in the
    accumulator memory, whether it starts (``first_k``) or finishes (``last_k``) its output
    tile, whether it is the command's very last row, and the tile's column count; with
    ``cfg.bias``, whether it is the first row of a tile's first K fold (``bias``: the tile's
    bias row is next in the bias queue)."""
    fields = {"valid": 1, "addr": range(cfg.acc_depth), "first_k": 1, "last_k": 1, "last": 1,
              "n_cols": range(cfg.cols + 1)}
    if cfg.bias:
        fields["bias"] = 1
    return data.StructLayout(fields)


class Accumulator(wiring.Component):
    """Adds each row of column sums to the partial row kept for it, over a tile's K folds,
    and emits the finished rows.

    A row's partial results live in a memory of ``acc_depth`` rows × C lanes
    (``amaranth.lib.memory.Memory``, block RAM on an FPGA; with ``cfg.primitives == "ecp5"``
    DP16KD blocks with their output register, see :func:`~zeroskip.hdl.primitives.dp16kd_ram`).
    Each stage is a register, cut so that no path runs from the block RAM through the adder
    back into it (on an ECP5 the block RAM sits in its own column, and that round trip alone
    took 9 ns):

    0. the row arrives; its memory row is read;
    1. the read data leaves the memory;
    2. the read data is registered (the block RAM's own output register, which takes a read
       from 5.8 ns to under 1 ns on an ECP5), or replaced by a newer sum (below), or for a
       tile's first K fold by 0 (with ``cfg.bias``: the tile's ``bias``); lanes past the
       tile's ``n_cols`` are set to 0;
    3. the sum ``psum + partial`` is formed and registered, also as the finished row of a
       last K fold;
    4. the sum is written back unless this is the last K fold; a finished row leaves.

    A row is written four edges after its read, so a later row of the same memory row that
    comes one to four cycles behind it would read the old value (tiles of up to four rows do
    that). The last sums are kept with their memory rows and forwarded instead of the
    memory's data into stage 2's register: for a row one cycle behind, the sum stage 3 is
    forming in that cycle.

    Parameters
    ----------
    cfg : ZeroskipConfig

    Members
    -------
    psum : In(ArrayLayout(psum_shape, C))
        A row of column sums from the array.
    meta : In(accumulator_meta_layout)
        The row's bookkeeping, in the same cycle; ``n_cols`` is the same for every row of an
        output tile.
    row : Out(result_row_layout)
        A finished row: C accumulators (``acc_width``, wrapping) and ``last``.
    row_valid : Out(1)
        ``row`` holds a finished row, :attr:`latency` cycles after it arrived.
    bias : In(bias_row_layout)
        ``cfg.bias`` only: the current tile's biases, from the bias queue; they must change
        only on ``bias_next``.
    bias_next : Out(1)
        ``cfg.bias`` only: a tile's first row is in stage 1, so the next cycle's rows need
        the next bias row (the queue loads it into ``bias`` on this edge).
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({
            "psum": In(data.ArrayLayout(psum_shape(cfg), cfg.cols)),
            "meta": In(accumulator_meta_layout(cfg)),
            "row": Out(result_row_layout(cfg)),
            "row_valid": Out(1),
            **({"bias": In(bias_row_layout(cfg)), "bias_next": Out(1)} if cfg.bias else {}),
        })

    # Cycles from a row at psum/meta to the finished row at row/row_valid.
    LATENCY = 4

    @property
    def latency(self):
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        lanes = data.ArrayLayout(acc_shape(cfg), cfg.cols)
        meta_layout = accumulator_meta_layout(cfg)

        # The row's bookkeeping and sums through the stages: meta[s] and psum[s] in stage s.
        meta = [self.meta] + [Signal(meta_layout, name=f"meta_{s}") for s in range(1, 7)]
        # Data registers have no reset: the rows' valid flags (in meta) say when they count.
        # With one, Yosys folds the reset into the synchronous reset that also zeroes a lane
        # (reset | first K fold | lane past n_cols), and the reset net's fan-out then led
        # the 16×16 engine's critical path (11.9 ns, 3.9 of it the reset's routing).
        psum = [self.psum] + [Signal.like(self.psum, name=f"psum_{s}", reset_less=True)
                              for s in range(1, 3)]
        for s in range(1, 7):
            m.d.sync += meta[s].eq(meta[s - 1])
        for s in range(1, 3):
            m.d.sync += psum[s].eq(psum[s - 1])

        def writes(s):
            """The row in stage ``s`` writes its sum back."""
            return meta[s].valid & ~meta[s].last_k

        # Stage 3's registered sum, and the two before it, each the sum of the row now in
        # stage 4, 5 and 6.
        sum_reg = Signal(lanes, name="acc_sum", reset_less=True)
        older_1 = Signal(lanes, name="acc_sum_1", reset_less=True)
        older_2 = Signal(lanes, name="acc_sum_2", reset_less=True)
        m.d.sync += [older_1.eq(sum_reg), older_2.eq(older_1)]

        # The memory: read in stage 0 (data registered in stage 2), written in stage 4.
        partial = Signal(lanes, name="partial_read", reset_less=True)
        if cfg.primitives == "ecp5" and cfg.acc_depth <= DP16KD_DEPTH:
            # The block RAM's own output register is the registered read.
            m.d.comb += partial.eq(dp16kd_ram(
                m, "acc_mem", width=lanes.size, depth=cfg.acc_depth, read_addr=self.meta.addr,
                write_addr=meta[4].addr, write_data=sum_reg, write_en=writes(4)))
        else:
            m.submodules.acc_mem = acc_mem = memory.Memory(shape=lanes, depth=cfg.acc_depth,
                                                           init=[])
            rd = acc_mem.read_port()
            wr = acc_mem.write_port()
            m.d.comb += [rd.addr.eq(self.meta.addr), wr.addr.eq(meta[4].addr),
                         wr.data.eq(sum_reg), wr.en.eq(writes(4))]
            m.d.sync += partial.eq(rd.data)

        # Forwarding. In stage 1, which of the rows one to four ahead (stages 2 to 5) write
        # this row's memory row. (A tile's first K fold never has that: the row ahead of it
        # with its memory row is the last K fold of the tile before, which does not write.)
        use = {d: Signal(name=f"forward_{d}") for d in (1, 2, 3, 4)}
        for d in (1, 2, 3, 4):
            m.d.sync += use[d].eq(writes(1 + d) & (meta[1 + d].addr == meta[1].addr))

        # Stage 2: the newest value of the memory row (0 for a tile's first K fold), and the
        # row's sums, registered; lanes past the tile's n_cols become 0 here, so that stage 3
        # is the adder alone. The newest value of a row one ahead is the sum stage 3 forms in
        # this cycle (``total``): it enters at the last multiplexer, after the adder, so the
        # forwarding flag's fan-out onto every bit runs beside the adder's carry chain. As a
        # multiplexer in front of the adder, from forward_1's flip-flop into the row's top
        # bit, it led an 8×8 placement (7.7 ns, 5.0 of it routing).
        before = Signal(lanes, name="acc_partial", reset_less=True)
        addend = Signal.like(self.psum, name="acc_psum", reset_less=True)
        newest = Signal(lanes, name="acc_newest")
        totals = Signal(lanes, name="acc_total")
        m.d.comb += newest.eq(Mux(use[1], totals, Mux(use[2], sum_reg, Mux(
            use[3], older_1, Mux(use[4], older_2, partial)))))
        if cfg.bias:
            m.d.comb += self.bias_next.eq(meta[1].valid & meta[1].bias)
        # Each lane's flags for stage 2, registered in stage 1 (a flip-flop per lane, each a
        # function of its own lane index, so none merge): whether the lane is in the tile
        # (c < n_cols), and whether its sum starts from 0. Compared in stage 2, n_cols from
        # one register fanned out to every lane's bits: the 8×8 2:4 and 16×16 engines'
        # critical paths (8.0 and 12.0 ns, 6.3 and 10.1 of it routing).
        lane_on = Signal(cfg.cols, name="lane_on", reset_less=True)
        lane_zero = None if cfg.bias else Signal(cfg.cols, name="lane_zero", reset_less=True)
        for c in range(cfg.cols):
            on = c < meta[1].n_cols
            m.d.sync += lane_on[c].eq(on)
            if not cfg.bias:   # with biases, a first K fold starts from its bias
                m.d.sync += lane_zero[c].eq(meta[1].first_k | ~on)
        for c in range(cfg.cols):
            if cfg.bias:
                start = Mux(meta[2].first_k, self.bias[c], newest[c])
                m.d.sync += before[c].eq(Mux(lane_on[c], start, 0))
            else:
                m.d.sync += before[c].eq(Mux(lane_zero[c], 0, newest[c]))
            m.d.sync += addend[c].eq(Mux(lane_on[c], psum[2][c], 0))

        # Stage 3: the sum, also the finished row.
        out_row = Signal(result_row_layout(cfg), name="acc_row", reset_less=True)
        out_valid = Signal(name="acc_row_valid")
        for c in range(cfg.cols):
            m.d.comb += totals[c].eq(addend[c] + before[c])
            m.d.sync += [sum_reg[c].eq(totals[c]), out_row.data[c].eq(totals[c])]
        m.d.sync += [out_row.last.eq(meta[3].last),
                     out_valid.eq(meta[3].valid & meta[3].last_k)]

        # Stage 4: out.
        m.d.comb += [self.row.eq(out_row), self.row_valid.eq(out_valid)]
        return m
