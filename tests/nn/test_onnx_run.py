"""``zeroskip run`` end to end: ONNX models built here (the digits MLP trained with biases,
a transformer FFN block with hidden size 256, a QDQ graph) run layer by layer through the
RTL, every result checked against the NumPy int8 model and the outputs against onnxruntime
and the float model; and the bad-input matrix, each case one line, exit 2, no report."""

import json

import numpy as np
import pytest
from onnx import TensorProto, helper

from zeroskip.cli import main
from zeroskip.nn.digits import float_input

from ..conftest import one_line_error, require_simulator
from .onnx_models import POW2_SCALES, digits_mlp, ffn_block, qdq_mlp, save_model, value_info


def _run(tmp_path, model, *flags, inputs, calibration=None, labels=None, out="out",
         simulator="icarus", build_root=None):
    arrays = {"inputs": inputs, "calibration": inputs if calibration is None else calibration,
              "labels": labels}
    argv = ["run", str(model)]
    for name, array in arrays.items():
        if array is not None:
            path = tmp_path / f"{name}.npy"
            np.save(path, array)
            argv += [f"--{name}", str(path)]
    argv += ["-o", str(tmp_path / out), "--simulator", simulator, *flags]
    if build_root is not None:
        argv += ["--build-dir", str(build_root)]
    status = main(argv)
    report = tmp_path / out / "report.json"
    return status, json.loads(report.read_text()) if report.exists() else None


def _check_layers(report):
    for layer in report["layers"]:
        assert layer["passed"] and layer["matches_model"], layer
        assert layer["cycles"] == layer["model_cycles"], layer
    assert report["rtl_matches_model"]
    assert report["cycles"] == sum(layer["cycles"] for layer in report["layers"])


def test_digits_mlp_with_biases_pruned_2_4_on_a_2_4_engine(tmp_path, digits, build_root):
    """The digits MLP with its trained biases, pruned 2:4 and run on the 2:4 engine (Icarus):
    RTL = int8 model everywhere, cycles = the cycle model, half the dense engine's cycles,
    outputs bit-exact with onnxruntime on the same quantised graph, top-1 close to float."""
    require_simulator("icarus")
    model, float_accuracy = digits_mlp(tmp_path / "digits.onnx", digits)
    status, report = _run(tmp_path, model, "--sparsity", "2:4", "--prune", "2:4",
                          inputs=float_input(digits.x_test[:48]),
                          calibration=float_input(digits.x_train[:256]),
                          labels=digits.y_test[:48], build_root=build_root)
    assert status == 0
    _check_layers(report)
    assert [(r["name"], r["m"], r["k"], r["n"]) for r in report["layers"]] == [
        ("fc1", 48, 64, 128), ("fc2", 48, 128, 64), ("fc3", 48, 64, 10)]
    # Half the K folds; the fixed result path weighs more on the 10-output layer (1.86).
    assert all(1.8 < r["speedup"] <= 2.0 for r in report["layers"])
    assert all(r["bits_per_weight"]["nm"] is not None for r in report["layers"])
    assert all(r["pruning"]["relative_error"] > 0 for r in report["layers"])
    assert report["matches_onnxruntime"] and report["agreement_onnxruntime"] == 1.0
    # Measured: 2:4 by magnitude agrees with the float model on all 48 rows, 47 correct.
    assert report["agreement_float"] >= 0.95 and report["accuracy"] >= 0.9
    assert float_accuracy > 0.95
    sweep = {s["variant"]: s for s in report["sparsity_sweep"]}
    assert set(sweep) == {"dense", "2:4", "1:4"}
    assert sweep["dense"]["cycles"] > sweep["2:4"]["cycles"] > sweep["1:4"]["cycles"]
    assert sweep["2:4"]["cycles"] == report["cycles"]
    text = (tmp_path / "out" / "report.md").read_text()
    assert "What 2:4 and 1:4 cost and save" in text and "| fc1 | 48×64×128 |" in text
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.md", "report.json", "cycles.png", "sparsity.png", "outputs.npy"}
    outputs = np.load(tmp_path / "out" / "outputs.npy")
    assert outputs.shape == (48, 10) and outputs.dtype == np.int32


def test_ffn_block_on_verilator(tmp_path, build_root):
    """A transformer FFN block (64 → 256 → 64, biases) on the default dense engine with
    Verilator, unpruned: bit-exact with onnxruntime, outputs close to float."""
    require_simulator("verilator")
    rng = np.random.default_rng(2)
    model = ffn_block(tmp_path / "ffn.onnx", rng)
    status, report = _run(tmp_path, model, inputs=rng.normal(size=(32, 64)),
                          calibration=rng.normal(size=(128, 64)), simulator="verilator",
                          build_root=build_root)
    assert status == 0
    _check_layers(report)
    assert [(r["k"], r["n"], r["relu"]) for r in report["layers"]] == [(64, 256, True),
                                                                        (256, 64, False)]
    assert report["matches_onnxruntime"]
    assert report["cosine_float"] > 0.999
    q = report["quantisation"]
    assert set(q) == {"per_tensor", "per_channel"}


