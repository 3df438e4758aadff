"""Streaming weight decoders: compressed words in, dense weight rows out.

Each decoder reads the wire format of :mod:`zeroskip.models.wire` (the specification; this
module follows it field for field). They share one structure, :class:`WeightDecoder`:

* a bit buffer of ``decoder_buffer_bits`` bits (a window plus one word) takes a word whenever
  it holds at most ``window`` bits, appending it above the bits it holds;
* a format parser looks at the lowest ``window`` bits and says whether they hold a complete
  row (``ok``), what the row is and how many bits it uses (``consume``);
* a complete row is written into a FIFO of R decoded rows (the ``rows`` stream) whenever it has
  room, and its bits are shifted out of the buffer in the same cycle.

Throughput: at most one row per cycle, and never more bits per cycle than a word brings in. A
row's bits are ``consume`` of :func:`~zeroskip.models.wire.encode_weight_stream`; the decoder
sustains one row per cycle while rows average at most one word (``C × weight_width`` bits),
e.g. bitmask for int8 below 7/8 density, CSR below about 2/3, RLE below ``wb/(wb+run)``,
N:M always (2:4 int8: 5/8 of a word per row). Denser rows take ``bits/word`` cycles each. The
engine needs R rows per fold and a fold lasts at least ``2R + C - 1`` cycles, so even a fully
dense bitmask or CSR stream (1.125 and 1.4 words per row for 8×8 int8) keeps up: the row FIFO
lets the decoder work through the next fold while the current one computes; see
``benchmarks/decoding.py`` for measured engine cycles.

Members (all decoders)
----------------------
words : In(stream.Signature(compressed_word_layout))
    Compressed words; ``last`` marks a GEMM's final word, after which no word is taken until
    ``restart``.
rows : Out(stream.Signature(weight_row_layout))
    Decoded weight rows.
restart : In(1)
    Drop everything buffered (the padding after a ``last`` word) and start a new stream.
enable : In(1)
    Words are taken only while set (the engine enables its decoder while a command runs).
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal, signed, unsigned
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..wire_fields import decoder_buffer_bits, field_widths, max_need_bits, word_width
from .layouts import compressed_word_layout, weight_row_layout

__all__ = ["WeightDecoder", "BitmaskDecoder", "NMDecoder", "CSRDecoder", "RLEDecoder",
           "weight_decoder"]


def _popcount(bits):
    return sum((bits[i] for i in range(len(bits))), Const(0, range(len(bits) + 1)))


class WeightDecoder(wiring.Component):
    """Common bit buffer and output stage; subclasses define :meth:`parse`."""

    def __init__(self, cfg):
        self._cfg = cfg
        self._fields = field_widths(cfg)
        super().__init__({
            "words": In(stream.Signature(compressed_word_layout(cfg))),
            "rows": Out(stream.Signature(weight_row_layout(cfg))),
            "restart": In(1),
            "enable": In(1, init=1),
        })

    @property
    def window(self):
        """Bits the parser looks at: the most any row needs."""
        return max_need_bits(self._cfg)

    @property
    def fifo_depth(self):
        """Decoded rows the decoder can hold: one fold."""
        return self._cfg.rows

    @property
    def buffer_bits(self):
        return decoder_buffer_bits(self._cfg)

    def parse(self, m, window, level, advance):
        """Return ``(ok, consume, lanes)`` for the bits ``window`` of which ``level`` are valid.
        ``advance`` is high in cycles the row is emitted (for parser state)."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        size, word = self.buffer_bits, word_width(cfg)
        buffer = Signal(size)
        level = Signal(range(size + 1))
        last_seen = Signal()
        advance = Signal()
        ok, consume, lanes = self.parse(m, buffer[:self.window], level, advance)

        # Decoded rows queue in a FIFO of R rows (distributed RAM on FPGAs): the decoder can run
        # a whole fold ahead while the array waits, so only average throughput matters.
        m.submodules.row_fifo = row_fifo = ResetInserter(self.restart)(
            fifo.SyncFIFO(width=weight_row_layout(cfg).size, depth=self.fifo_depth))
        decoded = Signal(weight_row_layout(cfg))
        for c, lane in enumerate(lanes):
            m.d.comb += decoded[c].eq(lane)
        m.d.comb += [
            advance.eq(ok & row_fifo.w_rdy & ~self.restart),
            row_fifo.w_en.eq(advance),
            row_fifo.w_data.eq(decoded),
            self.rows.valid.eq(row_fifo.r_rdy),
            self.rows.payload.eq(row_fifo.r_data),
            row_fifo.r_en.eq(self.rows.ready),
        ]

        kept = Signal(size)
        kept_level = Signal(range(size + 1))
        m.d.comb += [
            kept.eq(Mux(advance, buffer >> consume, buffer)),
            kept_level.eq(level - Mux(advance, consume, 0)),
            self.words.ready.eq(self.enable & ~last_seen & (level <= size - word)),
        ]
        with m.If(self.words.valid & self.words.ready):
            # Bits above the level are always zero, so OR-ing the word in appends it.
            m.d.sync += [
                buffer.eq(kept | (self.words.payload.data << kept_level)[:size]),
                level.eq(kept_level + word),
                last_seen.eq(self.words.payload.last),
            ]
        with m.Else():
            m.d.sync += [buffer.eq(kept), level.eq(kept_level)]
        with m.If(self.restart):
            m.d.sync += [buffer.eq(0), level.eq(0), last_seen.eq(0)]
        return m


