"""The weight-stationary processing element, optionally zero-gated."""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import act_shape, pe_act_shape, psum_shape, weight_shape, weight_slot_shape
from .primitives import mult18x18d

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
    """Multiply-accumulate cell of a weight-stationary array: double-buffered weight, and a
    pipeline of operand, product and partial-sum registers.

    Computes ``psum_out = psum_in + act_in * weight`` for every activation that passes, in
    :func:`~zeroskip.hdl.layouts.psum_shape` (wide enough that a column of R products never
    wraps; the engine's accumulator adds at ``acc_width``), :attr:`latency` cycles after the
    activation arrived: the operands are registered (``op_act``, and ``active``, the weight in
    use), then the product (``product_reg``), then the sum. Every PE of the array has the
    same pipeline, so the partial sums meet the products of the same activation row as they
    flow down a column. The next fold's weight shifts into ``shadow`` through
    ``w_chain_in``/``w_chain_out`` while ``active`` is in use. ``swap_in`` travels with the
    first activation of a new fold: on that row ``active`` loads the shadow weight, so each PE
    switches folds exactly when the new fold's data reaches it (no global swap across the
    skew), and no multiplexer sits between the weight registers and the multiplier.

    With ``cfg.zero_gating``, a zero flag travels beside every activation (``act_zero_*``) and
    every weight (``w_zero_chain_*``); flags are computed once, where values enter the array.
    When the activation or the weight in use is zero, the operand registers keep their old
    values (clock enable: the multiplier's inputs and output do not switch) and the product
    register is cleared (synchronous reset), so the partial sum passes through unchanged.
    Both are free pins of FPGA flip-flops and DSP registers: gating costs no LUTs in the
    datapath. A zero weight is not loaded into ``active`` at all. Values are represented by
    (register, flag) pairs: ``0 if flag else register``.

    For an N:M sparse array (``cfg.sparsity``), the PE holds one of the N non-zero weights of
    a group of M K positions together with its index, receives the group's M activations and
    registers the one at that index as its operand: the same multiplier serves M/N times as
    many K positions. Zero-gating then acts on the selected activation's flag.

    With ``cfg.primitives == "ecp5"`` the multiplier and the product register are one ECP5
    ``MULT18X18D`` (:mod:`zeroskip.hdl.primitives`). Its input registers copy ``op_act`` and
    the weight in use every cycle, which adds one cycle to :attr:`latency`; its output
    register is ``product_reg``, cleared by the gate (synchronous reset). The operand
    registers stay in fabric, where holding is a free clock enable: the block then needs no
    clock enable of its own, and nextpnr can pack three PEs into each DSP block (each block
    takes at most four distinct clock-enable and four reset nets). The weight register loads
    a zero weight too, as a value 0, which saves the enable's LUT.

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
    act_out, swap_out : Out
        Registered, to the right-hand neighbour (one cycle).
    psum_out : Out(psum_shape)
        Registered, to the lower neighbour: ``psum_in`` plus the product of the activation
        that arrived ``latency - 1`` cycles before ``psum_in``.
    w_chain_out : Out(weight_slot_shape)
        The shadow weight, to the next PE of the chain.
    act_zero_in, act_zero_out, w_zero_chain_in, w_zero_chain_out : In, Out(1)
        Zero flags, with ``zero_gating`` only.
    """

    def __init__(self, cfg, *, lut_multiplier=False):
        self._cfg = cfg
        self._lut_multiplier = bool(lut_multiplier)
        if self._lut_multiplier and cfg.primitives == "none":
            raise ValueError("lut_multiplier takes the place of a primitive's register stages; "
                             "it needs cfg.primitives")
        super().__init__(pe_signature(cfg))
        # State registers are attributes so that equivalence proofs can state invariants
        # over them. Datapath registers need no reset: nothing reads them before the first
        # fold's swap row has flushed them, and reset-less registers map to cheaper FPGA
        # primitives (and into DSP blocks).
        self.shadow = Signal(weight_slot_shape(cfg), reset_less=True)
        self.active = Signal(weight_slot_shape(cfg), reset_less=True)
        self.act = Signal(pe_act_shape(cfg), reset_less=True)
        self.op_act = Signal(act_shape(cfg), reset_less=True)
        self.product_reg = Signal(self.product_shape(cfg), reset_less=True)
        self.psum = Signal(psum_shape(cfg), reset_less=True)
        # The LUT multiplier's half-product registers: high, then low (none without it).
        self.product_halves = [Signal(shape, name=name, reset_less=True) for shape, name in
                               zip(self.half_product_shapes(cfg), ("product_hi", "product_lo"))
                               ] if self._lut_multiplier else []
        if cfg.zero_gating:
            self.shadow_zero = Signal(reset_less=True)
            self.active_zero = Signal(reset_less=True)
            self.act_zero = Signal(cfg.act_group, reset_less=True)
            self.gate = Signal(reset_less=True)

    @staticmethod
    def product_shape(cfg):
        """The multiplier's own output shape (exact product of the operand shapes)."""
        return (Const(0, act_shape(cfg)) * Const(0, weight_shape(cfg))).shape()

    @staticmethod
    def half_weight_bits(cfg):
        """Bits of the weight's high and low halves in the LUT multiplier (the low one may be
        empty); the high one carries the weight's sign."""
        lo = cfg.weight_width // 2
        return cfg.weight_width - lo, lo

    @classmethod
    def half_product_shapes(cls, cfg):
        """Shapes of the LUT multiplier's half products: the activation operand times the
        weight's high half, and times its unsigned low half (if it has one)."""
        hi, lo = cls.half_weight_bits(cfg)
        operand = Const(0, act_shape(cfg))
        shapes = [(operand * Const(0, signed(hi) if cfg.weight_signed else unsigned(hi))).shape()]
        if lo:
            shapes.append((operand * Const(0, unsigned(lo))).shape())
        return shapes

    # Cycles from an activation at act_in to its product's share in psum_out: operand
    # register, product register, partial-sum register (vendor-neutral PE).
    LATENCY = 3

    @classmethod
    def latency_of(cls, cfg):
        """:attr:`latency` of the PE of ``cfg``: :attr:`LATENCY`, plus the input registers of
        the DSP block with ``cfg.primitives``."""
        return cls.LATENCY + (cfg.primitives != "none")

    @property
    def latency(self):
        """Cycles from an activation at ``act_in`` to its product's share in ``psum_out``
        (:meth:`latency_of`: operand register, product register, partial-sum register; the
        DSP block's input registers between the first two with primitives)."""
        return self.latency_of(self._cfg)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        shadow, active, act, psum = self.shadow, self.active, self.act, self.psum
        op_act, product_reg = self.op_act, self.product_reg
        swap = self.swap_in
        with m.If(self.w_shift):
            m.d.sync += shadow.eq(self.w_chain_in)
        m.d.sync += self.swap_out.eq(swap)
        m.d.comb += [
            self.w_chain_out.eq(shadow),
            self.act_out.eq(act),
            self.psum_out.eq(psum),
        ]
        lut = self._lut_multiplier
        primitive = cfg.primitives == "ecp5" and not lut
        if not primitive and not lut:
            # Named so waveforms and toggle counts find the multiplier's operands and output.
            weight = Signal(weight_shape(cfg))
            product = Signal(self.product_shape(cfg))
            m.d.comb += [weight.eq(active.value if cfg.sparse else active),
                         product.eq(op_act * weight)]
        if cfg.sparse:
            # The slot this row uses: the shadow's on a swap row. A multiplexer on the index,
            # written out: indexing the lane array by a signal would compute index × width
            # with a multiplier cell of its own.
            index = Signal.like(active.index, name="slot_index")
            m.d.comb += index.eq(Mux(swap, shadow.index, active.index))
            selected = Signal(act_shape(cfg), name="act_selected")
            choice = self.act_in[0]
            for i in range(1, cfg.act_group):
                choice = Mux(index == i, self.act_in[i], choice)
            m.d.comb += selected.eq(choice)
        else:
            selected = self.act_in
        # The partial sum adds the registered product: nothing but the adder between the
        # product register and the partial-sum register.
        m.d.sync += psum.eq(self.psum_in + product_reg)

        if not cfg.zero_gating:
            with m.If(swap):
                m.d.sync += active.eq(shadow)
            m.d.sync += [act.eq(self.act_in), op_act.eq(selected)]
            if primitive:
                self._mult18x18d(m, clear=None)
            elif lut:
                self._lut_pipelined(m, clear=None)
            else:
                m.d.sync += product_reg.eq(product)
            return m

        shadow_zero, active_zero, act_zero = self.shadow_zero, self.active_zero, self.act_zero
        weight_zero = Signal()
        operand_zero = Signal()
        gate = Signal(name="gate_in")
        m.d.comb += [
            # As and/or rather than a multiplexer: Yosys would merge an identical multiplexer
            # with active_zero's load enable and spend a LUT on it (ECP5).
            weight_zero.eq((swap & shadow_zero) | (~swap & active_zero)),
            operand_zero.eq(self.act_zero_in.bit_select(index, 1) if cfg.sparse else
                            self.act_zero_in),
            gate.eq(operand_zero | weight_zero),
            self.w_zero_chain_out.eq(shadow_zero),
            self.act_zero_out.eq(act_zero),
        ]
        with m.If(self.w_shift):
            m.d.sync += shadow_zero.eq(self.w_zero_chain_in)
        with m.If(swap):
            m.d.sync += active_zero.eq(shadow_zero)
        m.d.sync += [act_zero.eq(self.act_zero_in), self.gate.eq(gate)]
        lanes = [(act, self.act_in)] if not cfg.sparse else \
            [(act[i], self.act_in[i]) for i in range(cfg.act_group)]
        for i, (held, arriving) in enumerate(lanes):
            with m.If(~self.act_zero_in[i]):
                m.d.sync += held.eq(arriving)
        # A zero weight stays out of the register: the multiplier's input does not switch.
        # (The primitive PE loads it, as a value 0: one load per fold saves the enable's LUT,
        # and its products are cleared all the same.)
        load = Signal(name="weight_load")
        m.d.comb += load.eq(swap if primitive else swap & ~shadow_zero)
        with m.If(load):
            m.d.sync += active.eq(shadow)
        # Gating: the operand register holds (clock enable), the product register clears
        # (synchronous reset) one cycle later, when the held operands' product would land.
        with m.If(~gate):
            m.d.sync += op_act.eq(selected)
        if primitive:
            # One more register stage (the block's input registers) before the product.
            gate_2 = Signal(name="gate_2", reset_less=True)
            m.d.sync += gate_2.eq(self.gate)
            self._mult18x18d(m, clear=gate_2)
        elif lut:
            # The half products' registers take the place of the block's input registers and
            # clear with the gate, so the product register adds two zeros.
            self._lut_pipelined(m, clear=self.gate)
        else:
            m.d.sync += product_reg.eq(Mux(self.gate, 0, product))
        return m

    def _mult18x18d(self, m, *, clear):
        """The multiplier as one ECP5 MULT18X18D (see :mod:`zeroskip.hdl.primitives`): its
        input registers copy ``op_act`` and the weight in use every cycle, its output register
        holds the product and clears when ``clear`` is high (``None``: never). Drives
        ``product_reg`` from the block's output, one cycle later than the vendor-neutral PE."""
        cfg = self._cfg
        product = mult18x18d(
            m, "mult", a=self.op_act, b=self.active.value if cfg.sparse else self.active,
            a_signed=cfg.act_signed, b_signed=cfg.weight_signed,
            width=self.product_shape(cfg).width, rst_p=clear)
        m.d.comb += self.product_reg.eq(product)

    def _lut_pipelined(self, m, *, clear):
        """The multiplier in LUT logic over the primitive PE's two register stages, for the
        PEs beyond the device's DSP blocks: the first registers the two half products of
        the activation operand with the weight's low and high halves (the weight's sign in
        the high one), clearing them when ``clear`` is high (``None``: never); the second,
        ``product_reg``, adds them. Each stage is then a product of half the width or one
        adder, not the whole multiplier between two registers. The synthesis flow maps these
        multipliers to LUTs (radix-4 Booth) before DSP inference."""
        cfg = self._cfg
        weight = Signal(weight_shape(cfg), name="weight")
        m.d.comb += weight.eq(self.active.value if cfg.sparse else self.active)
        _, lo_bits = self.half_weight_bits(cfg)
        w_hi = weight[lo_bits:].as_signed() if cfg.weight_signed else weight[lo_bits:]
        values = [self.op_act * w_hi] + ([self.op_act * weight[:lo_bits]] if lo_bits else [])
        regs = self.product_halves
        for reg, value in zip(regs, values):
            m.d.sync += reg.eq(value if clear is None else Mux(clear, 0, value))
        total = regs[0] << lo_bits
        if lo_bits:
            total = total + regs[1]
        m.d.sync += self.product_reg.eq(total)
