"""int8 quantisation of an imported ONNX network (:mod:`zeroskip.nn.onnx_graph`), with biases,
and its integer inference: the arithmetic the engine runs for ``zeroskip run``.

Per layer ``i`` (input scale ``s_x``, weight scale ``s_w``, per tensor or per output column):

* ``W_q = round(W / s_w)`` in -127..127 (pruned weights stay exactly 0);
* the bias at accumulator width, ``b_q = round(b / (s_x · s_w))`` (int32, at most
  :data:`BIAS_MAX` steps), added to the accumulators before the output stage, as the engine
  adds it at a tile's first K fold;
* ``acc = A_q · W_q + b_q``, exact; a hidden layer's output stage requantises with
  ``(multiplier, shift)`` for ``(s_x · s_w) / s_out`` (per column with per-channel weight
  scales: the output stage then needs per-column parameters), with the layer's ReLU, into
  the next layer's int8 input; the last layer's int32 accumulators are the result, whose
  real value is ``acc · s_x · s_w``.

The input scale comes from the calibration inputs (``percentile`` of ``|x|`` maps to 127); a
hidden layer's output scale from running the integer network itself on them, as
:mod:`zeroskip.nn.quantize` does for the digits MLP. The engine adds the biases in its
accumulators (``cfg.bias``) and its output stage takes one ``(multiplier, shift)`` per
command, so per-tensor scales run on it (``zeroskip run``); per-channel ones run in this
model only, and ``zeroskip run`` reports both.
"""

from dataclasses import dataclass

import numpy as np

from ..models.requant import quantize_multiplier, requantize
from .quantize import INT8_MAX, INT32_MAX, INT32_MIN, MAX_SHIFT, MULT_WIDTH

__all__ = ["QuantLayer", "QuantizedNetwork", "quantize_network", "int8_network_forward",
           "layer_accumulators", "requantize_columns"]


@dataclass(frozen=True, eq=False)
class QuantLayer:
    """One layer as integers: ``weight`` int8 ``K×N``, ``bias`` int32 ``N`` (zeros without a
    bias), ``acc_scale`` the real value of one accumulator step (``N`` values), ``requant``
    ``(multipliers N, shifts N, relu)`` for a hidden layer or ``None`` for the last."""
    name: str
    weight: np.ndarray
    bias: np.ndarray
    acc_scale: np.ndarray
    requant: tuple | None


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """The layers, and how a real input becomes the engine's int8 activations:
    ``clip(round(x / input_scale) + input_zero_point, input_min, 127)``. The network
    :func:`quantize_network` calibrates is symmetric (zero point 0, -127..127, in float64);
    one read from a quantised ONNX model (:mod:`zeroskip.nn.onnx_qdq`) keeps its input
    QuantizeLinear's zero point (on the engine's signed int8) and saturation at -128, and
    divides in float32 as onnxruntime does (``input_float32``), so that its int8 inputs
    are onnxruntime's bit for bit."""
    input_scale: float
    layers: tuple
    per_channel: bool
    input_zero_point: int = 0
    input_min: int = -INT8_MAX
    input_float32: bool = False
    rounding: str = "half_up"     # the output stage's requant_rounding

    def quantize_input(self, x):
        dtype = np.float32 if self.input_float32 else np.float64
        q = np.round(np.asarray(x, dtype=dtype) / dtype(self.input_scale))
        return np.clip(q.astype(np.float64) + self.input_zero_point, self.input_min,
                       INT8_MAX).astype(np.int64)


# The largest int32 bias quantize_network gives a layer, in accumulator steps: half of
# int32, so that a bias leaves room for the products' sum.
BIAS_MAX = 1 << 30


def _weight_scales(w, per_channel):
    peak = np.abs(w).max(axis=0) if per_channel else np.full(w.shape[1], np.abs(w).max())
    return np.where(peak > 0, peak / INT8_MAX, 1.0)


def layer_accumulators(a, layer):
    """``a · W + b`` of a :class:`QuantLayer` on int8 rows ``a``, exact; ``ValueError``
    naming the layer if an accumulator leaves int32."""
    acc = a @ layer.weight.astype(np.int64) + layer.bias
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError(f"layer {layer.name!r}: accumulators leave int32 "
                         f"({int(acc.min())}..{int(acc.max())})")
    return acc


