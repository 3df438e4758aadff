"""The digits data set (scikit-learn's bundled ``load_digits``, no download), split and encoded.

Images are 8×8 pixels of 0..16, flattened to 64 input features in row-major order. The float
network sees ``pixel / 16`` in [0, 1]; the int8 network sees ``round(pixel · 127 / 16)`` in
0..127, so one int8 step is ``1/127`` of the float input (:data:`INPUT_SCALE`).
"""

from typing import NamedTuple

import numpy as np

__all__ = ["DigitsSplit", "digits_split", "float_input", "int8_input", "INPUT_SCALE",
           "PIXEL_MAX", "IN_FEATURES", "CLASSES"]

PIXEL_MAX = 16
IN_FEATURES = 64
CLASSES = 10
INPUT_SCALE = 1.0 / 127  # float value of one int8 input step


class DigitsSplit(NamedTuple):
    """A seeded train/test split; pixels are int64 in 0..16, labels int64 in 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits_split(seed=0, test_fraction=0.2):
    """Load ``load_digits`` and split it, stratified by class, with ``seed``.

    Parameters
    ----------
    seed : int
        Seed of the shuffle (``random_state`` of scikit-learn's ``train_test_split``).
    test_fraction : float
        Fraction of the 1797 images held out for testing, in (0, 1).

    Returns
    -------
    DigitsSplit
        Pixels (0..16) and labels of the training and test images.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1).
    """
    # Imported here: scikit-learn is only needed when the data set is, and takes a second.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), not {test_fraction!r}")
    digits = load_digits()
    x = np.asarray(digits.data, dtype=np.int64)
    y = np.asarray(digits.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return DigitsSplit(x_train, y_train, x_test, y_test)


def float_input(pixels):
    """The float network's input: ``pixels / 16`` as float64 in [0, 1]."""
    return np.asarray(pixels, dtype=np.float64) / PIXEL_MAX


def int8_input(pixels):
    """The int8 network's input: ``round(pixel · 127 / 16)`` in 0..127, int64.

    Raises
    ------
    ValueError
        If a pixel lies outside 0..16.
    """
    p = np.asarray(pixels)
    if p.size and (p.min() < 0 or p.max() > PIXEL_MAX):
        raise ValueError(f"pixels must lie in [0, {PIXEL_MAX}], found "
                         f"[{p.min().item()!r}, {p.max().item()!r}]")
    # Half-up rounding in integers, so the encoding does not depend on float ties.
    return (np.asarray(p, dtype=np.int64) * 127 * 2 + PIXEL_MAX) // (2 * PIXEL_MAX)
