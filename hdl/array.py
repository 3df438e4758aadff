"""The weight-stationary systolic array: rows of PEs, with skew and deskew registers."""

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .hierarchy import add_block
from .layouts import activation_row_layout, psum_shape, pe_act_shape, weight_row_layout
from .pe import ProcessingElement, pe_signature
from .pipeline import delay, delay_held

__all__ = ["ArrayRow", "WeightStationaryArray", "array_row_signature", "lut_pe_module_name"]


def array_row_signature(cfg):
    """Ports of :class:`ArrayRow`."""
    lanes = data.ArrayLayout(psum_shape(cfg), cfg.cols)
    weights = weight_row_layout(cfg)
    members = {
        "act_in": In(pe_act_shape(cfg)),
        "swap_in": In(unsigned(1)),
        "psum_in": In(lanes),
        "psum_out": Out(lanes),
        "w_chain_in": In(weights),
        "w_chain_out": Out(weights),
        "w_shift": In(unsigned(1)),
    }
    if cfg.zero_gating:
        members.update({
            "act_zero_in": In(unsigned(cfg.act_group)),
            "w_zero_chain_in": In(unsigned(cfg.cols)),
            "w_zero_chain_out": Out(unsigned(cfg.cols)),
        })
    return wiring.Signature(members)


def lut_pe_module_name(pe_module):
    """The Verilog module name of the PEs that multiply in LUT logic (``cfg.lut_pe_cols``),
    beside the other PEs' ``pe_module``."""
    return f"{pe_module}_lut"


class ArrayRow(wiring.Component):
    """One row of C PEs: the activation moves right one PE per cycle; partial sums and the
    shadow weight chains pass vertically through every PE.

    Parameters
    ----------
    cfg : ZeroskipConfig
    pe_module : str or None
        Instantiate PEs as this Verilog module (see :func:`~zeroskip.hdl.hierarchy.add_block`),
        and the last ``cfg.lut_pe_cols`` PEs, which multiply in LUT logic, as
        :func:`lut_pe_module_name` of it.

    Members
    -------
    act_in, swap_in : In
        Activation (and its fold-swap flag) entering PE 0.
    psum_in, psum_out : In, Out(ArrayLayout(psum_shape, C))
        Partial sums from the row above, to the row below (registered in each PE).
    w_chain_in, w_chain_out : In, Out(weight_row_layout)
        Shadow weight chains from the row below, to the row above.
    w_shift : In(1)
    act_zero_in, w_zero_chain_in, w_zero_chain_out : In, Out
        Zero flags beside the activation and the weight chains (``zero_gating`` only).
    """

    def __init__(self, cfg, *, pe_module=None):
        self._cfg = cfg
        self._pe_module = pe_module
        super().__init__(array_row_signature(cfg))

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        acts = [self.act_in] + [Signal(pe_act_shape(cfg), name=f"act_{c}")
                                for c in range(1, cfg.cols)]
        swaps = [self.swap_in] + [Signal(name=f"swap_{c}") for c in range(1, cfg.cols)]
        if cfg.zero_gating:
            zeros = [self.act_zero_in] + [Signal(cfg.act_group, name=f"act_zero_{c}")
                                          for c in range(1, cfg.cols)]
        for c in range(cfg.cols):
            bind = {
                "act_in": acts[c], "swap_in": swaps[c],
                "psum_in": self.psum_in[c], "psum_out": self.psum_out[c],
                "w_chain_in": self.w_chain_in[c], "w_chain_out": self.w_chain_out[c],
                "w_shift": self.w_shift,
            }
            # The last PE's act_out/swap_out lead nowhere: left unbound.
            if c + 1 < cfg.cols:
                bind.update(act_out=acts[c + 1], swap_out=swaps[c + 1])
            if cfg.zero_gating:
                bind.update(act_zero_in=zeros[c], w_zero_chain_in=self.w_zero_chain_in[c],
                            w_zero_chain_out=self.w_zero_chain_out[c])
                if c + 1 < cfg.cols:
                    bind.update(act_zero_out=zeros[c + 1])
            lut = c >= cfg.cols - cfg.lut_pe_cols
            module = self._pe_module
            if lut and module is not None:
                module = lut_pe_module_name(module)
            add_block(m, f"pe_{c}", lambda: ProcessingElement(cfg, lut_multiplier=lut),
                      pe_signature(cfg), module, bind=bind)
        return m


