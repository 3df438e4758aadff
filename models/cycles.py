"""Exact cycle model of the dense weight-stationary engine.

``predict_cycles`` returns the cycles from the command transfer to the last result transfer,
both included, when no stream stalls (every input stream always has data, ``results`` is
always ready). The tests compare it with the RTL for every shape they simulate.

Timeline, in cycles from the engine's start, which is :data:`COMMAND_LATENCY` cycles after
the command's transfer (the command passes a register stage) when the engine is idle; the
count adds it:

* the weight loader shifts fold 0's R rows in cycles 1..R; fold 0's first activation row is
  transferred in cycle ``R + 1``;
* fold f's rows are transferred in consecutive cycles ``h_f .. h_f + T_f - 1`` (``T_f`` rows of
  its M tile); the shadow chain is free ``R + C - 1`` cycles after ``h_f`` (the last PE has
  adopted the new weights), then the next fold's R rows take R cycles, so
  ``h_{f+1} = h_f + max(T_f, 2R + C - 1)``;
* the last row leaves ``result_path`` cycles after its transfer: input register (1), array
  (:func:`array_latency`: R + C - 2 of skew and deskew plus the PE pipeline, :func:`pe_latency`),
  the accumulator (5: the cycle a row enters, the read, the registered read, the sum and the
  registered row), the output stage if configured (7, see
  :func:`output_stage_latency`), result buffer (1).

With ``cfg.bias``, the first K fold of each output tile takes :func:`~zeroskip.wire_fields.
bias_beats` bias rows B from the activations stream first, one per cycle, after the previous
fold's last row: ``h_0 = max(R, B) + 1`` and ``h_{f+1} = h_f + max(T_f + B_{f+1}, 2R + C - 1)``,
with ``B_f`` = B for such a fold and 0 otherwise. The bias queue is deep enough that it never
holds them back (:func:`bias_queue_depth`).

A fold of one row (``T_f = 1``) counts ``max(B_f, 1)`` for ``B_f``, with or without biases:
the injector takes no fold's only row in the cycle after the previous fold's last row (its
fold sequencer takes no advance in the cycle after one). Only a one-row last M tile after
full tiles of at least ``2R + C - 1`` rows pays for it, one cycle.

With a compressed ``weight_format`` the loader takes R rows per fold from the weight decoder,
which starts empty with each command, reads a word per cycle while its bit buffer has room
and no row leaves it, and queues up to R decoded rows, one every two cycles at most (a cycle
that registers the parsed row, then one that writes it and drops its bits):
fold f's rows then load in the cycles from ``s_f`` (``h_{f-1} + R + C - 1``, or 1) on which the
decoder has a row, and the next fold starts once both its rows are loaded and the previous
fold's rows are in: ``h_f = max(e_f + 1, h_{f-1} + T_{f-1} + B_f)`` (``B_f`` as above;
``h_0 ≥ B_0 + 1``) with ``e_f`` the cycle its R-th row loads. :func:`predict_cycles` replays
the decoder cycle by cycle from the wire encoding's per-row ``need``/``consume`` bits
(:mod:`zeroskip.models.wire`), so it needs the weights.
"""

from .folds import fold_sequence

__all__ = ["predict_cycles", "scalesim_ws_cycles", "utilization", "result_path",
           "array_latency", "weight_reload_interval", "output_stage_latency", "PE_LATENCY",
           "bias_queue_depth", "COMMAND_LATENCY",
           "pe_latency",
           "ACCUMULATOR_LATENCY"]

# The result buffer (zeroskip.hdl.result_buffer): a row written in cycle y can be on the
# results stream in y + 2 (counted here from the cycle after the write).
FIFO_LATENCY = 1
# The command's register stage (zeroskip.hdl.engine): an idle engine starts a command the
# cycle after its transfer.
COMMAND_LATENCY = 1
# A PE registers its operands, then the product, then the partial sum; with vendor
# primitives the DSP block's input registers come between the operands and the product.
PE_LATENCY = 3


