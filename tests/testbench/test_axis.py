"""The AXI4-Stream top through cocotbext-axi's AxiStreamSource and AxiStreamSink
(zeroskip.testbench.axis_test), on both simulators, against NumPy: results bit-exact,
tlast on exactly the final result beat, every input consumed, the cycle model's count
without stalls, and random pauses on every stream (gaps in tvalid, back-pressure on
tready)."""

import pytest
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate_axis

from zeroskip import ZeroskipConfig

from ..conftest import require_simulator

# Ragged shapes (M, K, N not multiples of the array), one over an M tile, stalls, an empty
# command, the output stage's requantisation, all-zero and extreme operands.
CASES = [
    GemmCase(m=5, k=7, n=6, seed=1),
    GemmCase(m=9, k=9, n=5, seed=2, stall=0.3),
    GemmCase(m=0, k=3, n=3),
    GemmCase(m=11, k=5, n=9, seed=4, act_kind="zeros", weight_kind="random"),
    GemmCase(m=6, k=8, n=7, seed=5, act_kind="max", weight_kind="min", stall=0.5),
]
REQUANT = GemmCase(m=6, k=8, n=9, seed=3, requant=(20000, 14, True), stall=0.2)

CONFIGS = {
    "dense": ZeroskipConfig(rows=4, cols=4, acc_depth=8),
    # A compressed format: the weights stream has a tlast.
    "rle": ZeroskipConfig(rows=4, cols=4, weight_format="rle"),
    # 2:4 skipping: N:M compressed weights and a half-height array.
    "2:4": ZeroskipConfig(rows=4, cols=4, sparsity="2:4"),
    # Payloads that are not whole bytes (6-bit activations, 5-bit weights, 20-bit
    # accumulators, no output stage): the padding of every tdata.
    "odd-widths": ZeroskipConfig(rows=3, cols=3, act_width=6, weight_width=5, acc_width=20,
                                 act_signed=False, output_stage=False, weight_format="bitmask"),
    # Biases on s_axis_activations ahead of each tile's first K fold.
    "bias": ZeroskipConfig(rows=4, cols=4, acc_depth=8, bias=True),
}


def _cases(cfg):
    return CASES + ([REQUANT] if cfg.output_stage else [])


# Every configuration on Icarus; a dense and a compressed one on Verilator (the slow run
# adds the rest).
@pytest.mark.parametrize("name,simulator", [*((name, "icarus") for name in CONFIGS),
                                            ("dense", "verilator"), ("2:4", "verilator")])
def test_axis_top_with_cocotbext_axi(name, simulator, build_root):
    require_simulator(simulator)
    cfg = CONFIGS[name]
    reports, _ = simulate_axis(cfg, _cases(cfg), simulator=simulator, build_root=build_root)
    failed = [f"{r['name']}: {r['error']}" for r in reports if not r["passed"]]
    assert not failed, "\n".join(failed)
    assert len(reports) == len(_cases(cfg))
    unstalled = [r for r in reports if not r["stall"] and r["result_bytes"]]
    assert unstalled and all(r["cycles"] == r["model_cycles"] for r in unstalled)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rle", "odd-widths"])
def test_axis_top_on_verilator_slow(name, build_root):
    require_simulator("verilator")
    cfg = CONFIGS[name]
    reports, _ = simulate_axis(cfg, _cases(cfg), simulator="verilator",
                               build_root=build_root)
    assert all(r["passed"] for r in reports), [r["error"] for r in reports]


def test_axis_refuses_reset_cases_before_building(tmp_path):
    with pytest.raises(ValueError, match="reset_phase"):
        simulate_axis(CONFIGS["dense"], [GemmCase(m=2, k=2, n=2, reset_phase="load")],
                      build_root=tmp_path)
    assert not any(tmp_path.iterdir())
