"""The activation injector: one activation row per cycle into the array."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import accumulator_meta_layout
from .folds import add_fold_sequencer, command_members
from .layouts import activation_row_layout

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

    Every term of ``activations.ready`` is a register (the first-row and room flags included),
    so the handshake is two LUT levels from flip-flops on an FPGA, and the fold advance one
    more.

    Parameters
    ----------
    cfg : ZeroskipConfig
    credits : int
        Result buffer slots.

    Members
    -------
    start, dims, restart_dims, running : In
        As for :class:`~zeroskip.hdl.loader.WeightLoader`.
    shadow_full : In(1)
        The next fold's weights are in the shadow chains.
    activations : In(stream.Signature(activation_row_layout))
    delivered : In(1)
        A result row left the buffer.
    swapped : Out(1)
        A fold's first row is taken this cycle.
    act, act_swap, act_zero : Out
        To the array: the row (lanes of zeros keep their old value), the swap mark of a
        fold's first row, the zero flags (``zero_gating`` only).
    meta : Out(accumulator_meta_layout)
        The row's bookkeeping, presented with ``act``; ``meta.valid`` marks a row.
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
            "meta": Out(accumulator_meta_layout(cfg)),
        }
        if cfg.zero_gating:
            members["act_zero"] = Out(cfg.k_per_fold)
        super().__init__(members)

    @property
    def latency(self):
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        folds = add_fold_sequencer(m, self, cfg)

        done = Signal()
        row = Signal(range(max(cfg.acc_depth, 2)))
        first_row = Signal(name="first_row", init=1)   # row == 0
        last_row = Signal()
        reserved = Signal(range(self._credits + 1))
        room = Signal(name="room", init=1)             # reserved < credits
        fire = Signal()
        m.d.comb += [
            last_row.eq(row == folds.tile_last),
            self.activations.ready.eq(self.running & ~done & (~first_row | self.shadow_full)
                                      & (~folds.last_k | room)),
            fire.eq(self.activations.ready & self.activations.valid),
            self.swapped.eq(fire & first_row),
        ]

        # Slots: one more for a row of a last K fold, one back for each delivered result.
        claim = fire & folds.last_k
        m.d.sync += reserved.eq(reserved + claim - self.delivered)
        with m.If(claim & ~self.delivered):
            m.d.sync += room.eq(reserved < self._credits - 1)
        with m.Elif(~claim & self.delivered):
            m.d.sync += room.eq(1)

        m.d.sync += [
            self.act_swap.eq(self.swapped),
            self.meta.valid.eq(fire),
            self.meta.addr.eq(row),
            self.meta.first_k.eq(folds.first_k),
            self.meta.last_k.eq(folds.last_k),
            self.meta.last.eq(folds.last & last_row),
            self.meta.n_cols.eq(folds.n_cols),
        ]
        with m.If(self.start):
            m.d.sync += [done.eq(0), row.eq(0), first_row.eq(1)]
        with m.Elif(fire):
            # Hold the row between transfers: idle cycles then cost no operand switching.
            if cfg.zero_gating:
                for r in range(cfg.k_per_fold):
                    lane = self.activations.payload[r]
                    m.d.sync += self.act_zero[r].eq(lane == 0)
                    with m.If(lane != 0):
                        m.d.sync += self.act[r].eq(lane)
            else:
                m.d.sync += self.act.eq(self.activations.payload)
            with m.If(last_row):
                m.d.sync += [row.eq(0), first_row.eq(1)]
                m.d.comb += folds.advance.eq(1)
                with m.If(folds.last):
                    m.d.sync += done.eq(1)
            with m.Else():
                m.d.sync += [row.eq(row + 1), first_row.eq(0)]
        return m
