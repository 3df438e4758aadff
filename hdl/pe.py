"""The weight-stationary processing element, optionally zero-gated."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import act_shape, pe_act_shape, psum_shape, weight_shape, weight_slot_shape

__all__ = ["ProcessingElement", "pe_signature"]


def pe_signature(cfg):
    """Ports of :class:`ProcessingElement` (also used to wire PEs instantiated by name)."""
    members = {
        "act_in": In(pe_act_shape(cfg)),
        "swap_in": In(unsigned(1)),
        "psum_in": In(psum_shape(cfg)),
        "w_chain_in": In(weight_slot_shape(cfg)),
        "w_shift": In(unsigned(1)),
        "act_out": Out(pe_act_shape(cfg)),
        "swap_out": Out(unsigned(1)),
        "psum_out": Out(psum_shape(cfg)),
        "w_chain_out": Out(weight_slot_shape(cfg)),
    }
    if cfg.zero_gating:
        members.update({
            "act_zero_in": In(unsigned(cfg.act_group)),
            "act_zero_out": Out(unsigned(cfg.act_group)),
            "w_zero_chain_in": In(unsigned(1)),
            "w_zero_chain_out": Out(unsigned(1)),
        })
    return wiring.Signature(members)


class ProcessingElement(wiring.Component):
    """Multiply-accumulate cell of a weight-stationary array, with a double-buffered weight.

    Computes ``psum_out <= psum_in + act_in * weight`` every cycle, in
    :func:`~zeroskip.hdl.layouts.psum_shape` (wide enough that a column of R products never
    wraps; the engine's accumulator adds at ``acc_width``). The weight in use is ``active``;
    the next fold's weight shifts into ``shadow`` through ``w_chain_in``/``w_chain_out``
    while ``active`` is in use. ``swap_in`` travels with the first activation of a new fold:
    on that cycle the PE multiplies by the shadow weight and adopts it, so each PE switches folds exactly when the new fold's data
    reaches it (no global swap across the skew).

    With ``cfg.zero_gating``, a zero flag travels beside every activation (``act_zero_*``) and
    every weight (``w_zero_chain_*``); flags are computed once, where values enter the array.
    While the activation or the weight in use is zero, the activation register keeps its old
    value (clock enable), so the multiplier's operands and product do not switch, and the
    partial sum passes through unchanged. An activation is then represented by
    ``(act, act_zero)``: its value is ``0 if act_zero else act``.

    For an N:M sparse array (``cfg.sparsity``), the PE holds one of the N non-zero weights of
    a group of M K positions together with its index, receives the group's M activations and
    multiplies the one at that index: the same multiplier serves M/N times as many K positions.
    Zero-gating then acts on the selected activation's flag.

    Parameters
    ----------
    cfg : ZeroskipConfig

    Members
    -------
    act_in : In(pe_act_shape)
        The activation, or the M activations of the group (sparse).
    swap_in : In(1)
        ``act_in`` is the first activation of a new weight fold.
    psum_in : In(psum_shape)
    w_chain_in : In(weight_slot_shape)
    w_shift : In(1)
        Shift the shadow weight chain by one (``shadow <= w_chain_in``).
    act_out, swap_out, psum_out : Out
        Registered, to the right-hand and lower neighbours.
    w_chain_out : Out(weight_slot_shape)
        The shadow weight, to the next PE of the chain.
    act_zero_in, act_zero_out, w_zero_chain_in, w_zero_chain_out : In, Out(1)
        Zero flags, with ``zero_gating`` only.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__(pe_signature(cfg))
        # State registers are attributes so that equivalence proofs can state invariants
        # over them. Datapath registers need no reset: nothing reads them before the first
        # fold's swap row has flushed them, and reset-less registers map to cheaper FPGA
        # primitives.
        self.shadow = Signal(weight_slot_shape(cfg), reset_less=True)
        self.active = Signal(weight_slot_shape(cfg), reset_less=True)
        self.act = Signal(pe_act_shape(cfg), reset_less=True)
        self.psum = Signal(psum_shape(cfg), reset_less=True)
        if cfg.zero_gating:
            self.shadow_zero = Signal(reset_less=True)
            self.active_zero = Signal(reset_less=True)
            self.act_zero = Signal(cfg.act_group, reset_less=True)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        shadow, active, act, psum = self.shadow, self.active, self.act, self.psum
        # Named so waveforms and toggle counts can find the multiplier's operands and output.
        slot = Signal(weight_slot_shape(cfg))
        weight = Signal(weight_shape(cfg))
        m.d.comb += slot.eq(Mux(self.swap_in, shadow, active))
        if cfg.sparse:
            operand = Signal(act_shape(cfg), name="act_selected")
            # A multiplexer on the index, written out: indexing the lane array by a signal
            # would compute index × width with a multiplier cell of its own.
            selected = self.act_in[0]
            for i in range(1, cfg.act_group):
                selected = Mux(slot.index == i, self.act_in[i], selected)
            m.d.comb += [weight.eq(slot.value), operand.eq(selected)]
        else:
            operand = self.act_in
            m.d.comb += weight.eq(slot)
        # The multiplier's own output width: sign extension to acc_width is wiring, and
        # counting it as toggles would overstate the multiplier's switching.
        product = Signal((operand * weight).shape())
        m.d.comb += product.eq(operand * weight)
        with m.If(self.w_shift):
            m.d.sync += shadow.eq(self.w_chain_in)
        with m.If(self.swap_in):
            m.d.sync += active.eq(shadow)
        m.d.sync += self.swap_out.eq(self.swap_in)
        m.d.comb += [
            self.w_chain_out.eq(shadow),
            self.act_out.eq(act),
            self.psum_out.eq(psum),
        ]

        if not cfg.zero_gating:
            # Assigning to the psum register truncates, at acc_width when that is narrower.
            m.d.sync += [psum.eq(self.psum_in + product), act.eq(self.act_in)]
            return m

        shadow_zero, active_zero, act_zero = self.shadow_zero, self.active_zero, self.act_zero
        weight_zero = Signal()
        gate = Signal()
        operand_zero = self.act_zero_in.bit_select(slot.index, 1) if cfg.sparse else \
            self.act_zero_in
        m.d.comb += [
            weight_zero.eq(Mux(self.swap_in, shadow_zero, active_zero)),
            gate.eq(operand_zero | weight_zero),
            self.w_zero_chain_out.eq(shadow_zero),
            self.act_zero_out.eq(act_zero),
        ]
        with m.If(self.w_shift):
            m.d.sync += shadow_zero.eq(self.w_zero_chain_in)
        with m.If(self.swap_in):
            m.d.sync += active_zero.eq(shadow_zero)
        m.d.sync += act_zero.eq(self.act_zero_in)
        lanes = [(act, self.act_in)] if not cfg.sparse else \
            [(act[i], self.act_in[i]) for i in range(cfg.act_group)]
        for i, (held, arriving) in enumerate(lanes):
            with m.If(~self.act_zero_in[i]):
                m.d.sync += held.eq(arriving)
        # Gating masks the product rather than choosing between two sums: the AND folds into
        # the adder's LUTs (one LUT per bit either way), where a 2:1 mux after the adder costs
        # a LUT per accumulator bit.
        m.d.sync += psum.eq(self.psum_in + Mux(gate, 0, product))
        return m
