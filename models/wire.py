"""Wire formats of the compressed ``weights`` stream: what the hardware weight decoders read.

With ``weight_format`` other than ``dense`` the engine's ``weights`` port takes words of
:func:`word_width` bits (``C × weight_width``, the width of a dense weight row, so the same
bus carries either) with a ``last`` flag on the final word of each GEMM. The words carry a bit
stream, least significant bit first, that encodes the engine's weight rows:

* the rows are those of :func:`~zeroskip.models.streams.pack_weights`, except that every fold
  has exactly ``k_per_fold`` rows (R; R·M/N K positions for an N:M sparse array) (the zero
  rows past K are sent, costing almost nothing compressed, so the decoder needs no knowledge
  of the GEMM's shape);
* the rows are cut into *records* as below; records follow each other with no alignment, and
  the last word is padded with zeros.

Records (``wb`` = weight_width; values are two's complement when signed):

bitmask
    Per row: a C-bit mask (bit c set when lane c is non-zero), then the non-zero values in lane
    order, ``wb`` bits each. This is :mod:`~zeroskip.models.codecs`' bitmask of the row stream
    with one group per row.
nm
    Per group of M rows (M consecutive K positions): for each lane, N slots of (index:
    log2(M) bits, value: ``wb`` bits) as :mod:`~zeroskip.models.codecs`' ``nm`` stores them
    (indices strictly increasing, unused slots value 0). Requires M to divide R (dense
    array) or N to divide R (N:M sparse array, whose decoder emits the N slots of each
    group, value and index, as N rows rather than M dense rows).
csr
    Per row: a count of non-zeros (``bits(C)`` bits), then that many (lane: ``bits(C-1)`` bits,
    value) pairs in lane order: CSR of the row stream, pointers sent as per-row counts. (CSC
    is the other orientation of the same codec; the engine consumes rows, so its decoder
    reads CSR.)
rle
    Entries (run: ``rle_run_width`` bits, value: ``wb`` bits) over the row stream read row
    by row: ``run`` zeros, then ``value``. Runs may cross rows; longer runs use entries with
    value 0, which stand for ``run + 1`` zeros; the final entry ends on the last lane of the
    last row (trailing zeros are explicit, so a decoder knows no row count).

Besides the words, :func:`encode_weight_stream` returns for every decoded row the bits a
decoder must hold to emit it (``need``) and the bits it then consumes (``consume``): the
hardware decoders emit a row in the first cycle their buffer holds ``need`` bits, which is what
the cycle model replays.
"""

from dataclasses import dataclass

import numpy as np

from ..wire_fields import (BitmaskFields, CSRFields, NMFields, RLEFields, decoder_buffer_bits,
                           field_widths, max_need_bits, word_width)
from .codecs import encode
from .folds import fold_sequence
from .gemm import wrap

__all__ = ["WireStream", "WireFormat", "BitmaskWire", "NMWire", "CSRWire", "RLEWire",
           "WIRE_FORMATS", "wire_format", "word_width", "field_widths", "max_need_bits",
           "decoder_buffer_bits", "padded_weight_rows", "encode_weight_stream",
           "decode_weight_stream", "compressed_weight_words"]


@dataclass
class WireStream:
    """An encoded row stream: ``words`` (ints of ``word_width`` bits, the last one flagged
    ``last``), ``bits`` (the stream's length before padding), the decoded ``rows`` and, per
    row, ``need``/``consume`` in bits."""

    words: list
    bits: int
    rows: np.ndarray
    need: list
    consume: list


def padded_weight_rows(cfg, w, m):
    """The engine's weight rows (dense K positions) for ``A[m×K] · w`` with every fold padded
    to ``k_per_fold`` rows."""
    k, n = w.shape
    blocks = [np.zeros((0, cfg.cols), dtype=np.int64)]
    for f in fold_sequence(cfg, m, k, n):
        block = np.zeros((cfg.k_per_fold, cfg.cols), dtype=np.int64)
        block[:f.k_rows, :f.n_cols] = w[f.k_base:f.k_base + f.k_rows,
                                        f.n_base:f.n_base + f.n_cols]
        blocks.append(block)
    return np.concatenate(blocks)


