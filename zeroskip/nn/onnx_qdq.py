"""Reading int8 quantised ONNX models into the engine's integer arithmetic, and writing the
engine's int8 networks as such models (the int8 part of issue #17).

:func:`load_qdq` reads a chain of quantised dense layers from the model's one float input to
its one output, in any mix of the three forms quantisers write:

- QDQ (what ``onnxruntime.quantization.quantize_static(quant_format=QDQ)`` writes):
  ``QuantizeLinear → DequantizeLinear → MatMul | Gemm`` by ``DequantizeLinear`` of an int8
  weight initializer, a bias as Gemm's ``C`` (a float constant, or ``DequantizeLinear`` of an
  int32 one) or an ``Add`` of a constant, an optional ``Relu``, then ``QuantizeLinear →
  DequantizeLinear`` into the next layer. A ``Relu`` between a layer's ``DequantizeLinear``
  and a ``QuantizeLinear`` of the same scale and zero point (quantize_static's form when
  activations are symmetric) is that layer's ReLU.
- ``MatMulInteger`` of the quantised tensor by an int8 constant with zero points, then
  ``Cast`` to float and ``Mul`` by the accumulators' scale (a constant, per tensor or per
  column), an optional bias ``Add`` and ``Relu``.
- ``QLinearMatMul`` (``a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp``): one layer from
  quantised input to quantised output, without bias or ReLU.

``Flatten`` and ``Reshape`` to batch × features go between layers, as in
:mod:`zeroskip.nn.onnx_graph`. The result is a :class:`~zeroskip.nn.onnx_quant.
QuantizedNetwork`, the arithmetic the engine runs, mapped as follows:

- weights: constant int8 with zero point 0 (or uint8 with zero point 128, the same values
  after subtracting 128), one scale per tensor or per output column. A weight zero point
  ``z_w`` would add ``z_w · Σ_k a_k`` to each output, which depends on the activation row, so
  no bias can carry it: such weights are refused.
- activations: the engine takes signed int8, so a tensor ``q`` with zero point ``z`` enters
  it as ``a = q - offset`` (offset 128 for uint8, 0 for int8), and since
  ``(q - z) · W = a · W + (offset - z) · Σ_k W_k``, the layer's int32 bias takes
  ``(offset - z)`` times the weight columns' sums. This is exact. The input's zero point and
  -128 saturation go into ``QuantizedNetwork.quantize_input``, which then divides in
  float32 as onnxruntime's QuantizeLinear does, so the int8 inputs are onnxruntime's.
- bias: ``round(b / (s_x · s_w))`` accumulator steps for a float bias; an int32 bias whose
  scale is ``s_x · s_w`` as it is.
- a hidden layer's output ``QuantizeLinear`` (scale ``s_y``, zero point ``z_y``):
  ``(multiplier, shift) = quantize_multiplier(s_x · s_w / s_y)``, per column with
  per-column weight scales. The output stage has no zero point. ``z_y - offset = 0`` (int8
  zero point 0, uint8 128) maps as it is. Any other ``z = z_y - offset`` maps exactly only
  when ``z`` output steps are a whole number of accumulator steps, ``z · 2**shift /
  multiplier`` (true when the requantisation scale is a power of two): the bias then carries
  it. Otherwise the model is refused, naming the node and the zero point. A ReLU clamps at
  ``z_y``; the output stage clamps at 0 (its ReLU) or at -128 (saturation), so a ReLU maps
  only with ``z = 0`` or ``z = -128``. uint8 after a ReLU (zero point 0, values 0..255) is
  the case ``z = -128``: exact for power-of-two requantisation scales, refused otherwise
  (the clamp at 127 cannot hold 128..255 unshifted, and the shift by 128 is exact only
  then). Such a layer's zeros reach the next layer as -128, which zero-gating does not
  skip.
- the last layer returns its int32 accumulators, whose real value is ``acc · acc_scale``.
  If the model ends in a ``QuantizeLinear`` (optionally dequantised again), onnxruntime's
  output is that quantised value: :meth:`QdqModel.forward` applies the same quantisation
  to the accumulators' real values for a like-for-like comparison (:meth:`QdqModel.outputs`
  does it to the engine's). A ReLU on the last layer is applied there too: the
  accumulators stay raw.

Anything else is refused before anything runs, with one line naming the node and why:
other ops (``DynamicQuantizeLinear`` by name: its scale is computed at run time, which fixed
output-stage parameters cannot follow), weights that are not int8 constants (including
weights quantised at run time from a float constant), per-axis activation scales, a bias
added after its layer's output was quantised (quantize_static's output for a MatMul and an
Add not fused into a Gemm: fuse them first, ``onnxruntime.quantization.quant_pre_process``
does), a requantisation without a GEMM, zero points as above.

Rounding: onnxruntime quantises in float32 with round half to even; the engine's output
stage rounds ``acc · multiplier / 2**shift`` half up, or to even with ``requant_rounding =
"half_even"``, and ``multiplier / 2**shift`` carries 16 significant bits of the scale. With
power-of-two scales both compute the same products: rounding half up, a hidden activation
differs only at an exact tie (``acc · scale = k + 1/2`` with ``k`` even, before the output
zero point is added), where the engine is one above; rounding to even, not at all (unless an
odd output zero point is folded into the bias, see :class:`QdqModel`). With general scales
they differ where the product lies within the scales' rounding of a half.
tests/nn/test_onnx_qdq.py measures both.

:func:`export_qdq` writes a :class:`QuantizedNetwork` as a QDQ graph onnxruntime runs, so
that a float model quantised by :func:`~zeroskip.nn.onnx_quant.quantize_network` can be
compared with onnxruntime running the same quantised graph (:func:`onnxruntime_outputs`).
"""

