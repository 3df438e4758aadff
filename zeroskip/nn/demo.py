"""``zeroskip demo``: a real pruned network on the generated hardware.

The digits classifier (64 → 128 → 64 → 10, :mod:`zeroskip.nn.variants`) is trained, pruned
(2:4, 1:4, and unstructured 50/75/90%) and quantised to int8. The dense, 2:4 and 1:4 models
run the whole test split through the RTL of engines with the same R×C multipliers (dense,
``sparsity = 2:4``, ``sparsity = 1:4``), layer by layer with the output stage on the device,
and every logit is compared with the NumPy int8 model. A few images also run with waveforms
on each engine and on an ungated dense engine, for bit toggles. Every figure in the report
comes from this run.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import numpy as np

from .demo_report import demo_markdown, demo_pngs, print_summary
from ..files import write_files_atomically
from ..gemm_check import STORAGE_FORMATS

__all__ = ["run_demo", "ENGINE_SPARSITY", "TOGGLE_IMAGES", "QUICK_IMAGES"]

# The variants that run on an engine of their own: variant -> that engine's sparsity.
ENGINE_SPARSITY = {"dense": "dense", "2:4": "2:4", "1:4": "1:4"}
# Images per waveform run (a waveform of a whole layer over 360 images is hundreds of MB).
TOGGLE_IMAGES = 16
QUICK_IMAGES = 24


def _hardware_task(task):
    """One engine: the full RTL run, then the waveform run for toggles (same build, so the
    two never build the same folder at once). A top-level function for process pools."""
    from .network import network_toggles, run_network

    cfg, qmodel, x, x_toggles, workdir, simulator, build_root, full = task
    started = time.perf_counter()
    result = {"label": task_label(cfg)}
    if full:
        result["run"] = run_network(cfg, qmodel, x, workdir, simulator=simulator,
                                    build_root=build_root, label=qmodel.variant.replace(":", "of"))
    toggles, passed = network_toggles(cfg, qmodel, x_toggles, workdir, simulator=simulator,
                                      build_root=build_root,
                                      label=f"toggles-{task_label(cfg)}")
    result.update(toggles=toggles, toggles_passed=passed,
                  seconds=round(time.perf_counter() - started, 1))
    return result


def task_label(cfg):
    return f"{cfg.sparsity.replace(':', 'of')}-{'gated' if cfg.zero_gating else 'ungated'}"


def _storage(cfg, qmodel):
    """Stored bits per weight of the whole network in each weight format this model fits,
    as the engine's weights stream carries them (metadata and fold padding included)."""
    from ..gemm_check import format_bits_per_weight

    pattern = qmodel.variant if qmodel.variant in ("2:4", "1:4") else None
    per_layer = [format_bits_per_weight(cfg, w, pattern) for w in qmodel.weights]
    size = sum(w.size for w in qmodel.weights)
    out = {}
    for fmt in STORAGE_FORMATS:
        bits = [layer[fmt] for layer in per_layer]
        out[fmt] = None if None in bits else round(
            sum(b * w.size for b, w in zip(bits, qmodel.weights)) / size, 3)
    return out


def user_model(path, split):
    """A :class:`~zeroskip.nn.quantize.QuantizedMLP` from a user's file: a saved model, or
    int8 / float weights (``.npz`` w0, w1, ... or one-layer ``.npy``), calibrated on the
    training images. Raises ``ValueError``/``TypeError`` naming what is wrong."""
    from .digits import int8_input
    from .mlp_io import load_qmodel, load_weights
    from .quantize import calibrate, quantize_mlp
    from .variants import int8_accuracy

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--weights {str(path)!r} is not a file")
    if path.suffix not in (".npz", ".npy"):
        raise ValueError(f"--weights must be a .npz or .npy file, not {path.name!r}")
    calib = int8_input(split.x_train)
    with np.load(path, allow_pickle=False) as f:
        arrays = {path.stem: f} if path.suffix == ".npy" else {k: f[k] for k in f.files}
        is_model = "format" in arrays
        first = next(iter(arrays.values()), None)
        integer = first is not None and np.issubdtype(np.asarray(first).dtype, np.integer)
    if is_model:
        q = load_qmodel(path)
    elif integer:
        weights = load_weights(path, kind="int8")
        q = calibrate(weights, [1.0] * len(weights), calib, variant="user")
    else:
        q = quantize_mlp(load_weights(path, kind="float"), calib, variant="user")
    return replace(q, variant="user", accuracy=int8_accuracy(q, split.x_test, split.y_test))


