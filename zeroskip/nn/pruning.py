"""Pruning of a network's weights: the masks of the named sparsity variants, by magnitude or
(:func:`prune_layer` with ``score="activation"``) by magnitude times the input feature's norm
over calibration data, and the error a pruned layer adds (:func:`layer_error`).

Weights are ``[K × N]`` (input features × output neurons), so the N:M patterns follow the
engine's convention (``codecs.prune_nm``): in every group of M consecutive input features of
each output neuron's column, the N weights of largest magnitude are kept. Unstructured variants
zero exactly ``round(level · size)`` weights of smallest magnitude in every layer
(``codecs.prune_unstructured``). Ties go to the earlier position in both cases.
"""

import numpy as np

from ..models.codecs import check_nm, prune_nm, prune_unstructured

__all__ = ["PRUNING_VARIANTS", "NM_VARIANTS", "UNSTRUCTURED_VARIANTS", "PRUNE_SCORES",
           "pruning_masks", "prune_scores", "prune_layer", "layer_error", "check_layers_nm",
           "parse_prune", "prune_by_spec", "cosine"]

# How a weight's importance is scored: |W| alone, or |W| times the L2 norm of its input
# feature over calibration activations (Wanda, Sun et al. 2023), which keeps the weights
# that matter for the inputs the layer actually sees.
PRUNE_SCORES = ("magnitude", "activation")

NM_VARIANTS = {"2:4": (2, 4), "1:4": (1, 4)}
UNSTRUCTURED_VARIANTS = {"50%": 0.5, "75%": 0.75, "90%": 0.9}
PRUNING_VARIANTS = ("dense", *NM_VARIANTS, *UNSTRUCTURED_VARIANTS)


def prune_scores(w, score, calibration=None):
    """Importance of each weight of ``w`` ``[K × N]``: ``|W|`` (``"magnitude"``) or
    ``|W[k, n]| · ‖X[:, k]‖₂`` (``"activation"``, ``calibration`` X ``[rows × K]``)."""
    w = np.asarray(w, dtype=np.float64)
    if score not in PRUNE_SCORES:
        raise ValueError(f"prune score must be one of {', '.join(PRUNE_SCORES)}, "
                         f"not {score!r}")
    if score == "magnitude":
        return np.abs(w)
    x = None if calibration is None else np.asarray(calibration, dtype=np.float64)
    if x is None or x.ndim != 2 or x.shape[1] != w.shape[0] or not len(x):
        shape = None if x is None else x.shape
        raise ValueError(f"prune score 'activation' needs calibration activations of "
                         f"rows × {w.shape[0]} (the layer's inputs), not {shape}")
    return np.abs(w) * np.linalg.norm(x, axis=0)[:, None]


def prune_layer(w, variant, *, score="magnitude", calibration=None):
    """``w`` with the weights ``variant`` (one of :data:`PRUNING_VARIANTS`) drops set to 0,
    ranked by :func:`prune_scores`. N:M patterns run along K in every column, as the engine
    skips them."""
    return prune_by_spec(w, _variant_spec(variant), score=score, calibration=calibration)


def layer_error(calibration, w, pruned):
    """What pruning adds to a layer's output ``X · W`` on ``calibration`` X: the relative
    Frobenius error ``‖X·W − X·Wp‖ / ‖X·W‖`` and the cosine similarity of the two outputs
    (flattened), as ``{"relative_error", "cosine"}``."""
    x = np.asarray(calibration, dtype=np.float64)
    y, yp = x @ np.asarray(w, dtype=np.float64), x @ np.asarray(pruned, dtype=np.float64)
    norm = np.linalg.norm(y)
    return {"relative_error": float(np.linalg.norm(y - yp) / norm) if norm else 0.0,
            "cosine": cosine(y, yp)}


