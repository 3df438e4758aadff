"""The GEMM engine: streams in, weight-stationary array, on-chip accumulation, results out."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import Accumulator
from .array import WeightStationaryArray
from .bias import BiasQueue
from .decoders import weight_decoder
from .folds import first_fold, fold_state_layout
from .injector import ActivationInjector
from .layouts import command_layout, compressed_word_layout, result_row_layout, stream_layouts
from .loader import WeightLoader
from .output_stage import OutputStage
from .pipeline import delay
from .result_buffer import ResultBuffer
from .skid_buffer import SkidBuffer

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

    Backpressure: ``results`` has a buffer (:class:`~zeroskip.hdl.result_buffer.ResultBuffer`),
    and an activation row of a last K fold enters the array only with a slot reserved for its
    result. The array itself never stalls, and no
    stream can lose, duplicate or reorder data. A command with M, K or N equal to zero is
    accepted and ignored (no results).

    With ``cfg.bias``, each output tile's first K fold starts with its C biases on the
    activations stream (:func:`~zeroskip.models.streams.pack_activations`); a
    :class:`~zeroskip.hdl.bias.BiasQueue` holds them until the tile's rows reach the
    accumulator, which starts those rows' sums from them instead of 0.

    With ``cfg.output_stage``, finished rows pass through an
    :class:`~zeroskip.hdl.output_stage.OutputStage` on their way to the result buffer, which
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
        One command per GEMM. A register stage holds one: it takes a command while another
        runs, and the engine starts it when the running one ends.
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
        layouts = stream_layouts(cfg)
        super().__init__({
            "cmd": In(stream.Signature(layouts["cmd"])),
            "weights": In(stream.Signature(layouts["weights"])),
            "activations": In(stream.Signature(layouts["activations"])),
            "results": Out(stream.Signature(layouts["results"])),
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
        """Cycles from an activation row's transfer to its result entering the result buffer:
        input register, array, the accumulator (and the cycle it enters in), output stage
        (if any)."""
        stage = 0 if self._output_stage is None else self._output_stage.latency
        return 1 + self._array.latency + 1 + self._accumulator.latency + stage

    @property
    def result_buffer_depth(self):
        """Result rows the engine reserves slots for (the result buffer holds at least that
        many)."""
        # Enough slots for every row in flight at full rate plus the buffer's write-to-read
        # latency and its output register, so reservation never throttles an unstalled
        # stream.
        return self.result_latency + 4

    @property
    def bias_queue_depth(self):
        """Bias rows the bias queue holds (``cfg.bias``); a test ties it to
        :func:`zeroskip.models.cycles.bias_queue_depth`. Tiles' first rows are at least a
        weight reload (2R + C - 1 cycles) apart, and a bias row leaves the queue
        ``array.latency + 3`` cycles after its tile's first row is taken."""
        interval = 2 * self._cfg.rows + self._cfg.cols - 1
        return -(-(self._array.latency + 3) // interval) + 2

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        m.submodules.array = array = self._array

        # Command ------------------------------------------------------------------------------
        # The command passes a register stage that also holds what every block's restart
        # needs, computed once as it enters: the first fold (both fold sequencers load it and
        # step to the next themselves) and whether it has work (the decoder's
        # stream_follows). A restart then loads registers from registers. From the port (the
        # out-of-context wrapper's input registers, by the pins), the payload's compares and
        # subtracts into both sequencers' fold registers had led most ECP5 placements'
        # critical paths. The stage costs a command that finds the engine idle one cycle
        # (COMMAND_LATENCY in the cycle model), and holds a command while another runs,
        # which then starts as soon as the running one ends. Its ready comes from registers.
        p = self.cmd.payload
        staged = Signal(data.StructLayout({
            "cmd": command_layout(cfg), "fold": fold_state_layout(cfg), "has_work": 1}),
            name="command", reset_less=True)
        staged_valid = Signal(name="command_valid")
        staged_valid_next = Signal()
        dims = Signal(command_layout(cfg), reset_less=True)   # read only while running
        delivered = Signal()
        finish = Signal()      # the running command's last result leaves
        take = Signal()
        has_work = staged.has_work

        # The start (the staged command begins: it is there and none runs) and the running
        # flag, as registers, and a copy of the pair for each block they drive. Each copy
        # loads the next cycle's values of ``staged_valid & ~running`` and ``running``, so
        # it equals them in every cycle; each steps from its own value, so synthesis keeps
        # the copies apart, and each sits by its block. From one flip-flop, `running` into
        # the injector's row count was the 8×8 1:4 and 2:4 engines' critical path (7.9 and
        # 8.4 ns, 7.0 of it routing), and the start fanned out into every sequencer
        # register.
        def control(name):
            start_copy = Signal(name=f"{name}_start")
            running_copy = Signal(name=f"{name}_running")
            running_next = Mux(finish, 0, Mux(start_copy, has_work, running_copy))
            m.d.sync += [running_copy.eq(running_next),
                         start_copy.eq(staged_valid_next & ~running_next)]
            return start_copy, running_copy

        start, running = control("command")
        m.d.comb += [
            self.cmd.ready.eq(~staged_valid | ~running),
            take.eq(self.cmd.valid & self.cmd.ready),
            staged_valid_next.eq(take | (staged_valid & ~start)),
            finish.eq(delivered & self.results.payload.last),
            self.busy.eq(running),
        ]
        with m.If(take):
            m.d.sync += [staged.cmd.eq(p),
                         staged.fold.eq(first_fold(m, cfg, p)),
                         staged.has_work.eq((p.m != 0) & (p.k != 0) & (p.n != 0))]
        m.d.sync += staged_valid.eq(staged_valid_next)
        with m.If(start):
            m.d.sync += dims.eq(staged.cmd)

        # Weight loader and activation injector, joined by shadow_full and swapped ------------
        m.submodules.loader = loader = WeightLoader(cfg, settle=array.swap_settle,
                                                    all_rows=self._decoder is not None)
        m.submodules.injector = injector = ActivationInjector(
            cfg, credits=self.result_buffer_depth)
        for name, block in (("loader", loader), ("injector", injector)):
            # The fold sequencers register their outputs: on a start they load the staged
            # command's first fold.
            block_start, block_running = control(name)
            m.d.comb += [block.start.eq(block_start), block.first_fold.eq(staged.fold),
                         block.running.eq(block_running)]
        if self._decoder is None:
            wiring.connect(m, wiring.flipped(self.weights), loader.rows)
        else:
            # Compressed streams carry all R rows of every fold; the decoder starts afresh with
            # each command and reads its words up to the last (none for a command without
            # work), so the cycle model can replay it.
            m.submodules.weight_decoder = decoder = self._decoder
            # The words reach the decoder through a skid buffer, so that the word's `valid`,
            # which gates it into every bit of the decoder's buffer, is a flip-flop here, not
            # a net from outside. It costs no cycle when the words are offered by the command's
            # cycle: the buffer takes the first in that cycle, and the decoder reads from the
            # next.
            m.submodules.weight_words = words = SkidBuffer(compressed_word_layout(cfg))
            wiring.connect(m, wiring.flipped(self.weights), words.inp)
            wiring.connect(m, words.out, decoder.words)
            wiring.connect(m, decoder.rows, loader.rows)
            m.d.comb += [decoder.restart.eq(control("decoder")[0]),
                         decoder.stream_follows.eq(has_work)]
        wiring.connect(m, wiring.flipped(self.activations), injector.activations)
        m.d.comb += [
            injector.shadow_full.eq(loader.shadow_full),
            injector.delivered.eq(delivered),
            loader.swapped.eq(injector.swapped),
            array.w_shift.eq(loader.w_shift),
            array.w_row.eq(loader.w_row),
            array.act.eq(injector.act),
            array.act_swap.eq(injector.act_swap),
            array.act_swap_lines.eq(injector.act_swap_lines),
        ]
        if cfg.zero_gating:
            m.d.comb += [array.w_row_zero.eq(loader.w_row_zero),
                         array.act_zero.eq(injector.act_zero)]
        meta_reg = injector.meta
        if cfg.bias:
            m.submodules.bias_queue = bias_queue = BiasQueue(cfg, self.bias_queue_depth)
            wiring.connect(m, injector.bias_rows, bias_queue.rows)

        # Accumulation over K folds, then the result buffer ------------------------------------
        m.submodules.accumulator = acc = self._accumulator
        m.d.comb += [acc.psum.eq(array.psum),
                     acc.meta.eq(delay(m, meta_reg, array.latency, name="meta"))]
        if cfg.bias:
            m.d.comb += [acc.bias.eq(bias_queue.bias), bias_queue.next.eq(acc.bias_next)]
        # Finished rows wait in the result buffer; with ECP5 primitives its memory asks for LUT
        # RAM (iCE40 has none, and it would become flip-flops there). Two banks per lane, each
        # read at a pointer of its own: with one, the pointer into a lane's LUT RAM cells (32
        # of them for an 8×8 engine's 64 rows) still led an 8×8 placement's critical path
        # (7.5 ns, 6.4 of it routing).
        m.submodules.result_buffer = buffer = ResultBuffer(
            result_row_layout(cfg), self.result_buffer_depth, lut_ram=cfg.primitives == "ecp5",
            banks=2 * cfg.cols)
        if self._output_stage is None:
            m.d.comb += [
                buffer.w_en.eq(acc.row_valid),
                buffer.w_data.eq(acc.row),
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
                buffer.w_en.eq(stage.valid_out),
                buffer.w_data.eq(stage.row_out),
            ]

        # Results ------------------------------------------------------------------------------
        wiring.connect(m, buffer.out, wiring.flipped(self.results))
        m.d.comb += delivered.eq(self.results.valid & self.results.ready)
        return m
