"""Reading an ONNX model into the dense layers zeroskip runs (the front end of issue #17).

A model the engine can run is a chain of dense layers, ``y = relu?(x · W + b)``, each one
GEMM (the batch is M, the layer's inputs K, its outputs N). :func:`load_onnx` reads the
graph with ``onnx``, checks it, and walks it from its one input to its one output:

- ``MatMul`` of the running tensor by a constant ``K×N`` matrix starts a layer;
- ``Gemm`` does too, with ``transB``, ``alpha`` and ``beta`` and its bias ``C`` (``transA``
  on the running tensor cannot be mapped and is refused);
- ``Add`` of a constant of ``N`` (or ``1×N``) values is the layer's bias;
- ``Relu`` ends a layer with a ReLU;
- ``Flatten`` and ``Reshape`` to ``batch × features`` go between layers (a 4-D image input
  is flattened first).

Anything else is refused before anything runs, naming the op and the node: other ops, a
branch off the chain, a non-constant weight, operands of more than two dimensions that no
Flatten or Reshape brings to two, a feature dimension the given input shape does not
resolve, a non-float input, an unreadable or truncated file. The int8 QDQ forms
(QuantizeLinear/DequantizeLinear, MatMulInteger, QLinearMatMul) are read by
:mod:`zeroskip.nn.onnx_qdq` (``load_model`` picks the reader); this one refuses them by name.

:meth:`OnnxNetwork.forward` evaluates the layers in float NumPy: the import is checked
against onnxruntime on the same inputs (tests/nn/test_onnx_graph.py). Quantisation
(:mod:`~zeroskip.nn.onnx_quant`), pruning (:mod:`~zeroskip.nn.pruning`) and running the
layers on the RTL (:mod:`~zeroskip.nn.onnx_run`, ``zeroskip run``) build on this.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["OnnxImportError", "DenseLayer", "OnnxNetwork", "load_onnx", "IMPORTED_OPS",
           "QDQ_FORMS", "read_model", "graph_constants", "graph_input", "flattened_shape",
           "node_attributes", "bias_vector"]

IMPORTED_OPS = ("MatMul", "Gemm", "Add", "Relu", "Flatten", "Reshape")
# The int8 forms #17 names, which zeroskip.nn.onnx_qdq reads instead.
QDQ_FORMS = ("QuantizeLinear", "DequantizeLinear", "MatMulInteger", "QLinearMatMul")
_FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64"}   # onnx.TensorProto codes


class OnnxImportError(ValueError):
    """A model zeroskip cannot run; the message names the node or tensor and why."""


@dataclass(frozen=True)
class DenseLayer:
    """``y = relu?(x · weight + bias)``: ``weight`` K×N, ``bias`` N or None (float64)."""
    name: str
    weight: np.ndarray
    bias: np.ndarray | None
    relu: bool

    @property
    def k(self):
        return self.weight.shape[0]

    @property
    def n(self):
        return self.weight.shape[1]


@dataclass(frozen=True)
class OnnxNetwork:
    """The layers of a model, its input's name and shape, and how many features (``K`` of
    the first layer) each input row has once flattened."""
    input_name: str
    input_shape: tuple
    layers: tuple

    @property
    def input_width(self):
        return self.layers[0].k

    def flatten(self, x):
        """``x`` (the model's input shape, any batch) as ``batch × input_width``, checked."""
        x = np.asarray(x)
        if x.ndim < 1 or x.size % self.input_width or (
                x.ndim >= 2 and int(np.prod(x.shape[1:])) != self.input_width):
            raise OnnxImportError(f"inputs of shape {x.shape} do not match the model: each "
                                  f"row must hold {self.input_width} features "
                                  f"(input {self.input_name!r} {self.input_shape})")
        return x.reshape(-1, self.input_width)

    def forward(self, x):
        """The float reference: every layer in float64 NumPy."""
        return self.trace(x)[-1]

    def trace(self, x):
        """Each layer's float input on ``x``, then the output (``len(layers) + 1`` arrays)."""
        h = self.flatten(x).astype(np.float64)
        out = [h]
        for layer in self.layers:
            h = h @ layer.weight
            if layer.bias is not None:
                h = h + layer.bias
            if layer.relu:
                h = np.maximum(h, 0.0)
            out.append(h)
        return out


def read_model(path):
    """The checked ``onnx`` model at ``path``; :class:`OnnxImportError` in one line for a
    missing, unreadable, truncated or invalid file."""
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except FileNotFoundError:
        raise OnnxImportError(f"cannot read ONNX model {str(path)!r}: no such file") from None
    except Exception as e:   # protobuf DecodeError, onnx ValidationError, truncated files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxImportError(f"cannot read ONNX model {str(path)!r}: {reason}") from None
    return model


def _dims(value_info):
    """Dimensions of a graph input: ints, or the name (or None) of a symbolic one."""
    shape = value_info.type.tensor_type.shape
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                 for d in shape.dim)


