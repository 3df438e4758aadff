import numpy as np
import pytest
from hypothesis import given, strategies as st

from zeroskip.models.requant import check_requant_params, quantize_multiplier, requantize


def test_rounds_half_towards_plus_infinity():
    assert requantize([-3, -2, -1, 1, 2, 3], 1, 1).tolist() == [-1, -1, 0, 1, 1, 2]


def test_half_even_rounds_ties_to_even_like_numpy():
    acc = np.arange(-40, 41)
    for shift in (1, 2, 3):
        assert requantize(acc, 1, shift, rounding="half_even", out_width=16).tolist() == \
            np.round(acc / 2 ** shift).astype(int).tolist()
    # Away from ties both roundings agree; at a tie half_even is the even one of the two.
    acc = np.arange(-3000, 3000)
    up = requantize(acc, 3, 4, out_width=16)
    even = requantize(acc, 3, 4, rounding="half_even", out_width=16)
    tie = acc * 3 % 16 == 8
    assert tie.sum() > 100 and np.array_equal(up[~tie], even[~tie])
    assert np.all(even[tie] % 2 == 0) and np.all(up[tie] - even[tie] == up[tie] % 2)
    with pytest.raises(ValueError, match="rounding must be one of half_up, half_even"):
        requantize([1], 1, 1, rounding="down")


def test_relu_then_saturate():
    assert requantize([-1000, 1000, -5], 1, 0, relu=True).tolist() == [0, 127, 0]
    assert requantize([-1000, 1000], 1, 0).tolist() == [-128, 127]
    assert requantize([-1000, 1000], 1, 0, out_width=4).tolist() == [-8, 7]


@given(st.floats(1e-9, 6e4), st.integers(-(1 << 31), (1 << 31) - 1))
def test_matches_real_scaling_to_within_rounding(scale, acc):
    mult, shift = quantize_multiplier(scale)
    assert 0 < mult < 1 << 16 and 0 <= shift <= 47
    y = int(requantize([acc], mult, shift, out_width=48)[0])
    exact = acc * mult / 2 ** shift
    assert abs(y - exact) <= 0.5
    # The multiplier approximates the scale to its 16 bits (or exactly at the largest shift).
    assert abs(mult / 2 ** shift - scale) <= max(scale * 2 ** -15, 2 ** -48)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf"), 1e-30, 1e6])
def test_unrepresentable_scales_are_refused(scale):
    with pytest.raises(ValueError, match="requant scale"):
        quantize_multiplier(scale)


def test_parameter_checks_name_the_range():
    with pytest.raises(ValueError, match=r"multiplier must be an integer in \[0, 65535\]"):
        check_requant_params(1 << 16, 3, mult_width=16, max_shift=47)
    with pytest.raises(ValueError, match=r"shift must be an integer in \[0, 47\]"):
        check_requant_params(5, 48, mult_width=16, max_shift=47)
    check_requant_params(np.int64(5), 47, mult_width=16, max_shift=47)
