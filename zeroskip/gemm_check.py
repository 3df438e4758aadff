"""End-to-end flows shared by the CLI, the demo and the benchmarks."""

import numpy as np

from .models.cycles import scalesim_ws_cycles, utilization
from .models.energy import relative_energy
from .models.gemm import random_operands
from .testbench.cases import GemmCase
from .testbench.runner import simulate, wave_file

__all__ = ["STORAGE_FORMATS", "format_bits_per_weight", "run_gemm_check", "count_multipliers",
           "gemm_report", "measure_activity", "weight_stream_report"]


def weight_stream_report(cfg, w, m):
    """Size of the ``weights`` stream for ``A[m×K] · w``: words sent, the dense rows it
    replaces, and stored bits per weight of W (metadata and fold padding included)."""
    from .models.streams import pack_weights
    from .models.wire import compressed_weight_words

    dense_words = len(pack_weights(cfg, w, m))
    if cfg.weight_format == "dense":
        words, bits = dense_words, dense_words * cfg.cols * cfg.weight_width
    else:
        stream = compressed_weight_words(cfg, w, m)
        words, bits = len(stream.words), stream.bits
    return {"format": cfg.weight_format, "words": words, "dense_words": dense_words,
            "words_over_dense": _ratio(words, dense_words),
            "bits_per_weight": round(bits / (w.size * -(-m // cfg.acc_depth)), 4),
            "weight_zero_fraction": round(float((w == 0).mean()), 4)}


STORAGE_FORMATS = ("dense", "bitmask", "nm", "csr", "rle")


def format_bits_per_weight(cfg, w, nm_pattern=None):
    """Stored bits per weight of ``w`` in each weight format (:data:`STORAGE_FORMATS`) on
    ``cfg``'s array, as that format's weights stream carries it for one M tile (metadata and
    fold padding included): ``{format: bits}``. ``nm`` is measured with ``nm_pattern`` and is
    ``None`` without one, when ``w`` does not follow it, or when its M does not divide the
    array's rows."""
    from .config import ConfigError
    from .models.codecs import prune_nm

    out = {}
    for fmt in STORAGE_FORMATS:
        try:
            # One replace: the engine's own nm_pattern must not be checked against its rows.
            fmt_cfg = cfg.replace(sparsity="dense", weight_format=fmt,
                                  **({"nm_pattern": nm_pattern} if fmt == "nm" else {}))
        except ConfigError:   # the pattern's M does not divide this array's rows
            fmt_cfg = None
        if fmt == "nm" and (nm_pattern is None or fmt_cfg is None or
                            not np.array_equal(prune_nm(w, *fmt_cfg.nm), w)):
            out[fmt] = None
            continue
        out[fmt] = weight_stream_report(fmt_cfg, w, 1)["bits_per_weight"]
    return out


def count_multipliers(cfg):
    """The array's multipliers in the generated Verilog, counted by Yosys (``$mul`` cells of
    the PE module times its instances), not derived from the configuration. The output
    stage's requantisation multipliers are not MACs and are not counted."""
    from .hdl.verilog import generate_verilog
    from .synth import design_cell_counts

    return design_cell_counts(generate_verilog(cfg), cfg.name,
                              module=f"{cfg.name}_pe").get("$mul", 0)


def gemm_report(cfg, sim_report, *, simulator):
    """The fields every flow reports for one simulated GEMM."""
    m, k, n = sim_report["m"], sim_report["k"], sim_report["n"]
    cycles = sim_report["cycles"]
    return {
        "gemm": {"m": m, "k": k, "n": n},
        "passed": sim_report["passed"],
        "error": sim_report["error"],
        "cycles": cycles,
        "model_cycles": sim_report["model_cycles"],
        "scalesim_ws_cycles": scalesim_ws_cycles(cfg, m, k, n),
        "utilization": round(utilization(cfg, m, k, n, cycles), 4) if cycles else None,
        "stall": sim_report["stall"],
        "simulator": simulator,
        "harness": sim_report["harness"],
        "build_seconds": sim_report["build_seconds"],
        "run_seconds": sim_report["run_seconds"],
    }


def check_activity(cfg):
    """Raise ``ValueError`` unless toggle counting can measure ``cfg``: the classes name the
    vendor-neutral PE's registers (``primitives = "none"``)."""
    if cfg.primitives != "none":
        raise ValueError(f"toggle counting needs primitives 'none', not {cfg.primitives!r}: "
                         f"the PE's operand and product registers are inside the "
                         f"primitive there")


def measure_activity(cfg, case, *, simulator, harness="player", build_root=None):
    """Simulate ``case`` with a waveform; return ``(gemm report, toggles by class)``.
    Raises ``ValueError`` for a configuration with vendor primitives, whose operand and
    product registers live inside the primitive's model."""
    from .testbench.activity import count_toggles

    check_activity(cfg)

    reports, run_dir = simulate(cfg, [case], simulator=simulator, harness=harness,
                                build_root=build_root, run_name=f"activity-{case.name}",
                                waves=True)
    toggles = count_toggles(wave_file(run_dir))
    return gemm_report(cfg, reports[0], simulator=simulator), toggles


def _ratio(a, b):
    return round(a / b, 4) if b else None


def run_gemm_check(cfg, m, k, n, *, seed=0, simulator="verilator", harness="player",
                   stall=0.0, waves=False, build_root=None, act_zeros=None,
                   weight_zeros=None, activity=False, compare_gating=False, requant=None):
    """Simulate one seeded random GEMM on the RTL and check it against NumPy and the cycle
    model. Returns the report dict of ``zeroskip sim``.

    ``activity`` adds bit toggles by class (from a waveform) and the energy proxy;
    ``compare_gating`` runs the same GEMM with and without zero-gating and reports both.
    ``requant`` is ``(mult, shift, relu)`` for the output stage (``cfg.output_stage``); the
    results are then checked against the requantised model.
    """
    case = GemmCase(m=m, k=k, n=n, seed=seed, stall=stall, act_zeros=act_zeros,
                    weight_zeros=weight_zeros, requant=requant)
    if compare_gating:
        runs = {}
        for label, gating in (("gated", True), ("ungated", False)):
            report, toggles = measure_activity(cfg.replace(zero_gating=gating), case,
                                               simulator=simulator, harness=harness,
                                               build_root=build_root)
            runs[label] = dict(report, toggles=toggles, energy_proxy=relative_energy(toggles))
        report = dict(runs["gated" if cfg.zero_gating else "ungated"])
        report.update(
            passed=runs["gated"]["passed"] and runs["ungated"]["passed"],
            gated=runs["gated"], ungated=runs["ungated"],
            gated_over_ungated=_ratio(runs["gated"]["toggles"]["datapath"],
                                      runs["ungated"]["toggles"]["datapath"]),
            gated_over_ungated_energy=_ratio(runs["gated"]["energy_proxy"],
                                             runs["ungated"]["energy_proxy"]))
    elif activity:
        report, toggles = measure_activity(cfg, case, simulator=simulator, harness=harness,
                                           build_root=build_root)
        report.update(toggles=toggles, energy_proxy=relative_energy(toggles))
    else:
        reports, run_dir = simulate(cfg, [case], simulator=simulator, harness=harness,
                                    build_root=build_root, run_name=f"sim-{case.name}",
                                    waves=waves)
        report = gemm_report(cfg, reports[0], simulator=simulator)
        if waves:
            report["waves"] = str(wave_file(run_dir))
    _, w = random_operands(cfg, m, k, n, seed=seed, act_zeros=act_zeros,
                           weight_zeros=weight_zeros)
    if requant is not None:
        report["requant"] = {"mult": requant[0], "shift": requant[1], "relu": bool(requant[2]),
                             "out_width": cfg.out_width}
    report.update(seed=seed, act_zeros=act_zeros, weight_zeros=weight_zeros,
                  weight_stream=weight_stream_report(cfg, w, m),
                  multipliers=count_multipliers(cfg), config=cfg.to_dict(),
                  predicted_cycles_match=report["cycles"] == report["model_cycles"])
    return report
