"""The GEMM engine: streams in, weight-stationary array, on-chip accumulation, results out."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import Accumulator, accumulator_meta_layout
from .array import WeightStationaryArray
from .decoders import weight_decoder
from .folds import FoldSequencer
from .layouts import (activation_row_layout, command_layout, compressed_word_layout,
                      result_row_layout, weight_row_layout)
from .output_stage import OutputStage
from .pipeline import delay

__all__ = ["GemmEngine"]


class GemmEngine(wiring.Component):
    """Computes ``C[M×N] = A[M×K] · W[K×N]`` for any M, K, N up to ``2**dim_width - 1``.

    The GEMM is cut into folds: M tiles of ``acc_depth`` rows, N folds of C columns, K folds of
    ``k_per_fold`` positions (R, or R·M/N for an N:M sparse array), walked
    ``for m tile: for n fold: for k fold`` (see
    :mod:`zeroskip.models.streams` for the exact order of every stream). Each fold loads R×C
    weights into the array's shadow registers while the previous fold streams, so weight
    loading is hidden once a tile has enough rows. Partial results of K folds accumulate in an
    on-chip memory of ``acc_depth`` rows; the last K fold sends finished rows to ``results``.

    Backpressure: ``results`` has a FIFO, and an activation row of a last K fold enters the
    array only with a FIFO slot reserved for its result. The array itself never stalls, and no
    stream can lose, duplicate or reorder data. A command with M, K or N equal to zero is
    accepted and ignored (no results).

    With ``cfg.output_stage``, finished rows pass through an
    :class:`~zeroskip.hdl.output_stage.OutputStage` on their way to the result FIFO, which
    requantises them with the command's ``requant``, ``relu``, ``mult`` and ``shift`` fields
    (or passes them through when ``requant`` is 0); the values stay in the accumulator lanes,
    sign-extended.

    No output of the engine depends combinationally on an input in the same cycle.

    Parameters
    ----------
    cfg : ZeroskipConfig
    row_module, pe_module : str or None
        See :class:`~zeroskip.hdl.array.WeightStationaryArray`.

    Members
    -------
    cmd : In(stream.Signature(command_layout))
        One command per GEMM; accepted while the engine is idle.
    weights : In(stream.Signature(weight_row_layout or compressed_word_layout))
        With ``weight_format = "dense"``: rows W[k, n0 : n0+C], ``k_rows`` of them per fold.
        Otherwise compressed words (:mod:`zeroskip.models.wire`) that a decoder of that format
        turns into R rows per fold on their way to the array.
    activations : In(stream.Signature(activation_row_layout))
        Rows A[m, k0 : k0+k_per_fold], ``tile_rows`` of them per fold.
    results : Out(stream.Signature(result_row_layout))
        Rows C[m, n0 : n0+C] in ``for m tile: for n fold: for m`` order; lanes past N are 0.
    busy : Out(1)
        A command is running.
    """

    def __init__(self, cfg, *, row_module=None, pe_module=None):
        self._cfg = cfg
        self._array = WeightStationaryArray(cfg, row_module=row_module, pe_module=pe_module)
        self._decoder = weight_decoder(cfg)
        self._accumulator = Accumulator(cfg)
        self._output_stage = OutputStage(cfg) if cfg.output_stage else None
        weight_payload = weight_row_layout(cfg) if self._decoder is None else \
            compressed_word_layout(cfg)
        super().__init__({
            "cmd": In(stream.Signature(command_layout(cfg))),
            "weights": In(stream.Signature(weight_payload)),
            "activations": In(stream.Signature(activation_row_layout(cfg))),
            "results": Out(stream.Signature(result_row_layout(cfg))),
            "busy": Out(1),
        })

    @property
    def array(self):
        return self._array

    @property
    def output_stage(self):
        """The :class:`~zeroskip.hdl.output_stage.OutputStage`, or None without one."""
        return self._output_stage

    @property
    def result_latency(self):
        """Cycles from an activation row's transfer to its result entering the result FIFO:
        input register, array, the accumulator (and the cycle it enters in), output stage
        (if any)."""
        stage = 0 if self._output_stage is None else self._output_stage.latency
        return 1 + self._array.latency + 1 + self._accumulator.latency + stage

    @property
    def result_fifo_depth(self):
        # Enough slots for every row in flight at full rate plus the FIFO's own two-cycle
        # write-to-read latency, so reservation never throttles an unstalled stream.
        return self.result_latency + 4

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        rows = cfg.rows
        m.submodules.array = array = self._array
        m.submodules.load_folds = ld = FoldSequencer(cfg)
        m.submodules.inject_folds = inj = FoldSequencer(cfg)

        # Command ------------------------------------------------------------------------------
        dims = Signal(command_layout(cfg))
        running = Signal()
        start = Signal()
        m.d.comb += [
            self.cmd.ready.eq(~running),
            start.eq(self.cmd.valid & ~running),
            self.busy.eq(running),
            ld.dims.eq(dims), inj.dims.eq(dims),
            ld.restart.eq(start), inj.restart.eq(start),
        ]
        p = self.cmd.payload
        with m.If(start):
            m.d.sync += [dims.eq(p), running.eq((p.m != 0) & (p.k != 0) & (p.n != 0))]

        # Weight loader: shifts R rows into the shadow chains per fold, zeros past k_rows -----
        if self._decoder is None:
            weight_rows = self.weights
        else:
            # Compressed streams carry all R rows of every fold; the decoder starts afresh with
            # each command and reads words only while one runs, so the cycle model can replay it.
            m.submodules.weight_decoder = decoder = self._decoder
            wiring.connect(m, wiring.flipped(self.weights), decoder.words)
            weight_rows = decoder.rows
            m.d.comb += [decoder.restart.eq(start), decoder.enable.eq(running)]
        ld_done = Signal()
        ld_row = Signal(range(max(rows, 2)))
        shadow_full = Signal()
        settle = Signal(range(array.swap_settle + 1))
        loading = Signal()
        take = Signal()
        shift = Signal()
        m.d.comb += [
            loading.eq(running & ~ld_done & ~shadow_full & (settle == 0)),
            take.eq(ld_row < ld.k_rows if self._decoder is None else 1),
            weight_rows.ready.eq(loading & take),
            shift.eq(loading & (~take | weight_rows.valid)),
            array.w_shift.eq(shift),
            array.w_row.eq(Mux(take, weight_rows.payload, 0)),
        ]
        if cfg.zero_gating:
            for c in range(cfg.cols):
                value = weight_rows.payload[c].value if cfg.sparse else weight_rows.payload[c]
                m.d.comb += array.w_row_zero[c].eq(~take | (value == 0))
        with m.If(start):
            m.d.sync += [ld_done.eq(0), ld_row.eq(0)]
        with m.Elif(shift):
            with m.If(ld_row == rows - 1):
                m.d.sync += [ld_row.eq(0), shadow_full.eq(1)]
                m.d.comb += ld.advance.eq(1)
                with m.If(ld.last):
                    m.d.sync += ld_done.eq(1)
            with m.Else():
                m.d.sync += ld_row.eq(ld_row + 1)

        # Activation injector: one row per cycle into the array --------------------------------
        meta_layout = accumulator_meta_layout(cfg)
        inj_done = Signal()
        inj_row = Signal(range(max(cfg.acc_depth, 2)))
        first_row = Signal()
        last_row = Signal()
        credit_ok = Signal()
        fire = Signal()
        reserved = Signal(range(self.result_fifo_depth + 1))
        act_reg = Signal(activation_row_layout(cfg))
        swap_reg = Signal()
        meta_reg = Signal(meta_layout)
        if cfg.zero_gating:
            # Zero detection happens once, here and at the weight loader; the flags travel
            # with the values through the array.
            act_zero_reg = Signal(cfg.k_per_fold)
            m.d.comb += array.act_zero.eq(act_zero_reg)
        m.d.comb += [
            first_row.eq(inj_row == 0),
            last_row.eq(inj_row == inj.tile_rows - 1),
            credit_ok.eq(~inj.last_k | (reserved < self.result_fifo_depth)),
            self.activations.ready.eq(running & ~inj_done & (~first_row | shadow_full)
                                      & credit_ok),
            fire.eq(self.activations.ready & self.activations.valid),
            array.act.eq(act_reg),
            array.act_swap.eq(swap_reg),
        ]
        m.d.sync += [
            swap_reg.eq(fire & first_row),
            meta_reg.valid.eq(fire),
            meta_reg.addr.eq(inj_row),
            meta_reg.first_k.eq(inj.first_k),
            meta_reg.last_k.eq(inj.last_k),
            meta_reg.last.eq(inj.last & last_row),
            meta_reg.n_cols.eq(inj.n_cols),
        ]
        with m.If(settle != 0):
            m.d.sync += settle.eq(settle - 1)
        with m.If(start):
            m.d.sync += [inj_done.eq(0), inj_row.eq(0)]
        with m.Elif(fire):
            # Hold act_reg between rows: idle cycles then cost no operand switching. With
            # zero-gating, zero lanes also keep their old value and raise their zero flag.
            if cfg.zero_gating:
                for r in range(cfg.k_per_fold):
                    lane = self.activations.payload[r]
                    m.d.sync += act_zero_reg[r].eq(lane == 0)
                    with m.If(lane != 0):
                        m.d.sync += act_reg[r].eq(lane)
            else:
                m.d.sync += act_reg.eq(self.activations.payload)
            with m.If(first_row):
                m.d.sync += [shadow_full.eq(0), settle.eq(array.swap_settle)]
            with m.If(last_row):
                m.d.sync += inj_row.eq(0)
                m.d.comb += inj.advance.eq(1)
                with m.If(inj.last):
                    m.d.sync += inj_done.eq(1)
            with m.Else():
                m.d.sync += inj_row.eq(inj_row + 1)

        # Accumulation over K folds, then the result FIFO --------------------------------------
        m.submodules.accumulator = acc = self._accumulator
        m.d.comb += [acc.psum.eq(array.psum),
                     acc.meta.eq(delay(m, meta_reg, array.latency, name="meta"))]
        m.submodules.result_fifo = result_fifo = fifo.SyncFIFOBuffered(
            width=result_row_layout(cfg).size, depth=self.result_fifo_depth)
        if self._output_stage is None:
            m.d.comb += [
                result_fifo.w_en.eq(acc.row_valid),
                result_fifo.w_data.eq(acc.row),
            ]
        else:
            # The command register holds the parameters until the last result is delivered.
            m.submodules.output_stage = stage = self._output_stage
            m.d.comb += [
                stage.row_in.eq(acc.row),
                stage.valid_in.eq(acc.row_valid),
                stage.params.requant.eq(dims.requant),
                stage.params.relu.eq(dims.relu),
                stage.params.mult.eq(dims.mult),
                stage.params.shift.eq(dims.shift),
                result_fifo.w_en.eq(stage.valid_out),
                result_fifo.w_data.eq(stage.row_out),
            ]

        # Results ------------------------------------------------------------------------------
        result_out = Signal(result_row_layout(cfg))
        delivered = Signal()
        m.d.comb += [
            result_out.eq(result_fifo.r_data),
            self.results.payload.eq(result_out),
            self.results.valid.eq(result_fifo.r_rdy),
            result_fifo.r_en.eq(self.results.ready),
            delivered.eq(self.results.valid & self.results.ready),
        ]
        m.d.sync += reserved.eq(reserved + (fire & inj.last_k) - delivered)
        with m.If(delivered & result_out.last):
            m.d.sync += running.eq(0)
        return m
