"""Toggle counting from waveforms, gated vs ungated, on both simulators."""

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.gemm_check import measure_activity
from zeroskip.models.energy import relative_energy
from zeroskip.testbench.cases import GemmCase

from ..conftest import require_simulator


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_gating_reduces_toggles_and_costs_nothing_when_dense(simulator, build_root):
    require_simulator(simulator)
    results = {}
    for gating in (True, False):
        cfg = ZeroskipConfig(rows=3, cols=3, zero_gating=gating)
        for zeros in (0.0, 0.5, 1.0):
            report, toggles = measure_activity(cfg, GemmCase(24, 9, 9, seed=5, act_zeros=zeros),
                                               simulator=simulator, build_root=build_root)
            assert report["passed"], report["error"]
            assert toggles["pes"] == 9
            results[gating, zeros] = toggles
    dense_g, dense_u = results[True, 0.0], results[False, 0.0]
    # Same data path at 0% zeros: identical datapath toggles, flags only in control.
    assert dense_g["datapath"] == dense_u["datapath"] > 0
    assert dense_g["total"] <= 1.02 * dense_u["total"]
    half_g, half_u = results[True, 0.5], results[False, 0.5]
    assert half_g["operands"] < half_u["operands"]
    assert half_g["products"] < half_u["products"]
    assert half_g["psums"] == half_u["psums"]  # gating cannot change the partial sums
    assert relative_energy(half_g) < relative_energy(half_u)
    # All activations zero: no product or partial sum ever switches, gated or not, and the
    # gated operand registers never load.
    for gating in (True, False):
        assert results[gating, 1.0]["products"] == results[gating, 1.0]["psums"] == 0
    assert results[True, 1.0]["operands"] <= results[False, 1.0]["operands"]