def load_onnx(path, *, input_shape=None):
    """The :class:`OnnxNetwork` of the model at ``path``. ``input_shape`` (the shape of the
    inputs to run) resolves symbolic dimensions other than the batch. Raises
    :class:`OnnxImportError`."""
    graph = read_model(path).graph
    constants = graph_constants(graph)
    source, shape = graph_input(graph, constants, input_shape)
    return _walk(graph, constants, source, shape)


def graph_constants(graph):
    """The graph's initializers and ``Constant`` outputs, by name, as NumPy arrays."""
    from onnx import numpy_helper

    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return constants


def graph_input(graph, constants, input_shape):
    """The name and shape of the graph's one float input, its symbolic dimensions other
    than the batch resolved by ``input_shape``; checks one input and one output."""
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxImportError(f"the model must have one input and one output, not "
                              f"{len(inputs)} and {len(graph.output)}")
    source = inputs[0]
    elem = source.type.tensor_type.elem_type
    if elem not in _FLOAT_TYPES:
        from onnx import TensorProto

        raise OnnxImportError(f"input {source.name!r} has type "
                              f"{TensorProto.DataType.Name(elem)}; zeroskip reads float "
                              f"models ({', '.join(_FLOAT_TYPES.values())})")
    shape = list(_dims(source))
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if len(input_shape) != len(shape) or any(
                isinstance(d, int) and d != g for d, g in zip(shape[1:], input_shape[1:])):
            raise OnnxImportError(f"inputs of shape {input_shape} do not match input "
                                  f"{source.name!r} of shape {tuple(shape)}")
        shape[1:] = input_shape[1:]
    unresolved = [d for d in shape[1:] if not isinstance(d, int) or d == 0]
    if not shape or unresolved:
        raise OnnxImportError(f"input {source.name!r} has shape {tuple(shape)}: its "
                              f"dimension {unresolved[0] if unresolved else '?'!r} is not "
                              f"resolved (give inputs of a known shape)")
    return source.name, tuple(shape)


def _const(constants, node, index, what):
    name = node.input[index] if index < len(node.input) else ""
    if name not in constants:
        raise OnnxImportError(f"{node.op_type} node {node.name!r}: its {what} "
                              f"{name!r} is not a constant, so it cannot be loaded as weights")
    return np.asarray(constants[name], dtype=np.float64)


