"""A reduced demo on each simulator: every logit of the RTL equals the int8 model, and every
figure the demo prints and writes is one this run measured (checked against independent
recomputation, not against constants)."""

import json

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.nn.demo import ENGINE_SPARSITY, run_demo
from zeroskip.models.cycles import predict_cycles
from zeroskip.nn.digits import digits_split, int8_input
from zeroskip.nn.mlp import predict
from zeroskip.nn.mlp_io import load_qmodel
from zeroskip.nn.quantize import int8_forward

from ..conftest import require_simulator

# A 4×4 engine (rows divisible by 4 for 1:4) with a small accumulator memory: quick builds.
CFG = ZeroskipConfig(rows=4, cols=4, acc_depth=16, output_stage=True)
IMAGES = 5


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_reduced_demo_matches_the_model_and_reports_what_it_measured(simulator, tmp_path,
                                                                     build_root, capsys):
    require_simulator(simulator)
    out = tmp_path / "demo"
    assert run_demo(CFG, out, simulator=simulator, build_root=build_root, images=IMAGES,
                    jobs=2, progress=False)
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["rtl_matches_model"] is True and report["images"] == IMAGES
    for name in ("accuracy.png", "cycles.png", "toggles.png", "storage.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")

    split = digits_split(0)
    x, labels = int8_input(split.x_test[:IMAGES]), split.y_test[:IMAGES]
    dense_cycles = report["variants"]["dense"]["cycles"]
    for name, sparsity in ENGINE_SPARSITY.items():
        v = report["variants"][name]
        # The saved model reproduces the reported accuracy on the full split ...
        q = load_qmodel(out / "models" / f"{name.replace(':', 'of')}.npz")
        full = predict(int8_forward(q, int8_input(split.x_test)).logits)
        assert v["accuracy"] == round(float((full == split.y_test).mean()), 4)
        # ... and the RTL accuracy is that of the model's logits on the images run.
        logits = int8_forward(q, x).logits
        assert v["accuracy_rtl"] == round(float((predict(logits) == labels).mean()), 4)
        # Cycles: measured per layer, equal to the cycle model of this engine and these
        # weights (computed here independently), summed.
        engine = CFG.replace(sparsity=sparsity)
        expected = [predict_cycles(engine, IMAGES, w.shape[0], w.shape[1], w)
                    for w in q.weights]
        assert [r["cycles"] for r in v["layers"]] == expected
        assert v["cycles"] == sum(expected) == v["model_cycles"]
        assert all(r["passed"] and r["matches_model"] for r in v["layers"])
        assert f"{v['cycles']:,}" in printed
        assert v["toggles"]["datapath"] > 0 and v["toggles"]["pes"] == CFG.multipliers
        if name != "dense":
            assert report["speedup"][name] == round(dense_cycles / v["cycles"], 4)
    assert report["speedup"]["2:4"] > 1.3 and report["speedup"]["1:4"] > report["speedup"]["2:4"]
    gating = report["gating"]
    assert gating["gated"] == report["variants"]["dense"]["toggles"]
    # ReLU zeros and zero pixels: gating saves operand and product switching.
    assert gating["gated"]["products"] < gating["ungated"]["products"]
    assert gating["datapath_gated_over_ungated"] == round(
        gating["gated"]["datapath"] / gating["ungated"]["datapath"], 4)
    assert f"{gating['ungated']['datapath']:,}" in printed
    md = (out / "report.md").read_text()
    assert f"{dense_cycles:,}" in md and "every logit" in md
    # Storage figures differ by variant: they come from each model's weights.
    storage = {n: report["variants"][n]["storage_bits_per_weight"] for n in ("dense", "90%")}
    assert storage["90%"]["csr"] < storage["dense"]["csr"]
    assert storage["dense"]["nm"] is None and report["variants"]["2:4"][
        "storage_bits_per_weight"]["nm"] is not None


def test_user_weights_run_as_their_own_variant(tmp_path, build_root):
    """A user's float weights (.npz w0..w2) are quantised, calibrated and run like the
    others; a wrong shape is refused with the array named."""
    require_simulator("icarus")
    rng = np.random.default_rng(3)
    weights = {"w0": rng.normal(size=(64, 128)), "w1": rng.normal(size=(128, 64)),
               "w2": rng.normal(size=(64, 10))}
    path = tmp_path / "mine.npz"
    np.savez(path, **weights)
    out = tmp_path / "demo"
    assert run_demo(CFG, out, simulator="icarus", build_root=build_root, images=2,
                    weights=path, progress=False)
    report = json.loads((out / "report.json").read_text())
    assert report["variants"]["user"]["rtl_matches_model"] is True

    np.savez(path, w0=weights["w0"], w1=weights["w1"][:100], w2=weights["w2"])
    with pytest.raises(ValueError, match="w1"):
        run_demo(CFG, tmp_path / "bad", simulator="icarus", build_root=build_root, images=2,
                 weights=path, progress=False)
    assert not (tmp_path / "bad" / "report.json").exists()


def test_synthesis_of_the_demo_engines_goes_through_cached_sweep_jobs(tmp_path, monkeypatch):
    """--synth: one cached sweep job per hardware engine, their figures in the table (the
    generic target here, so the test takes seconds rather than nextpnr's minutes)."""
    from zeroskip.nn.demo import _synthesis
    from zeroskip.nn.demo_report import synthesis_table

    monkeypatch.setenv("ZEROSKIP_CACHE_DIR", str(tmp_path / "cache"))
    cfg = ZeroskipConfig(rows=4, cols=1, act_width=4, weight_width=4, acc_width=12,
                         acc_depth=4, output_stage=True)
    out = _synthesis(cfg, ENGINE_SPARSITY, progress=False, target="generic", device=None,
                     pnr=False)
    assert list(out) == list(ENGINE_SPARSITY)
    assert all(s["status"] == "ok" and s["ffs"] > 0 for s in out.values())
    # A sparse engine holds weight indices and M activations per PE: more flip-flops.
    assert out["2:4"]["ffs"] > out["dense"]["ffs"]
    assert len(list((tmp_path / "cache" / "synth").iterdir())) == 3
    table = synthesis_table({"synthesis": out})
    assert f"| 2:4 | ok | – | {out['2:4']['ffs']:,} |" in table
