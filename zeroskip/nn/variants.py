"""The digits classifier in every variant the demo runs: float, int8 dense, int8 pruned.

One dense float network is trained from the seed; each pruned variant starts from it, applies
its mask (``pruning.pruning_masks``) and is fine-tuned with the mask re-applied after every
step; every variant but ``"float"`` is then quantised to int8 and calibrated on the training
images (``quantize.quantize_mlp``). Accuracies are on the held-out test split.
"""

from dataclasses import replace

from .digits import digits_split, float_input, int8_input
from .mlp import FloatMLP, accuracy, float_forward, predict, train
from .pruning import PRUNING_VARIANTS, pruning_masks
from .quantize import int8_forward, quantize_mlp

__all__ = ["VARIANTS", "INT8_VARIANTS", "train_variants", "int8_accuracy"]

# Every variant but the float network is quantised to int8.
INT8_VARIANTS = PRUNING_VARIANTS
VARIANTS = ("float", *INT8_VARIANTS)
TRAIN_EPOCHS = 30
FINE_TUNE_EPOCHS = 15
FINE_TUNE_LEARNING_RATE = 1e-3


def int8_accuracy(qmodel, pixels, labels):
    """Test accuracy of ``qmodel`` on raw ``pixels`` (0..16) by :func:`int8_forward`."""
    return float((predict(int8_forward(qmodel, int8_input(pixels)).logits) == labels).mean())


def train_variants(seed=0, *, variants=VARIANTS, split=None):
    """Train the float network and derive the requested variants from it.

    Parameters
    ----------
    seed : int
        Seed of the data split, the initial weights and the minibatch order.
    variants : iterable of str
        Names from :data:`VARIANTS` (``"float"``, ``"dense"``, ``"2:4"``, ``"1:4"``,
        ``"50%"``, ``"75%"``, ``"90%"``); the dense float network is trained in any case.
    split : DigitsSplit, optional
        Data to use instead of ``digits_split(seed)``.

    Returns
    -------
    dict
        ``name -> model`` in the order of ``variants``: ``"float"`` maps to a
        :class:`~zeroskip.nn.mlp.FloatMLP`, every other name to a
        :class:`~zeroskip.nn.quantize.QuantizedMLP` (both carry ``variant`` and
        ``accuracy``).

    Raises
    ------
    ValueError
        If a name is not in :data:`VARIANTS`.
    """
    variants = tuple(variants)
    for name in variants:
        if name not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {name!r}")
    split = split if split is not None else digits_split(seed)
    x_train, x_test = float_input(split.x_train), float_input(split.x_test)
    calib = int8_input(split.x_train)
    dense = train(x_train, split.y_train, seed=seed, epochs=TRAIN_EPOCHS)
    dense_accuracy = accuracy(float_forward(dense, x_test), split.y_test)
    out = {}
    for name in variants:
        if name == "float":
            out[name] = FloatMLP("float", tuple(dense), dense_accuracy)
            continue
        if name == "dense":
            weights, float_acc = dense, dense_accuracy
        else:
            weights = train(x_train, split.y_train, weights=dense,
                            masks=pruning_masks(dense, name), seed=seed,
                            epochs=FINE_TUNE_EPOCHS, learning_rate=FINE_TUNE_LEARNING_RATE)
            float_acc = accuracy(float_forward(weights, x_test), split.y_test)
        q = quantize_mlp(weights, calib, variant=name)
        out[name] = replace(q, accuracy=int8_accuracy(q, split.x_test, split.y_test),
                            float_accuracy=float_acc)
    return out
