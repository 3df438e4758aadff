"""What goes on each of the engine's streams, in order, for a GEMM.

This is the wire protocol a user's DMA or host follows; the testbench drivers use it. Every
stream walks the folds of :func:`~zeroskip.models.folds.fold_sequence`.
"""

import numpy as np

from .folds import fold_sequence

__all__ = ["pack_weights", "pack_activations", "weight_blocks", "activation_blocks",
           "result_row_count", "unpack_results"]


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


def activation_blocks(cfg, a, n):
    """:func:`pack_activations` one fold at a time."""
    m, k = a.shape
    return _blocks(a, fold_sequence(cfg, m, k, n), cfg.k_per_fold,
                   lambda f: (slice(f.m_base, f.m_base + f.tile_rows),
                              slice(f.k_base, f.k_base + f.k_rows)))


def pack_weights(cfg, w, m):
    """Weight rows ``[rows, C]``: per fold, W[k, n0 : n0+C] for the fold's ``k_rows`` K
    positions (the engine pads the rest of the R rows with zeros). Lanes past N are sent as 0
    and ignored. Weights are sent again for every M tile, so M is needed."""
    return np.concatenate([np.zeros((0, cfg.cols), dtype=np.int64),
                           *weight_blocks(cfg, w, m)])


def pack_activations(cfg, a, n):
    """Activation rows ``[rows, R]``: per fold, A[m, k0 : k0+R] for the ``tile_rows`` rows of
    its M tile. Lanes past K are sent as 0. Activations are sent again for every N fold."""
    return np.concatenate([np.zeros((0, cfg.k_per_fold), dtype=np.int64),
                           *activation_blocks(cfg, a, n)])


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
