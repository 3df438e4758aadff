"""The float MLP: forward pass and deterministic training in NumPy.

The network is a chain of bias-free linear layers, ``h_{i+1} = relu(h_i · W_i)`` for the hidden
layers and ``logits = h_L · W_L``, with every ``W_i`` stored ``[K_i × N_i]`` (input features ×
output features), the layout the GEMM engine takes. No biases, because the engine has none.

Training is softmax cross-entropy with Adam on seeded minibatches, float64, a fixed number of
epochs: the same seed gives the same weights bit for bit on the same machine and NumPy build.
An optional mask per layer keeps pruned weights at zero: it is applied after every step (and
gradients of pruned weights are zeroed, so Adam's moments stay zero there too).
"""

from typing import NamedTuple

import numpy as np

__all__ = ["FloatMLP", "LAYER_SIZES", "init_weights", "float_forward", "predict", "accuracy",
           "train"]

LAYER_SIZES = (64, 128, 64, 10)


class FloatMLP(NamedTuple):
    """A float network: ``variant`` name, weights ``[K × N]`` per layer, test accuracy."""

    variant: str
    weights: tuple
    accuracy: float


def init_weights(sizes=LAYER_SIZES, *, seed=0):
    """He-normal weights ``[sizes[i] × sizes[i+1]]``, float64, from ``seed``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, np.sqrt(2.0 / k), size=(k, n)) for k, n in zip(sizes, sizes[1:])]


def float_forward(weights, x):
    """Logits of the float network for inputs ``x`` ``[M × K_0]``."""
    h = np.asarray(x, dtype=np.float64)
    for i, w in enumerate(weights):
        h = h @ w
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


def predict(logits):
    """Predicted class per row: the first index of the largest logit."""
    return np.argmax(np.asarray(logits), axis=1)


def accuracy(logits, labels):
    """Fraction of rows whose predicted class equals ``labels``."""
    return float(np.mean(predict(logits) == np.asarray(labels)))


def _gradients(weights, x, y):
    """Mean softmax cross-entropy gradients for a minibatch."""
    hs = [x]
    for w in weights[:-1]:
        hs.append(np.maximum(hs[-1] @ w, 0.0))
    logits = hs[-1] @ weights[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    delta = p / len(y)
    grads = [None] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        grads[i] = hs[i].T @ delta
        if i:
            delta = (delta @ weights[i].T) * (hs[i] > 0)
    return grads


def train(x, y, *, weights=None, masks=None, seed=0, epochs=60, batch_size=32,
          learning_rate=2e-3):
    """Train (or fine-tune) the MLP with Adam on softmax cross-entropy.

    Parameters
    ----------
    x : ndarray
        Float inputs ``[M × 64]`` (``digits.float_input``).
    y : ndarray
        Integer labels ``[M]`` in 0..9.
    weights : list of ndarray, optional
        Starting weights (copied); default :func:`init_weights` with ``seed``.
    masks : list of ndarray of bool, optional
        Per layer, ``True`` where a weight may be non-zero. Applied to the starting weights and
        after every step.
    seed : int
        Seed of the initial weights and of the minibatch order.
    epochs, batch_size : int
        Passes over ``x`` and rows per step (the last, short batch of an epoch included).
    learning_rate : float
        Adam step size (betas 0.9, 0.999, epsilon 1e-8).

    Returns
    -------
    list of ndarray
        The trained weights, float64, ``[K × N]`` per layer.

    Raises
    ------
    ValueError
        If the masks do not match the weights' shapes.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    ws = [np.array(w, dtype=np.float64) for w in
          (weights if weights is not None else init_weights(seed=seed))]
    if masks is not None:
        if len(masks) != len(ws) or any(np.shape(m) != w.shape for m, w in zip(masks, ws)):
            raise ValueError(f"masks must match the weights' shapes "
                             f"{[w.shape for w in ws]}, not {[np.shape(m) for m in masks]}")
        masks = [np.asarray(m, dtype=bool) for m in masks]
        ws = [w * m for w, m in zip(ws, masks)]
    rng = np.random.default_rng([seed, 1])
    b1, b2, eps = 0.9, 0.999, 1e-8
    m1 = [np.zeros_like(w) for w in ws]
    m2 = [np.zeros_like(w) for w in ws]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            grads = _gradients(ws, x[batch], y[batch])
            step += 1
            for i, g in enumerate(grads):
                if masks is not None:
                    g = g * masks[i]
                m1[i] = b1 * m1[i] + (1 - b1) * g
                m2[i] = b2 * m2[i] + (1 - b2) * g * g
                m_hat = m1[i] / (1 - b1 ** step)
                v_hat = m2[i] / (1 - b2 ** step)
                ws[i] = ws[i] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
                if masks is not None:
                    ws[i] = ws[i] * masks[i]
    return ws