from dataclasses import dataclass

import numpy as np

from ..models.requant import quantize_multiplier
from .onnx_graph import (QDQ_FORMS, DenseLayer, OnnxImportError, OnnxNetwork, bias_vector,
                         flattened_shape, graph_constants, graph_input, load_onnx,
                         node_attributes, read_model)
from .onnx_quant import QuantLayer, QuantizedNetwork, int8_network_forward
from .quantize import INT8_MIN, INT32_MAX, INT32_MIN, MAX_SHIFT, MULT_WIDTH

__all__ = ["QdqModel", "load_qdq", "load_model", "export_qdq", "onnxruntime_outputs",
           "onnxruntime_session", "QDQ_OPS", "IMPORTED_QDQ_OPS"]

# A graph holding any of these is an int8 model (load_model's choice).
QDQ_OPS = QDQ_FORMS + ("DynamicQuantizeLinear",)
IMPORTED_QDQ_OPS = ("QuantizeLinear", "DequantizeLinear", "MatMul", "Gemm", "Add", "Relu",
                    "MatMulInteger", "Cast", "Mul", "QLinearMatMul", "Flatten", "Reshape")
# The engine's signed int8 value of an ONNX 8-bit integer is the integer minus this.
_OFFSET = {"int8": 0, "uint8": 128}
_LAYER_WEIGHT = {"MatMul": 1, "Gemm": 1, "MatMulInteger": 1, "QLinearMatMul": 3}
_FLOAT = 1   # onnx.TensorProto.FLOAT
_KINDS = {   # what the chain's running tensor is, for the refusals
    "float": "the model's float input, not quantised yet",
    "q": "a quantised integer tensor",
    "dq": "a dequantised tensor",
    "acc": "a layer's float output before its QuantizeLinear",
    "i32": "MatMulInteger's int32 accumulators (Cast to float and Mul by their scale "
           "come next)",
    "i32f": "MatMulInteger's accumulators as float (Mul by their scale comes next)",
}


@dataclass(frozen=True)
class _QParams:
    """How an integer tensor holds reals: ``real = (q - zero_point) · scale``."""
    scale: float
    zero_point: int
    dtype: str

    @property
    def engine_zero_point(self):
        return self.zero_point - _OFFSET[self.dtype]

    def same(self, other):
        return (self.dtype, self.zero_point) == (other.dtype, other.zero_point) and \
            bool(np.isclose(self.scale, other.scale, rtol=1e-6, atol=0.0))

    def __str__(self):
        return f"scale {self.scale:g}, zero point {self.zero_point} ({self.dtype})"


@dataclass(eq=False)
class _Layer:
    """A layer while the graph is read: ``weight`` the engine's int8 values (int64 K×N),
    ``bias`` in accumulator steps with the input zero point's fold, ``real_bias`` the
    model's bias in reals (for the float network), ``relu`` the Relu node's name."""
    name: str
    weight: np.ndarray
    bias: np.ndarray
    acc_scale: np.ndarray | None
    input_scale: float
    real_bias: np.ndarray
    relu: str | None = None
    out: _QParams | None = None
    out_node: str = ""
    dequantised: bool = False


