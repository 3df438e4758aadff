"""Stream payload words <-> NumPy rows, through the payload layouts of
:mod:`zeroskip.hdl.layouts`. The command word and the lane packing are
:mod:`zeroskip.host`'s, which the AXI4-Stream top's users call."""

import numpy as np
from amaranth.hdl import Const, Shape
from amaranth.lib import data

from zeroskip.hdl.layouts import (activation_row_layout, compressed_word_layout,
                                  result_row_layout, weight_row_layout)
from zeroskip.host import command_word, pack_lanes
from zeroskip.host import int_bytes as host_int_bytes
from zeroskip.models.streams import pack_weights
from zeroskip.models.wire import compressed_weight_words

__all__ = ["command_word", "activation_words", "weight_words", "compressed_words",
           "weights_stream_words", "decode_weight_rows", "decode_results",
           "result_last_bit", "lane_bytes", "int_bytes"]


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
    """Result words -> (``[rows, C]`` int64 array, ``last`` flags as a list of bool).

    Lanes are cut out with shifts, not through ``layout.from_bits``: a long run returns tens
    of thousands of rows. A test holds the two equal."""
    layout = result_row_layout(cfg)
    width = cfg.acc_width
    mask, sign = (1 << width) - 1, 1 << (width - 1)
    data_offset, last_offset = layout["data"].offset, layout["last"].offset
    rows = np.zeros((len(words), cfg.cols), dtype=np.int64)
    last = []
    for i, word in enumerate(words):
        lanes = word >> data_offset
        for c in range(cfg.cols):
            value = (lanes >> (c * width)) & mask
            rows[i, c] = value - (value & sign) * 2 if cfg.acc_signed else value
        last.append(bool((word >> last_offset) & 1))
    return rows, last


def lane_bytes(rows, width, nbytes):
    """Rows of integer lanes as big-endian words of ``nbytes`` bytes, in one buffer: the
    stream player's payload files (:func:`zeroskip.host.pack_lanes`)."""
    return pack_lanes(rows, width, nbytes, "big")


def int_bytes(words, nbytes):
    """Payload integers as big-endian words of ``nbytes`` bytes, in one buffer (the player's
    files; :func:`zeroskip.host.int_bytes`)."""
    return host_int_bytes(words, nbytes, "big")
