"""The weight loader: fills the array's shadow weights, R rows per fold."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .folds import add_fold_sequencer, command_members
from .layouts import weight_row_layout

__all__ = ["WeightLoader"]


class WeightLoader(wiring.Component):
    """Shifts each fold's R weight rows into the array's shadow chains: the fold's ``k_rows``
    rows from ``rows``, then zero rows up to R (dense weights; a decoder already sends all R
    rows of every fold). It then waits until the injector has started the fold
    (``swapped``) and the array has let every PE adopt the shadow weights
    (``settle`` cycles), and loads the next fold.

    Every control decision is taken from registers (the fold sequencer's outputs, the row
    count's flags, the settle count's zero flag): the path from a register through the
    stream handshake to the fold advance is two LUT levels deep on an FPGA, and the shift,
    the row and its zero flags reach the array through one more register (:attr:`latency`),
    so the shift enable's net, which fans out to every shadow register, starts at a
    flip-flop.

    Parameters
    ----------
    cfg : ZeroskipConfig
    settle : int
        Cycles after ``swapped`` before the shadow chains may shift again
        (:attr:`~zeroskip.hdl.array.WeightStationaryArray.swap_settle`).
    all_rows : bool
        ``rows`` delivers R rows per fold (a weight decoder); otherwise ``k_rows`` of them and
        the loader pads the fold with zero rows.

    Members
    -------
    start : In(1)
        A command is accepted this cycle: return to its first fold.
    first_fold : In(fold_state_layout)
        The new command's first fold (:func:`~zeroskip.hdl.folds.first_fold`), in the
        ``start`` cycle.
    running : In(1)
        A command is running (from the cycle after ``start``).
    swapped : In(1)
        The injector took the first activation row of a fold: the shadow weights are in use.
    rows : In(stream.Signature(weight_row_layout))
        Weight rows, W[k, n0 : n0+C].
    w_row, w_row_zero, w_shift : Out
        To the array, :attr:`latency` cycles after the row's transfer: the row (zeros for a
        padding row), its zero flags (``zero_gating`` only) and the shift.
    shadow_full : Out(1)
        The fold's R rows have been taken; the injector may start the fold one cycle later
        at the earliest, when the last row has reached the shadow chains.
    """

    # Cycles from a row's transfer to its shift into the shadow chains.
    LATENCY = 1

    def __init__(self, cfg, *, settle, all_rows):
        self._cfg = cfg
        self._settle = settle
        self._all_rows = all_rows
        members = {
            **command_members(cfg),
            "swapped": In(1),
            "rows": In(stream.Signature(weight_row_layout(cfg))),
            "w_row": Out(weight_row_layout(cfg)),
            "w_shift": Out(1),
            "shadow_full": Out(1),
        }
        if cfg.zero_gating:
            members["w_row_zero"] = Out(cfg.cols)
        super().__init__(members)

    @property
    def latency(self):
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        rows = cfg.rows
        # A fold takes R shifts, so with two rows or more advances are spaced.
        folds = add_fold_sequencer(m, self, cfg, spaced=rows > 1)

        done = Signal()
        row = Signal(range(max(rows, 2)))
        row_last = Signal(name="row_last")        # row == R - 1
        take = Signal()                           # this row comes from the stream
        settle = Signal(range(self._settle + 1))
        settled = Signal(name="settled", init=1)  # settle == 0
        loading = Signal()
        shift = Signal()
        # The loader's own copy of shadow_full (the output goes to the injector): both step
        # alike, each from its own value, so synthesis keeps them apart. From the output's
        # flip-flop, placed between the two blocks, into the fold advance was an 8×8 2:4
        # placement's critical path (8.1 ns, 6.6 of it routing).
        # (The output's update is written as logic and the copy's as a hold, since Yosys
        # turns a hold into a clock enable and would then merge two alike.)
        full = Signal(name="shadow_full_local")
        m.d.sync += self.shadow_full.eq((~self.start & shift & row_last)
                                        | (~self.swapped & self.shadow_full))
        m.d.comb += [
            loading.eq(self.running & ~done & ~full & settled),
            self.rows.ready.eq(loading & take),
            shift.eq(loading & (~take | self.rows.valid)),
        ]

        # The shift and the row reach the array one register later.
        m.d.sync += [self.w_shift.eq(shift),
                     self.w_row.eq(Mux(take, self.rows.payload, 0))]
        if cfg.zero_gating:
            for c in range(cfg.cols):
                lane = self.rows.payload[c]
                value = lane.value if cfg.sparse else lane
                m.d.sync += self.w_row_zero[c].eq(~take | (value == 0))

        with m.If(self.swapped):
            m.d.sync += [full.eq(0), settle.eq(self._settle),
                         settled.eq(self._settle == 0)]
        with m.Elif(~settled):
            m.d.sync += [settle.eq(settle - 1), settled.eq(settle == 1)]

        # The first row of a fold is always taken: a fold has at least one K position.
        with m.If(self.start):
            m.d.sync += [done.eq(0), row.eq(0), row_last.eq(rows == 1), take.eq(1)]
        with m.Elif(shift):
            with m.If(row_last):
                m.d.sync += [row.eq(0), row_last.eq(rows == 1), take.eq(1),
                             full.eq(1)]
                m.d.comb += folds.advance.eq(1)
                with m.If(folds.last):
                    m.d.sync += done.eq(1)
            with m.Else():
                m.d.sync += [row.eq(row + 1), row_last.eq(row == rows - 2),
                             take.eq(1 if self._all_rows else row + 1 < folds.k_rows)]
        return m
