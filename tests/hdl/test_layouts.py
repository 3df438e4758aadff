"""Element shapes and stream payload layouts, checked against the integer ranges and field
widths they must hold."""

import pytest
from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import (acc_shape, act_shape, activation_row_layout,
                                  command_layout, compressed_word_layout, pe_act_shape,
                                  psum_shape, result_row_layout, weight_row_layout,
                                  weight_shape, weight_slot_shape)
from zeroskip.wire_fields import word_width


def _range(width, is_signed):
    if is_signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def _narrowest(lo, hi, is_signed):
    """The fewest bits of the given signedness that hold every integer in ``[lo, hi]``."""
    width = 1
    while not (_range(width, is_signed)[0] <= lo and hi <= _range(width, is_signed)[1]):
        width += 1
    return width


def _column_bounds(act, weight, rows):
    """Least and greatest sum of ``rows`` products of operands of shapes ``act``, ``weight``."""
    products = [a * w for a in _range(act.width, act.signed) for w in _range(weight.width,
                                                                             weight.signed)]
    return rows * min(products), rows * max(products)


@pytest.mark.parametrize("act_width, weight_width, acc_width",
                         [(8, 8, 32), (8, 8, 18), (2, 2, 4), (4, 3, 12), (16, 16, 40),
                          (16, 16, 32)])
def test_psum_holds_a_column_of_extreme_products_within_acc_width(act_width, weight_width,
                                                                   acc_width):
    for rows in (1, 2, 3, 5, 8, 9, 64):
        for a_signed, w_signed in ((True, True), (False, True), (True, False), (False, False)):
            cfg = ZeroskipConfig(rows=rows, act_width=act_width, weight_width=weight_width,
                                 acc_width=acc_width, act_signed=a_signed,
                                 weight_signed=w_signed, output_stage=False)
            shape = psum_shape(cfg)
            where = (rows, a_signed, w_signed, shape)
            lo, hi = _column_bounds(Shape(act_width, a_signed), Shape(weight_width, w_signed),
                                    rows)
            assert shape.signed == (a_signed or w_signed), where
            assert shape.width <= acc_width, where
            needed = _narrowest(lo, hi, shape.signed)
            if needed <= acc_width:
                # Exact, and at most one bit above the narrowest shape that is.
                assert needed <= shape.width <= needed + 1, where
            else:
                # Wider would only hold bits that the accumulator drops.
                assert shape.width == acc_width, where


@pytest.mark.parametrize("a_signed, w_signed", [(True, True), (False, True), (False, False)])
def test_element_shapes_follow_widths_and_signedness(a_signed, w_signed):
    cfg = ZeroskipConfig(act_width=5, weight_width=7, acc_width=21, act_signed=a_signed,
                         weight_signed=w_signed, output_stage=False)
    assert act_shape(cfg) == Shape(5, a_signed)
    assert weight_shape(cfg) == Shape(7, w_signed)
    assert acc_shape(cfg) == Shape(21, a_signed or w_signed)


def test_dense_pe_takes_one_activation_and_holds_one_weight():
    cfg = ZeroskipConfig(rows=4, cols=3, act_width=6, weight_width=5, weight_signed=False,
                         acc_width=16, output_stage=False)
    assert pe_act_shape(cfg) == signed(6)
    assert weight_slot_shape(cfg) == unsigned(5)
    assert activation_row_layout(cfg) == data.ArrayLayout(signed(6), 4)
    assert weight_row_layout(cfg) == data.ArrayLayout(unsigned(5), 3)


@pytest.mark.parametrize("sparsity, group, index_width",
                         [("1:2", 2, 1), ("1:4", 4, 2), ("2:4", 4, 2), ("2:8", 8, 3),
                          ("4:8", 8, 3)])
