"""Running an int8 MLP on the generated RTL, layer by layer, each layer's outputs feeding the
next (the output stage requantises and applies ReLU on the device).

Every layer is one GEMM command: ``A`` (images × inputs) times ``W`` (inputs × outputs). The
cocotb test checks each layer's RTL results against the NumPy model for the inputs the RTL
received; :func:`run_network` then also compares the chained RTL outputs with
:func:`~zeroskip.nn.quantize.int8_forward` on the original images, so an error anywhere
in the chain shows in the logits.
"""

from pathlib import Path

import numpy as np

from .quantize import int8_forward
from ..testbench.cases import GemmCase
from ..testbench.runner import simulate, wave_file

__all__ = ["run_network", "run_layer", "network_toggles"]


def _layers(qmodel):
    return [(w, qmodel.requant[i] if i < len(qmodel.requant) else None)
            for i, w in enumerate(qmodel.weights)]


def run_layer(cfg, a, w, requant, workdir, name, *, simulator, build_root, waves=False,
              bias=None):
    """One layer ``A · W (+ bias)`` as one GEMM command on the RTL of ``cfg`` (the stream
    player), its operands and RTL results saved in ``workdir``. Returns ``(report, RTL
    result matrix or None, run folder)``; the report's ``passed`` is the harness's check
    against NumPy."""
    workdir.mkdir(parents=True, exist_ok=True)
    operands, results = workdir / f"{name}.npz", workdir / f"{name}-rtl.npy"
    np.savez(operands, a=a, w=w, **({} if bias is None else {"b": bias}))
    results.unlink(missing_ok=True)
    case = GemmCase.from_operands(operands, requant=requant, results_out=str(results))
    reports, run_dir = simulate(cfg, [case], simulator=simulator, build_root=build_root,
                                run_name=name, waves=waves)
    report = reports[0]
    rtl = np.load(results) if results.exists() else None
    return report, rtl, run_dir


def run_network(cfg, qmodel, x_int8, workdir, *, simulator="verilator", build_root=None,
                label="network"):
    """Run every image of ``x_int8`` through the network on the RTL of ``cfg``.

    Returns a dict: ``layers`` (per layer: M×K×N, RTL cycles, model cycles, whether the
    cocotb check passed, and whether the RTL output equals the int8 model's), ``cycles`` and
    ``model_cycles`` (sums over layers), ``logits`` (the RTL's int32 logits) and
    ``rtl_matches_model``.
    """
    expected = int8_forward(qmodel, x_int8)
    a = np.asarray(x_int8, dtype=np.int64)
    layers, matches = [], True
    for i, (w, requant) in enumerate(_layers(qmodel)):
        report, rtl, run_dir = run_layer(cfg, a, w, requant, Path(workdir),
                                          f"{label}-layer{i}", simulator=simulator,
                                          build_root=build_root)
        model_out = expected.activations[i + 1] if requant is not None else expected.logits
        same = rtl is not None and np.array_equal(rtl, model_out)
        matches &= same
        layers.append({"layer": i, "m": int(a.shape[0]), "k": int(w.shape[0]),
                       "n": int(w.shape[1]), "requant": list(requant) if requant else None,
                       "cycles": report["cycles"], "model_cycles": report["model_cycles"],
                       "passed": report["passed"], "error": report["error"],
                       "matches_model": bool(same), "log": str(run_dir / "sim.log")})
        if rtl is None:
            break
        a = rtl
    complete = len(layers) == len(qmodel.weights) and all(r["cycles"] for r in layers)
    return {"layers": layers,
            "cycles": sum(r["cycles"] for r in layers) if complete else None,
            "model_cycles": sum(r["model_cycles"] for r in layers),
            "logits": a if complete else None,
            "rtl_matches_model": bool(matches and complete and all(r["passed"] for r in layers))}


def network_toggles(cfg, qmodel, x_int8, workdir, *, simulator="verilator", build_root=None,
                    label="toggles"):
    """Bit toggles of the array's datapath while ``x_int8`` runs through every layer, counted
    in the waveform of one run of all layers (each layer gets the int8 model's inputs, and the
    cocotb test checks its outputs). Returns ``(toggles by class, passed)``."""
    from ..testbench.activity import count_toggles

    expected = int8_forward(qmodel, x_int8)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cases = []
    for i, (w, requant) in enumerate(_layers(qmodel)):
        operands = workdir / f"{label}-layer{i}.npz"
        np.savez(operands, a=expected.activations[i], w=w)
        cases.append(GemmCase.from_operands(operands, requant=requant))
    reports, run_dir = simulate(cfg, cases, simulator=simulator, build_root=build_root,
                                run_name=label, waves=True)
    wave = wave_file(run_dir)
    toggles = count_toggles(wave)
    wave.unlink()  # tens of megabytes, and the counts are all the demo needs
    return toggles, all(r["passed"] for r in reports) and len(reports) == len(cases)