def requantize_columns(acc, requant, rounding="half_up"):
    """The output stage on accumulators ``acc``, column ``c`` with ``(multipliers[c],
    shifts[c])`` of ``requant`` and its ReLU, rounding as ``requant_rounding``."""
    multipliers, shifts, relu = requant
    out = np.empty_like(acc)
    for c in range(acc.shape[1]):
        out[:, c] = requantize(acc[:, c], int(multipliers[c]), int(shifts[c]), relu=relu,
                               rounding=rounding)
    return out


def quantize_network(net, calibration, *, per_channel=False, percentile=99.99,
                     rounding="half_up"):
    """The :class:`QuantizedNetwork` of ``net`` (an :class:`~zeroskip.nn.onnx_graph.
    OnnxNetwork`) calibrated on ``calibration`` (its input shape, any batch), for an
    output stage that rounds as ``rounding`` (``requant_rounding``)."""
    x = net.flatten(calibration).astype(np.float64)
    peak = float(np.percentile(np.abs(x), percentile)) if x.size else 0.0
    # A float32 scale, dividing in float32: the inputs are then exactly the ones the
    # exported graph's QuantizeLinear gives onnxruntime (export_qdq).
    input_scale = float(np.float32(peak / INT8_MAX)) if peak > 0 else 1.0
    unquantised = QuantizedNetwork(input_scale, (), per_channel, input_float32=True)
    a = unquantised.quantize_input(x)
    s_x = np.full(1, input_scale)
    layers = []
    for i, layer in enumerate(net.layers):
        bias = np.zeros(layer.n) if layer.bias is None else layer.bias
        # A column of tiny weights (a neuron training left dead) gets a tiny per-channel
        # scale, and its bias then thousands of millions of accumulator steps: widen such a
        # column's scale until its bias needs at most BIAS_MAX steps (its weights then
        # quantise to fewer levels, as onnxruntime's quantiser does for int32 biases).
        s_w = np.maximum(_weight_scales(layer.weight, per_channel),
                         np.abs(bias) / (s_x * BIAS_MAX))
        w_q = np.clip(np.round(layer.weight / s_w), -INT8_MAX, INT8_MAX).astype(np.int8)
        acc_scale = s_x * s_w
        b_q = np.round(bias / acc_scale).astype(np.int64)
        q = QuantLayer(layer.name, w_q, b_q, acc_scale, None)
        acc = layer_accumulators(a, q)
        if i == len(net.layers) - 1:
            layers.append(q)
            break
        real = acc * acc_scale
        if layer.relu:
            real = np.maximum(real, 0.0)
        top = float(np.percentile(np.abs(real), percentile)) if real.size else 0.0
        s_out = top / INT8_MAX if top > 0 else 1.0
        pairs = [quantize_multiplier(float(s / s_out), mult_width=MULT_WIDTH,
                                     max_shift=MAX_SHIFT) for s in acc_scale]
        if not per_channel:
            pairs = [pairs[0]] * layer.n
        multipliers = np.array([p[0] for p in pairs])
        shifts = np.array([p[1] for p in pairs])
        q = QuantLayer(layer.name, w_q, b_q, acc_scale, (multipliers, shifts, layer.relu))
        layers.append(q)
        a = requantize_columns(acc, q.requant, rounding)
        # The scale the (multiplier, shift) pairs really implement, per column; the next
        # layer sees one input scale per row of its weights, so per-channel output scales
        # are averaged into the one the next layer's accumulators assume.
        s_x = np.full(1, float(np.mean(acc_scale * (2.0 ** shifts) / multipliers)))
    return QuantizedNetwork(input_scale, tuple(layers), per_channel, input_float32=True,
                            rounding=rounding)


def int8_network_forward(qnet, x):
    """The real-valued outputs of the integer inference on ``x`` (``batch × input width``),
    and the int32 accumulators of the last layer."""
    a = qnet.quantize_input(x)
    for layer in qnet.layers:
        acc = layer_accumulators(a, layer)
        if layer.requant is None:
            return acc * layer.acc_scale, acc
        a = requantize_columns(acc, layer.requant, qnet.rounding)
    raise AssertionError("the last layer has no requantisation")