class WeightStationaryArray(wiring.Component):
    """R×C weight-stationary array.

    Activations enter row r from the left, skewed by r cycles; they move one PE to the right
    per cycle. Partial sums move one PE down per cycle; column c's sum leaves the bottom and is
    deskewed by ``C-1-c`` cycles, so one output row holds ``sum_r act[r] * W[r, c]`` for every
    column at once, :attr:`latency` cycles after its activation row was presented (each PE
    adds its product a fixed number of cycles after the activation arrives, the same in every
    PE, so sums and products of a row still meet).

    Weights load through one shadow chain per column, entering at the bottom row and shifting
    up: after R shifts, the first weight row shifted in sits in row 0. ``act_swap`` marks the
    first activation row of a fold; every PE adopts its shadow weight when that row reaches it.
    The shadow chain may be shifted again from :attr:`swap_settle` cycles after that row was
    presented (the last PE, bottom right, has adopted by then).

    Parameters
    ----------
    cfg : ZeroskipConfig
    row_module, pe_module : str or None
        Instantiate rows (and, inside rows, PEs) as Verilog modules of these names; see
        :func:`zeroskip.hdl.verilog.generate_verilog`. Amaranth's simulator needs ``None``.

    Members
    -------
    act : In(activation_row_layout)
    act_swap : In(1)
        The fold's first row; never high in two consecutive cycles (the engine's folds are a
        weight reload apart). Drives PE (0, 0).
    act_swap_lines : In(1)
        Equal to ``act_swap`` in every cycle, from a flip-flop of its own (the injector's):
        it starts the other rows' swap lines.
    w_row : In(weight_row_layout)
        Weight row entering the bottom of the shadow chains.
    w_shift : In(1)
    psum : Out(ArrayLayout(psum_shape, C))
        Deskewed column sums.
    act_zero : In(R)
        With ``zero_gating``: lane r of ``act`` is zero (``act[r]`` may then hold anything).
    w_row_zero : In(C)
        With ``zero_gating``: lane c of ``w_row`` is zero.
    """

    def __init__(self, cfg, *, row_module=None, pe_module=None):
        self._cfg = cfg
        self._row_module = row_module
        self._pe_module = pe_module
        members = {
            "act": In(activation_row_layout(cfg)),
            "act_swap": In(unsigned(1)),
            "act_swap_lines": In(unsigned(1)),
            "w_row": In(weight_row_layout(cfg)),
            "w_shift": In(unsigned(1)),
            "psum": Out(data.ArrayLayout(psum_shape(cfg), cfg.cols)),
        }
        if cfg.zero_gating:
            members.update({"act_zero": In(unsigned(cfg.k_per_fold)),
                            "w_row_zero": In(unsigned(cfg.cols))})
        super().__init__(members)

    @property
    def latency(self):
        """Cycles from an activation row at :attr:`act` to its sums at :attr:`psum`: the skew
        and deskew (R + C - 2 in all for every column), plus the PE pipeline."""
        return self._cfg.rows + self._cfg.cols - 2 + ProcessingElement.latency_of(self._cfg)

    @property
    def swap_settle(self):
        """Cycles after a swap row is presented until the last PE has adopted its weight."""
        return self._cfg.rows + self._cfg.cols - 2

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        sums = [Signal(self.psum.shape(), name=f"psum_row_{r}") for r in range(cfg.rows + 1)]
        chains = [Signal(self.w_row.shape(), name=f"w_chain_{r}") for r in range(cfg.rows)]
        chains.append(self.w_row)
        if cfg.zero_gating:
            zero_chains = [Signal(cfg.cols, name=f"w_zero_chain_{r}") for r in range(cfg.rows)]
            zero_chains.append(self.w_row_zero)
        for r in range(cfg.rows):
            bind = {
                "swap_in": self._row_swap(m, r),
                "w_shift": self.w_shift,
                "psum_in": sums[r], "psum_out": sums[r + 1],
                "w_chain_in": chains[r + 1], "w_chain_out": chains[r],
            }
            # Row r sees activation row t at cycle t + r: skew at the left edge. A sparse
            # array's row r takes the M lanes of its group, r // N.
            group = cfg.act_group
            first = r if not cfg.sparse else (r // cfg.nm[0]) * group
            if cfg.zero_gating:
                held = [delay_held(m, self.act[first + i], self.act_zero[first + i], r,
                                   name=f"act_skew_{r}" + (f"_{i}" if cfg.sparse else ""))
                        for i in range(group)]
                if cfg.sparse:
                    act_in = Signal(pe_act_shape(cfg), name=f"act_row_{r}")
                    m.d.comb += act_in.eq(Cat(value for value, _ in held))
                    bind["act_in"] = act_in
                    bind["act_zero_in"] = Cat(zero for _, zero in held)
                else:
                    bind["act_in"], bind["act_zero_in"] = held[0]
                bind.update(w_zero_chain_in=zero_chains[r + 1],
                            w_zero_chain_out=zero_chains[r])
            else:
                lanes = self.act[first] if not cfg.sparse else \
                    Cat(self.act[first + i] for i in range(group))
                bind["act_in"] = delay(m, lanes, r, name=f"act_skew_{r}", reset_less=True)
            add_block(m, f"row_{r}", lambda: ArrayRow(cfg, pe_module=self._pe_module),
                      array_row_signature(cfg), self._row_module, bind=bind)
        bottom = sums[cfg.rows]
        for c in range(cfg.cols):
            # Column c leaves the bottom at cycle t + R + c: deskew to t + R + C - 1.
            m.d.comb += self.psum[c].eq(
                delay(m, bottom[c], cfg.cols - 1 - c, name=f"psum_deskew_{c}", reset_less=True))
        return m

    def _row_swap(self, m, r):
        """``act_swap`` delayed by ``r`` cycles for row ``r``, on a line of the row's own.

        PE (r, c) sees the swap ``r + c`` cycles late, so with one skew line shared by all
        rows every PE of an anti-diagonal would take it from the same flip-flop: synthesis
        merges equal shift-register stages, and that net, across rows, into each PE's slot
        select was the 8×8 2:4 engine's critical path (7.4 ns, 5.9 of it routing). Row r's
        line instead starts with a register of its own, ``act_swap_lines & ~itself``: swaps are
        at least a weight reload apart (:attr:`swap_settle` plus R rows), never in consecutive
        cycles, so it is ``act_swap`` one cycle late, but it steps from its own value, and no
        stage of one row's line is a copy of another's. Row 0 takes ``act_swap``, whose
        flip-flop then drives PE (0, 0) alone and can sit beside it."""
        if r == 0:
            return self.act_swap
        first = Signal(name=f"swap_skew_{r}_d1")
        m.d.sync += first.eq(self.act_swap_lines & ~first)
        return delay(m, first, r - 1, name=f"swap_skew_{r}_line")
