"""Sweep rows, the Pareto front and the plots."""

import pytest

from zeroskip.synth.grid import Job
from zeroskip.synth.sweep import SweepResult
from zeroskip.synth.sweep_report import (
    COLUMNS,
    pareto_front,
    rows_from_results,
    variant_label,
)


@pytest.mark.parametrize("points, front", [
    ([], []),
    ([(5, 1)], [0]),
    # (cost, value): 0 and 2 dominate 1 (costs more, gives less than 2); 3 costs more for more.
    ([(1, 1), (3, 2), (2, 2), (4, 5)], [0, 2, 3]),
    # Equal cost: only the better value; equal value: only the cheaper.
    ([(2, 1), (2, 3), (1, 3)], [2]),
    # Identical points are both kept.
    ([(1, 1), (1, 1), (2, 0)], [0, 1]),
    # Every point a trade-off.
    ([(3, 3), (1, 1), (2, 2)], [1, 2, 0]),
])
def test_pareto_front(points, front):
    assert pareto_front(points) == front


def test_rows_compute_throughput_and_overhead_against_the_ungated_dense_design():
    jobs = [Job(cfg, "ecp5", "LFE5U-85F", True, True).to_dict() for cfg in (
        {"rows": 4, "cols": 2, "zero_gating": False},
        {"rows": 4, "cols": 2, "zero_gating": True, "sparsity": "2:4"},
        {"rows": 4, "cols": 2, "zero_gating": True, "weight_format": "bitmask"},
        {"rows": 8, "cols": 2, "zero_gating": True})]
    from zeroskip import ZeroskipConfig
    jobs = [{**j, "config": ZeroskipConfig(**j["config"]).to_dict()} for j in jobs]
    results = [{"status": "ok", "error": None, "report": {"luts": 100, "fmax_mhz": 50.0}},
               {"status": "ok", "error": None, "report": {"luts": 150, "fmax_mhz": 40.0}},
               {"status": "does_not_fit", "error": "too big", "report": {"luts": 120}},
               {"status": "error", "error": "YosysError: boom", "report": None}]
    rows = rows_from_results(jobs, SweepResult(results, ["k0", "k1", "k2", "k3"], 0))
    assert all(tuple(r) == COLUMNS for r in rows)
    base, sparse, bitmask, failed = rows
    assert (base["variant"], sparse["variant"], bitmask["variant"]) == \
        ("baseline", "gated + sparse 2:4", "gated + bitmask")
    # 2:4 sparse: 8 multipliers cover 16 K positions per fold.
    assert sparse["speedup"] == 2.0 and sparse["macs_per_cycle"] == 16.0
    assert sparse["gmacs_per_s"] == 16 * 40.0 / 1000 and base["gmacs_per_s"] == 8 * 50.0 / 1000
    assert sparse["overhead_pct"] == 50.0 and base["overhead_pct"] == 0.0
    assert sparse["area_per_multiplier"] == 150 / 8
    # A failed job keeps its row, its error and whatever figures it had.
    assert bitmask["status"] == "does_not_fit" and bitmask["luts"] == 120
    assert bitmask["overhead_pct"] is None and bitmask["gmacs_per_s"] is None
    assert failed["error"] == "YosysError: boom" and failed["luts"] is None
    assert failed["overhead_pct"] is None  # no 8-row baseline in the sweep
    assert variant_label({"zero_gating": False, "sparsity": "dense", "weight_format": "nm",
                          "nm_pattern": "1:4"}) == "nm 1:4"
