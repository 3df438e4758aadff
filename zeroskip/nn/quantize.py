"""int8 quantisation of the MLP and its integer inference, the arithmetic the hardware does.

Every layer is one GEMM on the engine, ``acc = A · W`` with A and W int8 and exact int32
accumulation, no bias. A hidden layer's accumulators then go through the output stage,
``requantize(acc, multiplier, shift, relu=True)`` (``models/requant.py``), giving the next
layer's int8 A; the last layer returns its int32 accumulators as the logits (the class is
their argmax: the logits' real scale is positive, so it does not change the argmax).

Scales (real value of one integer step):

* weights: symmetric per layer, ``s_w = max|W| / 127``, ``W_q = round(W / s_w)`` in -127..127
  (pruned weights stay exactly zero);
* layer inputs: ``s_0 = 1/127`` for the pixels (``digits.int8_input``); a hidden layer's
  output scale is calibrated on the training set by running the integer network itself: the
  ``percentile`` of its ReLU'd accumulators maps to 127, i.e. the requant scale is
  ``127 / that accumulator``, quantised to ``(multiplier, shift)`` by
  :func:`~zeroskip.models.requant.quantize_multiplier`. The output scale recorded is the one
  that ``(multiplier, shift)`` really implements: ``s_out = s_in · s_w · 2**shift / multiplier``.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .digits import INPUT_SCALE
from ..models.gemm import check_int_matrix
from ..models.requant import quantize_multiplier, requantize

__all__ = ["QuantizedMLP", "Int8Forward", "LayerStep", "quantize_weights", "calibrate",
           "quantize_mlp", "int8_forward", "layer_plan", "MULT_WIDTH", "MAX_SHIFT"]

MULT_WIDTH = 16
MAX_SHIFT = 47
INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# eq=False: the fields hold arrays, whose == is elementwise; compare models field by field.
@dataclass(frozen=True, eq=False)
class QuantizedMLP:
    """An int8 MLP as the hardware runs it.

    Parameters
    ----------
    variant : str
        Pruning variant (``"dense"``, ``"2:4"``, ``"1:4"``, ``"50%"``, ...) or a user's label.
    weights : tuple of ndarray
        int8 weights ``[K × N]`` per layer.
    weight_scales : tuple of float
        Real value of one weight step, per layer.
    act_scales : tuple of float
        Real value of one step of each layer's int8 input (``act_scales[0]`` is the pixels').
    requant : tuple of (int, int, bool)
        ``(multiplier, shift, relu)`` of each hidden layer's output stage (one fewer than
        layers; the last layer has none).
    mult_width, max_shift : int
        Ranges the requant parameters were chosen in (``quantize_multiplier``).
    accuracy : float
        int8 accuracy on the test split (NaN if not measured).
    float_accuracy : float
        Accuracy of the float weights this model was quantised from (NaN if unknown).
    """

    variant: str
    weights: tuple
    weight_scales: tuple
    act_scales: tuple
    requant: tuple
    mult_width: int = MULT_WIDTH
    max_shift: int = MAX_SHIFT
    accuracy: float = float("nan")
    float_accuracy: float = float("nan")

    @property
    def layer_sizes(self):
        """``(K_0, N_0, N_1, ...)``: input features, then each layer's outputs."""
        return (self.weights[0].shape[0], *(w.shape[1] for w in self.weights))

    @property
    def logit_scale(self):
        """Real value of one step of the int32 logits: ``s_in · s_w`` of the last layer."""
        return self.act_scales[-1] * self.weight_scales[-1]

    def weight_density(self):
        """Fraction of non-zero int8 weights, per layer."""
        return tuple(float(np.count_nonzero(w)) / w.size for w in self.weights)


class Int8Forward(NamedTuple):
    """Everything the integer pass computes, layer by layer.

    ``activations[i]`` is the int8 A of layer ``i`` (``activations[0]`` is the input),
    ``accumulators[i]`` its int32 ``A · W`` before the output stage, and ``logits`` is
    ``accumulators[-1]``.
    """

    logits: np.ndarray
    activations: list
    accumulators: list


class LayerStep(NamedTuple):
    """One GEMM for the hardware: ``a`` ``[M × K]`` int8, ``w`` ``[K × N]`` int8, and
    ``requant`` ``(multiplier, shift, relu)`` of the output stage, or ``None`` to return the
    raw int32 accumulators."""

    a: np.ndarray
    w: np.ndarray
    requant: tuple | None


def quantize_weights(weights):
    """Symmetric per-layer int8 quantisation: ``(int8 weights, scales)``.

    A layer of all zeros gets scale 1.0.
    """
    q, scales = [], []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        peak = float(np.abs(w).max()) if w.size else 0.0
        scale = peak / INT8_MAX if peak > 0 else 1.0
        q.append(np.clip(np.round(w / scale), -INT8_MAX, INT8_MAX).astype(np.int8))
        scales.append(scale)
    return q, scales


def _check_input(x, k):
    if np.ndim(x) == 2 and np.shape(x)[1] == k:
        return check_int_matrix("x_int8", x, INT8_MIN, INT8_MAX)
    raise ValueError(f"x_int8 must be a matrix [M x {k}], not shape {np.shape(x)}")


