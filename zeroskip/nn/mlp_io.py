"""Saving and loading MLP weights: the quantised model as ``.npz``, and user weights.

Files are read with ``np.load(..., allow_pickle=False)``: a file holding Python objects is
refused rather than executed.

Weight files (:func:`load_weights`)
-----------------------------------
``.npz``
    Arrays ``w0``, ``w1``, ... ``w{L-1}``, one per layer, each ``[K × N]`` (input features ×
    output features), consecutive from ``w0``; other keys are ignored (so a saved model is
    also a weight file).
``.npy``
    A single layer ``[in_features × out_features]``.

The layers must chain (``w{i+1}`` has as many rows as ``w{i}`` has columns), ``w0`` must take
``in_features`` inputs (64 pixels) and the last layer give ``out_features`` outputs (10
classes). For ``kind="int8"`` every array must have an integer dtype and values in -128..127;
for ``kind="float"`` a real dtype and finite values.

Model files (:func:`save_qmodel`, :func:`load_qmodel`)
-------------------------------------------------------
The weight keys above as int8, plus ``format`` (``"zeroskip-mlp-1"``), ``variant`` (string),
``weight_scales`` and ``act_scales`` (float64, one per layer), ``requant_multiplier``,
``requant_shift`` (int64) and ``requant_relu`` (bool), one per hidden layer, ``mult_width``,
``max_shift`` (int64 scalars), ``accuracy`` and ``float_accuracy`` (float64 scalars).
"""

import zipfile
from pathlib import Path

import numpy as np

from .digits import CLASSES, IN_FEATURES
from .quantize import QuantizedMLP
from ..models.requant import check_requant_params

__all__ = ["MODEL_FORMAT", "load_weights", "save_qmodel", "load_qmodel"]

MODEL_FORMAT = "zeroskip-mlp-1"
WEIGHT_KINDS = ("int8", "float")