class BitmaskDecoder(WeightDecoder):
    """Bitmask rows: lane c takes the value after ``popcount(mask[:c])`` earlier values."""

    def parse(self, m, window, level, advance):
        c, wb = self._cfg.cols, self._cfg.weight_width
        mask, values = window[:c], window[c:]
        lanes = []
        for lane in range(c):
            before = _popcount(mask[:lane]) if lane else Const(0, 1)
            lanes.append(Mux(mask[lane], values.word_select(before, wb), 0))
        length = Signal(range(self.window + 1))
        ok = Signal()
        m.d.comb += [
            length.eq(c + _popcount(mask) * wb),
            ok.eq((level >= c) & (level >= length)),
        ]
        return ok, length, lanes


class CSRDecoder(WeightDecoder):
    """CSR rows: a count, then (lane, value) pairs at fixed offsets."""

    def parse(self, m, window, level, advance):
        c, wb = self._cfg.cols, self._cfg.weight_width
        cw, lw = self._fields["count"], self._fields["lane"]
        count = window[:cw]
        pairs = [(window[cw + i * (lw + wb):][:lw], window[cw + i * (lw + wb) + lw:][:wb])
                 for i in range(c)]
        lanes = []
        for lane in range(c):
            value = Const(0, wb)
            for i, (index, v) in enumerate(pairs):
                value = Mux((i < count) & (index == lane), v, value)
            lanes.append(value)
        length = Signal(range(self.window + 1))
        ok = Signal()
        m.d.comb += [
            length.eq(cw + count * (lw + wb)),
            ok.eq((level >= cw) & (level >= length)),
        ]
        return ok, length, lanes


class NMDecoder(WeightDecoder):
    """N:M groups, one record per M K positions. For a dense array, row j of the group takes,
    per lane, the slot whose index is j (M rows). For an N:M sparse array, row s is slot s
    itself, value and index (N rows): the PEs select activations by the index."""

    def parse(self, m, window, level, advance):
        cfg = self._cfg
        c, wb = cfg.cols, cfg.weight_width
        n, group = cfg.nm
        ib = self._fields["index"]
        emitted = n if cfg.sparse else group
        phase = Signal(range(max(emitted, 2)), name="phase")
        with m.If(self.restart):
            m.d.sync += phase.eq(0)
        with m.Elif(advance):
            m.d.sync += phase.eq(Mux(phase == emitted - 1, 0, phase + 1))
        lanes = []
        for lane in range(c):
            slots = [(window[o:o + ib], window[o + ib:o + ib + wb])
                     for o in ((lane * n + s) * (ib + wb) for s in range(n))]
            if cfg.sparse:
                value = Cat(slots[0][1], slots[0][0])
                for s, (index, v) in enumerate(slots[1:], start=1):
                    value = Mux(phase == s, Cat(v, index), value)
            else:
                value = Const(0, wb)
                for index, v in slots:
                    value = Mux(index == phase, v, value)
            lanes.append(value)
        record = self.window
        return level >= record, Mux(phase == emitted - 1, record, 0), lanes


class RLEDecoder(WeightDecoder):
    """Run-length entries read C at a time: the entries ending inside the current row are placed
    and consumed; a run crossing rows is carried as a negative start offset."""

    def parse(self, m, window, level, advance):
        cfg = self._cfg
        c, wb, rw = cfg.cols, cfg.weight_width, self._fields["run"]
        entry = rw + wb
        span = signed(rw + (c + 1).bit_length() + 3)
        # Where the next unconsumed entry's zeros start, relative to the current row.
        start = Signal(span, name="start")
        ends, consumed, values = [], [], []
        covered = start - 1
        for i in range(c):
            run = window[i * entry:i * entry + rw]
            end = Signal(span, name=f"end_{i}")
            m.d.comb += end.eq(covered + run + 1)
            covered = end
            ends.append(end)
            values.append(window[i * entry + rw:(i + 1) * entry])
            consumed.append(Signal(name=f"consumed_{i}"))
            m.d.comb += consumed[i].eq((level >= (i + 1) * entry) & (end < c))
        closed = []
        for i in range(c):
            # Row complete: an entry ends on the last lane, or the first entry past the row is
            # visible.
            closed.append(consumed[i] & (ends[i] == c - 1))
            past = (level >= (i + 1) * entry) & (ends[i] >= c)
            closed.append(past if i == 0 else past & consumed[i - 1])
        ok = Signal()
        taken = _popcount(Cat(consumed))
        m.d.comb += ok.eq(Cat(closed).any())
        lanes = []
        for lane in range(c):
            value = Const(0, wb)
            for i in range(c):
                value = Mux(consumed[i] & (ends[i] == lane), values[i], value)
            lanes.append(value)
        advanced = sum((Mux(consumed[i], window[i * entry:i * entry + rw] + 1, 0)
                        for i in range(c)), Const(0, unsigned(1)))
        with m.If(self.restart):
            m.d.sync += start.eq(0)
        with m.Elif(advance):
            m.d.sync += start.eq(start + advanced - c)
        return ok, taken * entry, lanes


_DECODERS = {"bitmask": BitmaskDecoder, "nm": NMDecoder, "csr": CSRDecoder,
             "rle": RLEDecoder}


def weight_decoder(cfg):
    """The decoder for ``cfg.weight_format`` (``None`` for ``dense``)."""
    if cfg.weight_format == "dense":
        return None
    return _DECODERS[cfg.weight_format](cfg)
