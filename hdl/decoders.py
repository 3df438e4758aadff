"""Streaming weight decoders: compressed words in, dense weight rows out.

Each decoder reads the wire format of :mod:`zeroskip.models.wire` (the specification; this
module follows it field for field). They share one structure, :class:`WeightDecoder`:

* a bit buffer of ``decoder_buffer_bits`` bits (a window plus one word) takes a word whenever
  it holds at most ``window`` bits, appending it above the bits it holds;
* a format parser looks at the lowest ``window`` bits and says whether they hold a complete
  row (``ok``), what the row is and how many bits it uses (``consume``); these are registered;
* in the next cycle a registered complete row is written into a FIFO of R decoded rows (the
  ``rows`` stream), and its bits are shifted out of the buffer, which takes no word in that
  cycle.

Throughput: at most one row every two cycles, and never more bits per cycle than a word brings
in. A row's bits are ``consume`` of :func:`~zeroskip.models.wire.encode_weight_stream`. The
engine needs R rows per fold and a fold lasts at least ``2R + C - 1`` cycles, so two cycles a
row keep up, and rows of up to about a word (bitmask for int8 below 7/8 density, CSR below
about 2/3, RLE below ``wb/(wb+run)``, N:M always) cost no cycle after a command's first fold.
Denser rows take about ``bits/word`` cycles to arrive, and even a fully dense bitmask or CSR
stream (1.125 and 1.4 words per row for 8×8 int8) nearly keeps up: the row FIFO lets the
decoder work through the next fold while the current one computes; see
``benchmarks/decoding.py`` for measured engine cycles.

Members (all decoders)
----------------------
words : In(stream.Signature(compressed_word_layout))
    Compressed words, taken from a ``restart`` on; ``last`` marks a GEMM's final word, after
    which no word is taken until the next ``restart`` (nor any after a reset until the first).
rows : Out(stream.Signature(weight_row_layout))
    Decoded weight rows.
restart : In(1)
    Drop everything buffered (the padding after a ``last`` word) and start a new stream: words
    are taken from the next cycle on if ``stream_follows``.
stream_follows : In(1)
    In the ``restart`` cycle: a stream of words follows. The engine restarts its decoder with
    every command and clears this for a command without work (a zero dimension), which has
    no weights.
"""

import math
from typing import NamedTuple

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal, signed
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..wire_fields import decoder_buffer_bits, field_widths, max_need_bits, word_width
from .layouts import compressed_word_layout, weight_row_layout

__all__ = ["WeightDecoder", "RowLength", "BitmaskDecoder", "NMDecoder", "CSRDecoder",
           "RLEDecoder", "weight_decoder"]


def _popcount(bits):
    return sum((bits[i] for i in range(len(bits))), Const(0, range(len(bits) + 1)))


def _power_of_two_factor(n):
    return n & -n


def _choose(select, values):
    """``values[select]`` as a chain of multiplexers (the last value when out of range)."""
    chosen = values[-1]
    for i, value in enumerate(values[:-1]):
        chosen = Mux(select == i, value, chosen)
    return chosen


class RowLength(NamedTuple):
    """The bits a row uses: ``base + select * unit``, with ``select`` at most ``most`` (a
    larger ``select`` is taken as ``most``)."""
    select: object
    base: int
    unit: int
    most: int


class ParseView(NamedTuple):
    """What a parser sees. ``window``: the buffer's lowest ``window`` bits, of which
    ``level`` are valid. ``settled_window`` and ``settled_level``: the same after this
    cycle's emitted row has left the buffer and before any word arrives (a parser that
    registers what it derives from the buffer loads it from these, so that it holds in the
    next cycle for every bit the buffer held before the word). ``load``: the cycles the
    decoder registers the parse; ``advance``: the cycle after, when that row is emitted and
    its bits leave the buffer."""
    window: object
    level: object
    settled_window: object
    settled_level: object
    load: object
    advance: object


