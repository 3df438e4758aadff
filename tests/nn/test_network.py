"""A tiny two-layer int8 network on the RTL of a 2×2 engine (Icarus): the chained RTL logits
are the int8 model's, every layer takes the cycles the cycle model predicts, the toggle run
sees every PE, and an engine without the output stage is refused before anything builds."""

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.cycles import predict_cycles
from zeroskip.nn.network import network_toggles, run_network
from zeroskip.nn.quantize import calibrate, int8_forward

from ..conftest import file_tree, require_simulator

# A small accumulator memory keeps the build quick.
CFG = ZeroskipConfig(rows=2, cols=2, acc_depth=8, output_stage=True)
IMAGES = 3


def _tiny_model():
    """6 -> 5 -> 3, int8 weights calibrated on int8 inputs as calibrate() does for the
    digits network; returns the model and a few images."""
    rng = np.random.default_rng(3)
    weights = [rng.integers(-128, 128, (6, 5)), rng.integers(-128, 128, (5, 3))]
    x_calib = rng.integers(-128, 128, (32, 6))
    qmodel = calibrate(weights, [1.0, 1.0], x_calib, variant="tiny")
    return qmodel, rng.integers(-128, 128, (IMAGES, 6)).astype(np.int8)


def test_a_tiny_network_runs_on_the_rtl_as_the_int8_model_computes(tmp_path, build_root):
    require_simulator("icarus")
    qmodel, x = _tiny_model()
    expected = int8_forward(qmodel, x)
    # The hidden layer is not all zeros after its ReLU: the second layer has work to do.
    assert np.count_nonzero(expected.activations[1]) > 0 and np.count_nonzero(expected.logits)

    run = run_network(CFG, qmodel, x, tmp_path / "work", simulator="icarus",
                      build_root=build_root)
    assert run["rtl_matches_model"] is True
    assert np.array_equal(run["logits"], expected.logits)
    assert len(run["layers"]) == len(qmodel.weights)
    for i, (layer, w) in enumerate(zip(run["layers"], qmodel.weights)):
        assert (layer["layer"], layer["m"], layer["k"], layer["n"]) == (i, IMAGES, *w.shape)
        assert layer["passed"] and layer["matches_model"], layer["error"]
        assert layer["cycles"] == layer["model_cycles"] == predict_cycles(CFG, IMAGES, *w.shape,
                                                                          w)
    assert run["layers"][-1]["requant"] is None                # the logits stay int32
    assert run["layers"][0]["requant"] == list(qmodel.requant[0])
    assert run["cycles"] == sum(r["cycles"] for r in run["layers"]) == run["model_cycles"]

    toggles, passed = network_toggles(CFG, qmodel, x, tmp_path / "work", simulator="icarus",
                                      build_root=build_root)
    assert passed is True
    assert toggles["pes"] == CFG.rows * CFG.cols
    assert toggles["datapath"] == toggles["operands"] + toggles["products"] + \
        toggles["product_regs"] + toggles["psums"]
    assert toggles["products"] > 0
    # The waveform is deleted once counted.
    assert not list(build_root.rglob("*.fst"))


def test_an_engine_without_output_stage_refuses_the_requantising_layer(tmp_path, build_root):
    qmodel, x = _tiny_model()
    cfg = CFG.replace(output_stage=False)
    for run in (run_network, network_toggles):
        with pytest.raises(ValueError, match="requant needs a configuration with output_stage"):
            run(cfg, qmodel, x, tmp_path / "work", simulator="icarus", build_root=build_root)
    assert file_tree(build_root) == []
