"""Host side of the AXI4-Stream top: a GEMM as the bytes a DMA sends on each stream, and the
result bytes back as a matrix.

The byte layout is AXI4-Stream's: a beat of ``tdata`` is ``n`` bytes, byte ``i`` carrying
``tdata[8i+7 : 8i]``, and beats follow each other in memory, so a DMA (a PYNQ
``allocate``d buffer through an AXI DMA, a LiteX DMA, a Linux dmaengine client) sends a
buffer of these bytes as it is. Each ``tdata`` is the engine's payload without its ``last``
bit, zero-padded to whole bytes (:mod:`zeroskip.hdl.axis`; bit by bit in
``docs/integration.md``). Streams with a ``tlast`` take one transfer per GEMM, with ``tlast``
on the final beat, which is what a DMA's end of buffer gives: the compressed weights
(``s_axis_weights``) and the results (``m_axis_results``).

The same functions feed the AXI4-Stream testbench (:mod:`zeroskip.testbench.axis_test`), so
there is one definition of the packing::

    from zeroskip import ZeroskipConfig
    from zeroskip.host import pack_gemm, unpack_results

    cfg = ZeroskipConfig(rows=8, cols=8, interface="axis")
    gemm = pack_gemm(cfg, a, w, requant=(mult, shift, relu))
    # DMA gemm.cmd, gemm.weights and gemm.activations to the three slave streams, and
    # receive gemm.result_bytes bytes from m_axis_results (one transfer, ending at tlast).
    c = unpack_results(cfg, received, *gemm.mkn)
"""

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Const

from .hdl.axis import axis_payload_bits, tdata_width
from .hdl.layouts import command_layout
from .models.requant import check_requant
from .models.streams import pack_activations, pack_weights, result_row_count
from .models.streams import unpack_results as _assemble_results
from .models.wire import compressed_weight_words

__all__ = ["GemmTransfers", "tdata_bytes", "command_word", "pack_lanes", "unpack_lanes",
           "int_bytes",
           "command_bytes", "weight_bytes", "activation_bytes", "pack_gemm", "result_rows",
           "unpack_results"]


_STREAMS = {"cmd": "s_axis_cmd", "weights": "s_axis_weights",
            "activations": "s_axis_activations", "results": "m_axis_results"}


def tdata_bytes(cfg):
    """Bytes per beat of each stream: ``{"cmd", "weights", "activations", "results"}``."""
    bits = axis_payload_bits(cfg)
    return {name: tdata_width(bits[prefix][0]) // 8 for name, prefix in _STREAMS.items()}


def command_word(cfg, m, k, n, requant=None):
    """The ``cmd`` payload as an integer (bit 0 first): ``m``, ``k``, ``n``, then with
    ``cfg.output_stage`` ``requant``, ``relu``, ``mult``, ``shift``. ``requant`` is ``(mult,
    shift, relu)`` or ``None`` (raw accumulators).

    Raises ``ValueError`` (naming the parameter and its range) for dimensions beyond
    ``dim_width`` or requantisation parameters the output stage cannot take."""
    cfg.check_gemm(m, k, n)
    if requant is not None and (not isinstance(requant, (tuple, list)) or len(requant) != 3):
        raise ValueError(f"requant must be (mult, shift, relu) or None, not {requant!r}")
    check_requant(cfg, requant)
    fields = {"m": m, "k": k, "n": n}
    if cfg.output_stage:
        mult, shift, relu = requant if requant is not None else (0, 0, False)
        fields.update(requant=requant is not None, relu=bool(relu), mult=mult, shift=shift)
    elif requant is not None:
        raise ValueError("requant needs a configuration with output_stage = true")
    return Const.cast(command_layout(cfg).const(fields)).value


def pack_lanes(rows, width, nbytes, byteorder="little"):
    """Rows of integer lanes (``[n, lanes]``, each ``width`` bits, lane 0 lowest) as ``n``
    words of ``nbytes`` bytes in one buffer, each word in ``byteorder``. Vectorised, so a
    stream of a million words packs in well under a second."""
    rows = np.asarray(rows, dtype=np.int64)
    n, lanes = rows.shape
    values = (rows & ((1 << width) - 1)).astype(np.uint64)
    bits = ((values[:, :, None] >> np.arange(width, dtype=np.uint64)) & 1).astype(np.uint8)
    padded = np.zeros((n, 8 * nbytes), dtype=np.uint8)
    padded[:, :lanes * width] = bits.reshape(n, lanes * width)
    little = np.packbits(padded, axis=1, bitorder="little")
    return (little if byteorder == "little" else little[:, ::-1]).tobytes()


def unpack_lanes(buffer, nbytes, lanes, width, signed, byteorder="little"):
    """The inverse of :func:`pack_lanes`: ``[n, lanes]`` int64 (sign-extended if
    ``signed``); bits past the lanes are ignored."""
    words = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, nbytes)
    if byteorder != "little":
        words = words[:, ::-1]
    bits = np.unpackbits(words, axis=1, bitorder="little")[:, :lanes * width]
    bits = bits.reshape(len(words), lanes, width).astype(np.int64)
    values = (bits << np.arange(width, dtype=np.int64)).sum(axis=2)
    if signed:
        values -= (values >> (width - 1) & 1) << width
    return values


