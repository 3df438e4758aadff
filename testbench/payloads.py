"""Stream payload words <-> NumPy rows, through the payload layouts of
:mod:`zeroskip.hdl.layouts`."""

import numpy as np
from amaranth.hdl import Const, Shape
from amaranth.lib import data

from zeroskip.hdl.layouts import (activation_row_layout, command_layout, compressed_word_layout,
                                  result_row_layout, weight_row_layout)
from zeroskip.models.streams import pack_weights
from zeroskip.models.wire import compressed_weight_words

__all__ = ["command_word", "activation_words", "weight_words", "compressed_words",
           "weights_stream_words", "decode_weight_rows", "decode_results",
           "result_last_bit"]


def _words(layout, rows):
    """Pack rows into payload words. An array of plain integers is packed directly, lane i at
    bit i·width: a GEMM's streams run to tens of thousands of words, and building an
    Amaranth constant per word costs seconds of testbench time. Other layouts (structs) go
    through ``layout.const``."""
    if isinstance(layout, data.ArrayLayout) and isinstance(layout.elem_shape, Shape):
        width = layout.elem_shape.width
        mask = (1 << width) - 1
        words = []
        for row in rows:
            word = 0
            for i, x in enumerate(row):
                word |= (int(x) & mask) << (i * width)
            words.append(word)
        return words
    return [Const.cast(layout.const([int(x) for x in row])).value for row in rows]


def result_last_bit(cfg):
    """Bit position of ``last`` in a ``results`` word, to spot the final row without decoding
    the word."""
    return result_row_layout(cfg)["last"].offset


def command_word(cfg, m, k, n, requant=None):
    """The ``cmd`` payload; ``requant`` is ``(mult, shift, relu)`` or ``None`` (raw
    accumulators), and needs ``cfg.output_stage``."""
    fields = {"m": m, "k": k, "n": n}
    if cfg.output_stage:
        mult, shift, relu = requant if requant is not None else (0, 0, False)
        fields.update(requant=requant is not None, relu=bool(relu), mult=mult, shift=shift)
    elif requant is not None:
        raise ValueError("requant needs a configuration with output_stage = true")
    return Const.cast(command_layout(cfg).const(fields)).value


def activation_words(cfg, rows):
    return _words(activation_row_layout(cfg), rows)


def weight_words(cfg, rows):
    return _words(weight_row_layout(cfg), rows)


def compressed_words(cfg, words):
    """Compressed stream words (ints) as ``weights`` payloads, ``last`` on the final one."""
    layout = compressed_word_layout(cfg)
    return [Const.cast(layout.const({"data": word, "last": i == len(words) - 1})).value
            for i, word in enumerate(words)]


def weights_stream_words(cfg, w, m):
    """The ``weights`` stream for ``A[m×K] · w`` in the engine's ``weight_format``."""
    if cfg.weight_format == "dense":
        return weight_words(cfg, pack_weights(cfg, w, m))
    return compressed_words(cfg, compressed_weight_words(cfg, w, m).words)


def decode_weight_rows(cfg, words):
    """Weight row words -> ``[rows, C]`` int64 array."""
    layout = weight_row_layout(cfg)
    rows = [[layout.from_bits(word)[c] for c in range(cfg.cols)] for word in words]
    return np.array(rows, dtype=np.int64).reshape(-1, cfg.cols)


def decode_results(cfg, words):
    """Result words -> (``[rows, C]`` int64 array, ``last`` flags as a list of bool)."""
    layout = result_row_layout(cfg)
    data, last = [], []
    for word in words:
        row = layout.from_bits(word)
        data.append([row.data[c] for c in range(cfg.cols)])
        last.append(bool(row.last))
    return np.array(data, dtype=np.int64).reshape(-1, cfg.cols), last
