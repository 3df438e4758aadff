"""Compressed weight formats: NumPy encoders, decoders and exact sizes.

All formats compress a weight matrix ``W[K×N]`` (integers in the configured weight range) along
K, the dimension the engine streams weights in, column by column. Each encoder rejects what it
cannot encode with a ``ValueError`` naming the problem; each decoder is the exact inverse.
``size_bits`` counts every bit a format stores, metadata included, for weights of
``cfg.weight_width`` bits.

Formats
-------
bitmask
    Per group of ``group`` consecutive K positions of a column: a ``group``-bit mask (bit i set
    when position i is non-zero) and the group's non-zero values in K order (NVDLA/Sparseloop
    "B"); groups are stored group by group, column by column within a group. K is padded with
    zeros to a multiple of ``group``.
nm
    N:M structured: every M consecutive K positions of a column hold at most N non-zeros,
    stored as exactly N values and N indices of log2(M) bits, indices strictly increasing
    (slots beyond the group's non-zeros hold value 0 at the lowest unused indices), NVIDIA 2:4
    style. M in {2, 4, 8}, 1 <= N < M. K is padded with zeros to a multiple of M.
csc / csr
    Compressed sparse column / row: ``pointers`` (N+1 resp. K+1 entries), ``indices`` (row
    resp. column index of each non-zero) and ``values``. Pointer fields are wide enough for
    the non-zero count, index fields for K resp. N.
rle
    Per column, (run, value) entries in K order: ``run`` zeros, then ``value``. Runs wider than
    the ``run_width``-bit field use continuation entries (max run, value 0), which stand for
    ``2**run_width`` zeros (Eyeriss style). Trailing zeros of a column are implicit (K is
    known); each column's entry count is stored in a ``count_width``-bit field.
"""

from dataclasses import dataclass, field

import numpy as np

from ..wire_fields import bits_for

__all__ = ["FORMATS", "Encoded", "encode", "decode", "size_bits", "prune_nm",
           "prune_unstructured", "check_nm"]

FORMATS = ("dense", "bitmask", "nm", "csc", "csr", "rle")
NM_GROUP_SIZES = (2, 4, 8)


@dataclass
class Encoded:
    """An encoded matrix: its format, shape, parameters and the format's arrays."""

    format: str
    shape: tuple
    params: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)


def _check_matrix(cfg, w):
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D matrix, not shape {w.shape}")
    if not np.issubdtype(w.dtype, np.integer):
        raise TypeError(f"weights must hold integers, not {w.dtype}")
    lo, hi = cfg.operand_range("weight")
    if w.size and (w.min() < lo or w.max() > hi):
        raise ValueError(f"weight values must lie in [{lo}, {hi}] (weight_width="
                         f"{cfg.weight_width}), found [{int(w.min())}, {int(w.max())}]")
    return w.astype(np.int64)


def _check_pattern(n, m):
    if m not in NM_GROUP_SIZES or not 1 <= n < m:
        raise ValueError(f"N:M pattern must have M in {', '.join(map(str, NM_GROUP_SIZES))} "
                         f"and 1 <= N < M, not {n}:{m}")


def _pad_k(w, multiple):
    k = w.shape[0]
    pad = -k % multiple
    return np.concatenate([w, np.zeros((pad, w.shape[1]), dtype=np.int64)]) if pad else w


