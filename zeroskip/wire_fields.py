"""Bit widths of the compressed ``weights`` stream (and of the bias rows on the
``activations`` stream), shared by their two implementations.

The hardware decoders (:mod:`zeroskip.hdl.decoders`) and the NumPy wire format
(:mod:`zeroskip.models.wire`) must agree on every field width, on the largest record a
decoder has to see at once and on its bit buffer. Both import them from here, and this module
imports nothing, so neither implementation depends on the other. The record layouts
themselves are documented in :mod:`zeroskip.models.wire`.
"""

__all__ = ["bits_for", "word_width", "bias_beats", "RecordFields", "BitmaskFields", "NMFields",
           "CSRFields",
           "RLEFields", "RECORD_FIELDS", "record_fields", "field_widths", "max_need_bits",
           "decoder_buffer_bits"]


def bits_for(n):
    """Bits to hold the integers 0 .. ``n`` (at least 1)."""
    return max(1, int(n).bit_length())


def word_width(cfg):
    """Bits per compressed word: the width of a dense weight row, so one bus carries
    either."""
    return cfg.cols * cfg.weight_width


def bias_beats(cfg):
    """Activation rows that carry one bias row (``cfg.bias``): the C biases of
    ``acc_width`` bits, lane 0 in the lowest bits, cut into rows of ``k_per_fold``
    activation lanes (the last row zero-padded)."""
    row_bits = cfg.k_per_fold * cfg.act_width
    return -(-cfg.cols * cfg.acc_width // row_bits)


class RecordFields:
    """The fields of one format's records and the largest window a decoder parses."""

    name = None

    def fields(self, cfg):
        """``{field: width}`` of a record."""
        raise NotImplementedError

    def max_need(self, cfg):
        """The most bits a decoder must see at once to emit a row."""
        raise NotImplementedError


class BitmaskFields(RecordFields):
    """A row: a C-bit mask, then up to C values."""

    name = "bitmask"

    def fields(self, cfg):
        return {"mask": cfg.cols, "value": cfg.weight_width}

    def max_need(self, cfg):
        return cfg.cols + cfg.cols * cfg.weight_width


class NMFields(RecordFields):
    """A group of M K positions: per lane, N (index, value) slots."""

    name = "nm"

    def fields(self, cfg):
        return {"index": bits_for(cfg.nm[1] - 1), "value": cfg.weight_width}

    def max_need(self, cfg):
        n, _ = cfg.nm
        return cfg.cols * n * (self.fields(cfg)["index"] + cfg.weight_width)


class CSRFields(RecordFields):
    """A row: a count, then that many (lane, value) pairs."""

    name = "csr"

    def fields(self, cfg):
        return {"count": bits_for(cfg.cols), "lane": bits_for(cfg.cols - 1),
                "value": cfg.weight_width}

    def max_need(self, cfg):
        f = self.fields(cfg)
        return f["count"] + cfg.cols * (f["lane"] + cfg.weight_width)


class RLEFields(RecordFields):
    """(run, value) entries; a row is complete once C entries' worth are visible."""

    name = "rle"

    def fields(self, cfg):
        return {"run": cfg.rle_run_width, "value": cfg.weight_width}

    def max_need(self, cfg):
        return cfg.cols * (cfg.rle_run_width + cfg.weight_width)


RECORD_FIELDS = {f.name: f for f in (BitmaskFields(), NMFields(), CSRFields(), RLEFields())}


def record_fields(cfg):
    """The :class:`RecordFields` of ``cfg.weight_format``; ``ValueError`` for ``dense``."""
    try:
        return RECORD_FIELDS[cfg.weight_format]
    except KeyError:
        raise ValueError(f"weight_format {cfg.weight_format!r} has no compressed "
                         f"records") from None


def field_widths(cfg):
    """Field widths of ``cfg.weight_format``'s records."""
    return record_fields(cfg).fields(cfg)


def max_need_bits(cfg):
    """The most bits a decoder must see at once to emit a row (its largest record or
    window)."""
    return record_fields(cfg).max_need(cfg)


def decoder_buffer_bits(cfg):
    """Size of a decoder's bit buffer: a full window plus one word, so a word can always be
    accepted while the buffer holds less than the largest window."""
    return max_need_bits(cfg) + word_width(cfg)