def cosine(a, b):
    """Cosine similarity of ``a`` and ``b`` flattened (0 if either is all zeros)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm else 0.0


def check_layers_nm(layers, pattern):
    """Raise ``ValueError`` naming the layer, column and group unless every layer's weights
    (``(name, weight K×N)`` pairs) already follow the N:M ``pattern`` (``"2:4"``...) along
    K: a model run without pruning on an N:M engine."""
    n, m = (int(x) for x in pattern.split(":"))
    for name, w in layers:
        try:
            check_nm(np.asarray(w), n, m)
        except ValueError as e:
            raise ValueError(f"layer {name!r}: {e}; prune it (N:M) or run it on a dense "
                             f"engine") from None


def pruning_masks(weights, variant):
    """Per layer, ``True`` where ``variant`` keeps the weight.

    Parameters
    ----------
    weights : list of ndarray
        Float weights ``[K × N]`` per layer.
    variant : str
        One of :data:`PRUNING_VARIANTS`: ``"dense"`` (keep all), ``"2:4"``, ``"1:4"``,
        ``"50%"``, ``"75%"``, ``"90%"``.

    Returns
    -------
    list of ndarray of bool

    Raises
    ------
    ValueError
        If ``variant`` is unknown.
    """
    spec = _variant_spec(variant)
    return [_keep(w, spec) for w in weights]


def _variant_spec(variant):
    """The :func:`parse_prune` spec of a named variant (:data:`PRUNING_VARIANTS`)."""
    if variant not in PRUNING_VARIANTS:
        raise ValueError(f"pruning variant must be one of {', '.join(PRUNING_VARIANTS)}, "
                         f"not {variant!r}")
    if variant == "dense":
        return None
    if variant in NM_VARIANTS:
        return ("nm", NM_VARIANTS[variant])
    return ("unstructured", UNSTRUCTURED_VARIANTS[variant])


def _keep(scores, spec):
    """``True`` where pruning to ``spec`` (see :func:`parse_prune`) keeps the weight whose
    importance is ``scores`` (its magnitude, or :func:`prune_scores`)."""
    scores = np.asarray(scores, dtype=np.float64)
    if spec is None:
        return np.ones(scores.shape, dtype=bool)
    # Rank with zeros lifted to the smallest positive float: a weight that is exactly 0.0 is
    # then kept or dropped by position like any other, so counts are exact.
    ranked = np.maximum(np.abs(scores), np.finfo(np.float64).tiny)
    kind, value = spec
    if kind == "nm":
        return prune_nm(ranked, *value) != 0
    return prune_unstructured(ranked, value) != 0


def parse_prune(text):
    """A pruning spec from its text: ``"none"`` → ``None``, ``"N:M"`` → ``("nm", (N, M))``
    (a pattern the codecs support), ``"unstructured:F"`` → ``("unstructured", F)`` with F in
    [0, 1). ``ValueError`` naming the allowed forms otherwise."""
    from ..models.codecs import check_nm

    usage = (f"--prune must be none, N:M (e.g. 2:4) or unstructured:F (F in [0, 1)), "
             f"not {text!r}")
    if text == "none":
        return None
    kind, _, rest = text.partition(":")
    if kind == "unstructured":
        try:
            fraction = float(rest)
        except ValueError:
            raise ValueError(usage) from None
        if not 0.0 <= fraction < 1.0:
            raise ValueError(usage)
        return ("unstructured", fraction)
    try:
        n, m = int(kind), int(rest)
        check_nm(np.zeros((m, 1), dtype=np.int64), n, m)
    except ValueError as e:
        detail = f" ({e})" if kind.isdigit() and rest.isdigit() else ""
        raise ValueError(usage + detail) from None
    return ("nm", (n, m))


def prune_by_spec(w, spec, *, score="magnitude", calibration=None):
    """``w`` pruned to a :func:`parse_prune` spec (``None``: unchanged), weights ranked by
    :func:`prune_scores`; N:M runs along K in every column, unstructured zeroes exactly
    ``round(F · size)`` weights of the layer."""
    w = np.asarray(w, dtype=np.float64)
    if spec is None:
        return w
    return np.where(_keep(prune_scores(w, score, calibration), spec), w, 0.0)
