"""Magnitude pruning of the MLP's weights: the masks of the named sparsity variants.

Weights are ``[K × N]`` (input features × output neurons), so the N:M patterns follow the
engine's convention (``codecs.prune_nm``): in every group of M consecutive input features of
each output neuron's column, the N weights of largest magnitude are kept. Unstructured variants
zero exactly ``round(level · size)`` weights of smallest magnitude in every layer
(``codecs.prune_unstructured``). Ties go to the earlier position in both cases.
"""

import numpy as np

from ..models.codecs import prune_nm, prune_unstructured

__all__ = ["PRUNING_VARIANTS", "NM_VARIANTS", "UNSTRUCTURED_VARIANTS", "pruning_masks"]

NM_VARIANTS = {"2:4": (2, 4), "1:4": (1, 4)}
UNSTRUCTURED_VARIANTS = {"50%": 0.5, "75%": 0.75, "90%": 0.9}
PRUNING_VARIANTS = ("dense", *NM_VARIANTS, *UNSTRUCTURED_VARIANTS)


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
    if variant not in PRUNING_VARIANTS:
        raise ValueError(f"pruning variant must be one of {', '.join(PRUNING_VARIANTS)}, "
                         f"not {variant!r}")
    masks = []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        # Rank magnitudes with zeros lifted to the smallest positive float: a weight that is
        # exactly 0.0 is then kept or dropped by position like any other, so counts are exact.
        ranked = np.maximum(np.abs(w), np.finfo(np.float64).tiny)
        if variant == "dense":
            masks.append(np.ones(w.shape, dtype=bool))
        elif variant in NM_VARIANTS:
            masks.append(prune_nm(ranked, *NM_VARIANTS[variant]) != 0)
        else:
            masks.append(prune_unstructured(ranked, UNSTRUCTURED_VARIANTS[variant]) != 0)
    return masks
