"""Element shapes and stream payload layouts, all functions of the configuration.

Kept in one module because ``amaranth.lib.stream`` payloads are not introspectable: the
testbench and the models pack and unpack words using the same definitions.
"""

from amaranth.hdl import Const, signed, unsigned
from amaranth.lib import data

from ..wire_fields import word_width

__all__ = ["act_shape", "weight_shape", "acc_shape", "psum_shape", "pe_act_shape",
           "weight_slot_shape", "command_layout", "requant_params_layout",
           "activation_row_layout", "weight_row_layout",
           "compressed_word_layout", "result_row_layout", "bias_row_layout", "stream_layouts"]


def _shape(width, is_signed):
    return signed(width) if is_signed else unsigned(width)


def act_shape(cfg):
    return _shape(cfg.act_width, cfg.act_signed)


def weight_shape(cfg):
    return _shape(cfg.weight_width, cfg.weight_signed)


def acc_shape(cfg):
    return _shape(cfg.acc_width, cfg.acc_signed)


def psum_shape(cfg):
    """The partial sums passed down an array column: wide enough for the sum of R exact
    products, so it never wraps, and no wider than the accumulator. Bits above that would only
    copy the sign, and each one costs an adder LUT and a register in every PE."""
    product = (Const(0, act_shape(cfg)) * Const(0, weight_shape(cfg))).shape()
    width = min(cfg.acc_width, product.width + (cfg.rows - 1).bit_length())
    return _shape(width, product.signed)


def pe_act_shape(cfg):
    """What one PE receives per cycle: an activation, or for an N:M sparse array the M
    activations of its group (it selects one by its weight's index)."""
    if not cfg.sparse:
        return act_shape(cfg)
    return data.ArrayLayout(act_shape(cfg), cfg.act_group)


def weight_slot_shape(cfg):
    """What one PE holds: its weight, and for an N:M sparse array the weight's index (0..M-1)
    within its group of M K positions."""
    if not cfg.sparse:
        return weight_shape(cfg)
    return data.StructLayout({"value": weight_shape(cfg),
                              "index": unsigned(max(1, (cfg.act_group - 1).bit_length()))})


def command_layout(cfg):
    """One GEMM command: C[M×N] = A[M×K] · W[K×N].

    With ``cfg.output_stage``, also the output stage's parameters for this GEMM
    (:class:`~zeroskip.hdl.output_stage.OutputStage`): ``requant`` (1: requantise, 0: raw
    accumulators), ``relu``, ``mult`` and ``shift`` (result ``≈ acc · mult / 2**shift``). They
    follow ``m, k, n``, so the dimension fields keep their bit positions.
    """
    dim = unsigned(cfg.dim_width)
    fields = {"m": dim, "k": dim, "n": dim}
    if cfg.output_stage:
        fields.update(requant_params_layout(cfg).members)
    return data.StructLayout(fields)


def requant_params_layout(cfg):
    """The output stage's per-command parameters (``cfg.output_stage`` only)."""
    return data.StructLayout({"requant": unsigned(1), "relu": unsigned(1),
                              "mult": unsigned(cfg.requant_mult_width),
                              "shift": range(cfg.requant_max_shift + 1)})


def activation_row_layout(cfg):
    """The activations A[m, k0 : k0+k_per_fold] entering the array in one cycle: lane r goes to
    row r (dense), or lanes g·M .. g·M+M-1 to the N rows of group g (N:M sparse)."""
    return data.ArrayLayout(act_shape(cfg), cfg.k_per_fold)


def weight_row_layout(cfg):
    """C weights W[k, n0 : n0+C] loaded into one array row (lane c = column c); for an N:M
    sparse array, C (value, index) slots."""
    return data.ArrayLayout(weight_slot_shape(cfg), cfg.cols)


def compressed_word_layout(cfg):
    """One word of a compressed weight stream (:mod:`zeroskip.models.wire`); ``last`` marks
    the final word of a GEMM."""
    return data.StructLayout({"data": unsigned(word_width(cfg)), "last": unsigned(1)})


def result_row_layout(cfg):
    """C results C[m, n0 : n0+C]; ``last`` marks the final row of a command."""
    return data.StructLayout({
        "data": data.ArrayLayout(acc_shape(cfg), cfg.cols),
        "last": unsigned(1),
    })


def bias_row_layout(cfg):
    """C biases B[n0 : n0+C] at accumulator width (``cfg.bias``), added to an output tile's
    rows at its first K fold. They arrive on the activations stream as
    :func:`~zeroskip.wire_fields.bias_beats` activation rows, lane 0 in the lowest bits."""
    return data.ArrayLayout(acc_shape(cfg), cfg.cols)


def stream_layouts(cfg):
    """The payload layout of each of the engine's streams, ``{"cmd", "weights",
    "activations", "results"}``: weight rows, or with a compressed ``weight_format`` its
    words."""
    weights = weight_row_layout(cfg) if cfg.weight_format == "dense" else \
        compressed_word_layout(cfg)
    return {"cmd": command_layout(cfg), "weights": weights,
            "activations": activation_row_layout(cfg), "results": result_row_layout(cfg)}
