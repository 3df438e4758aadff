"""The demo's report: Markdown tables, PNG plots and the printed summary, all from the summary
dict :func:`zeroskip.nn.demo.run_demo` measures (nothing here computes a figure of its own)."""

from ..figures import new_figure, png_bytes
from .markdown import markdown_table as _table

__all__ = ["demo_markdown", "demo_pngs", "print_summary"]

_ORDER = ("float", "dense", "2:4", "1:4", "50%", "75%", "90%", "user")


def _variants(summary):
    return [n for n in _ORDER if n in summary["variants"]]


def _hardware(summary):
    return [n for n in _variants(summary) if "cycles" in summary["variants"][n]]


def _pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x):
    return "–" if x is None else f"{x:,}"


def accuracy_table(summary):
    rows = []
    for name in _variants(summary):
        v = summary["variants"][name]
        density = v.get("weight_density")
        rows.append((name, _pct(v["accuracy_float"]), _pct(v.get("accuracy")),
                     _pct(v.get("accuracy_rtl")),
                     "–" if density is None else " / ".join(f"{d:.2f}" for d in density)))
    return _table(("variant", "float accuracy", "int8 accuracy (model)", "int8 accuracy (RTL)",
                   "weight density per layer"), rows)


def cycles_table(summary):
    dense = summary["variants"]["dense"]["cycles"]
    rows = []
    for name in _hardware(summary):
        v = summary["variants"][name]
        per_layer = " + ".join(_num(r["cycles"]) for r in v["layers"])
        rows.append((name, v["engine"]["sparsity"], _num(v["cycles"]), per_layer,
                     _num(v["model_cycles"]),
                     f"{dense / v['cycles']:.3f}x" if v["cycles"] and dense else "–",
                     "yes" if v["rtl_matches_model"] else "**NO**"))
    return _table(("variant", "engine sparsity", "RTL cycles", "per layer", "cycle model",
                   "speed-up", "every logit = model"), rows)


def toggles_table(summary):
    rows = []
    gating = summary["gating"]
    runs = [("dense, gated", gating["gated"]), ("dense, ungated", gating["ungated"])]
    runs += [(f"{n}, gated", summary["variants"][n]["toggles"])
             for n in _hardware(summary) if n != "dense"]
    for label, t in runs:
        rows.append((label, _num(t["operands"]), _num(t["products"]), _num(t["psums"]),
                     _num(t["datapath"]),
                     f"{t['datapath'] / gating['ungated']['datapath']:.3f}"
                     if gating["ungated"]["datapath"] else "–"))
    return _table(("engine", "operand toggles", "product toggles", "psum toggles",
                   "datapath toggles", "vs dense ungated"), rows)


def storage_table(summary):
    formats = None
    rows = []
    for name in _variants(summary):
        storage = summary["variants"][name].get("storage_bits_per_weight")
        if storage is None:
            continue
        formats = formats or list(storage)
        best = min(b for b in storage.values() if b is not None)
        rows.append((name, *("–" if storage[f] is None else
                             (f"**{storage[f]:.2f}**" if storage[f] == best else
                              f"{storage[f]:.2f}") for f in formats)))
    return _table(("variant", *formats), rows)


def synthesis_table(summary):
    rows = []
    for name, s in summary["synthesis"].items():
        rows.append((name, s["status"], _num(s["luts"]), _num(s["ffs"]), _num(s["dsps"]),
                     "–" if s["fmax_mhz"] is None else f"{s['fmax_mhz']:.1f}"))
    return _table(("engine", "status", "LUTs", "FFs", "DSPs", "fmax MHz"), rows)


