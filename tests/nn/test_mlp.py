import numpy as np
import pytest

from zeroskip.nn.digits import float_input
from zeroskip.nn.mlp import LAYER_SIZES, accuracy, float_forward, init_weights, train


def test_training_is_deterministic(digits):
    x = float_input(digits.x_train)
    first = train(x, digits.y_train, seed=3, epochs=2)
    second = train(x, digits.y_train, seed=3, epochs=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other = train(x, digits.y_train, seed=4, epochs=2)
    assert not np.array_equal(first[0], other[0])
    assert [w.shape for w in first] == list(zip(LAYER_SIZES, LAYER_SIZES[1:]))


def test_masked_training_keeps_pruned_weights_at_zero(digits):
    x = float_input(digits.x_train)
    start = init_weights(seed=0)
    masks = [np.random.default_rng(i).random(w.shape) < 0.3 for i, w in enumerate(start)]
    trained = train(x, digits.y_train, weights=start, masks=masks, epochs=1)
    for w, m in zip(trained, masks):
        assert np.all(w[~m] == 0) and np.count_nonzero(w[m]) == m.sum()


def test_forward_and_accuracy():
    w = [np.eye(3), -np.eye(3)]
    logits = float_forward(w, np.array([[1.0, -2.0, 0.5]]))
    assert logits.tolist() == [[-1.0, 0.0, -0.5]]  # ReLU between the layers
    assert accuracy(logits, [1]) == 1.0


def test_mask_shapes_are_checked():
    with pytest.raises(ValueError, match="masks must match the weights' shapes"):
        train(np.zeros((2, 64)), np.zeros(2, int), masks=[np.ones((2, 2), bool)] * 3, epochs=1)
