"""The weight-stationary processing element."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import act_shape, acc_shape, weight_shape

__all__ = ["ProcessingElement", "pe_signature"]


def pe_signature(cfg):
    """Ports of :class:`ProcessingElement` (also used to wire PEs instantiated by name)."""
    return wiring.Signature({
        "act_in": In(act_shape(cfg)),
        "swap_in": In(unsigned(1)),
        "psum_in": In(acc_shape(cfg)),
        "w_chain_in": In(weight_shape(cfg)),
        "w_shift": In(unsigned(1)),
        "act_out": Out(act_shape(cfg)),
        "swap_out": Out(unsigned(1)),
        "psum_out": Out(acc_shape(cfg)),
        "w_chain_out": Out(weight_shape(cfg)),
    })


class ProcessingElement(wiring.Component):
    """Multiply-accumulate cell of a weight-stationary array, with a double-buffered weight.

    Computes ``psum_out <= psum_in + act_in * weight`` every cycle, wrapping modulo
    ``2**acc_width``. The weight in use is ``active``; the next fold's weight shifts into
    ``shadow`` through ``w_chain_in``/``w_chain_out`` while ``active`` is in use. ``swap_in``
    travels with the first activation of a new fold: on that cycle the PE multiplies by the
    shadow weight and adopts it, so each PE switches folds exactly when the new fold's data
    reaches it (no global swap across the skew).

    Parameters
    ----------
    cfg : ZeroskipConfig

    Members
    -------
    act_in : In(act_shape)
    swap_in : In(1)
        ``act_in`` is the first activation of a new weight fold.
    psum_in : In(acc_shape)
    w_chain_in : In(weight_shape)
    w_shift : In(1)
        Shift the shadow weight chain by one (``shadow <= w_chain_in``).
    act_out, swap_out, psum_out : Out
        Registered, to the right-hand and lower neighbours.
    w_chain_out : Out(weight_shape)
        The shadow weight, to the next PE of the chain.
    """

    latency = 1

    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__(pe_signature(cfg))

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        # Datapath registers need no reset: nothing reads them before the first fold's swap row
        # has flushed them, and reset-less registers map to cheaper FPGA primitives.
        shadow = Signal(weight_shape(cfg), reset_less=True)
        active = Signal(weight_shape(cfg), reset_less=True)
        act = Signal(act_shape(cfg), reset_less=True)
        psum = Signal(acc_shape(cfg), reset_less=True)
        weight = Mux(self.swap_in, shadow, active)

        with m.If(self.w_shift):
            m.d.sync += shadow.eq(self.w_chain_in)
        with m.If(self.swap_in):
            m.d.sync += active.eq(shadow)
        # Assigning to the acc-width register truncates: wraparound modulo 2**acc_width.
        m.d.sync += [
            psum.eq(self.psum_in + self.act_in * weight),
            act.eq(self.act_in),
            self.swap_out.eq(self.swap_in),
        ]
        m.d.comb += [
            self.w_chain_out.eq(shadow),
            self.act_out.eq(act),
            self.psum_out.eq(psum),
        ]
        return m
