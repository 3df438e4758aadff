"""The testbench's fast word packing against Amaranth's own layout constants."""

import numpy as np
import pytest
from amaranth.hdl import Const

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import activation_row_layout, result_row_layout, weight_row_layout
from zeroskip.testbench.payloads import _words, decode_results, result_last_bit


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
