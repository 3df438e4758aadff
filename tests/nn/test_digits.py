import numpy as np
import pytest

from zeroskip.nn.digits import (CLASSES, IN_FEATURES, float_input, int8_input)


def test_split_is_stratified_and_seeded(digits):
    from zeroskip.nn.digits import digits_split

    assert digits.x_train.shape == (1437, IN_FEATURES) and digits.x_test.shape == (360, 64)
    assert np.bincount(digits.y_test, minlength=CLASSES).min() >= 35
    again = digits_split(0)
    assert all(np.array_equal(a, b) for a, b in zip(digits, again))
    assert not np.array_equal(digits_split(1).y_test, digits.y_test)


def test_input_encodings():
    pixels = np.arange(17)
    assert np.allclose(float_input(pixels), pixels / 16)
    q = int8_input(pixels)
    assert q[0] == 0 and q[-1] == 127 and q[8] == 64  # 63.5 rounds half up
    assert np.abs(q / 127 - pixels / 16).max() <= 0.5 / 127


def test_bad_arguments_are_named():
    from zeroskip.nn.digits import digits_split

    with pytest.raises(ValueError, match=r"pixels must lie in \[0, 16\], found \[0, 17\]"):
        int8_input([0, 17])
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 1\), not 1.5"):
        digits_split(0, test_fraction=1.5)
