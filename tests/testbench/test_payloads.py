"""The testbench's fast word packing against Amaranth's own layout constants."""

import numpy as np
import pytest
from amaranth.hdl import Const

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import activation_row_layout, result_row_layout, weight_row_layout
from zeroskip.testbench.payloads import (_words, decode_results, int_bytes, lane_bytes,
                                       result_last_bit)


@pytest.mark.parametrize("kw", [dict(), dict(act_signed=False, act_width=5, rows=3),
                                dict(weight_width=16, cols=7), dict(act_width=2, rows=9)])
def test_fast_packing_equals_layout_constants(kw):
    cfg = ZeroskipConfig(**kw)
    rng = np.random.default_rng(1)
    for layout, which in ((activation_row_layout(cfg), "act"), (weight_row_layout(cfg), "weight")):
        lo, hi = cfg.operand_range(which)
        rows = rng.integers(lo, hi + 1, size=(64, layout.length))
        rows[0], rows[1] = lo, hi
        assert _words(layout, rows) == \
            [Const.cast(layout.const([int(x) for x in row])).value for row in rows]


def test_last_bit_is_the_layouts_last_field():
    cfg = ZeroskipConfig(cols=3)
    layout = result_row_layout(cfg)
    word = Const.cast(layout.const({"data": [-1, 5, -7], "last": 1})).value
    assert (word >> result_last_bit(cfg)) & 1 == 1
    assert decode_results(cfg, [word])[1] == [True]
    word = Const.cast(layout.const({"data": [-1, -1, -1], "last": 0})).value
    assert (word >> result_last_bit(cfg)) & 1 == 0


@pytest.mark.parametrize("kw", [dict(), dict(act_signed=False, act_width=5, rows=3),
                                dict(weight_width=16, cols=7), dict(act_width=2, rows=9),
                                dict(rows=64, act_width=16)])
def test_lane_bytes_are_the_words_big_endian(kw):
    """The player's payload bytes: each word of the endpoints, in whole bytes, big-endian."""
    cfg = ZeroskipConfig(**kw)
    rng = np.random.default_rng(2)
    for layout, which, width in ((activation_row_layout(cfg), "act", cfg.act_width),
                                 (weight_row_layout(cfg), "weight", cfg.weight_width)):
        lo, hi = cfg.operand_range(which)
        rows = rng.integers(lo, hi + 1, size=(33, layout.length))
        rows[0], rows[1] = lo, hi
        nbytes = -(-layout.size // 8)
        assert lane_bytes(rows, width, nbytes) == int_bytes(_words(layout, rows), nbytes)


@pytest.mark.parametrize("kw", [dict(cols=3), dict(cols=5, act_signed=False,
                                                   weight_signed=False, acc_width=20),
                                dict(cols=2, act_width=16, weight_width=16, acc_width=48)])
def test_decoded_results_equal_the_layouts_reading(kw):
    cfg = ZeroskipConfig(**kw)
    layout = result_row_layout(cfg)
    lo, hi = cfg.operand_range("acc")
    rng = np.random.default_rng(3)
    rows = [[int(x) for x in rng.integers(lo, hi + 1, size=cfg.cols)] for _ in range(20)]
    rows[0], rows[1] = [lo] * cfg.cols, [hi] * cfg.cols
    words = [Const.cast(layout.const({"data": row, "last": i == 19})).value
             for i, row in enumerate(rows)]
    data, last = decode_results(cfg, words)
    assert data.tolist() == [[layout.from_bits(w).data[c] for c in range(cfg.cols)]
                             for w in words] == rows
    assert last == [False] * 19 + [True]
