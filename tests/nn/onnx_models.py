"""ONNX models for the tests, built with onnx.helper: the graphs a user brings (float
layers with biases) and the helpers to write them."""

import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["save_model", "value_info", "digits_mlp", "ffn_block", "save_quantised_model",
           "int8_weights", "qdq_mlp", "INT8_ELEM", "POW2_SCALES", "GENERAL_SCALES"]

N = helper.make_node
INT8_ELEM = {np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8}
# Scales of qdq_mlp (s_x, s_w1, s_h, s_w2): powers of two, where onnxruntime's float
# requantisation and the output stage's fixed point compute the same products, and general.
POW2_SCALES = (2.0 ** -5, 2.0 ** -8, 2.0 ** -5, 2.0 ** -8)
GENERAL_SCALES = (0.0301, 0.00371, 0.0293, 0.00463)


def save_model(nodes, inputs, outputs, initializers, path):
    """Write a graph of ``nodes`` with float32 ``initializers`` (opset 17) to ``path``."""
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k)
                               for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def value_info(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def digits_mlp(path, split):
    """The digits MLP (64-128-64-10, ReLU) trained with biases on ``split``'s training images
    (scikit-learn's MLPClassifier, seeded), exported as Gemm layers (the first with
    ``transB``), input ``pixels / 16``. Returns ``(path, test accuracy of the float
    model)``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from zeroskip.nn.digits import float_input

    clf = MLPClassifier(hidden_layer_sizes=(128, 64), random_state=0, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(float_input(split.x_train), split.y_train)
    (w1, w2, w3), (b1, b2, b3) = clf.coefs_, clf.intercepts_
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1", transB=1),
             helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
             helper.make_node("Gemm", ["r1", "w2", "b2"], ["h2"], name="fc2"),
             helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
             helper.make_node("Gemm", ["r2", "w3", "b3"], ["logits"], name="fc3")]
    save_model(nodes, [value_info("x", ["batch", 64])], [value_info("logits", ["batch", 10])],
               {"w1": w1.T, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}, path)
    return path, float(clf.score(float_input(split.x_test), split.y_test))


def ffn_block(path, rng, *, d=64, hidden=256, up_scale=None, down_scale=None, bias_scale=0.1):
    """A transformer-style FFN block, ``relu(x · W_up + b_up) · W_down + b_down`` (MatMul,
    Add, Relu, MatMul, Add), with normal weights times ``up_scale`` and ``down_scale``
    (default: He scaling) and normal biases times ``bias_scale``."""
    up_scale = np.sqrt(2 / d) if up_scale is None else up_scale
    down_scale = np.sqrt(1 / hidden) if down_scale is None else down_scale
    nodes = [helper.make_node("MatMul", ["x", "w_up"], ["u"], name="up"),
             helper.make_node("Add", ["u", "b_up"], ["ub"], name="up_bias"),
             helper.make_node("Relu", ["ub"], ["a"], name="act"),
             helper.make_node("MatMul", ["a", "w_down"], ["dn"], name="down"),
             helper.make_node("Add", ["b_down", "dn"], ["y"], name="down_bias")]
    return save_model(nodes, [value_info("x", [None, d])], [value_info("y", [None, d])],
                      {"w_up": rng.normal(size=(d, hidden)) * up_scale,
                       "b_up": rng.normal(size=hidden) * bias_scale,
                       "w_down": rng.normal(size=(hidden, d)) * down_scale,
                       "b_down": rng.normal(size=d) * bias_scale}, path)


def save_quantised_model(nodes, initializers, path, width, n, *, probes=(),
                         input_shape=None, output_elem=TensorProto.FLOAT):
    """Save the model; and beside it, if ``probes`` names integer tensors, a copy that also
    outputs them (onnxruntime's hidden activations)."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape or ["batch", width])],
        [helper.make_tensor_value_info("y", output_elem, ["batch", n])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    for name, elem in probes:
        model.graph.output.append(helper.make_tensor_value_info(name, elem, None))
    onnx.save(model, str(path) + ".probe.onnx")
    return path


def int8_weights(rng, k, n, scale, spread):
    q = np.round(rng.normal(size=(k, n)) * spread / scale)
    return np.clip(q, -127, 127).astype(np.int8)


def qdq_mlp(path, rng, *, scales, act=np.int8, zero_points=(0, 0), relu=True, w_zero_point=0,
         per_channel=False, k=64, hidden=32, n=10):
    """A two-layer QDQ MLP: ``Q → DQ → MatMul(DQ(W1)) → Add(b1) → Relu → Q → DQ →
    MatMul(DQ(W2)) → Add(b2)``, int8 weights, activations of type ``act`` with the input's
    and hidden layer's ``zero_points``; biases whole numbers of accumulator steps."""
    s_x, s_w1, s_h, s_w2 = scales
    if per_channel:
        s_w1 = s_w1 * 2.0 ** rng.integers(-1, 2, size=hidden)
    w1 = int8_weights(rng, k, hidden, np.max(s_w1), 1 / 8)
    w2 = int8_weights(rng, hidden, n, s_w2, 1 / np.sqrt(hidden))
    b1 = np.round(rng.normal(size=hidden) * 0.3 / (s_x * s_w1)) * (s_x * s_w1)
    b2 = np.round(rng.normal(size=n) * 0.3 / (s_h * s_w2)) * (s_h * s_w2)
    w1_zero = np.full(hidden, w_zero_point, np.int8) if per_channel else np.int8(w_zero_point)
    inits = {"x_s": np.float32(s_x), "x_z": act(zero_points[0]), "w1_q": w1,
             "w1_s": np.float32(s_w1), "w1_z": w1_zero, "b1": b1.astype(np.float32),
             "h_s": np.float32(s_h), "h_z": act(zero_points[1]), "w2_q": w2,
             "w2_s": np.float32(s_w2), "w2_z": np.int8(0), "b2": b2.astype(np.float32)}
    nodes = [N("DequantizeLinear", ["w1_q", "w1_s", "w1_z"], ["w1"], name="w1_dq", axis=1),
             N("DequantizeLinear", ["w2_q", "w2_s", "w2_z"], ["w2"], name="w2_dq"),
             N("QuantizeLinear", ["x", "x_s", "x_z"], ["xq"], name="x_q"),
             N("DequantizeLinear", ["xq", "x_s", "x_z"], ["xd"], name="x_dq"),
             N("MatMul", ["xd", "w1"], ["m1"], name="fc1"),
             N("Add", ["m1", "b1"], ["a1"], name="fc1_bias")]
    if relu:
        nodes.append(N("Relu", ["a1"], ["r1"], name="relu1"))
    nodes += [N("QuantizeLinear", ["r1" if relu else "a1", "h_s", "h_z"], ["hq"], name="h_q"),
              N("DequantizeLinear", ["hq", "h_s", "h_z"], ["hd"], name="h_dq"),
              N("MatMul", ["hd", "w2"], ["m2"], name="fc2"),
              N("Add", ["b2", "m2"], ["y"], name="fc2_bias")]
    elem = INT8_ELEM[np.dtype(act)]
    return save_quantised_model(nodes, inits, path, k, n, probes=[("xq", elem), ("hq", elem)])