def test_qdq_graph_is_bit_exact_with_onnxruntime(tmp_path, build_root):
    """A QDQ MLP with biases and power-of-two scales runs with its own scales and zero
    points. Rounding ties to even as onnxruntime does (zeroskip run's default), the RTL's
    outputs are onnxruntime's bit for bit; an engine rounding ties up differs exactly at
    the hidden layer's ties."""
    require_simulator("icarus")
    model = qdq_mlp(tmp_path / "qdq.onnx", np.random.default_rng(3), scales=POW2_SCALES)
    x = np.random.default_rng(5).normal(size=(64, 64))
    status, report = _run(tmp_path, model, inputs=x, build_root=build_root)
    assert status == 0 and report["kind"] == "qdq"
    assert report["engine"]["requant_rounding"] == "half_even"
    _check_layers(report)
    assert report["matches_onnxruntime"] and report["agreement_onnxruntime"] == 1.0
    assert report["sparsity_sweep"] == [] and report["layers"][0]["pruning"] is None
    status, up = _run(tmp_path, model, "--requant-rounding", "half_up", inputs=x,
                      out="up", build_root=build_root)
    assert status == 0
    _check_layers(up)
    # Measured: 10 of the 640 outputs (98.4% equal) follow a hidden tie the half-up engine
    # rounds the other way.
    assert not up["matches_onnxruntime"]
    assert 0.95 < up["onnxruntime"]["equal_fraction_onnxruntime"] < 1.0


# The bad-input matrix -------------------------------------------------------------------


def _graph(tmp_path, name, nodes, inputs, outputs, initializers):
    return save_model(nodes, inputs, outputs, initializers, tmp_path / name)


def _bad_models(tmp_path):
    fc = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    good = _graph(tmp_path, "good.onnx", [fc], [value_info("x", ["n", 4])],
                  [value_info("y", ["n", 3])], {"w": np.ones((4, 3))})
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(good.read_bytes()[:30])
    return {
        "unsupported op": (_graph(tmp_path, "sig.onnx",
                                  [fc, helper.make_node("Sigmoid", ["y"], ["z"], name="gate")],
                                  [value_info("x", ["n", 4])], [value_info("z", ["n", 3])],
                                  {"w": np.ones((4, 3))}), (5, 4),
                           ("unsupported op Sigmoid", "'gate'")),
        "3-D operand": (_graph(tmp_path, "3d.onnx", [fc], [value_info("x", ["n", 2, 4])],
                               [value_info("y", ["n", 2, 3])], {"w": np.ones((4, 3))}),
                        (5, 2, 4), ("'fc'", "3-D operand")),
        "dynamic shape": (_graph(tmp_path, "dyn.onnx",
                                 [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
                                  helper.make_node("MatMul", ["f", "w"], ["y"], name="fc")],
                                 [value_info("x", ["n", "c", 4])], [value_info("y", ["n", 3])],
                                 {"w": np.ones((8, 3))}), (5, 8),
                          ("(5, 8) do not match input 'x'", "('n', 'c', 4)")),
        "wrong dtype": (_graph(tmp_path, "int.onnx", [fc],
                               [value_info("x", ["n", 4], TensorProto.INT64)],
                               [value_info("y", ["n", 3])], {"w": np.ones((4, 3))}), (5, 4),
                        ("'x'", "INT64")),
        "truncated file": (cut, (5, 4), ("cannot read ONNX model", "cut.onnx")),
        "input width": (good, (5, 6), ("(5, 6) do not match input 'x'", "('n', 4)")),
    }


@pytest.mark.parametrize("case", ["unsupported op", "3-D operand", "dynamic shape",
                                  "wrong dtype", "truncated file", "input width"])
def test_bad_models_and_inputs_exit_2_with_one_line_and_no_report(case, tmp_path, capsys):
    model, shape, fragments = _bad_models(tmp_path)[case]
    status, report = _run(tmp_path, model, inputs=np.ones(shape))
    assert status == 2 and report is None
    one_line_error(capsys, "zeroskip run:", *fragments)
    assert not (tmp_path / "out").exists()


