import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zeroskip import ZeroskipConfig
from zeroskip.models.codecs import (FORMATS, check_nm, decode, encode, prune_nm,
                                    prune_unstructured, size_bits)

CFG8 = ZeroskipConfig(weight_width=8)
CFG4 = ZeroskipConfig(weight_width=4, act_width=4, acc_width=16)


@st.composite
def sparse_matrices(draw, cfg=CFG8, max_k=20, max_n=6):
    k = draw(st.integers(1, max_k))
    n = draw(st.integers(1, max_n))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.9, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = cfg.operand_range("weight")
    w = rng.integers(lo, hi, size=(k, n), endpoint=True)
    w[rng.random((k, n)) >= density] = 0
    return w


FORMAT_PARAMS = [("dense", {}), ("bitmask", {"group": 8}), ("bitmask", {"group": 3}),
                 ("csc", {}), ("csr", {}), ("rle", {"run_width": 2}), ("rle", {"run_width": 4})]


@pytest.mark.parametrize("fmt, params", FORMAT_PARAMS, ids=lambda p: str(p))
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=sparse_matrices())
def test_round_trip(fmt, params, w):
    enc = encode(CFG8, w, fmt, **params)
    assert np.array_equal(decode(enc), w)
    assert size_bits(CFG8, enc) > 0


@pytest.mark.parametrize("n, m", [(1, 2), (1, 4), (2, 4), (2, 8), (4, 8)])
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=sparse_matrices())
def test_nm_round_trip_after_pruning(n, m, w):
    pruned = prune_nm(w, n, m)
    check_nm(pruned, n, m)
    enc = encode(CFG8, pruned, "nm", nm=(n, m))
    assert np.array_equal(decode(enc), pruned)
    groups = -(-w.shape[0] // m)
    assert size_bits(CFG8, enc) == groups * w.shape[1] * n * (8 + (m - 1).bit_length())


def test_adversarial_matrices():
    k, n = 37, 5
    cases = {
        "all zero": np.zeros((k, n), dtype=np.int64),
        "fully dense": np.full((k, n), -128),
        "one non-zero": np.eye(k, n, k=-30, dtype=np.int64) * 127,
        "empty rows and columns": np.pad(np.full((3, 2), 5), ((10, 24), (1, 2))),
    }
    for name, w in cases.items():
        for fmt, params in FORMAT_PARAMS:
            assert np.array_equal(decode(encode(CFG8, w, fmt, **params)), w), (name, fmt)


def test_rle_continuation_entries():
    w = np.zeros((40, 1), dtype=np.int64)
    w[39, 0] = 3  # 39 zeros, then a value; run field of 2 bits holds at most 3
    enc = encode(CFG8, w, "rle", run_width=2)
    # Each continuation (3, 0) stands for 4 zeros: 9 of them cover 36, then (3, 3).
    assert enc.arrays["runs"].tolist() == [3] * 10
    assert enc.arrays["values"].tolist() == [0] * 9 + [3]
    assert np.array_equal(decode(enc), w)
    assert size_bits(CFG8, enc) == 10 * (2 + 8) + 1 * 6


def test_exact_sizes():
    w = np.zeros((16, 2), dtype=np.int64)
    w[0, 0], w[5, 0], w[9, 1] = 1, -2, 3
    assert size_bits(CFG8, encode(CFG8, w, "dense")) == 16 * 2 * 8
    assert size_bits(CFG8, encode(CFG8, w, "bitmask", group=8)) == 4 * 8 + 3 * 8
    # CSC: 3 pointers of 2 bits, 3 entries of (4-bit row index + 8-bit value)
    assert size_bits(CFG8, encode(CFG8, w, "csc")) == 3 * 2 + 3 * (4 + 8)
    # CSR: 17 pointers of 2 bits, 3 entries of (1-bit column index + 8-bit value)
    assert size_bits(CFG8, encode(CFG8, w, "csr")) == 17 * 2 + 3 * (1 + 8)
    assert size_bits(CFG4, encode(CFG4, np.array([[7], [0]]), "dense")) == 8


def test_encoders_reject_what_they_cannot_encode():
    w = np.array([[1], [2], [0], [0]])
    with pytest.raises(ValueError, match=r"violate 1:4 sparsity: column 0, K positions 0..3 "
                                         r"hold 2 non-zeros"):
        encode(CFG8, w, "nm", nm=(1, 4))
    with pytest.raises(ValueError, match="N:M pattern must have M in 2, 4, 8"):
        encode(CFG8, w, "nm", nm=(2, 3))
    with pytest.raises(ValueError, match=r"weight values must lie in \[-8, 7\]"):
        encode(CFG4, np.array([[8]]), "csr")
    with pytest.raises(TypeError, match="must hold integers"):
        encode(CFG8, np.zeros((2, 2)), "bitmask")
    with pytest.raises(ValueError, match="2-D"):
        encode(CFG8, np.zeros(3, dtype=int), "rle")
    with pytest.raises(ValueError, match="format must be one of"):
        encode(CFG8, w, "coo")
    with pytest.raises(ValueError, match="run_width must be between 1 and 16"):
        encode(CFG8, w, "rle", run_width=0)
    assert set(FORMATS) == {"dense", "bitmask", "nm", "csc", "csr", "rle"}


def test_pruning():
    w = np.array([[4, -1], [-5, 2], [1, 3], [0, -3]])
    assert prune_nm(w, 2, 4).tolist() == [[4, 0], [-5, 0], [0, 3], [0, -3]]
    assert prune_nm(w, 1, 2).tolist() == [[0, 0], [-5, 2], [1, 3], [0, 0]]  # ties: earlier
    pruned = prune_unstructured(w, 0.5)
    assert np.count_nonzero(pruned) == 4
    assert set(np.abs(pruned[pruned != 0]).tolist()) == {3, 4, 5}
    floats = prune_nm(np.array([[0.1], [-0.9], [0.5], [0.2]]), 1, 4)
    assert floats[:, 0].tolist() == [0.0, -0.9, 0.0, 0.0]


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_matrices_round_trip_and_prune(fmt, shape):
    """A GEMM with M, K or N zero reaches the codecs as a matrix without rows or columns
    (the engine accepts such a command): NumPy cannot infer a group count for those, so the
    codecs give it."""
    w = np.zeros(shape, dtype=np.int64)
    assert decode(encode(ZeroskipConfig(), w, fmt)).shape == shape
    assert prune_nm(w, 2, 4).shape == shape
    check_nm(w, 2, 4)