@dataclass(frozen=True, eq=False)
class QdqModel:
    """An int8 ONNX model as the engine runs it: ``qnet`` (its layers as integers, the last
    returning int32 accumulators), the input's name and shape, the float network of its
    dequantised weights and biases (``float_network``), and what onnxruntime does after the
    last layer's accumulators: ``output_relu``, and ``output_quant`` ``(scale, zero_point,
    dtype)`` of a final QuantizeLinear (``None`` if the model ends in float), dequantised
    again if ``output_dequantised``; ``folded_zero_points``, per layer, the output zero point
    (on the engine's int8) its bias carries. The output stage rounds ``v + z`` where
    onnxruntime rounds ``v`` and adds ``z``: ties round the same way only when ``z`` is
    even, or with ``requant_rounding = "half_up"`` (``floor(v + z + ½) = floor(v + ½) + z``,
    which differs from onnxruntime at ties anyway)."""
    input_name: str
    input_shape: tuple
    qnet: QuantizedNetwork
    float_network: OnnxNetwork
    output_relu: bool
    output_quant: tuple | None
    output_dequantised: bool
    folded_zero_points: tuple = ()   # per layer, the output zero point its bias carries

    flatten = OnnxNetwork.flatten

    @property
    def input_width(self):
        return self.qnet.layers[0].weight.shape[0]

    def outputs(self, acc):
        """The model's outputs as onnxruntime gives them, from the last layer's int32
        accumulators ``acc`` (the engine's or the integer model's results)."""
        real = acc * self.qnet.layers[-1].acc_scale
        if self.output_relu:
            real = np.maximum(real, 0.0)
        if self.output_quant is None:
            return real
        scale, zero_point, dtype = self.output_quant
        bounds = np.iinfo(dtype)
        q = np.clip(np.round(real / scale) + zero_point, bounds.min, bounds.max)
        return (q - zero_point) * scale if self.output_dequantised else q.astype(np.int64)

    def forward(self, x):
        """The integer network on ``x``: its :meth:`outputs`, and the last accumulators."""
        _, acc = int8_network_forward(self.qnet, self.flatten(x))
        return self.outputs(acc), acc


def load_qdq(path, *, input_shape=None):
    """The :class:`QdqModel` of the int8 model at ``path``. ``input_shape`` resolves
    symbolic dimensions other than the batch. Raises :class:`OnnxImportError`."""
    graph = read_model(path).graph
    constants = graph_constants(graph)
    source, shape = graph_input(graph, constants, input_shape)
    return _Reader(graph, constants).read(source, shape)


def load_model(path, *, input_shape=None):
    """``("qdq", QdqModel)`` if the model at ``path`` holds any of :data:`QDQ_OPS`, else
    ``("float", OnnxNetwork)``."""
    graph = read_model(path).graph
    if any(node.op_type in QDQ_OPS for node in graph.node):
        return "qdq", load_qdq(path, input_shape=input_shape)
    return "float", load_onnx(path, input_shape=input_shape)