def pe_latency(cfg):
    """The PE pipeline of ``cfg`` (:data:`PE_LATENCY`, one more with ``cfg.primitives``);
    a test ties it to :meth:`zeroskip.hdl.pe.ProcessingElement.latency_of`."""
    return PE_LATENCY + (cfg.primitives != "none")
# The accumulator reads, registers the read, adds, and registers the finished row
# (zeroskip.hdl.accumulator.Accumulator.LATENCY, which a test ties to this).
ACCUMULATOR_LATENCY = 4


def output_stage_latency(cfg):
    """Cycles the output stage adds (``cfg.output_stage``): operands, product (twice: the
    DSP block's registers), shift (in two steps), rounding, then the rectified and saturated
    row. A test
    checks this against :attr:`zeroskip.hdl.output_stage.OutputStage.latency`, which the
    engine uses."""
    return 7 if cfg.output_stage else 0


def weight_reload_interval(cfg):
    """Minimum cycles between the first rows of consecutive folds (weights double-buffered)."""
    return (cfg.rows + cfg.cols - 1) + cfg.rows


def bias_queue_depth(cfg):
    """Bias rows the engine's bias queue holds (``cfg.bias``). A tile's bias row enters when
    its last bias beat is taken, before the fold's first row, and leaves when that row reaches
    the accumulator's second stage, ``1 + array_latency + 2`` cycles after its transfer. The
    first rows of such folds are at least :func:`weight_reload_interval` cycles apart, so at
    most ``ceil((array_latency + 3) / interval)`` rows are in flight, plus the next tile's
    row waiting for its fold; one more keeps the queue's ``ready`` from ever stalling the
    beats."""
    interval = weight_reload_interval(cfg)
    return -(-(array_latency(cfg) + 3) // interval) + 2


def array_latency(cfg):
    """Cycles from an activation row entering the array to its column sums leaving it: skew
    and deskew (R + C - 2) plus the PE pipeline (operand, product and partial-sum registers,
    :func:`pe_latency`). A test ties it to :attr:`zeroskip.hdl.array.WeightStationaryArray.
    latency`, which the engine uses."""
    return cfg.rows + cfg.cols - 2 + pe_latency(cfg)


def result_path(cfg):
    """Cycles from an activation row's transfer to its result's transfer: input register,
    array, the accumulator (:data:`ACCUMULATOR_LATENCY`, and the cycle a row enters it),
    output stage, result buffer."""
    return (1 + array_latency(cfg) + 1 + ACCUMULATOR_LATENCY + output_stage_latency(cfg)
            + FIFO_LATENCY)


class _DecoderReplay:
    """The hardware weight decoder (:class:`zeroskip.hdl.decoders.WeightDecoder`), cycle by
    cycle, on a stream whose words are always available: in a cycle where no parsed row is
    pending it takes a word if its buffer has room and registers a row if the buffer holds
    the row's ``need`` bits and the FIFO has room; in the next it writes that row to the FIFO,
    its ``consume`` bits leave the buffer, and no word is taken. The RLE decoder's parse
    sees a word one cycle after it arrives (its prefix sums are registered)."""

    def __init__(self, cfg, stream):
        from ..wire_fields import decoder_buffer_bits, word_width

        self.word = word_width(cfg)
        self.room = decoder_buffer_bits(cfg) - self.word
        self.words_left = len(stream.words)
        self.need, self.consume = stream.need, stream.consume
        self.fifo_depth = cfg.rows
        self.level = 0         # bits in the buffer
        self.row = 0           # next row to parse
        self.queued = 0        # decoded rows in the row FIFO
        self.parsed = False    # the next row is registered: it is written in this cycle
        self.late = cfg.weight_format == "rle"
        self.fresh = 0         # bits that arrived in the last cycle (unseen if late)

    def step(self, ready):
        """One clock cycle with the loader's ``ready``; returns whether a row was taken."""
        taken = self.queued > 0 and ready
        if self.parsed:
            self.level -= self.consume[self.row]
            self.row += 1
            self.queued += 1
            self.parsed = False
            self.fresh = 0
        else:
            seen = self.level - (self.fresh if self.late else 0)
            self.parsed = (self.row < len(self.need) and seen >= self.need[self.row]
                           and self.queued < self.fifo_depth)
            self.fresh = 0
            if self.words_left > 0 and self.level <= self.room:
                self.level += self.word
                self.words_left -= 1
                self.fresh = self.word
        self.queued -= taken
        return taken

    def idle(self):
        """Whether cycles without ``ready`` leave the state unchanged."""
        stuck_input = self.words_left == 0 or self.level > self.room
        stuck_output = self.queued == self.fifo_depth or self.row >= len(self.need) or \
            self.level < self.need[self.row]
        return not self.parsed and not self.fresh and stuck_input and stuck_output


def predict_cycles(cfg, m, k, n, w=None):
    """Engine cycles for C[m×n] = A[m×k] · W[k×n] with no stalls (0 when a dimension is 0).

    ``w`` (the weights, ``[k×n]``) is needed, and only used, when ``cfg.weight_format`` is
    compressed: decoding time depends on the values.
    """
    folds = fold_sequence(cfg, m, k, n)
    if not folds:
        return 0
    r = cfg.rows
    if cfg.bias:
        from ..wire_fields import bias_beats

        beats = [bias_beats(cfg) if f.first_k else 0 for f in folds]
    else:
        beats = [0] * len(folds)
    # A fold of one row never starts in the cycle after the previous fold's last row (the
    # injector's hold): as if it had a bias beat.
    gaps = [max(b, f.tile_rows == 1) for f, b in zip(folds, beats)]
    if cfg.weight_format == "dense":
        h = max(r, beats[0]) + 1
        for f, gap in zip(folds[:-1], gaps[1:]):
            h += max(f.tile_rows + gap, weight_reload_interval(cfg))
    else:
        if w is None:
            raise ValueError(f"predict_cycles needs the weights w for weight_format "
                             f"{cfg.weight_format!r}")
        from .wire import compressed_weight_words

        decoder = _DecoderReplay(cfg, compressed_weight_words(cfg, w, m))
        t, window_start, h = 1, 1, None   # cycle 0 is the start; the decoder starts in 1
        previous = None
        for f, b, gap in zip(folds, beats, gaps):
            loaded = 0
            while loaded < r:
                if t < window_start and decoder.idle():
                    t = window_start
                loaded += decoder.step(t >= window_start)
                t += 1
            h = max(t, 1 + b) if previous is None else max(t, h + previous.tile_rows + gap)
            window_start = h + r + cfg.cols - 1
            previous = f
    last_row = h + folds[-1].tile_rows - 1
    return COMMAND_LATENCY + last_row + result_path(cfg) + 1


def scalesim_ws_cycles(cfg, m, k, n):
    """SCALE-Sim v3's weight-stationary estimate: folds·(2R + C + M − 2),
    folds = ⌈K/R⌉·⌈N/C⌉ (next fold's weights not preloaded). For an N:M sparse array, its
    sparse model: the same with K' = ⌈K·N/M⌉ (no metadata or decode cycles)."""
    r, c = cfg.rows, cfg.cols
    if cfg.sparse:
        n_keep, group = cfg.nm
        k = -(-k * n_keep // group)
    folds = -(-k // r) * -(-n // c)
    return folds * (2 * r + c + m - 2)


def utilization(cfg, m, k, n, cycles):
    """Useful MACs over multiplier-cycles: ``m·k·n / (R·C·cycles)``."""
    return (m * k * n) / (cfg.rows * cfg.cols * cycles) if cycles else 0.0
