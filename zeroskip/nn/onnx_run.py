"""``zeroskip run``: a user's ONNX model on the generated engine, layer by layer through the
RTL, checked against the NumPy int8 model, onnxruntime and the float model (issue #17).

Everything that can be wrong with the input is found by :func:`plan_run` before anything
runs: the model (:mod:`~zeroskip.nn.onnx_graph`, :mod:`~zeroskip.nn.onnx_qdq`), the arrays,
the engine configuration, the pruning and the N:M pattern an N:M engine needs. Then
:func:`run_plan` runs each layer as one GEMM command on the stream player (batch rows are M,
the layer's inputs K, its outputs N), with the layer's int32 biases loaded by the engine
(``cfg.bias``) and, for hidden layers, requantisation and ReLU in the output stage, and
chains the int8 results. Every RTL result is compared with the NumPy int8 model on the same
input; the model's output with onnxruntime running the same quantised graph (the model
itself when it is QDQ, otherwise its quantised form exported by
:func:`~zeroskip.nn.onnx_qdq.export_qdq`) and with the float model.

What 2:4 and 1:4 would cost is answered in the same report without more RTL runs: each
variant pruned and quantised the same way, its int8 model's agreement with the float model,
and its cycles from the cycle model (which the RTL matches exactly, as the layer rows show).
"""

import dataclasses
import io
import json
import tempfile
from pathlib import Path

import numpy as np

from ..figures import new_figure, png_bytes
from ..files import write_files_atomically
from .markdown import markdown_table
from .onnx_graph import OnnxImportError
from .onnx_quant import (int8_network_forward, layer_accumulators, quantize_network,
                         requantize_columns)
from .pruning import (PRUNE_SCORES, check_layers_nm, cosine, layer_error, parse_prune,
                      prune_by_spec)

__all__ = ["RunPlan", "plan_run", "run_plan", "run_markdown", "run_files", "load_array",
           "SWEEP_VARIANTS"]

# The sparsity variants every report compares (NumPy int8 model and cycle model).
SWEEP_VARIANTS = ("dense", "2:4", "1:4")


