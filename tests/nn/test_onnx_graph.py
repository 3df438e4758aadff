"""The ONNX front end: models built here with onnx.helper (an MLP of Gemm layers with biases,
a transformer-style FFN block of MatMul, Add, Relu, MatMul, Add with hidden size 256, a
flattened image input) import into dense layers whose float evaluation matches onnxruntime
on the same inputs; every model it cannot run is refused with one line naming the node."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from zeroskip.nn.onnx_graph import OnnxImportError, load_onnx
from zeroskip.nn.onnx_qdq import onnxruntime_session

from .onnx_models import ffn_block, save_model, value_info


def _onnxruntime(path, x):
    session = onnxruntime_session(path)
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


def _check_against_onnxruntime(path, x, layers):
    net = load_onnx(path, input_shape=x.shape)
    assert len(net.layers) == layers
    expected = _onnxruntime(path, x)
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-4, atol=1e-4)
    return net


def test_mlp_with_gemm_biases_transb_alpha_beta(tmp_path):
    rng = np.random.default_rng(1)
    w1, b1 = rng.normal(size=(64, 32)), rng.normal(size=32)
    w2, b2 = rng.normal(size=(10, 32)), rng.normal(size=(1, 10))   # transB: N×K
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="fc2", transB=1,
                              alpha=0.5, beta=2.0)]
    path = save_model(nodes, [value_info("x", ["batch", 64])], [value_info("y", ["batch", 10])],
                      {"w1": w1, "b1": b1, "w2": w2, "b2": b2}, tmp_path / "mlp.onnx")
    net = _check_against_onnxruntime(path, rng.normal(size=(7, 64)), 2)
    assert [(l.name, l.k, l.n, l.relu) for l in net.layers] == [("fc1", 64, 32, True),
                                                                ("fc2", 32, 10, False)]
    assert net.layers[1].bias is not None and net.input_width == 64


def test_transformer_ffn_block(tmp_path):
    rng = np.random.default_rng(2)
    path = ffn_block(tmp_path / "ffn.onnx", rng, up_scale=1 / 8, down_scale=1 / 16,
                     bias_scale=1.0)
    net = _check_against_onnxruntime(path, rng.normal(size=(12, 64)), 2)
    assert [(l.k, l.n, l.relu, l.bias is not None) for l in net.layers] == [
        (64, 256, True, True), (256, 64, False, True)]


def test_image_input_is_flattened(tmp_path):
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("Flatten", ["img"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w"], ["y"], name="fc")]
    path = save_model(nodes, [value_info("img", ["n", 1, 8, 8])], [value_info("y", ["n", 10])],
                      {"w": rng.normal(size=(64, 10))}, tmp_path / "img.onnx")
    _check_against_onnxruntime(path, rng.normal(size=(5, 1, 8, 8)), 1)


def _refused(path, *fragments, input_shape=None):
    with pytest.raises(OnnxImportError) as e:
        load_onnx(path, input_shape=input_shape)
    message = str(e.value)
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message


def test_unsupported_op_names_the_op_and_node(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
             helper.make_node("Sigmoid", ["h"], ["y"], name="gate")]
    path = save_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 3])],
                      {"w": np.ones((4, 3))}, tmp_path / "m.onnx")
    _refused(path, "unsupported op Sigmoid", "'gate'", "MatMul, Gemm")


def test_qdq_forms_are_refused_by_name(tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant")]
    graph = helper.make_graph(nodes, "g", [value_info("x", [1, 4])],
                              [value_info("q", [1, 4], TensorProto.INT8)],
                              [numpy_helper.from_array(np.float32(0.1), "s"),
                               numpy_helper.from_array(np.int8(0), "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "q.onnx"))
    _refused(tmp_path / "q.onnx", "QuantizeLinear", "'quant'", "onnx_qdq.load_qdq")


def test_operands_of_more_than_two_dimensions(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    path = save_model(nodes, [value_info("x", [2, 3, 4])], [value_info("y", [2, 3, 5])],
                      {"w": np.ones((4, 5))}, tmp_path / "m.onnx")
    _refused(path, "'fc'", "3-D operand", "flatten or reshape first")


def test_a_dynamic_feature_dimension_needs_the_inputs(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w"], ["y"], name="fc")]
    path = save_model(nodes, [value_info("x", ["n", "c", 4])], [value_info("y", ["n", 5])],
                      {"w": np.ones((8, 5))}, tmp_path / "m.onnx")
    _refused(path, "'c'", "not resolved")
    assert load_onnx(path, input_shape=(3, 2, 4)).input_width == 8
    _refused(path, "do not take 12 features", input_shape=(3, 3, 4))


def test_wrong_dtype_and_unreadable_files(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    path = save_model(nodes, [value_info("x", [1, 4], TensorProto.INT64)],
                      [value_info("y", [1, 5])], {"w": np.ones((4, 5))}, tmp_path / "int.onnx")
    _refused(path, "'x'", "INT64", "float")
    good = save_model(nodes, [value_info("x", [1, 4])], [value_info("y", [1, 5])],
                      {"w": np.ones((4, 5))}, tmp_path / "good.onnx")
    (tmp_path / "cut.onnx").write_bytes(good.read_bytes()[:40])
    _refused(tmp_path / "cut.onnx", "cannot read ONNX model", "cut.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model at all\x00\xff")
    _refused(tmp_path / "junk.onnx", "cannot read ONNX model")
    _refused(tmp_path / "missing.onnx", "no such file")


def test_inputs_whose_width_does_not_match(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    path = save_model(nodes, [value_info("x", ["n", 4])], [value_info("y", ["n", 5])],
                      {"w": np.ones((4, 5))}, tmp_path / "m.onnx")
    net = load_onnx(path)
    with pytest.raises(OnnxImportError, match="each row must hold 4 features"):
        net.forward(np.ones((3, 5)))
    _refused(path, "do not match input 'x'", input_shape=(3, 5))


def test_a_branch_off_the_chain_is_refused(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
             helper.make_node("Add", ["h", "x2"], ["y"], name="residual")]
    graph = helper.make_graph(nodes, "g", [value_info("x", [1, 4]), value_info("x2", [1, 4])],
                              [value_info("y", [1, 4])],
                              [numpy_helper.from_array(np.ones((4, 4), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "b.onnx"))
    _refused(tmp_path / "b.onnx", "one input and one output")