def _check_weights(weights):
    """The layers as int8 arrays; ``ValueError``/``TypeError`` naming the bad one."""
    out = []
    for i, w in enumerate(weights):
        w = check_int_matrix(f"weights[{i}]", w, INT8_MIN, INT8_MAX)
        if out and w.shape[0] != out[-1].shape[1]:
            raise ValueError(f"weights[{i}] must have {out[-1].shape[1]} rows to follow "
                             f"weights[{i - 1}] of shape {out[-1].shape}, not shape {w.shape}")
        out.append(w.astype(np.int8))
    if not out:
        raise ValueError("weights must hold at least one layer")
    return tuple(out)


def _layer_acc(a, w, i):
    acc = a @ np.asarray(w, dtype=np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError(f"layer {i} accumulators leave int32: "
                            f"[{int(acc.min())}, {int(acc.max())}]")
    return acc


def calibrate(weights, weight_scales, x_calib, *, variant, input_scale=INPUT_SCALE,
              percentile=100.0, mult_width=MULT_WIDTH, max_shift=MAX_SHIFT):
    """Choose each hidden layer's requant ``(multiplier, shift)`` on calibration inputs.

    Parameters
    ----------
    weights : list of ndarray
        int8 weights ``[K × N]`` per layer (any integer dtype, values in -128..127).
    weight_scales : list of float
        Real value of one weight step per layer (1.0 each if unknown: the requant parameters
        do not depend on them, only the recorded activation scales do).
    x_calib : ndarray
        int8 inputs ``[M × K_0]`` (e.g. the training images, ``digits.int8_input``).
    variant : str
        Label stored in the model.
    input_scale : float
        Real value of one input step.
    percentile : float
        Percentile of a hidden layer's ReLU'd accumulators over ``x_calib`` that maps to 127
        (100: the maximum, nothing saturates on the calibration set).
    mult_width, max_shift : int
        Passed to ``quantize_multiplier``.

    Returns
    -------
    QuantizedMLP
        With ``accuracy`` and ``float_accuracy`` NaN.

    Raises
    ------
    ValueError
        If a hidden layer's accumulators are never positive on ``x_calib`` (nothing to
        calibrate on), for weights or inputs of the wrong shape or range, layers that do not
        chain, or a ``weight_scales`` of the wrong length.
    TypeError
        If the weights or inputs are not integers.
    """
    weights = _check_weights(weights)
    if len(weight_scales) != len(weights):
        raise ValueError(f"weight_scales must have one scale per layer ({len(weights)}), "
                         f"not {len(weight_scales)}")
    a = _check_input(x_calib, weights[0].shape[0])
    act_scales, requant = [float(input_scale)], []
    for i, w in enumerate(weights[:-1]):
        acc = np.maximum(_layer_acc(a, w, i), 0)
        top = float(np.percentile(acc, percentile)) if acc.size else 0.0
        if top <= 0:
            raise ValueError(f"layer {i}: no positive accumulator on the calibration inputs, "
                             f"cannot choose its output scale")
        mult, shift = quantize_multiplier(INT8_MAX / top, mult_width=mult_width,
                                          max_shift=max_shift)
        requant.append((mult, shift, True))
        act_scales.append(act_scales[-1] * float(weight_scales[i]) * (1 << shift) / mult)
        a = requantize(acc, mult, shift, relu=True)
    return QuantizedMLP(variant=variant, weights=weights,
                        weight_scales=tuple(float(s) for s in weight_scales),
                        act_scales=tuple(act_scales), requant=tuple(requant),
                        mult_width=mult_width, max_shift=max_shift)


def quantize_mlp(weights, x_calib, *, variant, **options):
    """Quantise float ``weights`` (:func:`quantize_weights`) and :func:`calibrate` them on
    int8 inputs ``x_calib``; ``options`` go to :func:`calibrate`."""
    q, scales = quantize_weights(weights)
    return calibrate(q, scales, x_calib, variant=variant, **options)


def int8_forward(qmodel, x_int8):
    """The integer inference the hardware performs, layer by layer.

    Parameters
    ----------
    qmodel : QuantizedMLP
    x_int8 : ndarray
        int8 inputs ``[M × K_0]`` (``digits.int8_input`` of the pixels).

    Returns
    -------
    Int8Forward
        int32 logits ``[M × classes]``, each layer's int8 input and int32 accumulators.

    Raises
    ------
    ValueError, TypeError
        If ``x_int8`` has the wrong shape, is not integer, or leaves -128..127.
    OverflowError
        If an accumulator leaves int32 (impossible for int8 operands and K < 2**17).
    """
    a = _check_input(x_int8, qmodel.weights[0].shape[0])
    activations, accumulators = [], []
    for i, w in enumerate(qmodel.weights):
        activations.append(a.astype(np.int8))
        acc = _layer_acc(a, w, i)
        accumulators.append(acc.astype(np.int32))
        if i < len(qmodel.requant):
            mult, shift, relu = qmodel.requant[i]
            a = requantize(acc, mult, shift, relu=relu)
    return Int8Forward(accumulators[-1], activations, accumulators)


def layer_plan(qmodel, x_int8):
    """The network as a list of GEMMs for a hardware runner, one :class:`LayerStep` per layer.

    Each step's ``a`` is what the previous step's output stage produces (computed here with
    :func:`int8_forward`), so every layer can be run and checked on its own; a runner that
    chains its own outputs should find the same ``a``.
    """
    fwd = int8_forward(qmodel, x_int8)
    return [LayerStep(a, w, qmodel.requant[i] if i < len(qmodel.requant) else None)
            for i, (a, w) in enumerate(zip(fwd.activations, qmodel.weights))]