def int_bytes(words, nbytes, byteorder="little"):
    """Payload integers as words of ``nbytes`` bytes in ``byteorder``, in one buffer."""
    return b"".join(int(word).to_bytes(nbytes, byteorder) for word in words)


def command_bytes(cfg, m, k, n, requant=None):
    """The one ``s_axis_cmd`` beat of a GEMM (see :func:`command_word`)."""
    return int_bytes([command_word(cfg, m, k, n, requant)], tdata_bytes(cfg)["cmd"])


def weight_bytes(cfg, w, m):
    """The ``s_axis_weights`` bytes of ``A[m×K] · w``: dense rows W[k, n0 : n0+C] per fold
    (:func:`~zeroskip.models.streams.pack_weights`), or for a compressed ``weight_format`` its
    words (:mod:`zeroskip.models.wire`), to send as one transfer ending at ``tlast``."""
    nbytes = tdata_bytes(cfg)["weights"]
    w = np.asarray(w, dtype=np.int64)
    if cfg.weight_format == "dense":
        return pack_lanes(pack_weights(cfg, w, m), cfg.weight_width, nbytes)
    return int_bytes(compressed_weight_words(cfg, w, m).words, nbytes)


def activation_bytes(cfg, a, n, bias=None):
    """The ``s_axis_activations`` bytes of ``a · W[K×n]``: rows A[m, k0 : k0+k_per_fold] per
    fold (:func:`~zeroskip.models.streams.pack_activations`); with ``cfg.bias``, each output
    tile's first K fold led by its biases (``bias``, N values; ``None``: zeros)."""
    return pack_lanes(pack_activations(cfg, np.asarray(a, dtype=np.int64), n, bias),
                      cfg.act_width, tdata_bytes(cfg)["activations"])


@dataclass(frozen=True)
class GemmTransfers:
    """One GEMM's DMA transfers: the bytes of each slave stream and the length of the result
    transfer."""
    mkn: tuple
    cmd: bytes
    weights: bytes
    activations: bytes
    result_bytes: int


def pack_gemm(cfg, a, w, requant=None, bias=None):
    """``C = A · W (+ bias)`` (``a`` ``[M×K]``, ``w`` ``[K×N]``, integers in the operand
    ranges; ``bias``, N integers in the accumulator range, needs ``cfg.bias``) as
    :class:`GemmTransfers`. Raises ``ValueError`` naming the parameter for mismatched
    shapes, operands out of range, dimensions beyond ``dim_width``, a bad bias or bad
    requantisation parameters."""
    a, w = np.asarray(a), np.asarray(w)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
        raise ValueError(f"a must be M×K and w K×N, not shapes {a.shape} and {w.shape}")
    for name, x, which in (("a", a, "act"), ("w", w, "weight")):
        lo, hi = cfg.operand_range(which)
        if x.size and (not np.issubdtype(x.dtype, np.integer) or x.min() < lo or x.max() > hi):
            raise ValueError(f"{name} must hold integers in [{lo}, {hi}]")
    (m, k), n = a.shape, w.shape[1]
    cmd = command_bytes(cfg, m, k, n, requant)
    return GemmTransfers(
        mkn=(m, k, n), cmd=cmd, weights=weight_bytes(cfg, w, m),
        activations=activation_bytes(cfg, a, n, bias),
        result_bytes=result_row_count(cfg, m, k, n) * tdata_bytes(cfg)["results"])


def result_rows(cfg, buffer):
    """``m_axis_results`` bytes as result rows ``[rows, C]`` (int64, stream order)."""
    nbytes = tdata_bytes(cfg)["results"]
    # Bytes, whatever holds them: a bytes object, a DMA buffer of another element type.
    buffer = memoryview(buffer).cast("B")
    if len(buffer) % nbytes:
        raise ValueError(f"result bytes must be a multiple of {nbytes} (one beat), "
                         f"not {len(buffer)}")
    return unpack_lanes(buffer, nbytes, cfg.cols, cfg.acc_width, cfg.acc_signed)


def unpack_results(cfg, buffer, m, k, n):
    """``C[m×n]`` from the ``m_axis_results`` bytes of a GEMM. Raises ``ValueError`` if the
    length is not the GEMM's or a lane past N is not zero."""
    cfg.check_gemm(m, k, n)
    return _assemble_results(cfg, result_rows(cfg, buffer), m, k, n)
