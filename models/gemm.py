"""Bit-exact GEMM reference with the hardware's wraparound, and operand generators."""

import numpy as np

from .codecs import prune_nm

__all__ = ["wrap", "check_int_matrix", "gemm_reference", "random_operands", "random_bias",
           "OPERAND_KINDS"]

OPERAND_KINDS = ("random", "zeros", "dense", "min", "max", "alternating")


def wrap(values, width, is_signed):
    """Reduce integers modulo ``2**width`` into the signed or unsigned range (two's complement)."""
    v = np.asarray(values, dtype=object) if width > 62 else np.asarray(values, dtype=np.int64)
    v = v & ((1 << width) - 1)
    if is_signed:
        v = np.where(v >= (1 << (width - 1)), v - (1 << width), v)
    return np.asarray(v, dtype=np.int64)


def check_int_matrix(name, x, lo, hi):
    """``x`` as an int64 matrix; ``ValueError``/``TypeError`` naming ``name`` if it is not 2-D,
    not integer, or has values outside ``[lo, hi]``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, not shape {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, not {x.dtype}")
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"{name} values must lie in [{lo}, {hi}], found "
                         f"[{int(x.min())}, {int(x.max())}]")
    return x.astype(np.int64)


def gemm_reference(cfg, a, w, bias=None):
    """``C = A · W (+ bias)`` exactly as the engine computes it: exact products, sums modulo
    ``2**acc_width``, read as signed when either operand is signed. ``bias`` (N values in the
    accumulator range, ``cfg.bias`` only) is added to every row.

    Raises ``ValueError`` for shapes that do not chain or values outside the operand widths.
    """
    a = check_int_matrix("A", a, *cfg.operand_range("act"))
    w = check_int_matrix("W", w, *cfg.operand_range("weight"))
    if a.shape[1] != w.shape[0]:
        raise ValueError(f"A is {a.shape[0]}x{a.shape[1]} but W is {w.shape[0]}x{w.shape[1]}: "
                         f"K must agree")
    # int64 cannot overflow for K < 2**(63 - 32) with 16-bit operands; reduce per K chunk to be
    # exact for any K.
    acc = np.zeros((a.shape[0], w.shape[1]), dtype=np.int64)
    chunk = 1 << 20
    for k0 in range(0, a.shape[1], chunk):
        acc = wrap(acc + a[:, k0:k0 + chunk] @ w[k0:k0 + chunk, :], 62, True)
    if bias is not None:
        from .streams import check_bias

        acc = acc + check_bias(cfg, bias, w.shape[1])[None, :]
    return wrap(acc, cfg.acc_width, cfg.acc_signed)


def _matrix(cfg, which, shape, kind, rng):
    lo, hi = cfg.operand_range(which)
    if kind == "random":
        return rng.integers(lo, hi, size=shape, endpoint=True)
    if kind == "zeros":
        return np.zeros(shape, dtype=np.int64)
    if kind == "dense":  # random but never zero
        x = rng.integers(lo, hi, size=shape, endpoint=True)
        return np.where(x == 0, hi, x)
    if kind == "min":
        return np.full(shape, lo, dtype=np.int64)
    if kind == "max":
        return np.full(shape, hi, dtype=np.int64)
    if kind == "alternating":  # extremes of both signs, worst case for carries
        x = np.full(shape, lo, dtype=np.int64)
        x[..., 1::2] = hi
        return x
    raise ValueError(f"operand kind must be one of {', '.join(OPERAND_KINDS)}, not {kind!r}")


def _with_zeros(x, fraction, rng):
    """``x`` with exactly ``round(fraction * x.size)`` entries, chosen at random, set to 0."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"zero fraction must lie in [0, 1], not {fraction!r}")
    x = x.copy()
    flat = x.reshape(-1)
    flat[rng.permutation(flat.size)[:round(fraction * flat.size)]] = 0
    return x


def random_operands(cfg, m, k, n, *, seed, act_kind="random", weight_kind="random",
                    act_zeros=None, weight_zeros=None):
    """Seeded operands ``(A[m×k], W[k×n])`` in the configured ranges.

    ``act_zeros``/``weight_zeros``: if given, that exact fraction of the entries is zero and
    the others are drawn from ``kind`` with zeros excluded (``"random"`` becomes ``"dense"``).
    With ``weight_format = "nm"`` the weights are then magnitude-pruned to ``nm_pattern`` (so
    at least ``1 - N/M`` of them are zero), as such an engine can only take N:M weights.
    """
    rng = np.random.default_rng(seed)
    out = []
    for which, shape, kind, zeros in (("act", (m, k), act_kind, act_zeros),
                                      ("weight", (k, n), weight_kind, weight_zeros)):
        if zeros is None:
            out.append(_matrix(cfg, which, shape, kind, rng))
        else:
            base = _matrix(cfg, which, shape, "dense" if kind == "random" else kind, rng)
            out.append(_with_zeros(base, zeros, rng))
    if cfg.weight_format == "nm":
        out[1] = prune_nm(out[1], *cfg.nm)
    return tuple(out)


def random_bias(cfg, n, *, seed, kind="random"):
    """Seeded biases: ``n`` values of operand ``kind`` in the accumulator range (drawn apart
    from :func:`random_operands` of the same seed)."""
    rng = np.random.default_rng([seed, 1])
    return _matrix(cfg, "acc", (n,), kind, rng)
