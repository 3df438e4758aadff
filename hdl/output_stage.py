"""The output stage: requantisation (multiplier, shift, round to nearest), optional ReLU and
saturation of a row of accumulators, bit-exact with :func:`zeroskip.models.requant.requantize`.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import acc_shape, requant_params_layout, result_row_layout
from .pipeline import delay
from .primitives import WIDE_PRODUCT_LATENCY, wide_product

__all__ = ["OutputStage"]


def _dropped_any(value, amount, step):
    """Whether ``value >> (amount · step)`` drops a one bit: the OR of the bits below
    ``amount · step``, as OR prefixes of ``step``-bit groups selected by ``amount`` (one
    multiplexer of prefix ORs, no variable mask)."""
    groups = [value[i:i + step].any() for i in range(0, len(value), step)]
    prefixes = [Const(0, 1)]
    for g in groups[:(1 << len(amount)) - 1]:
        prefixes.append(prefixes[-1] | g)
    return Array(prefixes)[amount] if len(prefixes) > 1 else prefixes[0]


class OutputStage(wiring.Component):
    """Requantises a row of C accumulators into ``out_width``-bit values, in seven registered
    stages.

    Per lane, with ``params.requant`` set::

        y = (acc · mult + 2**(shift-1)) >> shift      (no addend when shift = 0)
        y = max(y, 0)                                  (if params.relu)
        y = clamp(y, -2**(out_width-1), 2**(out_width-1) - 1)

    (``cfg.requant_rounding == "half_even"``: ties go to the even neighbour instead) and the
    result is sign-extended into the accumulator lane. With ``params.requant`` clear,
    the accumulators pass through unchanged (``relu`` is then ignored).

    The stages are cut for a fast clock (150 MHz on an ECP5): (1) the multiplier's operands
    (``acc``, and ``mult`` or 1 to pass through), (2) the product, (3) the product again: on an
    FPGA the multiplier's input, pipeline and output registers, which the tools pack into the
    DSP block (with ``cfg.primitives == "ecp5"`` the product is built from ``MULT18X18D`` blocks
    with their own registers, and stage 3 is the sum of their partial products:
    :func:`~zeroskip.hdl.primitives.wide_product`), (4, 5) the variable shift, by its multiple
    of 8 and then by the rest, (6) rounding, (7) ReLU and saturation. Rounding uses one variable shift: ``((2·p) >> shift + 1) >> 1``
    equals ``(p + 2**(shift-1)) >> shift`` for shift ≥ 1 and ``p`` for shift = 0, so no
    variable-position addend is needed.

    Everything entering in one cycle (row, ``last``, ``valid``, parameters) leaves together
    ``latency`` cycles later; there is no backpressure (the engine reserves result buffer room
    before a row enters the array).

    Parameters
    ----------
    cfg : ZeroskipConfig
        Uses ``acc_width``, ``acc_signed``, ``cols``, ``out_width``, ``requant_mult_width``
        and ``requant_max_shift``.

    Members
    -------
    row_in : In(result_row_layout)
        C accumulators and the ``last`` flag.
    valid_in : In(1)
        ``row_in`` holds a row (the engine's result-buffer write enable).
    params : In(requant_params_layout)
        ``requant``, ``relu``, ``mult``, ``shift``, sampled with the row.
    row_out : Out(result_row_layout)
        The requantised (or passed-through) row, ``latency`` cycles after it entered.
    valid_out : Out(1)
        ``valid_in`` delayed by ``latency``.

    Raises
    ------
    ValueError
        If ``cfg.out_width`` exceeds ``cfg.acc_width`` (results travel in accumulator lanes).
    """

    def __init__(self, cfg):
        if cfg.out_width > cfg.acc_width:
            raise ValueError(f"out_width ({cfg.out_width!r}) must not exceed acc_width "
                             f"({cfg.acc_width!r}): results travel in accumulator lanes")
        self._cfg = cfg
        super().__init__({
            "row_in": In(result_row_layout(cfg)),
            "valid_in": In(1),
            "params": In(requant_params_layout(cfg)),
            "row_out": Out(result_row_layout(cfg)),
            "valid_out": Out(1),
        })

    # Cycles from a row at row_in to the same row at row_out (models.cycles ties to it).
    LATENCY = 7

    @property
    def latency(self):
        """Cycles from a row at ``row_in`` to the same row at ``row_out``."""
        return self.LATENCY

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        # A signed view of the accumulator: unsigned accumulators gain a zero sign bit.
        acc_bits = cfg.acc_width + (0 if cfg.acc_signed else 1)
        prod_shape = signed(acc_bits + cfg.requant_mult_width)
        p = self.params

        # Parameters travel beside the row; pass-through is a multiplication by 1, shift 0.
        factor = Signal(cfg.requant_mult_width, name="requant_factor")
        m.d.comb += factor.eq(Mux(p.requant, p.mult, 1))
        shift_0 = Signal.like(p.shift, name="requant_shift")
        m.d.comb += shift_0.eq(Mux(p.requant, p.shift, 0))
        # The shift in two steps, by its multiple of 8 (stage 4) and its remainder (stage 5):
        # each an 8-way multiplexer, one slice deep on an FPGA.
        # Stages 1-3 (WIDE_PRODUCT_LATENCY) form the product, in fabric or in DSP blocks.
        shift_3 = delay(m, shift_0, WIDE_PRODUCT_LATENCY, name="requant_shift",
                        reset_less=True)
        # Stage 5 needs only the remainder: delaying the three low bits leaves no dead
        # register bits.
        shift_4 = delay(m, shift_3[:3], 1, name="requant_shift_lo", reset_less=True)
        requant_7 = delay(m, p.requant, 6, name="requant_on", reset_less=True)
        relu_7 = delay(m, p.requant & p.relu, 6, name="requant_relu", reset_less=True)

        lo, hi = -(1 << (cfg.out_width - 1)), (1 << (cfg.out_width - 1)) - 1
        row_7 = Signal(data.ArrayLayout(acc_shape(cfg), cfg.cols), reset_less=True)
        for c in range(cfg.cols):
            acc = self.row_in.data[c].as_signed() if cfg.acc_signed else \
                self.row_in.data[c].as_unsigned()
            # Stages 1-3: the exact product (|acc · mult| < 2**(acc_bits - 1 + mult_width)).
            if cfg.primitives == "ecp5":
                prod = wide_product(m, f"requant_mult_{c}", a=acc, a_signed=cfg.acc_signed,
                                    b=factor, shape=prod_shape)
            else:
                acc_1 = Signal(signed(acc_bits), name=f"requant_acc_{c}", reset_less=True)
                factor_1 = Signal.like(factor, name=f"requant_factor_{c}", reset_less=True)
                prod_2 = Signal(prod_shape, name=f"requant_prod_{c}", reset_less=True)
                prod = Signal(prod_shape, name=f"requant_prod_reg_{c}", reset_less=True)
                m.d.sync += [acc_1.eq(acc), factor_1.eq(factor), prod_2.eq(acc_1 * factor_1),
                             prod.eq(prod_2)]
            # Stages 4 and 5: the shift; stage 6: round to nearest (ties up).
            coarse = Signal(signed(prod_shape.width + 1), name=f"requant_coarse_{c}",
                            reset_less=True)
            halves = Signal(signed(prod_shape.width + 1), name=f"requant_halves_{c}",
                            reset_less=True)
            rounded = Signal(signed(prod_shape.width + 1), name=f"requant_rounded_{c}",
                             reset_less=True)
            doubled = prod << 1
            m.d.sync += [coarse.eq(doubled >> Cat(Const(0, 3), shift_3[3:])),
                         halves.eq(coarse >> shift_4)]
            if cfg.requant_rounding == "half_up":
                m.d.sync += rounded.eq((halves + 1) >> 1)
            else:
                # Round half to even: a tie is the half bit (halves[0]) with every bit below
                # it zero. Those bits are the ones the two shifts drop, so each stage records
                # whether it dropped a one (``sticky``); at a tie the result is kept even by
                # not adding the half when the kept value (halves[1:]) is already even.
                sticky_4 = Signal(name=f"requant_sticky_4_{c}", reset_less=True)
                sticky_5 = Signal(name=f"requant_sticky_5_{c}", reset_less=True)
                m.d.sync += [sticky_4.eq(_dropped_any(doubled, shift_3[3:], 8)),
                             sticky_5.eq(sticky_4 | _dropped_any(coarse, shift_4, 1))]
                tie = halves[0] & ~sticky_5
                m.d.sync += rounded.eq((halves + (~tie | halves[1])) >> 1)
            # Stage 7: ReLU, then saturation. A passed-through row (requant off) counts as in
            # range, and an in-range requantised value already has the lane's sign extension
            # in the bits above the result's sign, so the row register takes ``rounded``
            # either way. The flags then
            # reach one LUT per lane (in_range, clear), not the select of every lane bit: as
            # that select, the delayed requant flag was the 8×8 2:4 engine's critical path
            # (7.7 ns, 5.8 of it routing to 256 multiplexers).
            #
            # Whether the rounded value saturates is decided in stage 6 from ``halves``, beside
            # the rounding's adder rather than after it: ``rounded`` is above ``hi`` exactly
            # when ``halves`` is above 2·hi, and below ``lo`` exactly when ``halves`` is below
            # 2·lo - 1, for either rounding (the increment is 1 at both edges for half-even
            # too, as 2·hi + 1 and 2·lo - 1 have bit 1 set when out_width is at least 2).
            # Tested on the rounded value in stage 7, the reductions over its upper bits had
            # led an 8×8 placement's critical path (7.1 ns, five LUTs deep).
            above = Signal(name=f"requant_above_{c}", reset_less=True)
            below = Signal(name=f"requant_below_{c}", reset_less=True)
            m.d.sync += [above.eq(halves > 2 * hi), below.eq(halves < 2 * lo - 1)]
            negative = rounded[-1]
            in_range = Signal(name=f"requant_in_range_{c}")
            clear = Signal(name=f"requant_clear_{c}")
            m.d.comb += [in_range.eq(~requant_7 | ~(above | below)),
                         clear.eq(relu_7 & negative)]
            bound = Mux(above, Const(hi, signed(cfg.out_width)),
                        Const(lo, signed(cfg.out_width)))
            m.d.sync += row_7[c].eq(Mux(clear, 0, Mux(in_range, rounded, bound)))

        m.d.comb += [
            self.row_out.data.eq(row_7),
            self.row_out.last.eq(delay(m, self.row_in.last, self.latency, name="requant_last")),
            self.valid_out.eq(delay(m, self.valid_in, self.latency, name="requant_valid")),
        ]
        return m