def node_attributes(node):
    """A node's attributes as ``{name: value}``."""
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _walk(graph, constants, source, shape):
    current, features = source, shape        # the chain's running tensor and its shape
    layers, open_layer = [], None            # open_layer: may still take a bias or ReLU
    for node in graph.node:
        op, where = node.op_type, f"node {node.name!r}"
        if op == "Constant":
            continue
        if op in QDQ_FORMS:
            raise OnnxImportError(f"unsupported op {op} ({where}) in a float model: "
                                  f"zeroskip.nn.onnx_qdq.load_qdq reads the int8 QDQ forms "
                                  f"(load_model picks the reader)")
        if op not in IMPORTED_OPS:
            raise OnnxImportError(f"unsupported op {op} ({where}); zeroskip imports "
                                  f"{', '.join(IMPORTED_OPS)}")
        data_inputs = [i for i in node.input if i and i not in constants]
        if data_inputs != [current]:
            raise OnnxImportError(f"{op} {where} takes {data_inputs or 'only constants'}, "
                                  f"not the chain's tensor {current!r}: zeroskip runs a chain "
                                  f"of layers from the input to the output")
        if op in ("Flatten", "Reshape"):
            features = flattened_shape(node, where, constants, features)
            open_layer = None
        elif op in ("MatMul", "Gemm"):
            if len(features) != 2:
                raise OnnxImportError(f"{op} {where} has a {len(features)}-D operand of shape "
                                      f"{features}: only 2-D operands (batch × features) map to "
                                      f"a GEMM; flatten or reshape first")
            if node.input[0] != current:
                raise OnnxImportError(f"{op} {where}: the weights come first; zeroskip maps "
                                      f"activations × weights")
            w = _const(constants, node, 1, "weights")
            bias = None
            if op == "Gemm":
                attrs = node_attributes(node)
                if attrs.get("transA", 0):
                    raise OnnxImportError(f"Gemm {where} with transA=1 transposes the "
                                          f"activations, which the engine cannot map")
                if attrs.get("transB", 0):
                    w = w.T
                w = w * attrs.get("alpha", 1.0)
                if len(node.input) > 2 and node.input[2]:
                    bias = _const(constants, node, 2, "bias C") * attrs.get("beta", 1.0)
            if w.ndim != 2 or w.shape[0] != features[1]:
                raise OnnxImportError(f"{op} {where}: weights of shape {w.shape} do not take "
                                      f"{features[1]} features")
            if bias is not None:
                bias = bias_vector(bias, w.shape[1], where, op)
            open_layer = DenseLayer(node.name or f"layer{len(layers)}", w, bias, False)
            layers.append(open_layer)
            features = (features[0], w.shape[1])
        elif op == "Add":
            if open_layer is None or open_layer.relu:
                raise OnnxImportError(f"Add {where} is not a bias of a MatMul or Gemm "
                                      f"(it must follow one, before its Relu)")
            value = _const(constants, node, 1 if node.input[0] == current else 0, "bias")
            bias = bias_vector(value, open_layer.n, where, op)
            if open_layer.bias is not None:
                bias = bias + open_layer.bias
            open_layer = layers[-1] = DenseLayer(open_layer.name, open_layer.weight, bias,
                                                 False)
        else:  # Relu
            if open_layer is None:
                raise OnnxImportError(f"Relu {where} does not follow a MatMul or Gemm")
            open_layer = layers[-1] = DenseLayer(open_layer.name, open_layer.weight,
                                                 open_layer.bias, True)
        current = node.output[0]
    if not layers:
        raise OnnxImportError("the model has no MatMul or Gemm: nothing to run")
    if current != graph.output[0].name:
        raise OnnxImportError(f"the chain ends at {current!r}, not at the model's output "
                              f"{graph.output[0].name!r}")
    return OnnxNetwork(source, shape, tuple(layers))


def flattened_shape(node, where, constants, features):
    """The shape after a Flatten or Reshape ``node`` of a tensor of shape ``features``,
    which must be batch × features."""
    if node.op_type == "Flatten":
        axis = node_attributes(node).get("axis", 1)
        if axis != 1:
            raise OnnxImportError(f"Flatten {where} with axis {axis}: only axis 1 "
                                  f"(batch × features) maps to a GEMM")
    else:
        target = [int(d) for d in _const(constants, node, 1, "shape")]
        width = int(np.prod(features[1:]))
        if len(target) != 2 or target[0] not in (-1, 0) or target[1] not in (-1, width):
            raise OnnxImportError(f"Reshape {where} to {target}: only batch × "
                                  f"features ({features[0]}, {width}) maps to a GEMM")
    return (features[0], int(np.prod(features[1:])))


def bias_vector(value, n, where, op):
    """A bias for ``n`` outputs from ``value`` (one value, ``n`` or ``1×n``); the refusal
    names ``op`` and ``where``."""
    value = np.asarray(value, dtype=np.float64)
    if value.size == 1:
        return np.full(n, float(value.reshape(-1)[0]))
    if value.shape not in ((n,), (1, n)):
        raise OnnxImportError(f"{op} {where}: a bias of shape {value.shape} for {n} outputs "
                              f"(needs {n} or 1×{n} values)")
    return value.reshape(n)
