import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.gemm import OPERAND_KINDS, gemm_reference, random_operands, wrap


def test_wrap_signed_and_unsigned():
    assert wrap([127, 128, -129, 255, 256], 8, True).tolist() == [127, -128, 127, -1, 0]
    assert wrap([-1, 256, 257], 8, False).tolist() == [255, 0, 1]
    assert wrap([1 << 47], 48, True).tolist() == [-(1 << 47)]


def test_reference_equals_exact_product_when_no_overflow():
    cfg = ZeroskipConfig()
    a, w = random_operands(cfg, 7, 13, 5, seed=3)
    assert np.array_equal(gemm_reference(cfg, a, w), a @ w)


def test_reference_wraps_the_accumulator():
    cfg = ZeroskipConfig(act_width=8, weight_width=8, acc_width=16)
    a, w = random_operands(cfg, 2, 8, 2, seed=0, act_kind="min", weight_kind="min")
    exact = a @ w  # 8 * 16384 = 131072
    assert exact[0, 0] == 131072
    assert gemm_reference(cfg, a, w)[0, 0] == 131072 - 2 * 65536


def test_reference_unsigned_results():
    cfg = ZeroskipConfig(act_signed=False, weight_signed=False, acc_width=16)
    a, w = random_operands(cfg, 2, 3, 2, seed=0, act_kind="max", weight_kind="max")
    assert gemm_reference(cfg, a, w)[0, 0] == (3 * 255 * 255) % 65536


def test_reference_rejects_bad_operands():
    cfg = ZeroskipConfig()
    with pytest.raises(ValueError, match="K must agree"):
        gemm_reference(cfg, np.zeros((2, 3), int), np.zeros((4, 2), int))
    with pytest.raises(ValueError, match=r"A values must lie in \[-128, 127\]"):
        gemm_reference(cfg, np.full((1, 1), 128), np.zeros((1, 1), int))
    with pytest.raises(TypeError, match="W must hold integers"):
        gemm_reference(cfg, np.zeros((1, 1), int), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="2-D"):
        gemm_reference(cfg, np.zeros(3, int), np.zeros((3, 1), int))


@pytest.mark.parametrize("kind", OPERAND_KINDS)
def test_operand_kinds_stay_in_range(kind):
    cfg = ZeroskipConfig(act_width=5, act_signed=False, weight_width=3)
    a, w = random_operands(cfg, 4, 6, 3, seed=1, act_kind=kind, weight_kind=kind)
    assert a.min() >= 0 and a.max() <= 31 and w.min() >= -4 and w.max() <= 3
    if kind == "dense":
        assert np.all(a != 0) and np.all(w != 0)
    if kind == "zeros":
        assert not a.any() and not w.any()


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_exact_zero_fractions(fraction):
    cfg = ZeroskipConfig()
    a, w = random_operands(cfg, 10, 20, 10, seed=2, act_zeros=fraction, weight_zeros=fraction)
    assert (a == 0).sum() == round(fraction * a.size)
    assert (w == 0).sum() == round(fraction * w.size)
    with pytest.raises(ValueError, match="zero fraction must lie in"):
        random_operands(cfg, 2, 2, 2, seed=0, act_zeros=1.5)


