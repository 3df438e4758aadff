"""The generator across its whole configuration range: every valid configuration, drawn by
Hypothesis, gives Verilog that Icarus and Verilator both build, and a small random GEMM on it
matches NumPy (and, unstalled, the cycle model). A bounded number in the default suite; more,
and larger, under ``slow``."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zeroskip.testbench.runner import simulate

from ..conftest import require_simulator
from ..strategies import configurations, small_gemms

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large,
           HealthCheck.function_scoped_fixture]


def _run_on_both_simulators(cfg, case, build_root):
    for simulator in ("icarus", "verilator"):
        require_simulator(simulator)
        reports, _ = simulate(cfg, [case], simulator=simulator, build_root=build_root,
                              run_name=f"fuzz-{case.name}")
        (report,) = reports
        assert report["passed"], f"{simulator}, {cfg}: {report['error']}"
        if not case.stall:
            assert report["cycles"] == report["model_cycles"], (simulator, cfg)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_generated_configurations_build_and_compute(data, build_root):
    cfg = data.draw(configurations(max_size=4, max_acc_depth=64), label="config")
    case = data.draw(small_gemms(cfg), label="gemm")
    _run_on_both_simulators(cfg, case, build_root)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_generated_configurations_build_and_compute_slow(data, build_root):
    cfg = data.draw(configurations(max_size=12), label="config")
    case = data.draw(small_gemms(cfg), label="gemm")
    _run_on_both_simulators(cfg, case, build_root)