def _read(path):
    """``{name: array}`` from a ``.npz`` or ``{"w0": array}`` from a ``.npy``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".npy"):
        raise ValueError(f"weights file {str(path)!r} must end in .npz or .npy, "
                         f"not {suffix or 'no suffix'!r}")
    try:
        if suffix == ".npy":
            return {"w0": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except OSError as e:
        raise ValueError(f"cannot read weights file {str(path)!r}: {e}") from None
    except (ValueError, zipfile.BadZipFile, EOFError) as e:
        # np.load raises ValueError for object arrays (pickles) and malformed headers.
        raise ValueError(f"weights file {str(path)!r} is not a NumPy file of plain arrays: "
                         f"{e}") from None


def _check_layer(name, w, kind):
    if w.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix [K x N], found shape {w.shape}")
    if kind == "int8":
        if not np.issubdtype(w.dtype, np.integer):
            raise TypeError(f"{name} must hold integers for an int8 model, found dtype "
                            f"{w.dtype}")
        if w.size and (w.min() < -128 or w.max() > 127):
            raise ValueError(f"{name} values must lie in [-128, 127] for an int8 model, "
                             f"found [{int(w.min())}, {int(w.max())}]")
        return w.astype(np.int8)
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers for a float model, found dtype "
                        f"{w.dtype}")
    w = w.astype(np.float64)
    bad = ~np.isfinite(w)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must hold finite values, found {float(w[where])!r} at {where} "
                         f"({int(bad.sum())} non-finite)")
    return w


def load_weights(path, *, kind="int8", in_features=IN_FEATURES, out_features=CLASSES):
    """Load and check a network's weights (see the module documentation for the keys).

    Parameters
    ----------
    path : str or Path
        A ``.npz`` (``w0``, ``w1``, ...) or ``.npy`` (one layer) file.
    kind : {"int8", "float"}
        ``"int8"``: integer arrays in -128..127, returned as int8; ``"float"``: finite real
        arrays, returned as float64.
    in_features, out_features : int
        Inputs of the first layer and outputs of the last.

    Returns
    -------
    list of ndarray
        The layers' weights ``[K × N]`` in order.

    Raises
    ------
    ValueError
        Unreadable or pickled file, no ``w0`` or a gap in the keys, an array that is not 2-D,
        layers that do not chain or do not match ``in_features``/``out_features``, values out
        of range, NaN or infinity.
    TypeError
        An array's dtype is not integer (``"int8"``) or not real (``"float"``).
    """
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(WEIGHT_KINDS)}, not {kind!r}")
    arrays = _read(path)
    if "w0" not in arrays:
        raise ValueError(f"weights file {str(path)!r} must hold arrays w0, w1, ... (one per "
                         f"layer), found keys {sorted(arrays)}")
    layers = 0
    while f"w{layers}" in arrays:
        layers += 1
    stray = sorted(k for k in arrays if k.startswith("w") and k[1:].isdigit()
                   and int(k[1:]) >= layers)
    if stray:
        raise ValueError(f"weights file {str(path)!r} has {stray[0]} but no w{layers}: "
                         f"layers must be numbered w0, w1, ... without gaps")
    weights = [_check_layer(f"w{i}", arrays[f"w{i}"], kind) for i in range(layers)]
    if weights[0].shape[0] != in_features:
        raise ValueError(f"w0 must have {in_features} rows (input features), found shape "
                         f"{weights[0].shape}")
    for i in range(1, layers):
        if weights[i].shape[0] != weights[i - 1].shape[1]:
            raise ValueError(f"w{i} must have {weights[i - 1].shape[1]} rows to follow "
                             f"w{i - 1} of shape {weights[i - 1].shape}, found shape "
                             f"{weights[i].shape}: layers do not chain")
    if weights[-1].shape[1] != out_features:
        raise ValueError(f"w{layers - 1} must have {out_features} columns (classes), found "
                         f"shape {weights[-1].shape}")
    return weights


def save_qmodel(path, qmodel):
    """Write ``qmodel`` to ``path`` (``.npz``, keys in the module documentation)."""
    layers = len(qmodel.weights)
    arrays = {f"w{i}": np.asarray(w, dtype=np.int8) for i, w in enumerate(qmodel.weights)}
    arrays.update(
        format=np.array(MODEL_FORMAT), variant=np.array(qmodel.variant),
        weight_scales=np.asarray(qmodel.weight_scales, dtype=np.float64).reshape(layers),
        act_scales=np.asarray(qmodel.act_scales, dtype=np.float64).reshape(layers),
        requant_multiplier=np.array([r[0] for r in qmodel.requant], dtype=np.int64),
        requant_shift=np.array([r[1] for r in qmodel.requant], dtype=np.int64),
        requant_relu=np.array([bool(r[2]) for r in qmodel.requant], dtype=bool),
        mult_width=np.int64(qmodel.mult_width), max_shift=np.int64(qmodel.max_shift),
        accuracy=np.float64(qmodel.accuracy), float_accuracy=np.float64(qmodel.float_accuracy))
    np.savez(path, **arrays)


def _field(arrays, path, name, shape):
    if name not in arrays:
        raise ValueError(f"model file {str(path)!r} has no {name!r} array")
    value = arrays[name]
    if value.shape != shape:
        raise ValueError(f"model file {str(path)!r}: {name} must have shape {shape}, found "
                         f"{value.shape}")
    return value


def load_qmodel(path, *, in_features=IN_FEATURES, out_features=CLASSES):
    """Read a model written by :func:`save_qmodel`, checking every field.

    Raises
    ------
    ValueError, TypeError
        As :func:`load_weights` for the weights; ``ValueError`` naming the key for a missing
        or misshapen field, a ``format`` other than ``"zeroskip-mlp-1"``, or requant
        parameters outside ``mult_width``/``max_shift``.
    """
    weights = load_weights(path, kind="int8", in_features=in_features,
                           out_features=out_features)
    arrays = _read(path)
    layers = len(weights)
    fmt = str(_field(arrays, path, "format", ()))
    if fmt != MODEL_FORMAT:
        raise ValueError(f"model file {str(path)!r} has format {fmt!r}, expected "
                         f"{MODEL_FORMAT!r}")
    mult_width = int(_field(arrays, path, "mult_width", ()))
    max_shift = int(_field(arrays, path, "max_shift", ()))
    mults = _field(arrays, path, "requant_multiplier", (layers - 1,))
    shifts = _field(arrays, path, "requant_shift", (layers - 1,))
    relus = _field(arrays, path, "requant_relu", (layers - 1,))
    requant = []
    for m, s, r in zip(mults.tolist(), shifts.tolist(), relus.tolist()):
        check_requant_params(m, s, mult_width=mult_width, max_shift=max_shift)
        requant.append((int(m), int(s), bool(r)))
    return QuantizedMLP(
        variant=str(_field(arrays, path, "variant", ())), weights=tuple(weights),
        weight_scales=tuple(float(s) for s in _field(arrays, path, "weight_scales", (layers,))),
        act_scales=tuple(float(s) for s in _field(arrays, path, "act_scales", (layers,))),
        requant=tuple(requant), mult_width=mult_width, max_shift=max_shift,
        accuracy=float(_field(arrays, path, "accuracy", ())),
        float_accuracy=float(_field(arrays, path, "float_accuracy", ())))
