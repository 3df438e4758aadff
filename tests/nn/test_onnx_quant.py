"""int8 quantisation of an imported ONNX network with biases: the integer inference tracks the
float model, the bias is really in it, per-channel weight scales help where columns differ in
scale, and the integer steps are the output stage's arithmetic."""

import numpy as np
import pytest

from zeroskip.models.requant import requantize
from zeroskip.nn.onnx_graph import DenseLayer, OnnxNetwork
from zeroskip.nn.onnx_quant import int8_network_forward, quantize_network


def _cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _ffn(rng, d=64, hidden=256, column_spread=0.0, bias_scale=0.5):
    """A transformer-style FFN block; ``column_spread`` makes output columns differ in scale
    (log-normal sigma)."""
    w_up = rng.normal(size=(d, hidden)) / np.sqrt(d)
    w_up *= rng.lognormal(0, column_spread, size=hidden) if column_spread else 1.0
    w_down = rng.normal(size=(hidden, d)) / np.sqrt(hidden)
    layers = (DenseLayer("up", w_up, rng.normal(size=hidden) * bias_scale, True),
              DenseLayer("down", w_down, rng.normal(size=d) * bias_scale, False))
    return OnnxNetwork("x", (None, d), layers)


@pytest.mark.parametrize("per_channel", [False, True])
def test_int8_inference_tracks_the_float_model(per_channel):
    rng = np.random.default_rng(1)
    net = _ffn(rng)
    calib, test = rng.normal(size=(256, 64)), rng.normal(size=(64, 64))
    qnet = quantize_network(net, calib, per_channel=per_channel)
    out, acc = int8_network_forward(qnet, test)
    assert acc.dtype == np.int64 and out.shape == (64, 64)
    assert _cosine(out, net.forward(test)) > 0.99
    assert all(np.count_nonzero(layer.bias) for layer in qnet.layers)


def test_the_bias_is_in_the_integer_model():
    """With large biases, dropping b_q from the accumulators ruins the output: the bias the
    integer model adds is the float model's."""
    rng = np.random.default_rng(2)
    net = _ffn(rng, bias_scale=3.0)
    calib, test = rng.normal(size=(256, 64)), rng.normal(size=(32, 64))
    qnet = quantize_network(net, calib)
    out, _ = int8_network_forward(qnet, test)
    assert _cosine(out, net.forward(test)) > 0.99
    unbiased = OnnxNetwork("x", net.input_shape,
                           tuple(DenseLayer(l.name, l.weight, None, l.relu) for l in net.layers))
    assert _cosine(out, unbiased.forward(test)) < 0.9


def test_per_channel_scales_help_columns_of_uneven_scale():
    rng = np.random.default_rng(3)
    net = _ffn(rng, column_spread=1.5)
    calib, test = rng.normal(size=(256, 64)), rng.normal(size=(64, 64))
    ref = net.forward(test)
    cosines = {pc: _cosine(int8_network_forward(quantize_network(net, calib, per_channel=pc),
                                                test)[0], ref)
               for pc in (False, True)}
    assert cosines[True] > cosines[False]


def test_the_integer_steps_are_the_output_stage():
    """One hidden layer recomputed by hand: acc = A_q · W_q + b_q, then requantize with the
    layer's (multiplier, shift) and ReLU, as the engine's output stage does."""
    rng = np.random.default_rng(4)
    net = _ffn(rng, d=8, hidden=16)
    x = rng.normal(size=(5, 8))
    qnet = quantize_network(net, x)
    a = qnet.quantize_input(x)
    up, down = qnet.layers
    acc = a @ up.weight.astype(np.int64) + up.bias
    multipliers, shifts, relu = up.requant
    assert relu and len(set(multipliers)) == 1        # per tensor: one pair for the layer
    hidden = requantize(acc, int(multipliers[0]), int(shifts[0]), relu=True)
    expected = hidden @ down.weight.astype(np.int64) + down.bias
    np.testing.assert_array_equal(int8_network_forward(qnet, x)[1], expected)
    assert down.requant is None and up.weight.dtype == np.int8
    assert np.abs(up.weight).max() == 127


def test_a_dead_column_does_not_overflow_its_bias():
    """A column of near-zero weights with a bias: per channel, its scale widens until the
    bias fits in BIAS_MAX steps, and the column's output is still its bias."""
    from zeroskip.nn.onnx_quant import BIAS_MAX

    rng = np.random.default_rng(4)
    net = _ffn(rng)
    w = net.layers[0].weight.copy()
    w[:, 5] = 1e-9
    layers = (DenseLayer("up", w, net.layers[0].bias, True), net.layers[1])
    net = OnnxNetwork("x", net.input_shape, layers)
    x = rng.normal(size=(64, 64))
    q = quantize_network(net, x, per_channel=True)
    assert np.abs(q.layers[0].bias).max() <= BIAS_MAX
    assert not q.layers[0].weight[:, 5].any()
    real, _ = int8_network_forward(q, x)
    assert _cosine(real, net.forward(x)) > 0.999