class WeightDecoder(wiring.Component):
    """Common bit buffer and output stage; subclasses define :meth:`parse`."""

    def __init__(self, cfg):
        self._cfg = cfg
        self._fields = field_widths(cfg)
        super().__init__({
            "words": In(stream.Signature(compressed_word_layout(cfg))),
            "rows": Out(stream.Signature(weight_row_layout(cfg))),
            "restart": In(1),
            "stream_follows": In(1, init=1),
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

    # A parser that sees a word one cycle after it arrives (see :class:`ParseView`); the
    # cycle model replays that (zeroskip.models.cycles).
    SEES_WORDS_LATE = False

    def parse(self, m, view):
        """Return ``(ok, length, lanes)`` for ``view`` (a :class:`ParseView`): whether the
        buffer holds a complete row (``None``: once ``view.level`` covers the bits it uses),
        the bits it uses (a :class:`RowLength`), and its lanes. The decoder registers them in
        cycles with ``view.load``; ``view.advance`` is high in the cycle after, when the row
        registered there is emitted and its bits leave the buffer. A parser with state steps
        it on ``advance``, from values it registered with ``load``."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        size, word = self.buffer_bits, word_width(cfg)
        buffer = Signal(size)
        level = Signal(range(size + 1))
        last_seen = Signal(init=1)
        # A row takes two cycles: in the first the parser's results are registered
        # (``parsed`` rises if they hold a complete row and the FIFO has room), in the
        # second that row is written to the FIFO and its bits leave the buffer, which takes
        # no word in that cycle. So no path runs from the buffer through the parse into the
        # buffer: the parse ends at registers, and the buffer's next value is chosen by
        # flip-flops alone, among the word appended at the registered level and the buffer
        # shifted by the registered length. In one cycle, buffer → parse → shift → buffer
        # was the critical path of every decoder but N:M (4×4 on ECP5: bitmask 115, CSR 105,
        # RLE 80 MHz). Two cycles a row are enough for the array: a fold takes R rows and
        # lasts at least 2R + C - 1 cycles, and the FIFO of R rows lets the decoder work a
        # fold ahead; the cycle model replays it.
        parsed = Signal(name="parsed")
        load = Signal()
        m.d.comb += load.eq(~parsed)
        settled_window = Signal(self.window)
        settled_level = Signal.like(level)
        ok, length, lanes = self.parse(m, ParseView(buffer[:self.window], level, settled_window,
                                                    settled_level, load, parsed))
        # A row has one of a few lengths, so shifting it out is a small multiplexer, not a
        # barrel shifter. (Multiplying ``select`` by ``unit`` instead, Yosys maps the product
        # to a DSP block.) The level's candidates are Mux chains, not a Switch: Icarus never
        # evaluates a Verilog `always @*` whose inputs keep their initial values, and such a
        # block left them X before the first word.
        lengths = [length.base + i * length.unit for i in range(length.most + 1)]
        # The level counts granules: the largest power of two that divides the word and every
        # length. Its low bits are then constant, and the word lands in one of few positions.
        grain = _power_of_two_factor(math.gcd(word, *lengths))
        held = Signal(range(size // grain + 1))
        m.d.comb += level.eq(Cat(Const(0, grain.bit_length() - 1), held))
        # The parsed row and its length. They load in every cycle but the emitting one,
        # whether or not the row is complete (``parsed`` says whether it counts), so that
        # their enable is a flip-flop, not the parse's decision.
        row = Signal(weight_row_layout(cfg), name="parsed_row", reset_less=True)
        select = Signal.like(length.select, name="parsed_length", reset_less=True)
        with m.If(load):
            m.d.sync += [row[c].eq(lane) for c, lane in enumerate(lanes)]
            m.d.sync += select.eq(length.select)
        incoming = Signal()
        appended = Signal(size)
        consumed = Signal(size)
        with m.Switch(select):
            for i, bits in enumerate(lengths):
                with m.Case(i) if i < length.most else m.Default():
                    m.d.comb += consumed.eq(buffer >> bits)
        # The buffer and level once this cycle's row has left, before any word arrives.
        held_settled = Signal.like(held)
        m.d.comb += [
            held_settled.eq(Mux(parsed, _choose(select, [held - bits // grain
                                                          for bits in lengths]), held)),
            settled_level.eq(Cat(Const(0, grain.bit_length() - 1), held_settled)),
            settled_window.eq(Mux(parsed, consumed, buffer)[:self.window]),
        ]
        # Whether the buffer holds a row of each length: registers (``enough``), loaded like
        # ``room_next`` below with compares of the registered level with constants, so ``ok``
        # is a choice among flip-flops.
        enough = None
        if ok is None:
            # An empty buffer holds no row: every row has bits (bitmask's mask, CSR's count).
            assert min(lengths) > 0, lengths
            enough = Signal(len(lengths), name="enough")
            ok = _choose(length.select, [enough[i] for i in range(len(lengths))])

        # Decoded rows queue in a FIFO of R rows (distributed RAM on FPGAs): the decoder can run
        # a whole fold ahead while the array waits, so only average throughput matters.
        m.submodules.row_fifo = row_fifo = ResetInserter(self.restart)(
            fifo.SyncFIFO(width=weight_row_layout(cfg).size, depth=self.fifo_depth))
        # The FIFO has room in the emitting cycle if it had in the cycle before: only the
        # decoder writes, and never in two cycles in a row.
        parsed_next = Signal()
        m.d.comb += [
            parsed_next.eq(load & ok & row_fifo.w_rdy),
            row_fifo.w_en.eq(parsed),
            row_fifo.w_data.eq(row),
            self.rows.valid.eq(row_fifo.r_rdy),
            self.rows.payload.eq(row_fifo.r_data),
            row_fifo.r_en.eq(self.rows.ready),
        ]

        # ``ready`` is a register (``taking``): the next cycle's "a stream runs, its last word
        # is not in, the buffer has room for a word, and no row leaves it". It gates the word
        # into every buffer bit, and from the engine's running flag it was the critical path
        # (8.5 ns at 8×8 2:4). The room test is chosen like the next level, among compares of
        # the registered level with constants.
        taking = Signal(name="taking")
        held_next = Signal.like(held)
        enough_next = None if enough is None else Signal.like(enough)
        room_next = Signal()
        last_next = Signal()
        bound = (size - word) // grain

        def room_after(delta):
            """Whether the level after adding ``delta`` granules leaves room for a word."""
            limit = bound - delta
            return Const(0) if limit < 0 else held <= limit

        def enough_after(delta):
            """Per length, whether the level after adding ``delta`` granules holds it."""
            return Cat(Const(1) if bits // grain - delta <= 0 else held >= bits // grain - delta
                       for bits in lengths)

        def after_row(after):
            """Next cycle's ``after(d)`` (a function of the level changed by ``d`` granules)
            when the registered row's bits leave the buffer."""
            return _choose(select, [after(-(bits // grain)) for bits in lengths])

        m.d.comb += [
            self.words.ready.eq(taking),
            incoming.eq(self.words.valid & taking),
        ]
        step = word // grain
        # An If, not a Mux: a Verilog simulator then ignores a `valid` the testbench has not
        # driven yet (X) instead of spreading it into the buffer. (``taking`` is low while a
        # row leaves, so no word arrives then.)
        with m.If(parsed):
            m.d.comb += [
                appended.eq(buffer),
                held_next.eq(held_settled),
                room_next.eq(after_row(room_after)),
                last_next.eq(last_seen),
            ]
            if enough is not None:
                m.d.comb += enough_next.eq(after_row(enough_after))
        with m.Elif(incoming):
            m.d.comb += [
                appended.eq(buffer | (self.words.payload.data << level)[:size]),
                held_next.eq(held + step),
                room_next.eq(room_after(step)),
                last_next.eq(self.words.payload.last),
            ]
            if enough is not None:
                m.d.comb += enough_next.eq(enough_after(step))
        with m.Else():
            m.d.comb += [
                appended.eq(buffer),
                held_next.eq(held),
                room_next.eq(room_after(0)),
                last_next.eq(last_seen),
            ]
            if enough is not None:
                m.d.comb += enough_next.eq(enough_after(0))
        if enough is not None:
            m.d.sync += enough.eq(enough_next)
        m.d.sync += [
            buffer.eq(Mux(parsed, consumed, appended)),
            held.eq(held_next),
            last_seen.eq(last_next),
            parsed.eq(parsed_next),
            taking.eq(~last_next & room_next & ~parsed_next),
        ]
        # last_seen is set from a reset on, so no word is taken before the first restart.
        # (stream_follows reaches only these two flip-flops: the engine derives it from the
        # command's dimensions, and as part of the restart it had been the critical path.)
        with m.If(self.restart):
            m.d.sync += [buffer.eq(0), held.eq(0), last_seen.eq(~self.stream_follows),
                         taking.eq(self.stream_follows), parsed.eq(0)]
            if enough is not None:
                m.d.sync += enough.eq(0)
        return m


class BitmaskDecoder(WeightDecoder):
    """Bitmask rows: lane c takes the value after ``popcount(mask[:c])`` earlier values."""

    def parse(self, m, view):
        c, wb = self._cfg.cols, self._cfg.weight_width
        mask, values = view.window[:c], view.window[c:]
        lanes = []
        for lane in range(c):
            before = _popcount(mask[:lane]) if lane else Const(0, 1)
            lanes.append(Mux(mask[lane], values.word_select(before, wb), 0))
        return None, RowLength(_popcount(mask), c, wb, c), lanes


class CSRDecoder(WeightDecoder):
    """CSR rows: a count, then (lane, value) pairs at fixed offsets."""

    def parse(self, m, view):
        c, wb = self._cfg.cols, self._cfg.weight_width
        cw, lw = self._fields["count"], self._fields["lane"]
        window = view.window
        count = window[:cw]
        pairs = [(window[cw + i * (lw + wb):][:lw], window[cw + i * (lw + wb) + lw:][:wb])
                 for i in range(c)]
        lanes = []
        for lane in range(c):
            value = Const(0, wb)
            for i, (index, v) in enumerate(pairs):
                value = Mux((i < count) & (index == lane), v, value)
            lanes.append(value)
        # A count above C (a malformed stream, which the wire model refuses) is taken as C.
        return None, RowLength(count, cw, lw + wb, c), lanes


class NMDecoder(WeightDecoder):
    """N:M groups, one record per M K positions. For a dense array, row j of the group takes,
    per lane, the slot whose index is j (M rows). For an N:M sparse array, row s is slot s
    itself, value and index (N rows): the PEs select activations by the index."""

    def parse(self, m, view):
        cfg = self._cfg
        c, wb = cfg.cols, cfg.weight_width
        n, group = cfg.nm
        window = view.window
        ib = self._fields["index"]
        emitted = n if cfg.sparse else group
        phase = Signal(range(max(emitted, 2)), name="phase")
        with m.If(self.restart):
            m.d.sync += phase.eq(0)
        with m.Elif(view.advance):
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
        return view.level >= record, RowLength(phase == emitted - 1, 0, record, 1), lanes


class RLEDecoder(WeightDecoder):
    """Run-length entries read C at a time: the entries ending inside the current row are placed
    and consumed; a run crossing rows is carried into the next row.

    Entry i of the window (runs ``run_0 .. run_i`` before it, ``Q_i`` their sum) ends on lane
    ``c - G_i`` with ``G_i = room - i - Q_i``, where ``room`` (a register, ``c`` at the start)
    is ``c`` plus the zeros already placed of a run that began in an earlier row. So every
    decision is a comparison of one ``G_i`` with a constant: the entry is in this row when
    ``G_i >= 1``, closes it when ``G_i == 1``, and the next row's ``room`` is
    ``G_{t-1} + c - 1`` after ``t`` entries (``room + c`` after none). Why this form (timing):
    the ``Q_i`` are a prefix sum of the window alone (a tree, log C adders deep), the
    decisions compare them with values of ``room`` alone, and only one subtraction of them
    and a multiplexer lie between ``room`` and itself. Ends counted from the row start, as
    a first version did, put C adders in series in that loop (32 MHz on ECP5, 4×4)."""

    SEES_WORDS_LATE = True

    def parse(self, m, view):
        cfg = self._cfg
        c, wb, rw = cfg.cols, cfg.weight_width, self._fields["run"]
        entry = rw + wb
        most_room = c + 2 ** rw - 1
        room = Signal(range(most_room + 1), init=c, name="room")
        span = signed(max(most_room, c * (2 ** rw - 1)).bit_length() + 2)
        # Two register stages cut the parse (timing: in one, the prefix sums' adders, the
        # compares with room and the lane selection ran from the buffer to the row register,
        # 10.2 ns on ECP5 at 4×4). The prefix sums of the runs and whether each entry is in
        # the buffer are registered in every cycle from the settled buffer (after the
        # emitted row's bits left, before a word arrives), so they hold in the next cycle
        # for every entry they count, and a word is seen a cycle after it arrives. The values
        # come from the buffer itself: an entry counted as present is unchanged there.
        settled = view.settled_window
        sums = [Signal(range(c * (2 ** rw - 1) + 1), name=f"run_sum_{i}", reset_less=True)
                for i in range(c)]
        m.d.sync += [q.eq(t) for q, t in zip(sums, _prefix_sums(
            [settled[i * entry:i * entry + rw] for i in range(c)]))]
        present = [Signal(name=f"present_{i}") for i in range(c)]
        m.d.sync += [p.eq(view.settled_level >= (i + 1) * entry) for i, p in enumerate(present)]
        with m.If(self.restart):
            m.d.sync += [p.eq(0) for p in present]
        values = [view.window[i * entry + rw:(i + 1) * entry] for i in range(c)]
        # Every decision compares a prefix sum Q_i with ``room - k`` for a constant k: ``G_i
        # >= 1`` is ``Q_i < room - i``, ``G_i == 1`` is ``Q_i == room - i - 1``, and the entry
        # ends on lane ``lane`` when ``Q_i == room - (i + c - lane)``. The marks ``room - k``
        # are registers, loaded with room. Only the next room subtracts a sum.
        marks = [Signal(span, name=f"room_less_{k}", init=c - k) for k in range(2 * c)]
        # consumed is a thermometer code: the G_i fall strictly with i, as does present.
        consumed = [Signal(name=f"consumed_{i}") for i in range(c)]
        m.d.comb += [consumed[i].eq(present[i] & (q < marks[i])) for i, q in enumerate(sums)]
        closed = []
        for i, q in enumerate(sums):
            # Row complete: an entry ends on the last lane, or the first entry past the row is
            # visible.
            closed.append(consumed[i] & (q == marks[i + 1]))
            past = present[i] & (q >= marks[i])
            closed.append(past if i == 0 else past & consumed[i - 1])
        ok = Signal()
        taken = Signal(range(c + 1))
        m.d.comb += [ok.eq(Cat(closed).any()), taken.eq(_popcount(Cat(consumed)))]
        lanes = []
        for lane in range(c):
            # At most one entry ends on a lane (the ends rise strictly), so an OR selects it.
            hits = [Mux(consumed[i] & (q == marks[i + c - lane]), values[i], 0)
                    for i, q in enumerate(sums)]
            lanes.append(_or_tree(hits))
        # The next row's room for each count of entries taken, registered with the row; the
        # row's own count, registered beside them, chooses when it is emitted.
        options = [room + c] + [room + (c - 1 - i) - q for i, q in enumerate(sums)]
        rooms = [Signal.like(room, name=f"room_after_{t}", reset_less=True)
                 for t in range(c + 1)]
        taken_row = Signal.like(taken, name="taken_row", reset_less=True)
        with m.If(view.load):
            m.d.sync += [r.eq(o) for r, o in zip(rooms, options)]
            m.d.sync += taken_row.eq(taken)
        next_room = _choose(taken_row, rooms)
        with m.If(self.restart):
            m.d.sync += [room.eq(c)] + [mark.eq(c - k) for k, mark in enumerate(marks)]
        with m.Elif(view.advance):
            m.d.sync += [room.eq(next_room)] + [mark.eq(next_room - k)
                                                 for k, mark in enumerate(marks)]
        return ok, RowLength(taken, 0, entry, c), lanes


def _prefix_sums(terms):
    """Every prefix sum of ``terms`` in a tree (Sklansky): log2(len) adders deep."""
    if len(terms) == 1:
        return list(terms)
    half = len(terms) // 2
    low, high = _prefix_sums(terms[:half]), _prefix_sums(terms[half:])
    return low + [low[-1] + q for q in high]


def _or_tree(values):
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


_DECODERS = {"bitmask": BitmaskDecoder, "nm": NMDecoder, "csr": CSRDecoder,
             "rle": RLEDecoder}


def weight_decoder(cfg):
    """The decoder for ``cfg.weight_format`` (``None`` for ``dense``)."""
    if cfg.weight_format == "dense":
        return None
    return _DECODERS[cfg.weight_format](cfg)
