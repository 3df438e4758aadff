"""A synthesis report (the dict of :func:`~zeroskip.synth.synthesis.synthesize`) as Markdown."""

import json

__all__ = ["report_json", "report_markdown"]

_RESOURCES = (("luts", "LUTs"), ("ffs", "flip-flops"), ("carry", "carry cells"),
              ("dsps", "DSP blocks"), ("brams", "block RAMs"), ("lutram", "LUT RAM / SRL"),
              ("cells", "all cells"))
_MODULE_COLUMNS = (("pe", "per PE"), ("pe_lut", "per LUT-multiplier PE"),
                   ("row", "per row (without PEs)"),
                   ("weight_decoder", "weight decoder"), ("engine", "engine (rest)"))


def _cell(value):
    return "–" if value is None else str(value)


def report_json(report):
    """The report as deterministic JSON text (sorted keys, trailing newline)."""
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def report_markdown(report):
    cfg = report["config"]
    device = f" {report['device']}" if report["device"] else ""
    dsp = {True: "on", False: "off", None: "not applicable"}[report["dsp_inference"]]
    booth = {True: "radix-4 Booth", False: "Yosys default array",
             None: "none (DSP blocks)"}[report.get("booth_multipliers")]
    lines = [
        f"# Synthesis of `{report['top']}` for {report['target']}{device}",
        "",
        f"Array {cfg['rows']}×{cfg['cols']}, activations {cfg['act_width']} bit, weights "
        f"{cfg['weight_width']} bit, accumulators {cfg['acc_width']} bit, accumulator depth "
        f"{cfg['acc_depth']}, zero_gating {str(cfg['zero_gating']).lower()}, weight_format "
        f"{cfg['weight_format']}"
        + (f", sparsity {cfg['sparsity']}" if cfg.get("sparsity", "dense") != "dense" else "")
        + f" (config digest `{report['config_digest']}`). DSP inference: "
        f"{dsp}. LUT multipliers: {booth}. Out-of-context wrapper: {'yes' if report['out_of_context_wrapper'] else 'no'}.",
        "",
    ]
    if cfg.get("primitives", "none") == "ecp5":
        lut_cols = cfg.get("lut_pe_cols", 0)
        where = "" if not lut_cols else (
            f" in the first {cfg['cols'] - lut_cols} columns; the last {lut_cols} multiply in "
            f"LUT logic pipelined over the same register stages (`lut_pe_cols = {lut_cols}`)")
        lines += ["PE multipliers: one ECP5 MULT18X18D per PE with its input and output "
                  "registers (operand, weight and product registers inside the block; "
                  f"`primitives = \"ecp5\"`){where}.", ""]
    if report.get("lut_pe_multipliers"):
        how = "to fit the device" if report.get("dsp_budget_auto") else "as asked"
        budget = "As configured" if report["dsp_budget"] is None else \
            f"DSP budget {report['dsp_budget']} ({how})"
        lines += [f"{budget}: the multipliers of {report['lut_pe_multipliers']} PEs are in "
                  f"LUTs.", ""]
    lines += ["| resource | engine (flattened) |", "|---|---:|"]
    lines += [f"| {title} | {_cell(report[key])} |" for key, title in _RESOURCES]
    lines.append("")

    modules = report["modules"]
    if modules:
        columns = [(key, title) for key, title in _MODULE_COLUMNS if key in modules]
        lines += ["Per module, from a second synthesis that keeps these modules apart (their "
                  "sum differs from the flattened total by what optimisation across module "
                  "boundaries changes):", "",
                  "| resource | " + " | ".join(t for _, t in columns) + " | sum |",
                  "|---|" + "---:|" * (len(columns) + 1)]
        for key, title in _RESOURCES:
            lines.append(f"| {title} | " + " | ".join(_cell(modules[m][key]) for m, _ in columns)
                         + f" | {_cell(report['modules_total'][key])} |")
        pes = ", ".join(f"{modules[k]['instances']} PE instances (`{modules[k]['module']}`)"
                        for k in ("pe", "pe_lut") if k in modules)
        lines += ["", f"{pes}, {modules['row']['instances']} row instances.", ""]

    depth = report["logic_depth"]
    lines += [f"Logic depth: **{depth['levels']}** ({depth['counts']}; paths end at "
              f"{depth['boundaries']}).", ""]

    timing = report["timing"]
    if timing:
        seeds = ", ".join(f"{t['fmax_mhz']} (seed {t['seed']})" for t in timing["seeds"])
        lines += [f"Timing: **fmax {report['fmax_mhz']} MHz**, the median over placement "
                  f"seeds: {seeds} (nextpnr, target {timing['target_mhz']:g} MHz, placer "
                  f"timing weight {_weight(timing.get('placer_timing_weight'))}; minimum "
                  f"over clocks).", ""]
        path = timing["critical_path"]
        if path:
            lines += [f"Critical path (seed {timing['seed']}): `{path['from']}` → "
                      f"`{path['to']}`, {path['delay_ns']} ns ({path['logic_ns']} ns logic, "
                      f"{path['routing_ns']} ns routing).", ""]
        t = report["throughput"]
        lines += [f"Effective throughput: {t['macs_per_cycle']:g} MACs per cycle × fmax = "
                  f"**{t['gmacs_per_s']} GMAC/s**; {_cell(t['gmacs_per_s_per_klut'])} GMAC/s "
                  f"per kLUT, {_cell(t['gmacs_per_s_per_dsp'])} GMAC/s per DSP block.", ""]
        w = timing["wrapper"]
        lines += [f"Placed inside the out-of-context wrapper `{w['module']}`: "
                  f"{w['input_shift_bits']} input bits loaded serially, "
                  f"{w['output_shift_bits']} output bits captured and shifted out, {w['pins']} "
                  f"pins; the wrapper adds {_cell(w['luts'])} LUTs and {w['ffs']} flip-flops "
                  f"(in the utilisation below, not in the totals above).", "",
                  "| resource (whole wrapped design) | used | available | % |",
                  "|---|---:|---:|---:|"]
        for bel, u in timing["utilization"].items():
            lines.append(f"| {bel} | {u['used']} | {u['available']} | "
                         f"{100 * u['used'] / u['available']:.1f} |")
        lines.append("")

    tools = ", ".join(f"{name} {version}" for name, version in report["tools"].items() if version)
    seconds = ", ".join(f"{step} {s} s" for step, s in report["seconds"].items())
    lines += [f"Tools: {tools}.", "", f"Time: {seconds}.", ""]
    return "\n".join(lines)


def _weight(weight):
    return "10 (nextpnr's default)" if weight is None else weight