def _k_groups(w, size):
    """``w`` zero-padded along K and cut into ``[groups, size, columns]``. The group count is
    explicit: NumPy cannot infer it (``-1``) for a matrix with no columns."""
    padded = _pad_k(w, size)
    return padded.reshape(padded.shape[0] // size, size, padded.shape[1])


def check_nm(w, n, m):
    """Raise ``ValueError`` unless every M consecutive K positions of every column of ``w``
    (zero-padded) hold at most N non-zeros, and (N, M) is supported."""
    _check_pattern(n, m)
    groups = _k_groups(np.asarray(w, dtype=np.int64), m)
    counts = np.count_nonzero(groups, axis=1)
    if counts.size and counts.max() > n:
        g, col = np.argwhere(counts > n)[0]
        raise ValueError(f"weights violate {n}:{m} sparsity: column {col}, K positions "
                         f"{g * m}..{g * m + m - 1} hold {counts[g, col]} non-zeros")


def encode(cfg, w, fmt, *, group=8, nm=(2, 4), run_width=4):
    """Encode ``w`` in format ``fmt`` (see the module documentation)."""
    w = _check_matrix(cfg, w)
    k, n = w.shape
    if fmt == "dense":
        return Encoded(fmt, (k, n), {}, {"values": w.copy()})
    if fmt == "bitmask":
        if not 1 <= group <= 64:
            raise ValueError(f"bitmask group must be between 1 and 64, not {group!r}")
        groups = _k_groups(w, group)                          # [g, position, column]
        nonzero = groups != 0
        masks = (nonzero * (1 << np.arange(group))[None, :, None]).sum(axis=1)  # [g, column]
        values = groups.transpose(0, 2, 1)[nonzero.transpose(0, 2, 1)]  # group, column, pos
        return Encoded(fmt, (k, n), {"group": group}, {"masks": masks, "values": values})
    if fmt == "nm":
        n_keep, m = nm
        check_nm(w, n_keep, m)
        groups = _k_groups(w, m).transpose(0, 2, 1)          # [g, column, position]
        order = np.argsort(groups == 0, axis=2, kind="stable")       # non-zeros first, in order
        indices = np.sort(order[:, :, :n_keep], axis=2)
        values = np.take_along_axis(groups, indices, axis=2)
        return Encoded(fmt, (k, n), {"n": n_keep, "m": m},
                       {"values": values, "indices": indices})
    if fmt in ("csc", "csr"):
        major = w.T if fmt == "csc" else w                           # rows of the major axis
        nonzero = major != 0
        pointers = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))])
        indices = np.nonzero(nonzero)[1]
        return Encoded(fmt, (k, n), {}, {"pointers": pointers, "indices": indices,
                                         "values": major[nonzero]})
    if fmt == "rle":
        if not 1 <= run_width <= 16:
            raise ValueError(f"rle run_width must be between 1 and 16, not {run_width!r}")
        max_run = (1 << run_width) - 1
        runs, values, counts = [], [], []
        for col in range(n):
            entries, zeros = 0, 0
            for value in w[:, col]:
                if value == 0:
                    zeros += 1
                    continue
                while zeros > max_run:
                    runs.append(max_run)
                    values.append(0)
                    zeros -= max_run + 1
                    entries += 1
                runs.append(zeros)
                values.append(int(value))
                zeros = 0
                entries += 1
            counts.append(entries)
        return Encoded(fmt, (k, n), {"run_width": run_width},
                       {"runs": np.array(runs, dtype=np.int64),
                        "values": np.array(values, dtype=np.int64),
                        "counts": np.array(counts, dtype=np.int64)})
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def decode(enc):
    """The dense ``W[K×N]`` an :class:`Encoded` stands for."""
    k, n = enc.shape
    a = enc.arrays
    if enc.format == "dense":
        return a["values"].copy()
    if enc.format == "bitmask":
        group = enc.params["group"]
        groups = -(-k // group)
        nonzero = ((a["masks"][:, :, None] >> np.arange(group)) & 1).astype(bool)  # g, col, pos
        out = np.zeros((groups, n, group), dtype=np.int64)
        out[nonzero] = a["values"]
        return out.transpose(0, 2, 1).reshape(groups * group, n)[:k]
    if enc.format == "nm":
        m = enc.params["m"]
        groups = a["values"].shape[0]
        out = np.zeros((groups, n, m), dtype=np.int64)
        np.put_along_axis(out, a["indices"], a["values"], axis=2)
        return out.transpose(0, 2, 1).reshape(groups * m, n)[:k]
    if enc.format in ("csc", "csr"):
        major, minor = (n, k) if enc.format == "csc" else (k, n)
        out = np.zeros((major, minor), dtype=np.int64)
        rows = np.repeat(np.arange(major), np.diff(a["pointers"]))
        out[rows, a["indices"]] = a["values"]
        return out.T.copy() if enc.format == "csc" else out
    if enc.format == "rle":
        out = np.zeros((k, n), dtype=np.int64)
        i = 0
        for col, count in enumerate(a["counts"]):
            pos = 0
            for run, value in zip(a["runs"][i:i + count], a["values"][i:i + count]):
                pos += int(run)
                out[pos, col] = value
                pos += 1
            i += count
        return out
    raise ValueError(f"unknown format {enc.format!r}")


def size_bits(cfg, enc):
    """Exact storage of ``enc`` in bits, metadata included."""
    k, n = enc.shape
    a, wbits = enc.arrays, cfg.weight_width
    if enc.format == "dense":
        return k * n * wbits
    if enc.format == "bitmask":
        return a["masks"].size * enc.params["group"] + a["values"].size * wbits
    if enc.format == "nm":
        index_bits = (enc.params["m"] - 1).bit_length()
        return a["values"].size * (wbits + index_bits)
    if enc.format in ("csc", "csr"):
        nnz = a["values"].size
        minor = k if enc.format == "csc" else n
        return (a["pointers"].size * bits_for(nnz) + nnz * (bits_for(minor - 1) + wbits))
    if enc.format == "rle":
        entries = a["values"].size
        return entries * (enc.params["run_width"] + wbits) + n * bits_for(k)
    raise ValueError(f"unknown format {enc.format!r}")


def prune_nm(w, n, m):
    """Magnitude N:M pruning along K: in every group of M consecutive K positions of each
    column keep the N entries of largest magnitude (ties: the earlier position)."""
    _check_pattern(n, m)
    w = np.asarray(w)
    k = w.shape[0]
    g = _k_groups(w.astype(np.float64) if not np.issubdtype(w.dtype, np.integer)
                  else w.astype(np.int64), m)
    order = np.argsort(-np.abs(g), axis=1, kind="stable")
    keep = np.zeros_like(g, dtype=bool)
    np.put_along_axis(keep, order[:, :n, :], True, axis=1)
    return np.where(keep, g, 0).reshape(g.shape[0] * m, w.shape[1])[:k].astype(w.dtype)


def prune_unstructured(w, sparsity):
    """Magnitude pruning: zero the ``round(sparsity * size)`` entries of smallest magnitude
    (ties: the earlier in row-major order)."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must lie in [0, 1], not {sparsity!r}")
    w = np.asarray(w)
    flat = w.reshape(-1)
    drop = np.argsort(np.abs(flat), kind="stable")[:round(sparsity * flat.size)]
    out = flat.copy()
    out[drop] = 0
    return out.reshape(w.shape)