def demo_markdown(summary):
    cfg = summary["config"]
    s = summary["seconds"]
    parts = [
        "# zeroskip demo: a pruned digits classifier on the generated hardware",
        "",
        f"MLP 64 → 128 → 64 → 10 (no biases, ReLU) trained on scikit-learn's digits, pruned, "
        f"quantised to int8 and run on {cfg['rows']}×{cfg['cols']} int8 engines with the "
        f"output stage (requantisation + ReLU on the device), {summary['images']} test "
        f"images, simulator {summary['simulator']}. Every figure below was measured in this "
        f"run.",
        "",
        f"**RTL results equal the NumPy int8 model: "
        f"{'yes, every logit' if summary['rtl_matches_model'] else 'NO'}.**",
        "",
        "## Accuracy on the test split",
        "",
        accuracy_table(summary),
        "",
        "## Cycles on the RTL (same multipliers, whole network, all images)",
        "",
        cycles_table(summary),
        "",
        f"## Datapath bit toggles ({summary['toggle_images']} images through every layer, "
        f"counted in waveforms)",
        "",
        toggles_table(summary),
        "",
        "## Weight storage, bits per weight (whole network, as the weights stream carries it)",
        "",
        storage_table(summary),
        "",
    ]
    if "synthesis" in summary:
        first = next(iter(summary["synthesis"].values()))
        parts += [f"## Synthesis ({first['target']} {first['device'] or ''}; fmax from nextpnr "
                  f"through the out-of-context wrapper)", "", synthesis_table(summary), ""]
    parts += [f"Time: training {s['train']} s, RTL runs {s['rtl']} s"
              + (f", synthesis {s['synth']} s" if "synth" in s else "")
              + f", total {s['total']} s.", ""]
    return "\n".join(parts)


def demo_pngs(summary):
    """``{file name: PNG bytes}``: accuracy, cycles, toggles, storage."""
    names = _variants(summary)
    hw = _hardware(summary)
    v = summary["variants"]
    pngs = {}

    fig = new_figure()
    ax = fig.add_subplot()
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [100 * v[n]["accuracy_float"] for n in names], 0.4,
           label="float")
    ax.bar([x + 0.2 for x in xs], [100 * v[n].get("accuracy", float("nan")) for n in names],
           0.4, label="int8")
    ax.set_xticks(list(xs), names)
    ax.set_ylim(80, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Digits MLP accuracy by pruning variant")
    ax.legend()
    pngs["accuracy.png"] = png_bytes(fig)

    fig = new_figure()
    ax = fig.add_subplot()
    ax.bar(hw, [v[n]["cycles"] or 0 for n in hw])
    ax.set_ylabel("RTL cycles, whole test split")
    ax.set_title("Cycles with the same multipliers: dense vs N:M skipping")
    pngs["cycles.png"] = png_bytes(fig)

    fig = new_figure()
    ax = fig.add_subplot()
    g = summary["gating"]
    labels = ["dense ungated", "dense gated"] + [f"{n} gated" for n in hw if n != "dense"]
    values = [g["ungated"]["datapath"], g["gated"]["datapath"]] + \
        [v[n]["toggles"]["datapath"] for n in hw if n != "dense"]
    ax.bar(labels, values)
    ax.set_ylabel("datapath bit toggles")
    ax.set_title(f"Switching activity, {summary['toggle_images']} images")
    pngs["toggles.png"] = png_bytes(fig)

    fig = new_figure()
    ax = fig.add_subplot()
    storage = [n for n in names if v[n].get("storage_bits_per_weight")]
    formats = list(v[storage[0]]["storage_bits_per_weight"]) if storage else []
    width = 0.8 / max(1, len(formats))
    for i, fmt in enumerate(formats):
        ax.bar([x + (i - (len(formats) - 1) / 2) * width for x in range(len(storage))],
               [v[n]["storage_bits_per_weight"][fmt] or 0 for n in storage], width, label=fmt)
    ax.set_xticks(list(range(len(storage))), storage)
    ax.set_ylabel("stored bits per weight")
    ax.set_title("Weight storage by format (0 = format does not apply)")
    ax.legend()
    pngs["storage.png"] = png_bytes(fig)
    return pngs


def print_summary(summary):
    print()
    print(accuracy_table(summary))
    print()
    print(cycles_table(summary))
    print()
    print(toggles_table(summary))
    print()
    print(storage_table(summary))
    if "synthesis" in summary:
        print()
        print(synthesis_table(summary))
    print()
    verdict = "every RTL logit equals the NumPy int8 model" if summary["rtl_matches_model"] \
        else "RTL and model DIFFER (see report.json 'failures')"
    print(f"  {verdict}; {summary['seconds']['total']} s in total")