def load_array(path, what):
    """The array in ``path`` (``.npy``), which must hold real numbers; ``ValueError`` naming
    ``what`` (the flag) otherwise."""
    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r}: no such file") from None
    except (OSError, ValueError, EOFError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{what} {str(path)!r} is not a readable .npy array: {reason}") \
            from None
    if not isinstance(x, np.ndarray) or x.dtype == bool or not (
            np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"{what} {str(path)!r} must hold real numbers (integer or float), "
                         f"not {getattr(x, 'dtype', type(x).__name__)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} {str(path)!r} holds NaN or infinite values")
    return x


def engine_config(cfg):
    """``cfg`` with biases on, or ``ValueError`` naming the parameter the int8 networks of
    this flow need: 8-bit signed operands and results, an output stage, int32 accumulators
    or wider. (``zeroskip run`` also rounds ties to even unless told otherwise: that is
    onnxruntime's rounding.)"""
    needs = [("act_width", 8), ("weight_width", 8), ("out_width", 8), ("act_signed", True),
             ("weight_signed", True), ("output_stage", True)]
    for name, value in needs:
        if getattr(cfg, name) != value:
            shown = str(value).lower() if isinstance(value, bool) else value
            raise ValueError(f"zeroskip run needs {name} = {shown} (int8 networks with "
                             f"requantisation in the output stage), not "
                             f"{str(getattr(cfg, name)).lower()}")
    if cfg.acc_width < 32:
        raise ValueError(f"zeroskip run needs acc_width of at least 32 (int32 biases and "
                         f"accumulators), not {cfg.acc_width}")
    if cfg.requant_mult_width < 16:
        raise ValueError(f"zeroskip run needs requant_mult_width of at least 16 (the "
                         f"quantiser's multipliers), not {cfg.requant_mult_width}")
    return cfg.replace(bias=True)


def _engine_pattern(cfg):
    """The N:M pattern the engine's weights must follow, or None."""
    return cfg.nm_pattern if cfg.sparse or cfg.weight_format == "nm" else None


@dataclasses.dataclass(eq=False)
class RunPlan:
    """Everything :func:`run_plan` needs, checked: the engine, the quantised network that
    runs on it, the inputs as int8, the references, and what the report shows."""
    cfg: object
    model_path: Path
    kind: str                     # "float" or "qdq"
    qnet: object                  # QuantizedNetwork that runs on the engine
    x: np.ndarray                 # inputs, batch × input width (float)
    x_q: np.ndarray               # the same as the engine's int8 inputs
    float_out: np.ndarray | None  # the float model's outputs (None: no float reference)
    labels: np.ndarray | None
    prune: str
    prune_score: str
    pruning: list                 # per layer: {"name", "relative_error", "cosine"} or None
    quantisation: dict            # per tensor against per channel (float models)
    sweep: list                   # per variant: agreement and model cycles
    ort_model: object             # builds the graph onnxruntime runs: fn(folder) -> path
    outputs: object               # the model's outputs from the last accumulators: fn(acc)
    final_relu: bool              # a float model's last layer has a ReLU (applied on the host)
    output_step: object           # the real value of one step of the model's last integers
    notes: list                   # what limits the comparison with onnxruntime

    @property
    def prune_spec(self):
        return parse_prune(self.prune)


def _prune_network(net, spec, score, calibration):
    """``net`` with each layer pruned to ``spec`` (scored on the float network's own
    activations over ``calibration``), and each layer's pruning error there."""
    inputs = net.trace(calibration)[:-1]
    layers, errors = [], []
    for layer, h in zip(net.layers, inputs):
        pruned = prune_by_spec(layer.weight, spec, score=score, calibration=h)
        layers.append(dataclasses.replace(layer, weight=pruned))
        errors.append({"name": layer.name, **layer_error(h, layer.weight, pruned)})
    return dataclasses.replace(net, layers=tuple(layers)), errors


def _top1(out):
    return np.argmax(out, axis=1) if out.ndim == 2 and out.shape[1] > 1 else out.reshape(-1) > 0


def _agreement(a, b):
    return float(np.mean(_top1(a) == _top1(b))) if len(a) else 1.0


def _model_cycles(cfg, qnet, m):
    from ..models.cycles import predict_cycles

    return sum(predict_cycles(cfg, m, layer.weight.shape[0], layer.weight.shape[1],
                              layer.weight.astype(np.int64)) for layer in qnet.layers)


def _sweep(cfg, net, spec_score, calibration, x, float_out, labels):
    """Each of :data:`SWEEP_VARIANTS` pruned and quantised as the run is, on an engine of
    the same array that skips it: agreement of its int8 model with the float model, and its
    cycles from the cycle model."""
    out = []
    for variant in SWEEP_VARIANTS:
        spec = None if variant == "dense" else parse_prune(variant)
        pruned, _ = _prune_network(net, spec, spec_score, calibration)
        qnet = quantize_network(pruned, calibration, rounding=cfg.requant_rounding)
        real, _ = int8_network_forward(qnet, x)
        entry = {"variant": variant, "agreement_float": _agreement(real, float_out),
                 "cosine_float": cosine(real, float_out),
                 "accuracy": None if labels is None else float(np.mean(_top1(real) == labels))}
        try:
            engine = cfg.replace(sparsity=variant, weight_format="dense")
        except ValueError as e:   # rows not a multiple of N
            entry.update(cycles=None, note=str(e))
        else:
            entry.update(cycles=_model_cycles(engine, qnet, len(x)), note=None)
        out.append(entry)
    dense = out[0]["cycles"]
    for entry in out:
        entry["speedup"] = round(dense / entry["cycles"], 3) if entry["cycles"] else None
    return out


def plan_run(cfg, model_path, *, calibration, inputs, labels=None, prune="none",
             prune_score="magnitude"):
    """Check everything and prepare the run (nothing is simulated or written). Raises
    ``ValueError`` (:class:`~zeroskip.nn.onnx_graph.OnnxImportError` for the model) with
    one line naming what is wrong."""
    from .onnx_qdq import export_qdq, load_model

    cfg = engine_config(cfg)
    if prune_score not in PRUNE_SCORES:
        raise ValueError(f"--prune-score must be one of {', '.join(PRUNE_SCORES)}, not "
                         f"{prune_score!r}")
    spec = parse_prune(prune)
    notes = []
    inputs = np.asarray(inputs)
    kind, model = load_model(model_path, input_shape=inputs.shape)
    x = model.flatten(inputs).astype(np.float64)
    try:
        calib = model.flatten(calibration).astype(np.float64)
    except OnnxImportError as e:
        raise OnnxImportError(f"--calibration: {e}") from None
    if not len(x) or not len(calib):
        raise ValueError("--inputs and --calibration must hold at least one row each")
    cfg.check_gemm(len(x), 1, 1)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(x),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"--labels must be {len(x)} integer class indices (one per input "
                             f"row), not {labels.dtype} of shape {labels.shape}")
        classes = (model.layers if kind == "float" else model.qnet.layers)[-1].weight.shape[1]
        if classes < 2 or labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"--labels must be class indices in [0, {classes - 1}] (the "
                             f"model's {classes} outputs), found {int(labels.min())}.."
                             f"{int(labels.max())}")
    for layer in (model.layers if kind == "float" else model.qnet.layers):
        name = layer.name
        k, n = layer.weight.shape
        try:
            cfg.check_gemm(len(x), k, n)
        except ValueError as e:
            raise ValueError(f"layer {name!r}: {e}") from None

    if kind == "float":
        net = model
        pruned, pruning = _prune_network(net, spec, prune_score, calib)
        qnet = quantize_network(pruned, calib, rounding=cfg.requant_rounding)
        float_out = net.forward(x)
        per_channel = quantize_network(pruned, calib, per_channel=True,
                                       rounding=cfg.requant_rounding)
        quantisation = {}
        for name, q in (("per_tensor", qnet), ("per_channel", per_channel)):
            real, _ = int8_network_forward(q, x)
            quantisation[name] = {"agreement_float": _agreement(real, float_out),
                                  "cosine_float": cosine(real, float_out)}
        sweep = _sweep(cfg, net, prune_score, calib, x, float_out, labels)

        def ort_model(folder):
            return export_qdq(qnet, net.input_width, Path(folder) / "quantised.onnx")

        def outputs(acc):
            # The exported graph, like the engine, ends at the last accumulators; a final
            # ReLU is applied on the host (to onnxruntime's outputs too, see run_plan).
            real = acc * qnet.layers[-1].acc_scale
            return np.maximum(real, 0.0) if net.layers[-1].relu else real
    else:
        if spec is not None:
            raise ValueError("--prune applies to float models; this model is already "
                             "quantised (QDQ): prune it before quantising, or pass --prune "
                             "none")
        # The model's own scales and zero points, requantised as this engine rounds; its
        # integer model run once here, so that an accumulator leaving int32 is found before
        # the RTL runs.
        qnet = dataclasses.replace(model.qnet, rounding=cfg.requant_rounding)
        int8_network_forward(qnet, x)
        pruning, float_out, quantisation, sweep = None, None, {}, []
        odd = [(layer.name, z) for layer, z in zip(qnet.layers, model.folded_zero_points)
               if z % 2]
        if odd and cfg.requant_rounding == "half_even":
            notes.append(
                f"layer {odd[0][0]!r} carries the odd output zero point {odd[0][1]} in its "
                f"bias: rounding ties to even, the output stage rounds v + {odd[0][1]} where "
                f"onnxruntime rounds v, so ties differ by one (half_up halves that)")
        if model.float_network is not None:
            float_out = model.float_network.forward(x)

        def ort_model(folder):
            return Path(model_path)
        outputs = model.outputs
    for layer in qnet.layers:
        if layer.requant is not None and (len(set(layer.requant[0].tolist())) > 1
                                          or len(set(layer.requant[1].tolist())) > 1):
            raise ValueError(f"layer {layer.name!r} needs per-column requantisation (weight "
                             f"scales per output channel); the output stage takes one "
                             f"multiplier and shift per command")
    pattern = _engine_pattern(cfg)
    if pattern is not None:
        check_layers_nm([(layer.name, layer.weight) for layer in qnet.layers], pattern)
    if kind == "float":
        with tempfile.TemporaryDirectory() as folder:
            ort_model(folder)   # the exported graph passes onnx's checker before any RTL runs
    x_q = qnet.quantize_input(x)
    step = qnet.layers[-1].acc_scale
    if kind == "qdq" and model.output_quant is not None:
        step = model.output_quant[0] if model.output_dequantised else 1.0
    return RunPlan(cfg, Path(model_path), kind, qnet, x, x_q, float_out, labels, prune,
                   prune_score, pruning, quantisation, sweep, ort_model, outputs,
                   kind == "float" and model.layers[-1].relu, step, notes)


