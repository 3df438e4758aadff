import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.nn.digits import int8_input
from zeroskip.models.gemm import gemm_reference
from zeroskip.nn.quantize import (calibrate, int8_forward, layer_plan, quantize_mlp,
                                      quantize_weights)
from zeroskip.models.requant import requantize
from zeroskip.nn.variants import INT8_VARIANTS


@pytest.mark.parametrize("variant", INT8_VARIANTS)
def test_int8_forward_is_the_engine_gemm_then_requantize(digits_variants, digits, variant):
    qmodel = digits_variants[variant]
    cfg = ZeroskipConfig()  # int8 x int8, int32 accumulators: the engine's default
    x = int8_input(digits.x_test)
    fwd = int8_forward(qmodel, x)
    a = x
    for i, w in enumerate(qmodel.weights):
        assert np.array_equal(fwd.activations[i], a) and fwd.activations[i].dtype == np.int8
        acc = gemm_reference(cfg, a, w)
        assert np.array_equal(fwd.accumulators[i], acc)
        if i < len(qmodel.weights) - 1:
            mult, shift, relu = qmodel.requant[i]
            a = requantize(acc, mult, shift, relu=relu, out_width=8)
    assert np.array_equal(fwd.logits, acc) and fwd.logits.dtype == np.int32
    plan = layer_plan(qmodel, x)
    assert [step.requant for step in plan] == [*qmodel.requant, None]
    for step, a_i, w in zip(plan, fwd.activations, qmodel.weights):
        assert np.array_equal(step.a, a_i) and np.array_equal(step.w, w)


def test_weights_are_symmetric_per_layer_and_keep_zeros():
    w = [np.array([[0.5, -1.0], [0.0, 0.25]]), np.array([[0.0, 0.0]])]
    q, scales = quantize_weights(w)
    assert q[0].dtype == np.int8 and q[0].tolist() == [[64, -127], [0, 32]]
    assert scales == [1.0 / 127, 1.0] and q[1].tolist() == [[0, 0]]


def test_calibration_maps_the_largest_hidden_value_to_127(digits):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(64, 16)), rng.normal(size=(16, 10))]
    x = int8_input(digits.x_train)
    q = quantize_mlp(weights, x, variant="test")
    hidden = int8_forward(q, x).activations[1]
    assert hidden.min() == 0 and hidden.max() == 127
    assert (hidden == 127).mean() < 0.01  # the maximum, not a saturated crowd
    clipped = quantize_mlp(weights, x, variant="test", percentile=90.0)
    assert (int8_forward(clipped, x).activations[1] == 127).mean() > 0.05
    # The recorded output scale is the one the (multiplier, shift) pair implements.
    mult, shift, _ = q.requant[0]
    assert q.act_scales[1] == pytest.approx(q.act_scales[0] * q.weight_scales[0] * 2**shift / mult)


def test_bad_inputs_are_named(digits_variants):
    q = digits_variants["dense"]
    with pytest.raises(ValueError, match=r"x_int8 must be a matrix \[M x 64\], not shape \(3,\)"):
        int8_forward(q, np.zeros(3, int))
    with pytest.raises(TypeError, match="x_int8 must hold integers, not float64"):
        int8_forward(q, np.zeros((1, 64)))
    with pytest.raises(ValueError,
                       match=r"x_int8 values must lie in \[-128, 127\], found \[0, 128\]"):
        int8_forward(q, np.full((1, 64), 128) * (np.arange(64) > 0))
    dead = [np.zeros((64, 4), np.int8), np.ones((4, 10), np.int8)]
    with pytest.raises(ValueError, match="layer 0: no positive accumulator"):
        calibrate(dead, [1.0, 1.0], np.ones((2, 64), int), variant="dead")
    with pytest.raises(ValueError, match=r"weights\[0\] values must lie in \[-128, 127\], found "
                                         r"\[300, 300\]"):
        calibrate([np.full((64, 10), 300)], [1.0], np.ones((2, 64), int), variant="wide")
    with pytest.raises(TypeError, match=r"weights\[0\] must hold integers, not float64"):
        calibrate([np.ones((64, 10))], [1.0], np.ones((2, 64), int), variant="float")
    with pytest.raises(ValueError, match=r"weights\[1\] must have 4 rows to follow weights\[0\]"):
        calibrate([dead[0], np.ones((5, 10), int)], [1.0, 1.0], np.ones((2, 64), int),
                  variant="x")


def test_user_int8_weights_calibrate_without_their_scales(digits_variants, digits):
    q = digits_variants["1:4"]
    user = calibrate(q.weights, [1.0] * len(q.weights), int8_input(digits.x_train),
                     variant="user")
    assert user.requant == q.requant  # the requant parameters do not depend on weight scales
