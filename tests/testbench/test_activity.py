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
            # No zero weights: the zeros are the activations' alone.
            case = GemmCase(24, 9, 9, seed=5, act_zeros=zeros, weight_kind="dense")
            report, toggles = measure_activity(cfg, case, simulator=simulator,
                                               build_root=build_root)
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


def test_zero_weights_do_not_switch_the_gated_weight_operand(build_root):
    """A zero weight is never loaded into the weight register in use: with weights 75% zero,
    the gated engine's operands switch less than the ungated one's at the same products."""
    require_simulator("verilator")
    results = {}
    for gating in (True, False):
        cfg = ZeroskipConfig(rows=3, cols=3, zero_gating=gating)
        case = GemmCase(24, 9, 9, seed=6, act_kind="dense", weight_zeros=0.75)
        report, toggles = measure_activity(cfg, case, simulator="verilator",
                                           build_root=build_root)
        assert report["passed"], report["error"]
        results[gating] = toggles
    assert results[True]["operands"] < results[False]["operands"]
    assert results[True]["psums"] == results[False]["psums"]
