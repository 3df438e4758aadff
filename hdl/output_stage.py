"""The output stage: requantisation (multiplier, shift, round to nearest), optional ReLU and
saturation of a row of accumulators, bit-exact with :func:`zeroskip.models.requant.requantize`.
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import acc_shape, requant_params_layout, result_row_layout
from .pipeline import delay

__all__ = ["OutputStage"]


class OutputStage(wiring.Component):
    """Requantises a row of C accumulators into ``out_width``-bit values, in two registered
    stages.

    Per lane, with ``params.requant`` set::

        y = (acc · mult + 2**(shift-1)) >> shift      (no addend when shift = 0)
        y = max(y, 0)                                  (if params.relu)
        y = clamp(y, -2**(out_width-1), 2**(out_width-1) - 1)

    and the result is sign-extended into the accumulator lane. With ``params.requant`` clear,
    the accumulators pass through unchanged (``relu`` is then ignored). Stage 1 registers the
    products (``acc · mult``, or ``acc · 1`` to pass through); stage 2 rounds, shifts,
    applies ReLU and saturates, then registers the row. Rounding uses one variable shift:
    ``((2·p) >> shift + 1) >> 1`` equals ``(p + 2**(shift-1)) >> shift`` for shift ≥ 1 and
    ``p`` for shift = 0, so no variable-position addend is needed.

    Everything entering in one cycle (row, ``last``, ``valid``, parameters) leaves together
    ``latency`` cycles later; there is no backpressure (the engine reserves result FIFO room
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
        ``row_in`` holds a row (the engine's result-FIFO write enable).
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

    @property
    def latency(self):
        """Cycles from a row at ``row_in`` to the same row at ``row_out``."""
        return 2

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        # A signed view of the accumulator: unsigned accumulators gain a zero sign bit.
        acc_bits = cfg.acc_width + (0 if cfg.acc_signed else 1)
        prod_shape = signed(acc_bits + cfg.requant_mult_width)

        # Stage 1: products; pass-through is a multiplication by 1 with shift 0.
        p = self.params
        requant_1 = Signal(name="requant_on_1")
        relu_1 = Signal(name="requant_relu_1")
        shift_1 = Signal.like(p.shift, name="requant_shift_1")
        m.d.sync += [
            requant_1.eq(p.requant),
            relu_1.eq(p.requant & p.relu),
            shift_1.eq(Mux(p.requant, p.shift, 0)),
        ]
        factor = Mux(p.requant, p.mult, 1)
        products = []
        for c in range(cfg.cols):
            prod = Signal(prod_shape, name=f"requant_prod_{c}", reset_less=True)
            # Exact: |acc · mult| < 2**(acc_bits - 1 + requant_mult_width).
            m.d.sync += prod.eq(self.row_in.data[c] * factor)
            products.append(prod)

        # Stage 2: round to nearest (ties up), shift, ReLU, saturate.
        lo, hi = -(1 << (cfg.out_width - 1)), (1 << (cfg.out_width - 1)) - 1
        row_2 = Signal(data.ArrayLayout(acc_shape(cfg), cfg.cols), reset_less=True)
        for c, prod in enumerate(products):
            halves = Signal(signed(prod_shape.width + 1), name=f"requant_halves_{c}")
            rounded = Signal(signed(prod_shape.width + 1), name=f"requant_rounded_{c}")
            rectified = Signal.like(rounded, name=f"requant_relu_{c}")
            saturated = Signal(signed(cfg.out_width), name=f"requant_sat_{c}")
            m.d.comb += [
                halves.eq((prod << 1) >> shift_1),
                rounded.eq((halves + 1) >> 1),
                rectified.eq(Mux(relu_1 & (rounded < 0), 0, rounded)),
                saturated.eq(Mux(rectified > hi, hi, Mux(rectified < lo, lo, rectified))),
            ]
            m.d.sync += row_2[c].eq(Mux(requant_1, saturated, rounded))

        m.d.comb += [
            self.row_out.data.eq(row_2),
            self.row_out.last.eq(delay(m, self.row_in.last, self.latency, name="requant_last")),
            self.valid_out.eq(delay(m, self.valid_in, self.latency, name="requant_valid")),
        ]
        return m
