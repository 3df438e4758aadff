import numpy as np
import pytest

from zeroskip.nn.digits import int8_input
from zeroskip.nn.mlp_io import load_qmodel, load_weights, save_qmodel
from zeroskip.nn.quantize import int8_forward


def _npz(tmp_path, name="w.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _layers():
    return {"w0": np.ones((64, 8), np.int8), "w1": np.ones((8, 10), np.int8)}


def test_model_round_trip(tmp_path, digits_variants, digits):
    q = digits_variants["2:4"]
    save_qmodel(tmp_path / "m.npz", q)
    back = load_qmodel(tmp_path / "m.npz")
    assert back.variant == "2:4" and back.requant == q.requant
    assert back.weight_scales == q.weight_scales and back.act_scales == q.act_scales
    assert back.accuracy == q.accuracy and back.float_accuracy == q.float_accuracy
    assert all(np.array_equal(a, b) and b.dtype == np.int8
               for a, b in zip(q.weights, back.weights))
    x = int8_input(digits.x_test[:20])
    assert np.array_equal(int8_forward(back, x).logits, int8_forward(q, x).logits)
    # A saved model is also a weights file.
    assert len(load_weights(tmp_path / "m.npz")) == 3


def test_user_weights(tmp_path):
    weights = load_weights(_npz(tmp_path, **_layers(), note=np.array("ignored")))
    assert [w.shape for w in weights] == [(64, 8), (8, 10)] and weights[0].dtype == np.int8
    np.save(tmp_path / "one.npy", np.full((64, 10), -128, np.int64))
    assert load_weights(tmp_path / "one.npy")[0].min() == -128
    floats = load_weights(_npz(tmp_path, w0=np.full((64, 10), 0.5, np.float32)), kind="float")
    assert floats[0].dtype == np.float64


@pytest.mark.parametrize("arrays, error, message", [
    ({"w1": np.ones((8, 10), np.int8)}, ValueError,
     r"must hold arrays w0, w1, .*found keys \['w1'\]"),
    ({"w0": np.ones((64, 10), np.int8), "w2": np.ones((10, 10), np.int8)}, ValueError,
     r"has w2 but no w1: layers must be numbered"),
    ({"w0": np.ones(64, np.int8)}, ValueError,
     r"w0 must be a 2-D matrix \[K x N\], found shape \(64,\)"),
    ({"w0": np.ones((63, 10), np.int8)}, ValueError,
     r"w0 must have 64 rows \(input features\), found shape \(63, 10\)"),
    ({"w0": np.ones((64, 8), np.int8), "w1": np.ones((9, 10), np.int8)}, ValueError,
     r"w1 must have 8 rows to follow w0 of shape \(64, 8\), found shape \(9, 10\): "
     r"layers do not chain"),
    ({"w0": np.ones((64, 8), np.int8), "w1": np.ones((8, 11), np.int8)}, ValueError,
     r"w1 must have 10 columns \(classes\), found shape \(8, 11\)"),
    ({"w0": np.ones((64, 10), np.float32)}, TypeError,
     r"w0 must hold integers for an int8 model, found dtype float32"),
    ({"w0": np.ones((64, 10), bool)}, TypeError,
     r"w0 must hold integers for an int8 model, found dtype bool"),
    ({"w0": np.full((64, 10), 200, np.int16)}, ValueError,
     r"w0 values must lie in \[-128, 127\] for an int8 model, found \[200, 200\]"),
])
def test_bad_int8_weights_are_named(tmp_path, arrays, error, message):
    with pytest.raises(error, match=message):
        load_weights(_npz(tmp_path, **arrays))


def test_bad_float_weights_are_named(tmp_path):
    w = np.zeros((64, 10))
    w[3, 4] = np.nan
    with pytest.raises(ValueError,
                       match=r"w0 must hold finite values, found nan at \(3, 4\) \(1 non-finite\)"):
        load_weights(_npz(tmp_path, w0=w), kind="float")
    with pytest.raises(TypeError,
                       match="w0 must hold real numbers for a float model, found dtype complex128"):
        load_weights(_npz(tmp_path, w0=w.astype(complex)), kind="float")
    with pytest.raises(ValueError, match="kind must be one of int8, float, not 'int4'"):
        load_weights(_npz(tmp_path, w0=w), kind="int4")


def test_bad_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"must end in .npz or .npy, not '.txt'"):
        load_weights(tmp_path / "w.txt")
    with pytest.raises(ValueError, match="cannot read weights file"):
        load_weights(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a NumPy file of plain arrays"):
        load_weights(tmp_path / "junk.npz")
    pickled = np.empty(1, dtype=object)
    pickled[0] = {"w0": 1}
    np.save(tmp_path / "pickle.npy", pickled, allow_pickle=True)
    with pytest.raises(ValueError, match="is not a NumPy file of plain arrays"):
        load_weights(tmp_path / "pickle.npy")


def test_bad_model_files_are_named(tmp_path, digits_variants):
    save_qmodel(tmp_path / "m.npz", digits_variants["dense"])
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    with pytest.raises(ValueError, match="has no 'requant_shift' array"):
        load_qmodel(_npz(tmp_path, **{k: v for k, v in arrays.items() if k != "requant_shift"}))
    with pytest.raises(ValueError, match=r"has format 'other', expected 'zeroskip-mlp-1'"):
        load_qmodel(_npz(tmp_path, **{**arrays, "format": np.array("other")}))
    with pytest.raises(ValueError, match=r"act_scales must have shape \(3,\), found \(2,\)"):
        load_qmodel(_npz(tmp_path, **{**arrays, "act_scales": np.ones(2)}))
    with pytest.raises(ValueError, match=r"requant shift must be an integer in \[0, 47\] "
                                         r"\(acc_width \+ requant_mult_width - 1\), not 48"):
        load_qmodel(_npz(tmp_path, **{**arrays, "requant_shift": np.array([48, 20])}))