def run_demo(cfg, output, *, simulator="verilator", build_root=None, quick=False, images=None,
             weights=None, synth=False, jobs=2, seed=0, progress=True):
    """Train, prune, quantise, run on the RTL, write ``output``/report.{md,json} and PNGs.
    Returns True when every RTL result equals the model's."""
    from tqdm import tqdm

    from .digits import digits_split, int8_input
    from .mlp import predict
    from .mlp_io import save_qmodel
    from .variants import train_variants

    if not cfg.output_stage:
        raise ValueError("the demo needs a configuration with output_stage = true (hidden "
                         "layers requantise and apply ReLU on the device)")
    output = Path(output)
    seconds = {}
    started = time.perf_counter()
    print(f"zeroskip demo: digits MLP 64-128-64-10 on a {cfg.rows}×{cfg.cols} int8 engine "
          f"({simulator})")
    split = digits_split(seed)
    models = train_variants(seed, split=split)
    if weights is not None:
        models["user"] = user_model(weights, split)
    seconds["train"] = round(time.perf_counter() - started, 1)
    print(f"  trained, pruned and quantised {len(models)} variants in {seconds['train']} s")

    count = len(split.x_test) if images is None else images
    if quick:
        count = min(count, QUICK_IMAGES)
    if not 1 <= count <= len(split.x_test):
        raise ValueError(f"images must lie in [1, {len(split.x_test)}] (the test split), "
                         f"not {count}")
    x, labels = int8_input(split.x_test[:count]), split.y_test[:count]
    x_toggles = x[:min(TOGGLE_IMAGES, count)]

    hardware = dict(ENGINE_SPARSITY)
    if "user" in models:
        hardware["user"] = "dense"
    workdir = output / "work"
    tasks = [(cfg.replace(sparsity=sparsity), models[name], x, x_toggles, workdir / name,
              simulator, build_root, True) for name, sparsity in hardware.items()]
    # The same dense engine without zero-gating, for the gating comparison (toggles only).
    tasks.insert(1, (cfg.replace(sparsity="dense", zero_gating=False), models["dense"], x,
                     x_toggles, workdir / "dense-ungated", simulator, build_root, False))
    names = list(hardware)
    names.insert(1, "dense-ungated")
    step = time.perf_counter()
    results = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(tasks), desc="  RTL runs", unit="engine", disable=not progress) as bar:
        futures = {pool.submit(_hardware_task, t): n for t, n in zip(tasks, names)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
    seconds["rtl"] = round(time.perf_counter() - step, 1)

    variants = {}
    for name, model in models.items():
        entry = {"accuracy_float": round(float(model.accuracy if name == "float"
                                               else model.float_accuracy), 4)}
        if name != "float":
            entry.update(accuracy=round(float(model.accuracy), 4),
                         weight_density=[round(d, 4) for d in model.weight_density()],
                         storage_bits_per_weight=_storage(cfg, model))
            (output / "models").mkdir(parents=True, exist_ok=True)
            save_qmodel(output / "models" / f"{name.replace(':', 'of')}.npz", model)
        if name in hardware:
            res = results[name]
            run = res["run"]
            entry.update(
                engine={"sparsity": hardware[name], "zero_gating": cfg.zero_gating},
                cycles=run["cycles"], model_cycles=run["model_cycles"],
                layers=[{k: v for k, v in r.items() if k != "log"} for r in run["layers"]],
                rtl_matches_model=run["rtl_matches_model"],
                accuracy_rtl=(round(float((predict(run["logits"]) == labels).mean()), 4)
                              if run["logits"] is not None else None),
                toggles=res["toggles"], seconds=res["seconds"])
            if not run["rtl_matches_model"]:
                failed = [r for r in run["layers"] if not (r["passed"] and r["matches_model"])]
                entry["failures"] = [f"layer {r['layer']}: {r['error']} (log {r['log']})"
                                     for r in failed]
        variants[name] = entry

    dense = variants["dense"]
    ungated = results["dense-ungated"]["toggles"]
    summary = {
        "config": cfg.to_dict(),
        "simulator": simulator,
        "images": count,
        "toggle_images": len(x_toggles),
        "rtl_matches_model": all(variants[n]["rtl_matches_model"] for n in hardware)
        and all(r["toggles_passed"] for r in results.values()),
        "variants": variants,
        "speedup": {n: round(dense["cycles"] / variants[n]["cycles"], 4)
                    for n in hardware if dense["cycles"] and variants[n]["cycles"]},
        "gating": {"gated": dense["toggles"], "ungated": ungated,
                   "datapath_gated_over_ungated": round(
                       dense["toggles"]["datapath"] / ungated["datapath"], 4)
                   if ungated["datapath"] else None},
    }
    if synth:
        step = time.perf_counter()
        summary["synthesis"] = _synthesis(cfg, hardware, progress=progress)
        seconds["synth"] = round(time.perf_counter() - step, 1)
    seconds["total"] = round(time.perf_counter() - started, 1)
    summary["seconds"] = seconds

    files = {output / "report.json": json.dumps(summary, indent=2) + "\n",
             output / "report.md": demo_markdown(summary)}
    files.update({output / name: png for name, png in demo_pngs(summary).items()})
    write_files_atomically(files)
    print_summary(summary)
    print(f"  reports: {output / 'report.md'}, {output / 'report.json'}")
    return summary["rtl_matches_model"]


def _synthesis(cfg, hardware, *, progress, target="ecp5", device="LFE5U-85F", pnr=True):
    """Area (and with ``pnr`` fmax) of each hardware variant's engine, by default on ECP5-85
    through nextpnr, run as sweep jobs so results are cached by configuration."""
    from ..synth.grid import Job
    from ..synth.sweep import default_cache_dir, run_jobs
    from ..synth.sweep_report import retry_note

    names = [n for n in hardware if n != "user"]
    jobs = [Job(cfg.replace(sparsity=hardware[n]).to_dict(), target, device, True,
                pnr).to_dict() for n in names]
    sweep = run_jobs(jobs, cache_dir=default_cache_dir(), n_workers=2, progress=progress)
    out = {}
    for name, result in zip(names, sweep.results):
        report = result["report"] or {}
        out[name] = {"target": target, "device": device, "status": result["status"],
                     "error": result["error"], "tool_retries": retry_note(result),
                     **{k: report.get(k) for k in ("luts", "ffs", "dsps", "brams",
                                                   "fmax_mhz")}}
    return out