class _Reader:
    """Walks the chain node by node. ``kind`` (a key of :data:`_KINDS`) says what the
    running tensor ``current`` is; ``params`` are its quantisation (kinds ``q``, ``dq``);
    ``layer`` is the layer being built, or the one whose output ``current`` is."""

    def __init__(self, graph, constants):
        self.graph, self.constants = graph, constants
        # DequantizeLinear of constants: weights and biases, read where they are used.
        self.qconsts = {node.output[0]: node for node in graph.node
                        if node.op_type == "DequantizeLinear"
                        and all(i in constants for i in node.input if i)}

    def refuse(self, node, reason):
        raise OnnxImportError(f"{node.op_type} node {node.name!r}{reason}")

    def read(self, source, shape):
        self.graph_input = source, shape
        self.kind, self.current, self.features = "float", source, shape
        self.params = self.input_params = self.layer = None
        self.layers = []
        for node in self.graph.node:
            op = node.op_type
            if op == "Constant" or node.output[0] in self.qconsts:
                continue
            if op == "DynamicQuantizeLinear":
                self.refuse(node, ": dynamic quantisation computes the activations' scale at "
                                  "run time, which the output stage's fixed (multiplier, shift) "
                                  "cannot follow; zeroskip reads statically quantised models")
            if op not in IMPORTED_QDQ_OPS:
                raise OnnxImportError(f"unsupported op {op} (node {node.name!r}); zeroskip "
                                      f"imports {', '.join(IMPORTED_QDQ_OPS)} in int8 models")
            data = [i for i in node.input
                    if i and i not in self.constants and i not in self.qconsts]
            weight = _LAYER_WEIGHT.get(op)
            if weight is not None and weight < len(node.input) and node.input[weight] in data:
                self.refuse(node, f": its weights {node.input[weight]!r} are not a constant, "
                                  f"so they cannot be loaded as weights")
            if not data:
                self.refuse(node, f" computes {node.output[0]!r} from constants alone at run "
                                  f"time (weights quantised on the fly?): zeroskip reads int8 "
                                  f"weight initializers and does not fold constant subgraphs")
            if data != [self.current]:
                self.refuse(node, f" takes {data}, not the chain's tensor {self.current!r}: "
                                  f"zeroskip runs a chain of layers from the input to the "
                                  f"output")
            if op not in ("Add", "Mul") and node.input[0] != self.current:
                reason = "the weights come first; zeroskip maps activations × weights" \
                    if weight is not None else \
                    f"the chain's tensor {self.current!r} must be its first input"
                self.refuse(node, ": " + reason)
            getattr(self, "_" + op.lower())(node)
            self.current = node.output[0]
        return self.finish()

    def wrong_kind(self, node):
        self.refuse(node, f" cannot take {self.current!r}, {_KINDS[self.kind]}")

    # -- constants ---------------------------------------------------------------------

    def const(self, node, index, what):
        name = node.input[index] if index < len(node.input) else ""
        if name not in self.constants:
            self.refuse(node, f": its {what} {name!r} must be a constant")
        return np.asarray(self.constants[name])

    def qparams(self, node, scale_index, dtype):
        """The per-tensor quantisation given by ``node``'s scale and zero point inputs;
        ``dtype`` is the integer type when the zero point is left out."""
        scale = self.const(node, scale_index, "scale")
        zp_index = scale_index + 1
        if zp_index < len(node.input) and node.input[zp_index]:
            zero_point = self.const(node, zp_index, "zero point")
            dtype = zero_point.dtype.name
        else:
            zero_point = np.zeros(1, dtype=np.int64)
        if dtype not in _OFFSET:
            self.refuse(node, f": {dtype} activations; the engine takes 8-bit ones (int8, "
                              f"uint8)")
        if scale.size != 1 or zero_point.size != 1:
            self.refuse(node, f": {scale.size} scales and {zero_point.size} zero points; "
                              f"zeroskip quantises activations per tensor (one scale and "
                              f"zero point)")
        value = float(scale.reshape(-1)[0])
        if not (np.isfinite(value) and value > 0):
            self.refuse(node, f": scale {value!r}; a scale must be positive and finite")
        return _QParams(value, int(zero_point.reshape(-1)[0]), dtype)

    def weight_matrix(self, node, q, zero_point, scale, axis, transposed):
        """The engine's int8 weights (int64 K×N) and one scale per column (``None`` without
        ``scale``), checked: 2-D, 8-bit, symmetric, per tensor or per column."""
        q = np.asarray(q)
        if q.dtype.name not in _OFFSET or q.ndim != 2:
            self.refuse(node, f": weights of type {q.dtype.name} and shape {q.shape}; zeroskip "
                              f"maps 2-D int8 (or uint8) weights")
        offset = _OFFSET[q.dtype.name]
        zero_point = np.zeros(1, np.int64) if zero_point is None else np.asarray(zero_point)
        if np.any(zero_point.astype(np.int64) != offset):
            shown = np.unique(zero_point).tolist()
            self.refuse(node, f": weight zero point {shown[0] if len(shown) == 1 else shown} "
                              f"({q.dtype.name}); zeroskip needs symmetric weights (zero point "
                              f"{offset}): a weight zero point adds zero_point · Σ_k a_k to "
                              f"every output, which depends on the activation row, so no bias "
                              f"can carry it")
        w = q.astype(np.int64) - offset
        if transposed:
            w = w.T
        if scale is None:
            return w, None
        n, scale = w.shape[1], np.asarray(scale, dtype=np.float64)
        if scale.size == 1:
            scales = np.full(n, float(scale.reshape(-1)[0]))
        elif scale.shape == (n,) and axis % 2 == (0 if transposed else 1):
            scales = scale
        else:
            self.refuse(node, f": weight scales of shape {scale.shape} along axis {axis}; "
                              f"zeroskip takes one weight scale per tensor or per output column "
                              f"(a scale per input row cannot be taken out of the sum over K)")
        if not (np.all(np.isfinite(scales)) and np.all(scales > 0)):
            self.refuse(node, ": weight scales must be positive and finite")
        return w, scales

    def dq_weights(self, node, transposed):
        """MatMul's or Gemm's weights: ``DequantizeLinear`` of an 8-bit initializer."""
        name = node.input[1]
        if name not in self.qconsts:
            self.refuse(node, f": its weights {name!r} are a float constant; in an int8 model "
                              f"they must be int8 initializers behind a DequantizeLinear")
        dq = self.qconsts[name]
        attrs = node_attributes(dq)
        if attrs.get("block_size", 0):
            self.refuse(dq, ": blockwise weight scales; zeroskip takes one weight scale per "
                            "tensor or per output column")
        zero_point = self.const(dq, 2, "zero point") if len(dq.input) > 2 and dq.input[2] \
            else None
        return self.weight_matrix(node, self.const(dq, 0, "weights"), zero_point,
                                  self.const(dq, 1, "scale"), attrs.get("axis", 1), transposed)

    # -- layers ------------------------------------------------------------------------

    def start_layer(self, node, w, acc_scale, input_params):
        if len(self.features) != 2:
            self.refuse(node, f" has a {len(self.features)}-D operand of shape "
                              f"{self.features}: only 2-D operands (batch × features) map to a "
                              f"GEMM; flatten or reshape first")
        if w.shape[0] != self.features[1]:
            self.refuse(node, f": weights of shape {w.shape} do not take {self.features[1]} "
                              f"features")
        # (q - z)·W = (q - offset)·W + (offset - z)·Σ_k W_k: the zero point's fold.
        fold = -input_params.engine_zero_point * w.sum(axis=0)
        self.layer = _Layer(node.name or f"layer{len(self.layers)}", w, fold, acc_scale,
                            input_params.scale, np.zeros(w.shape[1]))
        self.layers.append(self.layer)
        self.features = (self.features[0], w.shape[1])

    def add_bias(self, node, name, factor):
        layer, n = self.layer, self.layer.weight.shape[1]
        if name in self.qconsts:
            dq = self.qconsts[name]
            q = self.const(dq, 0, "bias")
            scale = self.const(dq, 1, "scale").astype(np.float64)
            zero_point = self.const(dq, 2, "zero point").astype(np.int64) \
                if len(dq.input) > 2 and dq.input[2] else np.zeros(1, np.int64)
            value = (q.astype(np.int64) - zero_point.reshape(-1)) * scale.reshape(-1) * factor
            exact = (q.dtype == np.int32 and not zero_point.any() and factor == 1 and
                     scale.size in (1, n) and np.allclose(np.broadcast_to(
                         scale.reshape(-1), (n,)), layer.acc_scale, rtol=1e-6, atol=0.0))
        else:
            value, exact = self.const(node, list(node.input).index(name), "bias") * factor, False
        value = bias_vector(value, n, f"node {node.name!r}", node.op_type)
        # An int32 bias at the accumulators' scale is what the engine adds, exactly.
        steps = bias_vector(q, n, f"node {node.name!r}", node.op_type) if exact else \
            np.round(value / layer.acc_scale)
        layer.bias = layer.bias + steps.astype(np.int64)
        layer.real_bias = layer.real_bias + value

    # -- ops ---------------------------------------------------------------------------

    def _flatten(self, node):
        if self.kind in ("acc", "i32", "i32f"):
            self.wrong_kind(node)
        self.features = flattened_shape(node, f"node {node.name!r}", self.constants, self.features)

    _reshape = _flatten

    def _quantizelinear(self, node):
        params = self.qparams(node, 1, "uint8")
        if self.kind == "float":
            self.input_params = params
        elif self.kind == "acc":
            self.layer.out, self.layer.out_node = params, f"QuantizeLinear node {node.name!r}"
        elif self.kind == "dq":
            if not params.same(self.params):
                self.refuse(node, f" requantises {self.current!r} from {self.params} to "
                                  f"{params} without a MatMul; the engine requantises only in "
                                  f"a layer's output stage")
        else:
            self.wrong_kind(node)
        self.kind, self.params = "q", params

    def read_quantised(self, node):
        """Check that ``node`` reads the running quantised tensor with the scale and zero
        point (inputs 1 and 2) it holds; returns them."""
        if self.kind != "q":
            self.wrong_kind(node)
        params = self.qparams(node, 1, self.params.dtype)
        if not params.same(self.params):
            self.refuse(node, f" reads {self.current!r} with {params}, but it holds {self.params}")
        return params

    def _dequantizelinear(self, node):
        self.read_quantised(node)
        self.kind = "dq"

    def need_dequantised(self, node):
        if self.kind == "acc":
            self.refuse(node, f" takes {self.current!r}, the float output of layer "
                              f"{self.layer.name!r}: in an int8 model each layer's input is "
                              f"quantised (QuantizeLinear → DequantizeLinear)")
        if self.kind != "dq":
            self.wrong_kind(node)

    def _matmul(self, node):
        self.need_dequantised(node)
        w, s_w = self.dq_weights(node, False)
        self.start_layer(node, w, self.params.scale * s_w, self.params)
        self.kind = "acc"

    def _gemm(self, node):
        self.need_dequantised(node)
        attrs = node_attributes(node)
        if attrs.get("transA", 0):
            self.refuse(node, " with transA=1 transposes the activations, which the engine "
                              "cannot map")
        alpha = attrs.get("alpha", 1.0)
        if not alpha > 0:
            self.refuse(node, f" with alpha={alpha}: the accumulators' scale must be positive")
        w, s_w = self.dq_weights(node, bool(attrs.get("transB", 0)))
        self.start_layer(node, w, self.params.scale * s_w * alpha, self.params)
        if len(node.input) > 2 and node.input[2]:
            self.add_bias(node, node.input[2], attrs.get("beta", 1.0))
        self.kind = "acc"

    def _add(self, node):
        if self.kind == "acc" and self.layer.relu is None:
            other = node.input[1] if node.input[0] == self.current else node.input[0]
            self.add_bias(node, other, 1.0)
        elif self.kind == "acc":
            self.refuse(node, f" follows Relu node {self.layer.relu!r}; a bias is added "
                              f"before the ReLU")
        elif self.kind == "dq" and self.layer is not None:
            self.refuse(node, f" adds to {self.current!r}, after layer {self.layer.name!r}'s "
                              f"output was quantised ({self.layer.out_node}); the engine adds "
                              f"the bias to the accumulators: fuse MatMul and Add into a Gemm "
                              f"before quantising (onnxruntime.quantization.quant_pre_process)")
        else:
            self.wrong_kind(node)

    def _relu(self, node):
        if self.kind == "acc" or (self.kind == "dq" and self.layer is not None):
            self.layer.relu = node.name
        elif self.kind == "dq":
            self.refuse(node, " acts on the model's quantised input; the engine applies a "
                              "ReLU only in a layer's output stage")
        else:
            self.wrong_kind(node)

    def _qlinearmatmul(self, node):
        a = self.read_quantised(node)
        zero_point = self.const(node, 5, "weight zero point")
        w, s_w = self.weight_matrix(node, self.const(node, 3, "weights"), zero_point,
                                    self.const(node, 4, "weight scale"), 1, False)
        self.start_layer(node, w, a.scale * s_w, a)
        y = self.qparams(node, 6, "uint8")
        self.layer.out, self.layer.out_node = y, f"QLinearMatMul node {node.name!r}"
        self.params = y

    def _matmulinteger(self, node):
        if self.kind != "q":
            self.wrong_kind(node)
        if len(node.input) > 2 and node.input[2]:
            zp = self.const(node, 2, "activation zero point")
            if zp.size != 1 or (zp.dtype.name, int(zp.reshape(-1)[0])) != (
                    self.params.dtype, self.params.zero_point):
                self.refuse(node, f": activation zero point {zp.reshape(-1).tolist()} "
                                  f"({zp.dtype.name}), but {self.current!r} holds "
                                  f"{self.params}")
        elif self.params.zero_point:
            self.refuse(node, f": no activation zero point, but {self.current!r} holds "
                              f"{self.params}")
        zero_point = self.const(node, 3, "weight zero point") \
            if len(node.input) > 3 and node.input[3] else None
        w, _ = self.weight_matrix(node, self.const(node, 1, "weights"), zero_point, None, 1,
                                  False)
        self.start_layer(node, w, None, self.params)
        self.kind = "i32"

    def _cast(self, node):
        if self.kind != "i32":
            self.wrong_kind(node)
        to = node_attributes(node).get("to")
        if to != _FLOAT:
            from onnx import TensorProto

            self.refuse(node, f" casts the accumulators to {TensorProto.DataType.Name(to)}; "
                              f"zeroskip maps a Cast to FLOAT before the Mul by their scale")
        self.kind = "i32f"

    def _mul(self, node):
        if self.kind not in ("i32f", "acc"):
            self.wrong_kind(node)
        other = node.input[1] if node.input[0] == self.current else node.input[0]
        n = self.layer.weight.shape[1]
        scale = np.asarray(self.const(node, list(node.input).index(other), "scale"),
                           dtype=np.float64)
        if scale.size not in (1, n) or scale.shape not in ((), (1,), (n,), (1, n)) or not (
                np.all(np.isfinite(scale)) and np.all(scale > 0)):
            self.refuse(node, f": a scale of shape {scale.shape} for {n} outputs; zeroskip "
                              f"maps a positive scale per tensor or per output column")
        scale = np.broadcast_to(scale.reshape(-1), (n,)).astype(np.float64)
        if self.kind == "i32f":
            self.layer.acc_scale = scale
        else:   # a positive scale commutes with the ReLU and scales the bias with the rest
            self.layer.acc_scale = self.layer.acc_scale * scale
            self.layer.real_bias = self.layer.real_bias * scale
        self.kind = "acc"

    # -- the result --------------------------------------------------------------------

    def finish(self):
        if not self.layers:
            raise OnnxImportError("the model has no MatMul, Gemm, MatMulInteger or "
                                  "QLinearMatMul: nothing to run")
        output = self.graph.output[0].name
        if self.current != output:
            raise OnnxImportError(f"the chain ends at {self.current!r}, not at the model's "
                                  f"output {output!r}")
        if self.kind not in ("acc", "q", "dq"):
            raise OnnxImportError(f"the model's output {output!r} is {_KINDS[self.kind]}, "
                                  f"not a layer's output")
        last = self.layers[-1]
        last.dequantised = self.kind == "dq"
        layers, float_layers = [], []
        for spec in self.layers:
            requant, bias = (None, spec.bias) if spec is last else self.requant(spec)
            if bias.min() < INT32_MIN or bias.max() > INT32_MAX:
                raise OnnxImportError(f"layer {spec.name!r}: its bias with the zero points' "
                                      f"folds leaves int32 ({int(bias.min())}..{int(bias.max())})")
            layers.append(QuantLayer(spec.name, spec.weight.astype(np.int8), bias,
                                     spec.acc_scale, requant))
            clamps = spec.out is not None and spec.out.engine_zero_point == INT8_MIN
            float_layers.append(DenseLayer(spec.name, spec.weight * (spec.acc_scale /
                                                                     spec.input_scale),
                                           spec.real_bias, spec.relu is not None or clamps))
        p = self.input_params
        qnet = QuantizedNetwork(p.scale, tuple(layers),
                                any(np.ptp(layer.acc_scale) > 0 for layer in layers),
                                input_zero_point=p.engine_zero_point, input_min=INT8_MIN,
                                input_float32=True)
        source, shape = self.graph_input
        out = None if last.out is None else (last.out.scale, last.out.zero_point,
                                             last.out.dtype)
        folded = tuple(0 if spec is last else spec.out.engine_zero_point
                       for spec in self.layers)
        return QdqModel(source, shape, qnet, OnnxNetwork(source, shape, tuple(float_layers)),
                        last.relu is not None, out, last.dequantised, folded)

    def requant(self, spec):
        """A hidden layer's ``(multipliers, shifts, relu)`` and its bias with the output
        zero point folded in, or the refusal."""
        p, z = spec.out, spec.out.engine_zero_point
        if spec.relu is not None and z not in (0, INT8_MIN):
            raise OnnxImportError(f"Relu node {spec.relu!r} clamps layer {spec.name!r} at its "
                                  f"output zero point {p.zero_point} ({p.dtype}, {z} on the "
                                  f"engine's int8; {spec.out_node}); the output stage clamps "
                                  f"only at 0 (ReLU) or -128 (saturation)")
        pairs = []
        for scale in spec.acc_scale / p.scale:
            try:
                m, shift = quantize_multiplier(float(scale), mult_width=MULT_WIDTH,
                                               max_shift=MAX_SHIFT)
            except ValueError as e:
                raise OnnxImportError(f"{spec.out_node}: {e}") from None
            if (z << shift) % m:
                raise OnnxImportError(
                    f"{spec.out_node} has output zero point {p.zero_point} ({p.dtype}), {z} on "
                    f"the engine's int8: the output stage has no zero point, and {z} output "
                    f"steps are {z}·2**{shift}/{m} accumulator steps, not a whole number, so "
                    f"no bias carries it exactly (zero point {_OFFSET[p.dtype]} maps exactly)")
            pairs.append((m, shift))
        multipliers = np.array([m for m, _ in pairs])
        shifts = np.array([s for _, s in pairs])
        bias = spec.bias + np.array([(z << s) // m for m, s in pairs], dtype=np.int64)
        # ReLU at the zero point -128 is the saturation the output stage does anyway.
        return (multipliers, shifts, spec.relu is not None and z == 0), bias


# The exported graph's input (export_qdq).
EXPORT_INPUT = "zeroskip_input"


def export_qdq(qnet, input_width, path):
    """Write ``qnet`` (a :class:`~zeroskip.nn.onnx_quant.QuantizedNetwork`) to ``path`` as
    a QDQ model onnxruntime runs, input :data:`EXPORT_INPUT` of ``batch × input_width``
    floats (a name of its own, so that no user's input name can clash with the graph's),
    output ``output``: the input ``QuantizeLinear`` (int8, the network's input scale and
    zero point; a ``Clip`` first when its inputs stop at -127 rather than -128), then per
    layer ``MatMul`` by ``DequantizeLinear`` of the int8 weights, the bias added in float
    (``bias · acc_scale``), a hidden layer's ``Relu`` and its ``QuantizeLinear →
    DequantizeLinear`` at the scale its ``(multiplier, shift)`` implements, ``acc_scale ·
    2**shift / multiplier``; the last layer's output is float. The activations'
    ``DequantizeLinear`` has zero point 0: the network's biases already hold any zero
    point's fold.

    Per-column pairs (per-channel weight scales) implement slightly different scales (by
    the multipliers' rounding), so those QuantizeLinear and DequantizeLinear are per axis,
    each column at its pair's scale, and the next layer's weight scales are taken against
    their mean, the input scale its accumulators assume (as :func:`~zeroskip.nn.onnx_quant.
    quantize_network` records it). :func:`load_qdq` does not read per-axis activations."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers, nodes = [], []

    def constant(name, value):
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def scale_and_zero(name, values):
        """A Quantize/DequantizeLinear's scale and zero point: per tensor, or per axis."""
        values = np.asarray(values, dtype=np.float32)
        if np.ptp(values) == 0:
            return [constant(name, values[0]), zero]
        return [constant(name, values), constant(f"{name}_zero_point", np.zeros(len(values),
                                                                              np.int8))]

    zero = constant("zero_point", np.int8(0))
    current, s_x = EXPORT_INPUT, float(qnet.input_scale)
    if qnet.input_min > INT8_MIN:
        low = constant("input_min", np.float32((qnet.input_min - qnet.input_zero_point) * s_x))
        nodes.append(helper.make_node("Clip", [current, low], ["input_clipped"],
                                      name="input_clip"))
        current = "input_clipped"
    scale = constant("input_scale", np.float32(s_x))
    nodes += [helper.make_node("QuantizeLinear", [current, scale, constant(
                  "input_zero_point", np.int8(qnet.input_zero_point))], ["input_q"],
                  name="input_quantize"),
              helper.make_node("DequantizeLinear", ["input_q", scale, zero], ["input_dq"],
                               name="input_dequantize")]
    current = "input_dq"
    for i, layer in enumerate(qnet.layers):
        p = f"layer{i}"
        nodes += [helper.make_node("DequantizeLinear", [constant(
                      f"{p}_weight_q", layer.weight.astype(np.int8)), *scale_and_zero(
                      f"{p}_weight_scale", layer.acc_scale / s_x)],
                      [f"{p}_weight"], name=f"{p}_weight_dequantize", axis=1),
                  helper.make_node("MatMul", [current, f"{p}_weight"], [f"{p}_matmul"],
                                   name=f"{p}_matmul"),
                  helper.make_node("Add", [f"{p}_matmul", constant(
                      f"{p}bias_vector", (layer.bias * layer.acc_scale).astype(np.float32))],
                      ["output" if layer.requant is None else f"{p}_acc"], name=f"{p}bias_vector")]
        if layer.requant is None:
            break
        multipliers, shifts, relu = layer.requant
        current = f"{p}_acc"
        if relu:
            nodes.append(helper.make_node("Relu", [current], [f"{p}_relu"], name=f"{p}_relu"))
            current = f"{p}_relu"
        implemented = layer.acc_scale * (2.0 ** shifts) / multipliers
        s_x = float(np.mean(implemented))
        qp = scale_and_zero(f"{p}_output_scale", implemented)
        nodes += [helper.make_node("QuantizeLinear", [current, *qp], [f"{p}_q"],
                                   name=f"{p}_quantize", axis=1),
                  helper.make_node("DequantizeLinear", [f"{p}_q", *qp], [f"{p}_dq"],
                                   name=f"{p}_dequantize", axis=1)]
        current = f"{p}_dq"
    n = qnet.layers[-1].weight.shape[1]
    graph = helper.make_graph(
        nodes, "zeroskip_int8",
        [helper.make_tensor_value_info(EXPORT_INPUT, TensorProto.FLOAT,
                                       ["batch", input_width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="zeroskip")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def onnxruntime_session(path):
    """An onnxruntime session (CPUExecutionProvider, default graph optimisations) for the
    model at ``path`` that computes its integer matrix products exactly on every x86 CPU.

    Without VNNI (AVX2, AVX-512 without VNNI: AMD Zen 3, Intel Skylake), onnxruntime's U8S8
    kernel adds pairs of uint8 · int8 products in 16 bits with saturation (``vpmaddubsw``),
    so a QLinearMatMul or a fused QDQ MatMul with uint8 activations comes out wrong wherever
    two neighbouring products exceed 32767: on such a CI machine one accumulator in 8192
    of a test model did, and 41% of a quantize_static model's outputs. The engine computes
    the exact sums; ``session.x64quantprecision`` makes onnxruntime use its exact U8U8
    kernel there (a no-op with VNNI), so a comparison does not depend on the CPU.

    That mode rewrites int8 weights and zero points to uint8 one consumer at a time and
    fails ("Attempt to replace the existing tensor", onnxruntime 1.32) on an int8
    initializer that several nodes read, as a shared zero point: each consumer gets a copy
    of its own here, which changes no value."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    graph = model.graph
    int8 = {t.name: t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8}
    seen, copies = set(), 0
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in seen:
                copies += 1
                copy = graph.initializer.add()
                copy.CopyFrom(int8[name])
                copy.name = node.input[i] = f"{name}__zeroskip_copy{copies}"
            elif name in int8:
                seen.add(name)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def onnxruntime_outputs(path, x):
    """The model at ``path`` run by onnxruntime (:func:`onnxruntime_session`) on ``x`` as
    float32, its rows reshaped to the model's input shape."""
    session = onnxruntime_session(path)
    first = session.get_inputs()[0]
    x = np.asarray(x, dtype=np.float32)
    if all(isinstance(d, int) for d in first.shape[1:]):
        x = x.reshape((-1, *first.shape[1:]))
    return session.run(None, {first.name: x})[0]
