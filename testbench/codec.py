"""Stream words <-> NumPy rows, through the payload layouts of :mod:`zeroskip.hdl.layouts`."""

import numpy as np
from amaranth.hdl import Const

from zeroskip.hdl.layouts import (activation_row_layout, command_layout, result_row_layout,
                                  weight_row_layout)

__all__ = ["command_word", "activation_words", "weight_words", "decode_results"]


def _words(layout, rows):
    return [Const.cast(layout.const([int(x) for x in row])).value for row in rows]


def command_word(cfg, m, k, n):
    return Const.cast(command_layout(cfg).const({"m": m, "k": k, "n": n})).value


def activation_words(cfg, rows):
    return _words(activation_row_layout(cfg), rows)


def weight_words(cfg, rows):
    return _words(weight_row_layout(cfg), rows)


def decode_results(cfg, words):
    """Result words -> (``[rows, C]`` int64 array, ``last`` flags as a list of bool)."""
    layout = result_row_layout(cfg)
    data, last = [], []
    for word in words:
        row = layout.from_bits(word)
        data.append([row.data[c] for c in range(cfg.cols)])
        last.append(bool(row.last))
    return np.array(data, dtype=np.int64).reshape(-1, cfg.cols), last
