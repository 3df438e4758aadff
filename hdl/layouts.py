"""Element shapes and stream payload layouts, all functions of the configuration.

Kept in one module because ``amaranth.lib.stream`` payloads are not introspectable: the
testbench and the models pack and unpack words using the same definitions.
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from ..models.wire import word_width

__all__ = ["act_shape", "weight_shape", "acc_shape", "command_layout", "activation_row_layout",
           "weight_row_layout", "compressed_word_layout", "result_row_layout"]


def _shape(width, is_signed):
    return signed(width) if is_signed else unsigned(width)


def act_shape(cfg):
    return _shape(cfg.act_width, cfg.act_signed)


def weight_shape(cfg):
    return _shape(cfg.weight_width, cfg.weight_signed)


def acc_shape(cfg):
    return _shape(cfg.acc_width, cfg.acc_signed)


def command_layout(cfg):
    """One GEMM command: C[M×N] = A[M×K] · W[K×N]."""
    dim = unsigned(cfg.dim_width)
    return data.StructLayout({"m": dim, "k": dim, "n": dim})


def activation_row_layout(cfg):
    """R activations A[m, k0 : k0+R] entering the array's rows in one cycle (lane r = row r)."""
    return data.ArrayLayout(act_shape(cfg), cfg.rows)


def weight_row_layout(cfg):
    """C weights W[k, n0 : n0+C] loaded into one array row (lane c = column c)."""
    return data.ArrayLayout(weight_shape(cfg), cfg.cols)


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