def test_sparse_pe_takes_its_group_and_holds_value_and_index(sparsity, group, index_width):
    keep = int(sparsity.split(":")[0])
    cfg = ZeroskipConfig(rows=4 * keep, cols=3, act_width=6, weight_width=5, acc_width=16,
                         sparsity=sparsity, output_stage=False)
    act = pe_act_shape(cfg)
    assert isinstance(act, data.ArrayLayout)
    assert (act.elem_shape, act.length) == (signed(6), group)
    slot = weight_slot_shape(cfg)
    assert isinstance(slot, data.StructLayout)
    assert list(slot.members) == ["value", "index"]
    assert slot.members["value"] == signed(5)
    index = Shape.cast(slot.members["index"])
    # The index holds every position 0 .. M-1 of a group, and needs all its bits for that.
    assert not index.signed and (1 << index.width) >= group > (1 << (index.width - 1))
    assert index.width == index_width
    # A fold covers R*M/N K positions: one activation lane each.
    assert activation_row_layout(cfg).length == cfg.rows * group // keep
    assert weight_row_layout(cfg) == data.ArrayLayout(slot, 3)


@pytest.mark.parametrize("dim_width", [1, 7, 16, 32])
def test_command_without_output_stage_is_m_k_n(dim_width):
    cfg = ZeroskipConfig(dim_width=dim_width, output_stage=False)
    layout = command_layout(cfg)
    assert [(name, f.offset, f.shape) for name, f in layout] == [
        ("m", 0, unsigned(dim_width)), ("k", dim_width, unsigned(dim_width)),
        ("n", 2 * dim_width, unsigned(dim_width))]
    assert layout.size == 3 * dim_width


@pytest.mark.parametrize("acc_width, mult_width", [(32, 16), (20, 1), (48, 32)])
def test_command_with_output_stage_appends_its_parameters(acc_width, mult_width):
    cfg = ZeroskipConfig(dim_width=10, acc_width=acc_width, requant_mult_width=mult_width,
                         output_stage=True)
    layout = command_layout(cfg)
    fields = [(name, f.offset, Shape.cast(f.shape)) for name, f in layout]
    # m, k, n keep the bit positions they have without an output stage.
    assert fields[:3] == [("m", 0, unsigned(10)), ("k", 10, unsigned(10)),
                          ("n", 20, unsigned(10))]
    assert [name for name, *_ in fields[3:]] == ["requant", "relu", "mult", "shift"]
    shapes = {name: shape for name, _, shape in fields}
    assert shapes["requant"] == shapes["relu"] == unsigned(1)
    assert shapes["mult"] == unsigned(mult_width)
    # The shift field holds 0 .. acc_width + mult_width - 1 and no more bits than that needs.
    largest = acc_width + mult_width - 1
    assert not shapes["shift"].signed
    assert shapes["shift"].width == _narrowest(0, largest, False)
    assert layout.size == 30 + 1 + 1 + mult_width + shapes["shift"].width


@pytest.mark.parametrize("kw", [dict(cols=8, weight_width=8), dict(cols=3, weight_width=5),
                                dict(cols=1, weight_width=2),
                                dict(cols=4, weight_width=4, weight_format="bitmask"),
                                dict(rows=4, cols=5, weight_width=6, sparsity="2:4")])
def test_compressed_word_is_a_dense_row_wide_plus_last(kw):
    cfg = ZeroskipConfig(output_stage=False, **kw)
    layout = compressed_word_layout(cfg)
    assert word_width(cfg) == cfg.cols * cfg.weight_width
    assert [(name, f.offset, f.shape) for name, f in layout] == [
        ("data", 0, unsigned(word_width(cfg))), ("last", word_width(cfg), unsigned(1))]


@pytest.mark.parametrize("cols, acc_width, a_signed, w_signed",
                         [(8, 32, True, True), (3, 17, False, False), (1, 16, False, True)])
def test_result_row_is_c_accumulator_lanes_then_last(cols, acc_width, a_signed, w_signed):
    cfg = ZeroskipConfig(cols=cols, acc_width=acc_width, act_signed=a_signed,
                         weight_signed=w_signed, output_stage=False)
    layout = result_row_layout(cfg)
    assert [name for name, _ in layout] == ["data", "last"]
    lanes = layout["data"].shape
    assert isinstance(lanes, data.ArrayLayout)
    assert (lanes.elem_shape, lanes.length) == (Shape(acc_width, a_signed or w_signed), cols)
    assert layout["data"].offset == 0
    assert (layout["last"].offset, layout["last"].shape) == (cols * acc_width, unsigned(1))
    assert layout.size == cols * acc_width + 1