class _BitWriter:
    def __init__(self):
        self.values, self.widths = [], []
        self.position = 0

    def put(self, value, width):
        self.values.append(int(value) & ((1 << width) - 1))
        self.widths.append(width)
        self.position += width

    def words(self, width):
        widths = np.array(self.widths, dtype=np.int64)
        values = np.array(self.values, dtype=object)
        total = int(widths.sum())
        padded = -(-total // width) * width
        bits = np.zeros(padded, dtype=np.uint8)
        if total:
            owner = np.repeat(np.arange(len(widths)), widths)
            offset = np.arange(total) - np.repeat(np.cumsum(widths) - widths, widths)
            # Fields are at most 16 bits wide, so int64 arithmetic is exact.
            bits[:total] = (values[owner].astype(np.int64) >> offset) & 1
        words = [int.from_bytes(np.packbits(chunk, bitorder="little").tobytes(), "little")
                 for chunk in bits.reshape(-1, width)]
        return words, total


class _BitReader:
    def __init__(self, words, width):
        self.bits = np.unpackbits(
            np.frombuffer(b"".join(w.to_bytes(-(-width // 8), "little") for w in words),
                          dtype=np.uint8), bitorder="little").reshape(-1, -(-width // 8) * 8)
        self.bits = self.bits[:, :width].reshape(-1)
        self.pos = 0

    def get(self, width):
        if self.pos + width > len(self.bits):
            raise ValueError(f"compressed weight stream ends at bit {len(self.bits)} inside a "
                             f"record (reading {width} bits at bit {self.pos})")
        chunk = self.bits[self.pos:self.pos + width]
        self.pos += width
        return int(sum(int(b) << i for i, b in enumerate(chunk)))


class WireFormat:
    """A compressed format's records on the wire: :meth:`encode` writes a row stream's
    records and says, per decoded row, the bits a decoder needs and consumes; :meth:`decode`
    parses rows back as the hardware does. Field widths and ``max_need`` come from the
    format's :class:`~zeroskip.wire_fields.RecordFields`, which the hardware decoder shares;
    each subclass mirrors the decoder of :mod:`zeroskip.hdl.decoders` of the same name."""

    def encode(self, cfg, rows, out, need, consume):
        raise NotImplementedError

    def decode(self, cfg, bits, n_rows, value):
        """``[n_rows, C]`` rows from the bit reader ``bits``; ``value()`` reads one weight."""
        raise NotImplementedError


class BitmaskWire(BitmaskFields, WireFormat):
    """Per row: a C-bit mask, then the row's non-zero values in lane order."""

    def encode(self, cfg, rows, out, need, consume):
        c, wb = cfg.cols, cfg.weight_width
        enc = encode(cfg, rows.T, "bitmask", group=c)
        values = iter(enc.arrays["values"])
        for mask in enc.arrays["masks"][0]:
            start = out.position
            out.put(mask, c)
            for _ in range(bin(int(mask)).count("1")):
                out.put(next(values), wb)
            need.append(out.position - start)
            consume.append(out.position - start)

    def decode(self, cfg, bits, n_rows, value):
        rows = np.zeros((n_rows, cfg.cols), dtype=np.int64)
        for r in range(n_rows):
            mask = bits.get(cfg.cols)
            for lane in range(cfg.cols):
                if mask >> lane & 1:
                    rows[r, lane] = value()
        return rows


class CSRWire(CSRFields, WireFormat):
    """Per row: a count, then that many (lane, value) pairs in lane order."""

    def encode(self, cfg, rows, out, need, consume):
        f = self.fields(cfg)
        enc = encode(cfg, rows, "csr")
        p, idx, val = enc.arrays["pointers"], enc.arrays["indices"], enc.arrays["values"]
        for r in range(len(rows)):
            start = out.position
            out.put(p[r + 1] - p[r], f["count"])
            for i in range(p[r], p[r + 1]):
                out.put(idx[i], f["lane"])
                out.put(val[i], cfg.weight_width)
            need.append(out.position - start)
            consume.append(out.position - start)

    def decode(self, cfg, bits, n_rows, value):
        f, c = self.fields(cfg), cfg.cols
        rows = np.zeros((n_rows, c), dtype=np.int64)
        for r in range(n_rows):
            count = bits.get(f["count"])
            if count > c:
                raise ValueError(f"csr row {r}: count {count} exceeds cols={c}")
            previous = -1
            for _ in range(count):
                lane = bits.get(f["lane"])
                if not previous < lane < c:
                    raise ValueError(f"csr row {r}: lane {lane} after lane {previous}")
                rows[r, lane] = value()
                previous = lane
        return rows


class NMWire(NMFields, WireFormat):
    """Per group of M rows: for each lane, N (index, value) slots."""

    def encode(self, cfg, rows, out, need, consume):
        f = self.fields(cfg)
        n, m = cfg.nm
        enc = encode(cfg, rows, "nm", nm=(n, m))
        for g_values, g_indices in zip(enc.arrays["values"], enc.arrays["indices"]):
            start = out.position
            for lane_values, lane_indices in zip(g_values, g_indices):
                for value, index in zip(lane_values, lane_indices):
                    out.put(index, f["index"])
                    out.put(value, cfg.weight_width)
            size = out.position - start
            # The dense decoder emits the group's M rows, the sparse array's decoder its N
            # slots; either way the record goes with the last.
            emitted = n if cfg.sparse else m
            need += [size] * emitted
            consume += [0] * (emitted - 1) + [size]

    def decode(self, cfg, bits, n_rows, value):
        f = self.fields(cfg)
        n, m = cfg.nm
        rows = np.zeros((n_rows, cfg.cols), dtype=np.int64)
        for g in range(0, n_rows, m):
            for lane in range(cfg.cols):
                previous = -1
                for _ in range(n):
                    index = bits.get(f["index"])
                    v = value()
                    if index <= previous or index >= m:
                        raise ValueError(f"nm group at row {g}, lane {lane}: index {index} "
                                         f"after {previous}")
                    if g + index < n_rows:
                        rows[g + index, lane] = v
                    previous = index
        return rows


class RLEWire(RLEFields, WireFormat):
    """(run, value) entries over the row stream read row by row; runs may cross rows, the
    final entry ends on the last lane of the last row."""

    def encode(self, cfg, rows, out, need, consume):
        c, run_width = cfg.cols, cfg.rle_run_width
        entry = run_width + cfg.weight_width
        flat = rows.reshape(-1, 1)
        enc = encode(cfg, flat, "rle", run_width=run_width)
        runs, values = list(enc.arrays["runs"]), list(enc.arrays["values"])
        covered = sum(r + 1 for r in runs)
        trailing = flat.shape[0] - covered
        while trailing:
            run = min(trailing, 1 << run_width) - 1
            runs.append(run)
            values.append(0)
            trailing -= run + 1
        for run, value in zip(runs, values):
            out.put(run, run_width)
            out.put(value, cfg.weight_width)
        # Per row: the entries ending in it are consumed; the row is known complete when its
        # last entry ends on lane C-1 or the next entry is visible and ends past the row.
        ends = np.cumsum(np.array(runs, dtype=np.int64) + 1) - 1
        row_of_end = ends // c
        first = 0
        for r in range(len(rows)):
            last = first
            while last < len(ends) and row_of_end[last] == r:
                last += 1
            k = last - first
            closed = k > 0 and ends[last - 1] % c == c - 1
            need.append((k if closed else k + 1) * entry)
            consume.append(k * entry)
            first = last

    def decode(self, cfg, bits, n_rows, value):
        rows = np.zeros((n_rows, cfg.cols), dtype=np.int64)
        flat = rows.reshape(-1)
        pos = 0
        while pos < flat.size:
            pos += bits.get(cfg.rle_run_width)
            v = value()
            if pos >= flat.size:
                raise ValueError(f"rle entry ends at position {pos}, past the "
                                 f"{flat.size} weights")
            flat[pos] = v
            pos += 1
        return rows


WIRE_FORMATS = {f.name: f for f in (BitmaskWire(), NMWire(), CSRWire(), RLEWire())}


def wire_format(cfg):
    """The :class:`WireFormat` of ``cfg.weight_format``; ``ValueError`` for ``dense``."""
    try:
        return WIRE_FORMATS[cfg.weight_format]
    except KeyError:
        raise ValueError(f"weight_format {cfg.weight_format!r} has no wire encoding") from None


def encode_weight_stream(cfg, rows):
    """Encode weight rows ``[rows, C]`` (whole folds of ``k_per_fold`` rows) in
    ``cfg.weight_format``.

    Raises ``ValueError`` for values out of range, N:M violations, or a row count that is not
    a whole number of folds.
    """
    fmt = wire_format(cfg)
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != cfg.cols or rows.shape[0] % cfg.k_per_fold:
        raise ValueError(f"weight rows must be [multiple of {cfg.k_per_fold}, {cfg.cols}], "
                         f"not shape {rows.shape}")
    out, need, consume = _BitWriter(), [], []
    fmt.encode(cfg, rows, out, need, consume)
    words, total = out.words(word_width(cfg))
    return WireStream(words=words, bits=total, rows=rows.astype(np.int64), need=need,
                      consume=consume)


def decode_weight_stream(cfg, words, n_rows):
    """Parse ``n_rows`` weight rows from compressed ``words``, as the hardware decoder does.

    Raises ``ValueError`` if the words end inside a record or a record is malformed (a count
    over C, lanes not increasing, an N:M index repeated).
    """
    fmt = wire_format(cfg)
    bits = _BitReader(words, word_width(cfg))

    def value():
        return int(wrap(bits.get(cfg.weight_width), cfg.weight_width, cfg.weight_signed))

    return fmt.decode(cfg, bits, n_rows, value)


def compressed_weight_words(cfg, w, m):
    """The ``weights`` stream of a compressed-format engine for ``A[m×K] · w``."""
    return encode_weight_stream(cfg, padded_weight_rows(cfg, w, m))