def _requant(cfg, layer):
    """The layer's output-stage command fields ``(mult, shift, relu)``, or None (raw)."""
    from ..models.requant import check_requant

    if layer.requant is None:
        return None
    multipliers, shifts, relu = layer.requant
    requant = (int(multipliers[0]), int(shifts[0]), bool(relu))
    check_requant(cfg, requant)
    return requant


def run_plan(plan, *, simulator="verilator", build_root=None, progress=None):
    """Run ``plan`` on the RTL and compare; returns the summary (what ``report.json``
    holds) and the RTL's outputs (the last layer's int32 accumulators)."""
    from ..gemm_check import format_bits_per_weight
    from ..models.cycles import predict_cycles
    from .network import run_layer
    from .onnx_qdq import onnxruntime_outputs

    cfg, qnet = plan.cfg, plan.qnet
    dense = cfg.replace(sparsity="dense", weight_format="dense")
    spec = plan.prune_spec
    pattern = _engine_pattern(cfg) or (
        f"{spec[1][0]}:{spec[1][1]}" if spec is not None and spec[0] == "nm" else None)
    a, layers, matches = plan.x_q, [], True
    with tempfile.TemporaryDirectory(prefix="zeroskip-run-") as work:
        for i, layer in enumerate(qnet.layers):
            if progress:
                progress(f"layer {i + 1}/{len(qnet.layers)} {layer.name!r} on {simulator}")
            w = layer.weight.astype(np.int64)
            requant = _requant(cfg, layer)
            report, rtl, run_dir = run_layer(cfg, a, w, requant, Path(work), f"layer{i}",
                                             simulator=simulator, build_root=build_root,
                                             bias=layer.bias)
            acc = layer_accumulators(a, layer)
            expected = acc if layer.requant is None else \
                requantize_columns(acc, layer.requant, cfg.requant_rounding)
            same = rtl is not None and np.array_equal(rtl, expected)
            matches &= same and report["passed"]
            m, (k, n) = len(a), w.shape
            dense_cycles = predict_cycles(dense, m, k, n, w)
            layers.append({
                "name": layer.name, "m": m, "k": k, "n": n,
                "cycles": report["cycles"], "model_cycles": report["model_cycles"],
                "dense_cycles": dense_cycles,
                "speedup": round(dense_cycles / report["cycles"], 3) if report["cycles"]
                else None,
                "relu": bool(requant[2]) if requant else False,
                "requant": list(requant) if requant else None,
                "weight_zero_fraction": round(float((w == 0).mean()), 4),
                "bits_per_weight": format_bits_per_weight(cfg, w, pattern),
                "pruning": None if plan.pruning is None else
                {key: plan.pruning[i][key] for key in ("relative_error", "cosine")},
                "passed": report["passed"], "error": report["error"],
                "matches_model": bool(same)})
            if rtl is None:
                break
            a = rtl
        complete = len(layers) == len(qnet.layers)
        out = None
        ort = {}
        if complete:
            out = a
            real = plan.outputs(out)
            ort_out = onnxruntime_outputs(plan.ort_model(work), plan.x)
            ort_out = ort_out.reshape(real.shape).astype(np.float64)
            if plan.final_relu:
                ort_out = np.maximum(ort_out, 0.0)
            # Both in steps of the model's last integer quantity (accumulator steps, or the
            # output QuantizeLinear's): onnxruntime's float32 arithmetic on them then
            # rounds away, and what is compared is the integer pipeline.
            ours = np.round(real / plan.output_step)
            # onnxruntime's outputs are float32: beyond 2**24 steps it cannot tell one step
            # from the next, so they are equal to within its resolution there.
            resolution = np.floor(np.abs(real) * 2.0 ** -23 / plan.output_step)
            equal = np.abs(np.round(ort_out / plan.output_step) - ours) <= resolution
            ort = {"matches_onnxruntime": bool(equal.all()),
                   "equal_fraction_onnxruntime": float(equal.mean()),
                   "agreement_onnxruntime": _agreement(real, ort_out),
                   "max_error_onnxruntime": float(np.abs(real - ort_out).max())}
    summary = {
        "model": str(plan.model_path), "kind": plan.kind,
        "engine": {"rows": cfg.rows, "cols": cfg.cols, "sparsity": cfg.sparsity,
                   "weight_format": cfg.weight_format, "zero_gating": cfg.zero_gating,
                   "requant_rounding": cfg.requant_rounding, "multipliers": cfg.multipliers},
        "simulator": simulator, "prune": plan.prune, "prune_score": plan.prune_score,
        "inputs": int(len(plan.x)), "layers": layers,
        "cycles": sum(r["cycles"] for r in layers) if complete and all(
            r["cycles"] for r in layers) else None,
        "model_cycles": sum(r["model_cycles"] for r in layers),
        "dense_cycles": sum(r["dense_cycles"] for r in layers),
        "rtl_matches_model": bool(matches and complete),
        "matches_onnxruntime": ort.get("matches_onnxruntime", False),
        "agreement_onnxruntime": ort.get("agreement_onnxruntime"),
        "onnxruntime": ort,
        "agreement_float": None, "accuracy": None, "accuracy_float": None,
        "quantisation": plan.quantisation, "sparsity_sweep": plan.sweep,
        "notes": plan.notes,
    }
    if out is not None:
        real = plan.outputs(out)
        if plan.float_out is not None:
            summary["agreement_float"] = _agreement(real, plan.float_out)
            summary["cosine_float"] = cosine(real, plan.float_out)
        if plan.labels is not None:
            summary["accuracy"] = float(np.mean(_top1(real) == plan.labels))
            if plan.float_out is not None:
                summary["accuracy_float"] = float(np.mean(_top1(plan.float_out) ==
                                                          plan.labels))
    return summary, out


