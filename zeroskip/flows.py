"""End-to-end flows shared by the CLI, the demo and the benchmarks."""

from pathlib import Path

from .models.cycles import predict_cycles, scalesim_ws_cycles, utilization
from .testbench.cases import GemmCase
from .testbench.runner import simulate

__all__ = ["run_gemm_check", "count_multipliers", "gemm_report"]


def count_multipliers(cfg):
    """Multipliers in the generated Verilog, counted by Yosys (``$mul`` cells of the whole
    hierarchy), not derived from the configuration."""
    from .hdl.verilog import generate_verilog
    from .synth import design_cell_counts

    return design_cell_counts(generate_verilog(cfg), cfg.name).get("$mul", 0)


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
    }


def run_gemm_check(cfg, m, k, n, *, seed=0, simulator="verilator", stall=0.0, waves=False,
                   build_root=None):
    """Simulate one seeded random GEMM on the RTL and check it against NumPy and the cycle
    model. Returns the report dict of ``zeroskip sim``."""
    case = GemmCase(m=m, k=k, n=n, seed=seed, stall=stall)
    reports, run_dir = simulate(cfg, [case], simulator=simulator, build_root=build_root,
                                run_name=f"sim-{case.name}", waves=waves)
    report = gemm_report(cfg, reports[0], simulator=simulator)
    report.update(seed=seed, multipliers=count_multipliers(cfg), config=cfg.to_dict(),
                  predicted_cycles_match=report["cycles"] == predict_cycles(cfg, m, k, n))
    if waves:
        found = sorted(p for p in Path(run_dir).parent.glob("*") if p.suffix in (".fst", ".vcd"))
        found += sorted(p for p in Path(run_dir).glob("*") if p.suffix in (".fst", ".vcd"))
        report["waves"] = str(found[-1]) if found else None
    return report