def test_bad_flags_and_arrays_exit_2(tmp_path, capsys):
    fc = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    rng = np.random.default_rng(0)
    dense = _graph(tmp_path, "dense.onnx", [fc], [value_info("x", ["n", 8])],
                   [value_info("y", ["n", 4])], {"w": rng.normal(size=(8, 4))})
    x = rng.normal(size=(3, 8))
    cases = [
        # An N:M engine and weights that are not N:M, unpruned: the layer, column and group.
        (("--sparsity", "2:4"), x, ("layer 'fc'", "violate 2:4", "column 0",
                                    "K positions 0..3")),
        (("--prune", "3:4:1"), x, ("--prune must be none, N:M",)),
        (("--act-width", "6"), x, ("needs act_width = 8",)),
        (("--output-stage", "false"), x, ("needs output_stage = true",)),
        ((), np.array([["a", "b"]]), ("must hold real numbers", "<U1")),
        ((), np.full((3, 8), np.nan), ("NaN",)),
    ]
    for flags, inputs, fragments in cases:
        status, report = _run(tmp_path, dense, *flags, inputs=inputs, calibration=x)
        assert status == 2 and report is None, flags
        one_line_error(capsys, "zeroskip run:", *fragments)
    np.save(tmp_path / "x.npy", x)
    missing = ["run", str(dense), "--inputs", str(tmp_path / "x.npy"), "--calibration",
               str(tmp_path / "nope.npy"), "-o", str(tmp_path / "out")]
    assert main(missing) == 2
    one_line_error(capsys, "--calibration", "no such file")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    assert main([*missing[:5], str(tmp_path / "bad.npy"), *missing[6:]]) == 2
    one_line_error(capsys, "--calibration", "not a readable .npy array")
    labels = ["--labels", str(tmp_path / "x.npy")]
    assert main([*missing[:5], str(tmp_path / "x.npy"), *missing[6:], *labels]) == 2
    one_line_error(capsys, "--labels must be 3 integer class indices")
    np.save(tmp_path / "y.npy", np.array([0, 3, 4]))
    labels = ["--labels", str(tmp_path / "y.npy")]
    assert main([*missing[:5], str(tmp_path / "x.npy"), *missing[6:], *labels]) == 2
    one_line_error(capsys, "--labels must be class indices in [0, 3]", "found 0..4")
    assert not (tmp_path / "out").exists()


def test_an_odd_array_from_a_config_file_and_any_input_name(tmp_path, build_root):
    """A 3×2 engine from a --config file that asks for ties rounded up (honoured), a model
    whose input is named like the exported graph's output: it runs, and its stored bits
    have no N:M column (no pattern fits three rows)."""
    require_simulator("icarus")
    rng = np.random.default_rng(6)
    nodes = [helper.make_node("MatMul", ["output", "w1"], ["h"], name="fc1"),
             helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1_bias"),
             helper.make_node("Relu", ["hb"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")]
    model = _graph(tmp_path, "odd.onnx", nodes, [value_info("output", ["n", 7])],
                   [value_info("y", ["n", 5])],
                   {"w1": rng.normal(size=(7, 9)), "b1": rng.normal(size=9),
                    "w2": rng.normal(size=(9, 5))})
    config = tmp_path / "engine.toml"
    config.write_text('rows = 3\ncols = 2\nacc_depth = 4\nrequant_rounding = "half_up"\n')
    status, report = _run(tmp_path, model, "--config", str(config),
                          inputs=rng.normal(size=(6, 7)), build_root=build_root)
    assert status == 0
    _check_layers(report)
    assert (report["engine"]["rows"], report["engine"]["requant_rounding"]) == (3, "half_up")
    assert all(r["bits_per_weight"]["nm"] is None and r["bits_per_weight"]["csr"]
               for r in report["layers"])
    assert report["matches_onnxruntime"]


def test_a_qdq_zero_point_the_rounding_cannot_follow_is_noted(tmp_path, build_root):
    """An odd hidden output zero point rides in the bias: rounding ties to even, the output
    stage rounds v + z where onnxruntime rounds v, and the report says so."""
    require_simulator("icarus")
    model = qdq_mlp(tmp_path / "zp.onnx", np.random.default_rng(9), scales=POW2_SCALES,
                    zero_points=(0, 5), relu=False)
    status, report = _run(tmp_path, model, inputs=np.random.default_rng(1).normal(size=(32, 64)),
                          build_root=build_root)
    assert status == 0
    _check_layers(report)
    assert len(report["notes"]) == 1 and "odd output zero point 5" in report["notes"][0]
    assert "## Notes" in (tmp_path / "out" / "report.md").read_text()


def test_accumulators_that_leave_int32_are_refused_before_the_rtl(tmp_path, capsys):
    """A QDQ layer whose bias is nearly all of int32: found by the integer model before
    anything is simulated."""
    import onnx
    from onnx import numpy_helper

    path = qdq_mlp(tmp_path / "big.onnx", np.random.default_rng(3), scales=POW2_SCALES)
    model = onnx.load(str(path))
    s_x, s_w1 = POW2_SCALES[:2]
    for i, tensor in enumerate(model.graph.initializer):
        if tensor.name == "b1":
            big = np.full(numpy_helper.to_array(tensor).shape, (2 ** 31 - 256) * s_x * s_w1)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(
                big.astype(np.float32), "b1"))
    onnx.save(model, str(path))
    status, report = _run(tmp_path, path, inputs=np.abs(np.random.default_rng(1).normal(
        size=(8, 64))))
    assert status == 2 and report is None
    one_line_error(capsys, "zeroskip run:", "accumulators leave int32")
