"""The activation injector: one activation row per cycle into the array."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import accumulator_meta_layout
from .folds import add_fold_sequencer, command_members
from ..wire_fields import bias_beats
from .layouts import activation_row_layout, bias_row_layout

__all__ = ["ActivationInjector"]


class ActivationInjector(wiring.Component):
    """Takes activation rows, ``tile_rows`` per fold, and presents each to the array one
    cycle later (:attr:`latency`) with its bookkeeping for the accumulator.

    A fold's first row waits for ``shadow_full`` (the loader has the fold's weights in the
    shadow chains) and marks the fold's swap; taking it is ``swapped``, which tells the loader
    that the shadow weights are in use. A row of a last K fold enters only with a result buffer
    slot reserved for its result: ``reserved`` counts rows in flight or waiting in the buffer,
    up to ``credits``, and ``delivered`` returns a slot. With zero-gating, zero lanes raise
    their flag and keep their old value, so they cause no switching.

    With ``cfg.bias``, an output tile's first K fold starts with
    :func:`~zeroskip.wire_fields.bias_beats` bias rows on ``activations``: they are gathered
    into one bias row and sent on ``bias_rows`` with the last of them (the bias queue holds
    it until the tile's rows reach the accumulator), and never reach the array.

    Every term of ``activations.ready`` is a register (the first-row, room and bias-phase
    flags included), so the handshake is two LUT levels from flip-flops on an FPGA, and the
    fold advance one more. The handshake enables few registers: the row register loads every
    row offered (``valid``), taken or not, and the fold sequencer's wide state steps a cycle
    after the advance.

    Parameters
    ----------
    cfg : ZeroskipConfig
    credits : int
        Result buffer slots.

    Members
    -------
    start, first_fold, running : In
        As for :class:`~zeroskip.hdl.loader.WeightLoader`.
    shadow_full : In(1)
        The next fold's weights are in the shadow chains. Low in the cycle after
        ``swapped`` (a refill takes R weight rows), so swaps are never in consecutive cycles.
    activations : In(stream.Signature(activation_row_layout))
    delivered : In(1)
        A result row left the buffer.
    swapped : Out(1)
        A fold's first row is taken this cycle.
    act, act_swap, act_zero : Out
        To the array: the row (lanes of zeros keep their old value), the swap mark of a
        fold's first row, the zero flags (``zero_gating`` only). Between transfers ``act``
        may already hold the row offered next; only rows marked by ``meta.valid`` count.
    act_swap_lines : Out(1)
        Equal to ``act_swap`` in every cycle, from a flip-flop of its own: for the array's
        swap lines (:class:`~zeroskip.hdl.array.WeightStationaryArray`), so that
        ``act_swap`` drives the first PE alone.
    meta : Out(accumulator_meta_layout)
        The row's bookkeeping, presented with ``act``; ``meta.valid`` marks a row.
    bias_rows : Out(stream.Signature(bias_row_layout))
        ``cfg.bias`` only: a tile's bias row, valid with its last bias beat (whose transfer
        waits for ``ready``).
    """

    # Cycles from a row's transfer to its presentation to the array.
    LATENCY = 1

    def __init__(self, cfg, *, credits):
        self._cfg = cfg
        self._credits = credits
        members = {
            **command_members(cfg),
            "shadow_full": In(1),
            "activations": In(stream.Signature(activation_row_layout(cfg))),
            "delivered": In(1),
            "swapped": Out(1),
            "act": Out(activation_row_layout(cfg)),
            "act_swap": Out(1),
            "act_swap_lines": Out(1),
            "meta": Out(accumulator_meta_layout(cfg)),
        }
        if cfg.zero_gating:
            members["act_zero"] = Out(cfg.k_per_fold)
        if cfg.bias:
            members["bias_rows"] = Out(stream.Signature(bias_row_layout(cfg)))
        super().__init__(members)

    @property
    def latency(self):
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        folds = add_fold_sequencer(m, self, cfg, spaced=True)   # see `hold`

        done = Signal()
        row = Signal(range(max(cfg.acc_depth, 2)))
        first_row = Signal(name="first_row", init=1)   # row == 0
        # row == tile_last, a register: as a compare of the row count with the fold's
        # tile_last it sat between them and the fold advance, whose enable fans out to the
        # sequencer's outputs (an 8×8 placement's critical path, 8.0 ns, 6.5 of it routing).
        last_row = Signal(name="last_row")
        reserved = Signal(range(self._credits + 1))
        room = Signal(name="room", init=1)             # reserved < credits
        fire = Signal()                                # an activation row is taken
        # The fold sequencer is spaced: it takes no advance in the cycle after one. Only a
        # fold of one row can end in the cycle after the previous fold's last row (every
        # fold's first row waits for shadow_full, which is low in the cycle after a swap),
        # so such a fold's row waits one cycle when it would come straight after an
        # advance: a one-row last M tile after full tiles of at least 2R + C - 1 rows, at
        # most once per command (the cycle model counts it). In exchange the advance loads
        # the sequencer's outputs from registers alone: the step's subtracts into them led
        # an 8×8 placement (7.4 ns).
        hold = Signal(name="single_hold")
        m.d.sync += hold.eq(folds.advance & folds.next_single)
        if cfg.bias:
            in_bias = Signal(name="in_bias", init=1)    # taking the fold's bias beats
            take = Signal()
            m.d.comb += [
                self.activations.ready.eq(self.running & ~done & Mux(
                    in_bias, self.bias_rows.ready,
                    (~first_row | (self.shadow_full & ~hold)) & (~folds.last_k | room))),
                take.eq(self.activations.ready & self.activations.valid),
                fire.eq(take & ~in_bias),
            ]
            self._gather_bias(m, in_bias, take & in_bias, self.running & ~done)
        else:
            m.d.comb += [
                self.activations.ready.eq(self.running & ~done
                                          & (~first_row | (self.shadow_full & ~hold))
                                          & (~folds.last_k | room)),
                fire.eq(self.activations.ready & self.activations.valid),
            ]
        m.d.comb += self.swapped.eq(fire & first_row)

        # Slots: one more for a row of a last K fold, one back for each delivered result.
        claim = fire & folds.last_k
        m.d.sync += reserved.eq(reserved + claim - self.delivered)
        with m.If(claim & ~self.delivered):
            m.d.sync += room.eq(reserved < self._credits - 1)
        with m.Elif(~claim & self.delivered):
            m.d.sync += room.eq(1)

        # Two flip-flops hold the swap mark. One drives PE (0, 0), where it selects the
        # slot and the weight: shared with the rows' swap lines, which span the array, it
        # sat between them, and its route into row 0's slot select was the 8×8 2:4 engine's
        # critical path (7.4 ns, 6.0 of it routing). The other steps from its own value
        # (``swapped & ~itself``: swaps are never in consecutive cycles, see the array), so
        # synthesis cannot merge the two.
        m.d.sync += self.act_swap_lines.eq(self.swapped & ~self.act_swap_lines)
        m.d.sync += [
            self.act_swap.eq(self.swapped),
            self.meta.valid.eq(fire),
            self.meta.addr.eq(row),
            self.meta.first_k.eq(folds.first_k),
            self.meta.last_k.eq(folds.last_k),
            self.meta.last.eq(folds.last & last_row),
            self.meta.n_cols.eq(folds.n_cols),
        ]
        if cfg.bias:
            m.d.sync += self.meta.bias.eq(first_row & folds.first_k)
            # Every command starts with a tile's bias beats; after a tile's last K fold come
            # the next tile's.
            with m.If(self.start):
                m.d.sync += in_bias.eq(1)
            with m.Elif(fire & last_row):
                m.d.sync += in_bias.eq(folds.last_k)
        # The row register loads whatever row the stream offers, taken or not, so that its
        # enable is ``valid`` from the stream's source rather than the handshake: the
        # handshake's fan-out onto every lane was the critical path (9.1 ns at 8×8 2:4). A
        # row offered and not yet taken stays on the stream unchanged until it is (the
        # stream's rule), so the register holds the taken row in the cycle after its
        # transfer, when ``meta.valid`` marks it, and rows the array sees without that mark
        # are discarded by the accumulator. Between offered rows it holds: idle cycles cost
        # no operand switching.
        offered = self.activations.valid
        act = self.act
        if cfg.bias:
            offered = offered & ~in_bias   # bias beats are not rows for the array
        with m.If(offered):
            if cfg.zero_gating:
                for r in range(cfg.k_per_fold):
                    lane = self.activations.payload[r]
                    m.d.sync += self.act_zero[r].eq(lane == 0)
                    with m.If(lane != 0):
                        m.d.sync += act[r].eq(lane)
            else:
                m.d.sync += act.eq(self.activations.payload)
        with m.If(self.start):
            m.d.sync += [done.eq(0), row.eq(0), first_row.eq(1),
                         last_row.eq(~self.first_fold.tile_last.any())]
        with m.Elif(fire):
            with m.If(last_row):
                # The next fold's row count is known at every advance (spaced sequencer).
                m.d.sync += [row.eq(0), first_row.eq(1), last_row.eq(folds.next_single)]
                m.d.comb += folds.advance.eq(1)
                with m.If(folds.last):
                    m.d.sync += done.eq(1)
            with m.Else():
                m.d.sync += [row.eq(row + 1), first_row.eq(0),
                             last_row.eq(row + 1 == folds.tile_last)]
        return m

    def _gather_bias(self, m, in_bias, take, active):
        """Collect a tile's bias beats (``take``: one is transferred; ``active``: the
        injector takes rows) into ``bias_rows``: the first B - 1 in slots, the last straight
        from the stream. Ends the bias phase (``in_bias``) with the last."""
        cfg = self._cfg
        count = bias_beats(cfg)
        beat = Signal(range(max(count, 2)), name="bias_beat")
        beat_last = Signal(name="bias_beat_last", init=count == 1)   # beat == count - 1
        payload = self.activations.payload.as_value()
        # Slot j takes the stream's payload on every cycle the beat count is j, so it holds
        # beat j from the cycle beat j is transferred on. Its enable is the count alone, not
        # the handshake: a 192-bit enable net from `ready` was the critical path (8.1 ns).
        slots = [Signal(len(payload), name=f"bias_slot_{j}") for j in range(count - 1)]
        for j, slot in enumerate(slots):
            with m.If(beat == j):
                m.d.sync += slot.eq(payload)
        row = Cat(*slots, payload)
        m.d.comb += [
            self.bias_rows.payload.eq(row[:len(self.bias_rows.payload.as_value())]),
            self.bias_rows.valid.eq(active & in_bias & beat_last & self.activations.valid),
        ]
        with m.If(self.start):
            m.d.sync += [beat.eq(0), beat_last.eq(count == 1)]
        with m.Elif(take):
            with m.If(beat_last):
                m.d.sync += [beat.eq(0), beat_last.eq(count == 1), in_bias.eq(0)]
            with m.Else():
                m.d.sync += [beat.eq(beat + 1), beat_last.eq(beat == count - 2)]