def _fmt(x, digits=4):
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def _table(header, rows):
    return markdown_table(header, rows, cell=_fmt)


def run_markdown(summary):
    """``report.md`` of a :func:`run_plan` summary."""
    e = summary["engine"]
    formats = list(summary["layers"][0]["bits_per_weight"]) if summary["layers"] else []
    lines = [
        f"# zeroskip run: {Path(summary['model']).name}",
        "",
        f"{summary['kind']} model, {summary['inputs']} input rows, on a {e['rows']}×{e['cols']} "
        f"engine (sparsity {e['sparsity']}, weights {e['weight_format']}, zero-gating "
        f"{'on' if e['zero_gating'] else 'off'}, requantisation rounding "
        f"{e['requant_rounding']}), simulated with {summary['simulator']}; "
        f"pruning {summary['prune']} scored by {summary['prune_score']}.",
        "",
        "## Checks",
        "",
        _table(("check", "result"), [
            ("every RTL result equals the NumPy int8 model", summary["rtl_matches_model"]),
            ("outputs bit-exact with onnxruntime on the same quantised graph (in steps of "
             "the last integers)", summary["matches_onnxruntime"]),
            ("share of outputs equal to onnxruntime's",
             summary["onnxruntime"].get("equal_fraction_onnxruntime")),
            ("top-1 agreement with onnxruntime", summary["agreement_onnxruntime"]),
            ("largest difference from onnxruntime (output units)",
             summary["onnxruntime"].get("max_error_onnxruntime")),
            ("top-1 agreement with the float model", summary["agreement_float"]),
            ("cosine similarity to the float model", summary.get("cosine_float")),
            ("accuracy (labels)", summary["accuracy"]),
            ("float model accuracy (labels)", summary["accuracy_float"]),
        ]),
        "",
        "## Layers",
        "",
        _table(("layer", "M×K×N", "RTL cycles", "cycle model", "dense engine", "speed-up",
                "zero weights", "pruning rel. error", "RTL = model"),
               [(r["name"], f"{r['m']}×{r['k']}×{r['n']}", r["cycles"], r["model_cycles"],
                 r["dense_cycles"], r["speedup"], r["weight_zero_fraction"],
                 None if r["pruning"] is None else r["pruning"]["relative_error"],
                 r["matches_model"]) for r in summary["layers"]]),
        "",
        f"Total: {_fmt(summary['cycles'])} RTL cycles (cycle model "
        f"{_fmt(summary['model_cycles'])}; a dense engine of the same "
        f"{e['multipliers']} multipliers {_fmt(summary['dense_cycles'])}).",
        "",
        "## Stored bits per weight",
        "",
        _table(("layer", *formats), [(r["name"], *(r["bits_per_weight"][f] for f in formats))
                                     for r in summary["layers"]]),
    ]
    if summary["sparsity_sweep"]:
        lines += ["", "## What 2:4 and 1:4 cost and save (int8 model, cycle model)", "",
                  _table(("variant", "top-1 vs float", "cosine vs float", "accuracy",
                          "cycles", "speed-up"),
                         [(s["variant"], s["agreement_float"], s["cosine_float"],
                           s["accuracy"], s["cycles"], s["speedup"])
                          for s in summary["sparsity_sweep"]])]
    if summary["quantisation"]:
        q = summary["quantisation"]
        lines += ["", "## Weight scales: per tensor (runs) against per channel (model only)",
                  "",
                  _table(("weight scales", "top-1 vs float", "cosine vs float"),
                         [(name.replace("_", " "), v["agreement_float"], v["cosine_float"])
                          for name, v in q.items()])]
    if summary["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in summary["notes"]]
    failed = [r for r in summary["layers"] if not r["passed"]]
    if failed:
        lines += ["", "## Failures", ""] + [f"- {r['name']}: {r['error']}" for r in failed]
    return "\n".join(lines) + "\n"


def _pngs(summary):
    out = {}
    layers = summary["layers"]
    if layers and all(r["cycles"] for r in layers):
        fig = new_figure((7.5, 4.5))
        ax = fig.add_subplot()
        xs = np.arange(len(layers))
        ax.bar(xs - 0.2, [r["dense_cycles"] for r in layers], 0.4, label="dense engine (model)")
        ax.bar(xs + 0.2, [r["cycles"] for r in layers], 0.4, label="this engine (RTL)")
        ax.set_xticks(xs, [r["name"] for r in layers])
        ax.set_ylabel("cycles")
        ax.legend()
        out["cycles.png"] = png_bytes(fig)
    sweep = [s for s in summary["sparsity_sweep"] if s["cycles"]]
    if sweep:
        fig = new_figure((6, 4.5))
        ax = fig.add_subplot()
        ax.plot([s["cycles"] for s in sweep], [s["agreement_float"] for s in sweep], "o-")
        for s in sweep:
            ax.annotate(s["variant"], (s["cycles"], s["agreement_float"]))
        ax.set_xlabel("cycles (cycle model)")
        ax.set_ylabel("top-1 agreement with float")
        out["sparsity.png"] = png_bytes(fig)
    return out


def run_files(out_dir, summary, outputs):
    """Write ``report.md``, ``report.json``, the plots and ``outputs.npy`` (the RTL's int32
    outputs) into ``out_dir``, all or nothing."""
    out_dir = Path(out_dir)
    files = {out_dir / "report.md": run_markdown(summary),
             out_dir / "report.json": json.dumps(summary, indent=2, sort_keys=True) + "\n"}
    for name, data in _pngs(summary).items():
        files[out_dir / name] = data
    if outputs is not None:
        buf = io.BytesIO()
        np.save(buf, outputs.astype(np.int32))
        files[out_dir / "outputs.npy"] = buf.getvalue()
    write_files_atomically(files)
