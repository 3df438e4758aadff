"""What goes on each of the engine's streams, in order, for a GEMM.

This is the wire protocol a user's DMA or host follows; the testbench drivers use it. Every
stream walks the folds of :func:`~zeroskip.models.folds.fold_sequence`.
"""

import numpy as np

from .folds import fold_sequence

__all__ = ["pack_weights", "pack_activations", "weight_blocks", "activation_blocks",
           "bias_rows", "check_bias", "result_row_count", "unpack_results"]


def _blocks(matrix, folds, lanes, select):
    """Per fold, the block ``matrix[select(fold)]`` zero-padded to ``lanes`` columns."""
    for f in folds:
        part = matrix[select(f)]
        block = np.zeros((part.shape[0], lanes), dtype=np.int64)
        block[:, :part.shape[1]] = part
        yield block


def weight_blocks(cfg, w, m):
    """:func:`pack_weights` one fold at a time: long GEMMs need not hold the whole stream."""
    k, n = w.shape
    return _blocks(w, fold_sequence(cfg, m, k, n), cfg.cols,
                   lambda f: (slice(f.k_base, f.k_base + f.k_rows),
                              slice(f.n_base, f.n_base + f.n_cols)))


def check_bias(cfg, bias, n):
    """``bias`` as an int64 vector of ``n`` values in the accumulator range; ``ValueError``
    naming it otherwise."""
    from .gemm import check_int_matrix

    bias = np.asarray(bias)
    if bias.ndim != 1 or bias.shape[0] != n:
        raise ValueError(f"bias must be a vector of N={n} values, not shape {bias.shape}")
    return check_int_matrix("bias", bias.reshape(1, -1), *cfg.operand_range("acc"))[0]


def bias_rows(cfg, values):
    """The activation rows ``[bias_beats, k_per_fold]`` that carry C biases ``values`` (lanes
    past N are 0): their ``acc_width``-bit two's-complement fields, lane 0 lowest, cut into
    ``act_width``-bit activation lanes (read as signed when activations are)."""
    from ..wire_fields import bias_beats
    from .gemm import wrap

    bits = 0
    for c, v in enumerate(values):
        bits |= (int(v) & ((1 << cfg.acc_width) - 1)) << (c * cfg.acc_width)
    lanes = bias_beats(cfg) * cfg.k_per_fold
    mask = (1 << cfg.act_width) - 1
    fields = [(bits >> (i * cfg.act_width)) & mask for i in range(lanes)]
    return wrap(fields, cfg.act_width, cfg.act_signed).reshape(-1, cfg.k_per_fold)


def activation_blocks(cfg, a, n, bias=None):
    """:func:`pack_activations` one fold at a time."""
    m, k = a.shape
    folds = fold_sequence(cfg, m, k, n)
    if not cfg.bias and bias is not None:
        raise ValueError("bias given, but the engine has no bias (cfg.bias is false)")
    if cfg.bias:
        bias = np.zeros(n, dtype=np.int64) if bias is None else check_bias(cfg, bias, n)
    rows = _blocks(a, folds, cfg.k_per_fold,
                   lambda f: (slice(f.m_base, f.m_base + f.tile_rows),
                              slice(f.k_base, f.k_base + f.k_rows)))
    for f, block in zip(folds, rows):
        if cfg.bias and f.first_k:
            lanes = np.zeros(cfg.cols, dtype=np.int64)
            lanes[:f.n_cols] = bias[f.n_base:f.n_base + f.n_cols]
            yield np.concatenate([bias_rows(cfg, lanes), block])
        else:
            yield block


def pack_weights(cfg, w, m):
    """Weight rows ``[rows, C]``: per fold, W[k, n0 : n0+C] for the fold's ``k_rows`` K
    positions (the engine pads the rest of the R rows with zeros). Lanes past N are sent as 0
    and ignored. Weights are sent again for every M tile, so M is needed."""
    return np.concatenate([np.zeros((0, cfg.cols), dtype=np.int64),
                           *weight_blocks(cfg, w, m)])


def pack_activations(cfg, a, n, bias=None):
    """Activation rows ``[rows, R]``: per fold, A[m, k0 : k0+R] for the ``tile_rows`` rows of
    its M tile. Lanes past K are sent as 0. Activations are sent again for every N fold.

    With ``cfg.bias``, the first K fold of each output tile starts with the
    :func:`bias_rows` of its C columns of ``bias`` (N values; ``None``: zeros)."""
    return np.concatenate([np.zeros((0, cfg.k_per_fold), dtype=np.int64),
                           *activation_blocks(cfg, a, n, bias)])


def result_row_count(cfg, m, k, n):
    """Rows on the results stream: one per A row per N fold."""
    return sum(f.tile_rows for f in fold_sequence(cfg, m, k, n) if f.last_k)


def unpack_results(cfg, rows, m, k, n):
    """Assemble result rows ``[rows, C]`` (stream order) into ``C[m×n]``.

    Raises ``ValueError`` if the number of rows is not what the GEMM produces, or if a lane past
    N is not zero.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, cfg.cols)
    expected = result_row_count(cfg, m, k, n)
    if len(rows) != expected:
        raise ValueError(f"expected {expected} result rows for M={m}, K={k}, N={n}, "
                         f"got {len(rows)}")
    c = np.zeros((m, n), dtype=np.int64)
    i = 0
    for f in fold_sequence(cfg, m, k, n):
        if not f.last_k:
            continue
        block = rows[i:i + f.tile_rows]
        if np.any(block[:, f.n_cols:]):
            raise ValueError(f"result lanes past N are not zero in rows {i}..{i + f.tile_rows}")
        c[f.m_base:f.m_base + f.tile_rows, f.n_base:f.n_base + f.n_cols] = block[:, :f.n_cols]
        i += f.tile_rows
    return c
