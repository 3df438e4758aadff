"""Golden model of the N:M sparse array's arithmetic: GEMM computed from the compressed weights.

The sparse array never sees a dense weight: each PE holds one of the N kept values of a group
of M K positions and its index, and multiplies the activation at that index. This model does
exactly that, on the ``nm`` codec's arrays. The tests check that it equals
:func:`~zeroskip.models.gemm.gemm_reference` on the dense matrix, so the compressed
representation and the hardware's gather are both pinned down.
"""

import numpy as np

from .codecs import encode
from .gemm import wrap

__all__ = ["compress_nm", "sparse_gemm_reference"]


def compress_nm(cfg, w):
    """``(values, indices)``, each ``[K/M groups, N columns, N slots]``, of N:M weights ``w``
    for ``cfg.sparsity``; raises ``ValueError`` naming the first group that holds more than N
    non-zeros."""
    if not cfg.sparse:
        raise ValueError(f"compress_nm needs an N:M sparsity, not sparsity={cfg.sparsity!r}")
    enc = encode(cfg, w, "nm", nm=cfg.nm)
    return enc.arrays["values"], enc.arrays["indices"]


def sparse_gemm_reference(cfg, a, values, indices):
    """``C = A · W`` from compressed weights: every kept weight multiplies the activation its
    index selects within its group; sums wrap modulo ``2**acc_width`` as in the engine."""
    a = np.asarray(a, dtype=np.int64)
    _, group = cfg.nm
    groups = values.shape[0]
    padded = np.zeros((a.shape[0], groups * group), dtype=np.int64)
    padded[:, :a.shape[1]] = a
    by_group = padded.reshape(a.shape[0], groups, group)          # [m, g, position]
    acc = np.zeros((a.shape[0], values.shape[1]), dtype=np.int64)
    for g in range(groups):
        selected = by_group[:, g, :][:, indices[g]]                # [m, column, slot]
        acc = wrap(acc + (selected * values[g][None]).sum(axis=2), 62, True)
    return wrap(acc, cfg.acc_width, cfg.acc_signed)
