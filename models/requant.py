"""Requantisation: the output stage's arithmetic, bit-exact with the hardware.

An int32 accumulator ``acc`` becomes an int8 (``out_width``) activation for the next layer:

    y = (acc · multiplier + 2**(shift-1)) >> shift      (arithmetic shift; no addend if shift = 0)
    y = max(y, 0)                                       (if relu)
    y = clamp(y, -2**(out_width-1), 2**(out_width-1) - 1)

``multiplier`` is an unsigned integer of ``mult_width`` bits and ``shift`` lies in
``[0, max_shift]``: together they approximate a real scale ``s ≈ multiplier / 2**shift``
(:func:`quantize_multiplier`). Adding half an LSB before the shift rounds to nearest with ties
towards +∞, which is what a single adder in hardware gives; NumPy's ``>>`` on int64 is the same
arithmetic shift the hardware does.
"""

import math

import numpy as np

from ..config import ROUNDINGS

__all__ = ["requantize", "quantize_multiplier", "check_requant_params", "check_requant"]


def check_requant_params(multiplier, shift, *, mult_width, max_shift):
    """Raise ``ValueError`` naming the parameter and its allowed range."""
    if not isinstance(multiplier, (int, np.integer)) or not 0 <= multiplier < (1 << mult_width):
        raise ValueError(f"requant multiplier must be an integer in [0, {(1 << mult_width) - 1}] "
                         f"(requant_mult_width={mult_width}), not {multiplier!r}")
    if not isinstance(shift, (int, np.integer)) or not 0 <= shift <= max_shift:
        raise ValueError(f"requant shift must be an integer in [0, {max_shift}] "
                         f"(acc_width + requant_mult_width - 1), not {shift!r}")


def check_requant(cfg, requant):
    """Raise ``ValueError`` unless ``requant`` (``(multiplier, shift, relu)``, or ``None`` for
    raw accumulators) can run on ``cfg``'s output stage; the message names the parameter and
    its allowed range."""
    if requant is None:
        return
    if not cfg.output_stage:
        raise ValueError("requant needs a configuration with output_stage = true")
    multiplier, shift, relu = requant
    check_requant_params(multiplier, shift, mult_width=cfg.requant_mult_width,
                         max_shift=cfg.requant_max_shift)
    if not isinstance(relu, (bool, int, np.integer)) or relu not in (0, 1):
        raise ValueError(f"requant relu must be true or false, not {relu!r}")


def requantize(acc, multiplier, shift, *, relu=False, out_width=8, rounding="half_up"):
    """Apply the output stage to integer accumulators ``acc`` (any shape); returns int64.

    ``rounding`` is the configuration's ``requant_rounding``: ``"half_up"`` adds half an LSB
    before the shift (ties towards +∞); ``"half_even"`` adds one less, plus the result's
    own lowest bit, ``(p + 2**(shift-1) - 1 + ((p >> shift) & 1)) >> shift``, which rounds
    ties to the even neighbour as onnxruntime's QuantizeLinear does and all else the same."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {rounding!r}")
    acc = np.asarray(acc, dtype=np.int64)
    # Python ints: acc (≤ 48 bits) · multiplier (≤ 32 bits) may not fit in int64.
    prod = acc.astype(object) * int(multiplier)
    shift = int(shift)
    if shift and rounding == "half_up":
        prod = prod + (1 << (shift - 1))
    elif shift:
        prod = prod + ((1 << (shift - 1)) - 1) + ((prod >> shift) & 1)
    y = np.asarray(prod >> shift, dtype=object)
    if relu:
        y = np.maximum(y, 0)
    lo, hi = -(1 << (out_width - 1)), (1 << (out_width - 1)) - 1
    return np.asarray(np.clip(y, lo, hi), dtype=np.int64)


def quantize_multiplier(scale, *, mult_width=16, max_shift=47):
    """The ``(multiplier, shift)`` pair closest to the real ``scale`` with ``multiplier`` using
    as many of its ``mult_width`` bits as possible (largest ``shift`` that keeps it in range).

    Raises ``ValueError`` if ``scale`` is not positive and finite, or is too large or too small
    to represent.
    """
    if not (isinstance(scale, (int, float, np.floating)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"requant scale must be a positive finite number, not {scale!r}")
    top = (1 << mult_width) - 1
    for shift in range(max_shift, -1, -1):
        multiplier = round(scale * (1 << shift))
        if multiplier <= top:
            if multiplier == 0:
                raise ValueError(f"requant scale {scale:g} is below the smallest representable "
                                 f"{2.0 ** -max_shift:g} (max_shift {max_shift})")
            return int(multiplier), shift
    raise ValueError(f"requant scale {scale:g} exceeds the largest representable {top} "
                     f"(mult_width {mult_width})")
