"""The GEMM engine against NumPy and the cycle model.

First in Amaranth's simulator (a fast check, independent of cocotb and of the generated
Verilog, on tiny configurations); then the generated Verilog through the cocotb testbench on
Icarus and Verilator. Each cocotb test is one configuration on one simulator (one build),
running a list of GEMMs back to back: ragged shapes, K < R, N < C, M = 1, M tiling, extreme
and all-zero operands, seeded stalls on every stream, and resets in the middle of a GEMM.
Without stalls, the RTL's cycle count must equal the model's.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from zeroskip import ZeroskipConfig
from zeroskip.hdl import GemmEngine
from zeroskip.models.cycles import predict_cycles
from zeroskip.models.gemm import gemm_reference, random_operands
from zeroskip.models.requant import requantize
from zeroskip.models.streams import pack_activations, unpack_results
from zeroskip.testbench.cases import RESET_PHASES, GemmCase
from zeroskip.testbench.payloads import weights_stream_words
from zeroskip.testbench.runner import simulate

from ..conftest import require_simulator

# Amaranth simulator ---------------------------------------------------------------------


def run_engine(cfg, m, k, n, seed=0, weight_zeros=None, requant=None, bias=None,
               empty_first=False):
    """The GEMM on the engine in Amaranth's simulator; with ``empty_first``, a command with
    M = 0 (no work, no weights, no results) comes first, its streams already offering the
    GEMM's words and rows. Cycles are counted from the GEMM's command."""
    a, w = random_operands(cfg, m, k, n, seed=seed, weight_zeros=weight_zeros)
    dut = GemmEngine(cfg)
    weights, acts = weights_stream_words(cfg, w, m), pack_activations(cfg, a, n, bias)
    model_cycles = predict_cycles(cfg, m, k, n, w)
    rows, stamps = [], {}

    async def testbench(ctx):
        command = {"m": m, "k": k, "n": n}
        if cfg.output_stage:
            mult, shift, relu = requant or (0, 0, 0)
            command.update(requant=requant is not None, relu=relu, mult=mult, shift=shift)
        commands = [{**command, "m": 0}, command] if empty_first else [command]
        ctx.set(dut.cmd.payload, commands[0])
        ctx.set(dut.cmd.valid, 1)
        ctx.set(dut.results.ready, 1)
        wi = ai = cycle = 0
        swapped = False
        while "last" not in stamps:
            ctx.set(dut.weights.valid, wi < len(weights))
            if wi < len(weights):
                ctx.set(dut.weights.payload, dut.weights.payload.shape().from_bits(weights[wi]))
            ctx.set(dut.activations.valid, ai < len(acts))
            if ai < len(acts):
                ctx.set(dut.activations.payload, [int(x) for x in acts[ai]])
            *_, cmd_ok, w_ok, a_ok, r_valid, r_payload, swap = await ctx.tick().sample(
                dut.cmd.ready & dut.cmd.valid, dut.weights.ready & dut.weights.valid,
                dut.activations.ready & dut.activations.valid, dut.results.valid,
                dut.results.payload, dut.array.act_swap)
            # The array's per-row swap lines rely on this (WeightStationaryArray._row_swap).
            assert not (swap and swapped), f"act_swap high in consecutive cycles ({cycle})"
            swapped = swap
            if cmd_ok:
                commands.pop(0)
                if commands:
                    ctx.set(dut.cmd.payload, commands[0])
                else:
                    stamps["cmd"] = cycle
                    ctx.set(dut.cmd.valid, 0)
            wi += w_ok
            ai += a_ok
            if r_valid:
                rows.append([int(x) for x in r_payload.data])
                if r_payload.last:
                    stamps["last"] = cycle
            cycle += 1
            assert cycle < 20 * model_cycles + 100, "engine hung"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    got = unpack_results(cfg, rows, m, k, n)
    expected = gemm_reference(cfg, a, w, bias)
    if requant is not None:
        expected = requantize(expected, *requant[:2], relu=requant[2], out_width=cfg.out_width,
                              rounding=cfg.requant_rounding)
    return got, expected, stamps["last"] - stamps["cmd"] + 1, model_cycles


@pytest.mark.parametrize("rows, cols, depth, shape", [
    (2, 3, 512, (5, 7, 4)),
    (1, 1, 512, (3, 2, 2)),
    (3, 2, 4, (9, 10, 7)),
])
def test_engine_results_and_cycles(rows, cols, depth, shape):
    cfg = ZeroskipConfig(rows=rows, cols=cols, acc_depth=depth)
    got, expected, cycles, model_cycles = run_engine(cfg, *shape)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("weight_format", ["dense", "rle"])
@pytest.mark.parametrize("m", [9, 17])
def test_one_row_tile_after_a_full_tile(weight_format, m):
    """The last M tile has one row and follows full tiles of acc_depth >= 2R + C - 1 rows:
    its first fold's only row would be taken in the cycle after the full tile's last row
    (two fold advances in consecutive cycles, which the injector's sequencer does not
    take); it waits one cycle, and the cycle model counts it."""
    cfg = ZeroskipConfig(rows=2, cols=2, acc_depth=8, weight_format=weight_format)
    got, expected, cycles, model_cycles = run_engine(cfg, m, 4, 3, weight_zeros=0.3)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("weight_format", ["dense", "bitmask", "rle"])
def test_command_without_work_takes_no_weights(weight_format):
    """A command with M = 0 neither takes the next GEMM's words nor delays it."""
    cfg = ZeroskipConfig(rows=4, cols=3, weight_format=weight_format)
    got, expected, cycles, model_cycles = run_engine(cfg, 5, 9, 7, seed=3, weight_zeros=0.5,
                                                     empty_first=True)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("weight_format", ["bitmask", "nm", "csr", "rle"])
@pytest.mark.parametrize("rows, cols, shape, weight_zeros", [
    (4, 3, (5, 9, 7), 0.5),     # ragged K and N: padded rows and lanes
    (4, 4, (20, 8, 4), 0.0),    # every weight non-zero: the densest records
    (2, 2, (3, 5, 3), 1.0),     # all zero
    (4, 4, (2, 16, 8), 0.25),   # M=2: weight loading, hence decoding, bounds the folds
])
def test_compressed_engine_results_and_cycles(weight_format, rows, cols, shape, weight_zeros):
    cfg = ZeroskipConfig(rows=rows, cols=cols, weight_format=weight_format,
                         nm_pattern="1:2" if rows == 2 else "2:4")
    got, expected, cycles, model_cycles = run_engine(cfg, *shape, weight_zeros=weight_zeros)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("sparsity, rows, cols, shape, gating", [
    ("2:4", 4, 3, (5, 19, 7), True),
    ("1:4", 2, 2, (6, 9, 3), True),
    ("1:2", 2, 3, (4, 7, 5), False),
    ("4:8", 4, 2, (3, 17, 3), True),
    ("2:8", 2, 2, (3, 30, 2), False),
])
def test_sparse_engine_results_and_cycles(sparsity, rows, cols, shape, gating):
    cfg = ZeroskipConfig(rows=rows, cols=cols, sparsity=sparsity, zero_gating=gating)
    got, expected, cycles, model_cycles = run_engine(cfg, *shape, weight_zeros=0.3)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


@pytest.mark.parametrize("kwargs, shape", [
    ({"rows": 2, "cols": 3, "acc_depth": 4}, (5, 7, 4)),       # ragged, M tiles, K folds
    ({"rows": 2, "cols": 2, "acc_depth": 16}, (16, 2, 5)),     # long tiles: the beats cost
    ({"rows": 1, "cols": 4, "acc_depth": 3}, (4, 1, 6)),       # K = 1: every fold has bias
    ({"rows": 2, "cols": 8, "acc_depth": 1}, (3, 1, 9)),       # one-row tiles back to back
    ({"rows": 4, "cols": 1, "act_width": 16, "acc_depth": 2}, (5, 9, 3)),   # one beat per row
    ({"rows": 4, "cols": 2, "sparsity": "2:4", "acc_depth": 4}, (6, 13, 5)),
    ({"rows": 4, "cols": 4, "weight_format": "rle", "acc_depth": 4}, (6, 9, 5)),
    ({"rows": 3, "cols": 3, "act_width": 4, "weight_width": 4, "acc_width": 12,
      "act_signed": False, "weight_signed": False}, (4, 5, 4)),  # unsigned, 3 beats
])
@pytest.mark.parametrize("bias_kind", ["random", "extremes"])
def test_bias_engine_results_and_cycles(kwargs, shape, bias_kind):
    """Biases at accumulator width, sent ahead of each tile's first K fold, start that tile's
    sums; the cycle model counts their beats."""
    cfg = ZeroskipConfig(bias=True, **kwargs)
    lo, hi = cfg.operand_range("acc")
    if bias_kind == "random":
        bias = np.random.default_rng(shape[2]).integers(lo, hi, size=shape[2], endpoint=True)
    else:  # the accumulator's extremes, which wrap when anything is added
        bias = np.where(np.arange(shape[2]) % 2, hi, lo)
    got, expected, cycles, model_cycles = run_engine(cfg, *shape, bias=bias)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles


def test_bias_engine_with_output_stage():
    """The bias is in the accumulator before requantisation and ReLU."""
    cfg = ZeroskipConfig(rows=2, cols=4, acc_depth=16, output_stage=True, bias=True)
    bias = np.array([-40000, 0, 40000, 7, -7, 123456])
    got, expected, cycles, model_cycles = run_engine(cfg, 20, 5, 6, bias=bias,
                                                     requant=(12345, 20, 1))
    assert np.array_equal(got, expected)
    assert cycles == model_cycles
    assert got[:, 2].min() > 0 and not got[:, 0].any()   # the biases decide these columns


@pytest.mark.parametrize("requant", [None, (37, 14, 0), (37, 14, 1), (1, 0, 0)])
def test_output_stage_results_and_cycles(requant):
    """Requantised (or raw, requant None) results and cycles, the stage's seven registers more
    than without it."""
    cfg = ZeroskipConfig(rows=2, cols=3, acc_depth=4, output_stage=True)
    got, expected, cycles, model_cycles = run_engine(cfg, 9, 7, 5, requant=requant)
    assert np.array_equal(got, expected)
    assert cycles == model_cycles
    assert model_cycles == predict_cycles(cfg.replace(output_stage=False), 9, 7, 5) + 7
    if requant is not None:
        assert expected.min() >= (0 if requant[2] else -128) and expected.max() <= 127
    if requant == (1, 0, 0):
        assert {-128, 127} <= set(expected.flat)   # saturates at both ends
    elif requant is not None:
        assert len(np.unique(expected)) > 5   # not all saturated or zero


# cocotb on Icarus and Verilator -----------------------------------------------------------
def adversarial_cases(cfg, *, seed=0):
    # K is sized by the K positions per fold (R, or R·M/N for a sparse array): the folds and
    # ragged last folds are what matter.
    r, c, kf = cfg.rows, cfg.cols, cfg.k_per_fold
    return [
        GemmCase(2 * r + 1, 3 * kf - 1 if kf > 1 else 3, 2 * c + 1, seed=seed + 1),
        GemmCase(5, max(1, kf - 1), c + 2, seed=seed + 2),            # K < one fold
        GemmCase(4, 2 * kf + 1, max(1, c - 1), seed=seed + 3),        # N < C
        GemmCase(1, kf + 1, c + 1, seed=seed + 4),                    # M = 1
        GemmCase(1, 1, 1, seed=seed + 5),
        GemmCase(3 * r + 2, 2 * kf, c, seed=seed + 6),                # K, N exact multiples
        GemmCase(r + 3, 2 * kf + 1, c + 1, seed=seed + 7, act_kind="min", weight_kind="min"),
        GemmCase(r + 3, 2 * kf + 1, c + 1, seed=seed + 8, act_kind="max", weight_kind="min"),
        GemmCase(r + 2, 3 * kf, 2 * c, seed=seed + 9, act_kind="alternating",
                 weight_kind="max"),
        GemmCase(r + 2, 2 * kf + 1, c + 2, seed=seed + 10, act_kind="zeros"),
        GemmCase(r + 2, 2 * kf + 1, c + 2, seed=seed + 11, weight_kind="zeros"),
        GemmCase(r + 2, 2 * kf + 1, c + 2, seed=seed + 12, act_kind="dense",
                 weight_kind="dense"),
        GemmCase(2 * r + 3, 2 * kf + 1, 2 * c + 1, seed=seed + 13, stall=0.3),
        GemmCase(r + 4, 2 * kf + 1, c + 3, seed=seed + 14, stall=0.7),
        GemmCase(2 * r + 5, kf + 2, 2 * c + 1, seed=seed + 15),       # after stalls: clean
    ]


CONFIGS = {
    "1x1": ZeroskipConfig(rows=1, cols=1, output_stage=False),
    # acc_depth 4: M is tiled, so every case with M > 4 crosses M tiles.
    "2x3-mtile": ZeroskipConfig(rows=2, cols=3, acc_depth=4, output_stage=False),
    # Mixed signedness and a narrow accumulator: extreme operands wrap the accumulator.
    "4x4-u4s6-acc12": ZeroskipConfig(rows=4, cols=4, act_width=4, act_signed=False,
                                     weight_width=6, acc_width=12, output_stage=False),
    "3x2-u16u16-acc48": ZeroskipConfig(rows=3, cols=2, act_width=16, act_signed=False,
                                       weight_width=16, weight_signed=False, acc_width=48,
                                       output_stage=False),
    "2x2-s2s2-acc4": ZeroskipConfig(rows=2, cols=2, act_width=2, weight_width=2, acc_width=4,
                                    output_stage=False),
    "8x8": ZeroskipConfig(rows=8, cols=8, output_stage=False),
    # The same without zero-gating: the spine's plain datapath stays verified too.
    "8x8-ungated": ZeroskipConfig(rows=8, cols=8, zero_gating=False, output_stage=False),
    "2x3-mtile-ungated": ZeroskipConfig(rows=2, cols=3, acc_depth=4, zero_gating=False,
                                        output_stage=False),
}

ZERO_DENSITIES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)

# The spine suite once per compressed weight format, on configurations that tile M and have
# lane counts and field widths that are not powers of two.
FORMAT_CONFIGS = {
    "bitmask-4x3-u4s6": ZeroskipConfig(rows=4, cols=3, acc_depth=4, weight_format="bitmask",
                                       act_width=4, act_signed=False, weight_width=6,
                                       acc_width=12, output_stage=False),
    "nm2:4-4x4": ZeroskipConfig(rows=4, cols=4, acc_depth=4, weight_format="nm",
                                nm_pattern="2:4", output_stage=False),
    "nm1:2-2x3-ungated": ZeroskipConfig(rows=2, cols=3, acc_depth=4, weight_format="nm",
                                        nm_pattern="1:2", zero_gating=False, output_stage=False),
    "csr-3x5": ZeroskipConfig(rows=3, cols=5, acc_depth=4, weight_format="csr", output_stage=False),
    "rle-2x3-run2": ZeroskipConfig(rows=2, cols=3, acc_depth=4, weight_format="rle",
                                   rle_run_width=2, output_stage=False),
}


def weight_density_cases(cfg, *, seed=50):
    r, c = cfg.rows, cfg.cols
    return [GemmCase(2 * r + 3, 3 * cfg.k_per_fold + 1, 2 * c + 1, seed=seed + i,
                     weight_zeros=wz,
                     stall=0.4 if i % 2 else 0.0)
            for i, wz in enumerate((0.25, 0.5, 0.75, 0.95))]


def _check(reports, cases):
    assert [r["name"] for r in reports] == [c.name for c in cases]
    failures = [f"{r['name']}: {r['error']}" for r in reports if not r["passed"]]
    assert not failures, "\n".join(failures)
    for r, case in zip(reports, cases):
        if case.reset_phase:
            assert r["cycles"] is None and r["reset_at"] > 0, r["name"]
        elif not case.stall:
            assert r["cycles"] == r["model_cycles"], r["name"]
        else:
            assert r["cycles"] >= r["model_cycles"], r["name"]


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_engine_matches_numpy(simulator, config_name, build_root):
    require_simulator(simulator)
    cfg = CONFIGS[config_name]
    cases = adversarial_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(FORMAT_CONFIGS))
def test_compressed_weights_engine(simulator, config_name, build_root):
    """The engine with each weight decoder: results equal NumPy and, without stalls, cycles
    equal the model that replays the decoder."""
    require_simulator(simulator)
    cfg = FORMAT_CONFIGS[config_name]
    cases = adversarial_cases(cfg) + weight_density_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


# The N:M sparse array, every supported pattern, gated and not, tiling M.
SPARSE_CONFIGS = {
    "1:2-2x3": ZeroskipConfig(rows=2, cols=3, acc_depth=4, sparsity="1:2", output_stage=False),
    "1:4-2x2-ungated": ZeroskipConfig(rows=2, cols=2, acc_depth=4, sparsity="1:4",
                                      zero_gating=False, output_stage=False),
    "2:4-4x3-u4s6": ZeroskipConfig(rows=4, cols=3, acc_depth=4, sparsity="2:4",
                                   act_width=4, act_signed=False, weight_width=6,
                                   acc_width=12, output_stage=False),
    "2:8-2x2": ZeroskipConfig(rows=2, cols=2, acc_depth=4, sparsity="2:8", output_stage=False),
    "4:8-4x2-ungated": ZeroskipConfig(rows=4, cols=2, acc_depth=4, sparsity="4:8",
                                      zero_gating=False, output_stage=False),
}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(SPARSE_CONFIGS))
def test_sparse_engine(simulator, config_name, build_root):
    """The N:M sparse engine: results equal NumPy, cycles equal the model."""
    require_simulator(simulator)
    cfg = SPARSE_CONFIGS[config_name]
    cases = adversarial_cases(cfg) + weight_density_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


@pytest.mark.slow
@pytest.mark.parametrize("sparsity", ["1:2", "1:4", "2:4", "2:8", "4:8"])
def test_sparse_8x8(sparsity, build_root):
    require_simulator("verilator")
    cfg = ZeroskipConfig(rows=8, cols=8, sparsity=sparsity, output_stage=False)
    cases = adversarial_cases(cfg) + weight_density_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator="verilator", build_root=build_root)
    _check(reports, cases)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("weight_format", ["bitmask", "nm", "csr", "rle"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_spine_configs_every_format(weight_format, config_name, simulator, build_root):
    """Every spine configuration that the format allows, with each decoder."""
    require_simulator(simulator)
    base = CONFIGS[config_name]
    pattern = "2:4" if base.rows % 4 == 0 else "1:2" if base.rows % 2 == 0 else None
    if weight_format == "nm" and pattern is None:
        pytest.skip(f"nm needs rows to be a multiple of M; rows={base.rows}")
    cfg = base.replace(weight_format=weight_format, nm_pattern=pattern or "2:4")
    cases = adversarial_cases(cfg) + weight_density_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_zero_densities(simulator, build_root):
    """Zero-gated engine at activation and weight zero densities 0% to 100%, crossed, with
    and without stalls: results equal NumPy."""
    require_simulator(simulator)
    cfg = ZeroskipConfig(rows=4, cols=3, zero_gating=True, output_stage=False)
    cases = [GemmCase(13, 9, 7, seed=i, act_zeros=az, weight_zeros=wz,
                      stall=0.3 if i % 3 == 2 else 0.0)
             for i, (az, wz) in enumerate([(az, 0.0) for az in ZERO_DENSITIES] +
                                          [(0.0, wz) for wz in ZERO_DENSITIES[1:]] +
                                          [(0.5, 0.5), (0.9, 0.75), (1.0, 1.0)])]
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


def test_accumulator_wraps(build_root):
    """With acc_width = act + weight widths, min × min over K = 4 overflows: the RTL must wrap
    exactly like the model (and the model must really wrap here)."""
    from zeroskip.models.gemm import gemm_reference, random_operands

    simulator = "verilator"
    require_simulator(simulator)
    cfg = ZeroskipConfig(rows=2, cols=2, act_width=4, weight_width=4, acc_width=8,
                         output_stage=False)
    a, w = random_operands(cfg, 3, 4, 3, seed=0, act_kind="min", weight_kind="min")
    assert (a.astype(int) @ w.astype(int)).max() > 127  # exceeds int8
    assert gemm_reference(cfg, a, w).max() <= 127
    cases = [GemmCase(3, 4, 3, act_kind="min", weight_kind="min"),
             GemmCase(5, 9, 3, act_kind="alternating", weight_kind="min")]
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("size", [16, 32])
def test_large_arrays(simulator, size, build_root):
    require_simulator(simulator)
    cfg = ZeroskipConfig(rows=size, cols=size, output_stage=False)
    cases = adversarial_cases(cfg)[:6] + [GemmCase(4 * size, 3 * size + 1, 2 * size + 3,
                                                   seed=99, stall=0.2)]
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


@pytest.mark.slow
def test_long_gemm_many_tiles(build_root):
    require_simulator("verilator")
    cfg = ZeroskipConfig(rows=4, cols=4, acc_depth=16, output_stage=False)
    cases = [GemmCase(100, 37, 23, seed=7), GemmCase(100, 37, 23, seed=8, stall=0.5)]
    reports, _ = simulate(cfg, cases, simulator="verilator", build_root=build_root)
    _check(reports, cases)


# Output stage -----------------------------------------------------------------------------
# One configuration per simulator in the default suite (sparse 2:4, so the stage is checked
# behind the N:M array too); more under the slow marker.
OUTPUT_STAGE_CONFIG = ZeroskipConfig(rows=4, cols=3, acc_depth=4, sparsity="2:4",
                                     output_stage=True)
OUTPUT_STAGE_SLOW_CONFIGS = {
    "8x8": ZeroskipConfig(rows=8, cols=8, output_stage=True),
    # Unsigned accumulators, narrow results and multiplier, ungated, M tiled, bitmask weights.
    "2x3-u4u4-acc12-o5-m6": ZeroskipConfig(rows=2, cols=3, acc_depth=4, act_width=4,
                                           act_signed=False, weight_width=4,
                                           weight_signed=False, acc_width=12, out_width=5,
                                           requant_mult_width=6, zero_gating=False,
                                           weight_format="bitmask", output_stage=True),
    "3x2-s16s16-acc48-o16-m32": ZeroskipConfig(rows=3, cols=2, act_width=16, weight_width=16,
                                               acc_width=48, out_width=16,
                                               requant_mult_width=32, output_stage=True),
}


def _typical_scale(cfg, k):
    """A requantisation scale that maps random K-long dot products onto roughly half of the
    output range, so results are neither all saturated nor all zero."""
    lo, hi = cfg.operand_range("act")
    wlo, whi = cfg.operand_range("weight")
    spread = max(abs(lo), hi) * max(abs(wlo), whi) * max(1, k) ** 0.5 / 2
    return (1 << (cfg.out_width - 2)) / spread


def output_stage_cases(cfg, *, seed=200):
    from zeroskip.models.requant import quantize_multiplier

    r, c, kf = cfg.rows, cfg.cols, cfg.k_per_fold
    mmax, smax = (1 << cfg.requant_mult_width) - 1, cfg.requant_max_shift

    def typical(k, relu):
        mult, shift = quantize_multiplier(_typical_scale(cfg, k),
                                          mult_width=cfg.requant_mult_width, max_shift=smax)
        return (mult, shift, relu)

    k1, k2 = 2 * kf + 1, 3 * kf - 1
    return [
        GemmCase(2 * r + 1, k1, 2 * c + 1, seed=seed, requant=typical(k1, 0)),
        GemmCase(2 * r + 1, k1, 2 * c + 1, seed=seed, requant=typical(k1, 1)),
        GemmCase(r + 2, k2, c + 1, seed=seed + 1),                      # raw accumulators
        GemmCase(r + 2, k2, c + 1, seed=seed + 2, requant=typical(k2, 1)),
        GemmCase(5, 3, c, seed=seed + 3, requant=(mmax, 0, 0)),          # saturates both ends
        GemmCase(5, 3, c, seed=seed + 3, requant=(mmax, 0, 1)),
        GemmCase(5, k1, c + 2, seed=seed + 4, requant=(0, smax, 1)),     # multiplier 0
        GemmCase(5, k1, c + 2, seed=seed + 5, requant=(mmax, smax, 0)),  # shift max
        # The largest multiplier with a typical shift.
        GemmCase(5, k1, c + 2, seed=seed + 5, requant=(mmax, typical(k1, 0)[1], 0)),
        GemmCase(r + 3, k1, c + 1, seed=seed + 6, act_kind="min", weight_kind="max",
                 requant=(1, 1, 0)),
        GemmCase(1, 1, 1, seed=seed + 7, requant=(1, 8, 0)),
        GemmCase(2 * r + 3, k1, 2 * c + 1, seed=seed + 8, stall=0.3, requant=typical(k1, 1)),
        GemmCase(r + 4, k2, c + 3, seed=seed + 9, stall=0.7, requant=typical(k2, 0)),
        GemmCase(r + 4, k2, c + 3, seed=seed + 10, stall=0.5),          # raw, stalled
        GemmCase(2 * r + 5, kf + 2, 2 * c + 1, seed=seed + 11, requant=typical(kf + 2, 1)),
    ]


def _layer_operands(cfg, path, a, k, n, seed):
    """Write ``a`` and a seeded random ``w`` (N:M-pruned if the engine needs it) to ``path``."""
    from zeroskip.models.gemm import random_operands

    _, w = random_operands(cfg, a.shape[0], k, n, seed=seed)
    np.savez(path, a=a, w=w)
    return w


def _check_output_stage(cfg, simulator, build_root, tmp_path):
    """The output-stage cases, then two chained layers through ``operands`` and
    ``results_out``: layer 1's RTL results (requantised, ReLU) are layer 2's activations."""
    from zeroskip.models.gemm import gemm_reference, random_operands
    from zeroskip.models.requant import quantize_multiplier, requantize

    cases = output_stage_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)

    m, k1, k2, n = 2 * cfg.rows + 3, 2 * cfg.k_per_fold + 1, cfg.cols + 2, cfg.cols + 1
    a1, _ = random_operands(cfg, m, k1, k2, seed=300)
    w1 = _layer_operands(cfg, tmp_path / "layer1.npz", a1, k1, k2, seed=301)
    mult1, shift1 = quantize_multiplier(_typical_scale(cfg, k1), mult_width=cfg.requant_mult_width,
                                        max_shift=cfg.requant_max_shift)
    layer1 = GemmCase.from_operands(tmp_path / "layer1.npz", requant=(mult1, shift1, 1),
                                    results_out=str(tmp_path / "layer1.npy"))
    reports, _ = simulate(cfg, [layer1], simulator=simulator, build_root=build_root,
                          run_name="layer1")
    _check(reports, [layer1])
    y1 = np.load(tmp_path / "layer1.npy")
    expected1 = requantize(gemm_reference(cfg, a1, w1), mult1, shift1, relu=True,
                           out_width=cfg.out_width, rounding=cfg.requant_rounding)
    assert np.array_equal(y1, expected1)
    if cfg.acc_signed:
        assert 0.1 < (y1 == 0).mean() < 0.9   # ReLU zeros feed the next layer's zero-gating

    w2 = _layer_operands(cfg, tmp_path / "layer2.npz", y1, k2, n, seed=302)
    layer2 = GemmCase.from_operands(tmp_path / "layer2.npz",  # raw logits
                                    results_out=str(tmp_path / "layer2.npy"), stall=0.2)
    reports, _ = simulate(cfg, [layer2], simulator=simulator, build_root=build_root,
                          run_name="layer2")
    _check(reports, [layer2])
    assert np.array_equal(np.load(tmp_path / "layer2.npy"), gemm_reference(cfg, y1, w2))


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_output_stage_engine(simulator, build_root, tmp_path):
    """Output stage behind the 2:4 sparse array: requantised (ReLU on and off) and raw results
    equal the model bit for bit, with and without stalls; unstalled cycles equal the model;
    two layers chain through operand files and saved RTL results."""
    require_simulator(simulator)
    _check_output_stage(OUTPUT_STAGE_CONFIG, simulator, build_root, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(OUTPUT_STAGE_SLOW_CONFIGS))
def test_output_stage_engine_configs(simulator, config_name, build_root, tmp_path):
    require_simulator(simulator)
    cfg = OUTPUT_STAGE_SLOW_CONFIGS[config_name]
    _check_output_stage(cfg, simulator, build_root, tmp_path)
    # The stage must not disturb the plain spine cases (requant off).
    cases = adversarial_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root,
                          run_name="spine")
    _check(reports, cases)


# Bias ---------------------------------------------------------------------------------------
BIAS_CONFIGS = {
    # M tiles of 4 rows, N folds of 3: every tile takes its own biases, 3 beats each; the
    # output stage rounds ties to even (zeroskip run's engine).
    "bias-2x3-mtile-output-stage-even": ZeroskipConfig(rows=2, cols=3, acc_depth=4, bias=True,
                                                       requant_rounding="half_even"),
    # A sparse array (2 beats per bias row) and a narrow unsigned accumulator.
    "bias-2:4-4x2-u6u5-acc20": ZeroskipConfig(rows=4, cols=2, acc_depth=4, sparsity="2:4",
                                              act_width=6, act_signed=False, weight_width=5,
                                              weight_signed=False, acc_width=20, bias=True),
}
BIAS_SLOW_CONFIGS = {
    "bias-rle-3x2": ZeroskipConfig(rows=3, cols=2, acc_depth=4, weight_format="rle",
                                   bias=True, output_stage=False),
    "bias-8x8": ZeroskipConfig(bias=True),
}


def bias_cases(cfg, *, seed=600):
    """The spine's cases with random biases, biases at the accumulator's extremes (they wrap
    with any sum), and with an output stage requantised results with ReLU, stalled too."""
    r, c, kf = cfg.rows, cfg.cols, cfg.k_per_fold
    cases = adversarial_cases(cfg, seed=seed)
    cases += [GemmCase(2 * r + 3, 2 * kf + 1, 2 * c + 1, seed=seed + 20 + i, bias_kind=kind)
              for i, kind in enumerate(("min", "max", "zeros", "alternating"))]
    if cfg.output_stage:
        cases += [GemmCase(case.m, case.k, case.n, seed=case.seed, requant=case.requant,
                           stall=stall)
                  for case in output_stage_cases(cfg)[:2] for stall in (0.0, 0.3)]
    return cases


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", [
    *BIAS_CONFIGS, *(pytest.param(name, marks=pytest.mark.slow) for name in BIAS_SLOW_CONFIGS)])
def test_bias_engine(simulator, config_name, build_root):
    """Engines with biases: results equal NumPy (biases included before requantisation) with
    and without stalls, and unstalled cycles equal the model that counts the bias beats."""
    require_simulator(simulator)
    cfg = {**BIAS_CONFIGS, **BIAS_SLOW_CONFIGS}[config_name]
    cases = bias_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, build_root=build_root)
    _check(reports, cases)


def test_bias_engine_cocotb_endpoints_and_reset(build_root):
    """The cocotb endpoints drive the bias beats too, and a reset while the activations
    stream, or once the weights load but before any activation row ("load": at most the
    first tile's bias beats taken), leaves nothing behind: the next GEMM is exact in results
    and cycles."""
    require_simulator("icarus")
    cfg = BIAS_CONFIGS["bias-2x3-mtile-output-stage-even"]
    cases = [GemmCase(9, 5, 7, seed=700), GemmCase(9, 5, 7, seed=701, stall=0.4),
             GemmCase(40, 5, 7, seed=702, reset_phase="stream"), GemmCase(9, 5, 7, seed=703),
             GemmCase(40, 5, 7, seed=704, reset_phase="load", stall=0.3),
             GemmCase(9, 5, 7, seed=705)]
    reports, _ = simulate(cfg, cases, simulator="icarus", harness="cocotb",
                          build_root=build_root)
    _check(reports, cases)


# Reset in the middle of a GEMM ---------------------------------------------------------------
RESET_CONFIGS = {
    "dense-4x3": ZeroskipConfig(rows=4, cols=3, acc_depth=8, output_stage=False),
    "rle-3x2": ZeroskipConfig(rows=3, cols=2, acc_depth=8, weight_format="rle", output_stage=False),
    "2:4-4x2-output-stage": ZeroskipConfig(rows=4, cols=2, acc_depth=8, sparsity="2:4",
                                           output_stage=True),
}


def reset_cases(cfg):
    """Each phase's reset (with and without stalls), each followed by a GEMM that must be
    exact in results and in cycles: nothing of the interrupted run may survive the reset."""
    r, c, kf = cfg.rows, cfg.cols, cfg.k_per_fold
    # More result rows than the result FIFO holds, so that "fifo_full" is reachable.
    m = 3 * (r + c) + 24
    cases = []
    for i, phase in enumerate(RESET_PHASES):
        for j, stall in enumerate((0.0, 0.3)):
            cases.append(GemmCase(m, 2 * kf + 1, 2 * c + 1, seed=400 + 2 * i + j,
                                  stall=stall, reset_phase=phase))
            cases.append(GemmCase(2 * r + 3, 2 * kf + 1, c + 2, seed=420 + 2 * i + j))
    return cases


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(RESET_CONFIGS))
def test_reset_mid_gemm(simulator, config_name, build_root):
    """Reset while weights load, while activations stream, while results drain and while the
    result FIFO is full: no stale row comes out, and the next GEMM is correct and exact in
    cycles; for the dense, a compressed-weight (RLE) and the 2:4 engine."""
    require_simulator(simulator)
    cfg = RESET_CONFIGS[config_name]
    cases = reset_cases(cfg)
    reports, _ = simulate(cfg, cases, simulator=simulator, harness="cocotb",
                          build_root=build_root)
    _check(reports, cases)


# The two harnesses -------------------------------------------------------------------------
# One configuration per capability: the player and the cocotb endpoints must agree on every
# case, cycle for cycle, stalled runs included (their pause patterns are the same bits).
AGREEMENT_CONFIGS = {
    "8x8": CONFIGS["8x8"],
    "2x3-mtile-ungated": CONFIGS["2x3-mtile-ungated"],
    "bitmask-4x3-u4s6": FORMAT_CONFIGS["bitmask-4x3-u4s6"],
    "csr-3x5": FORMAT_CONFIGS["csr-3x5"],
    "rle-2x3-run2": FORMAT_CONFIGS["rle-2x3-run2"],
    "sparse-2:4-4x3-u4s6": SPARSE_CONFIGS["2:4-4x3-u4s6"],
    "output-stage": OUTPUT_STAGE_CONFIG,
}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(AGREEMENT_CONFIGS))
def test_player_and_cocotb_agree_cycle_for_cycle(simulator, config_name, build_root):
    require_simulator(simulator)
    cfg = AGREEMENT_CONFIGS[config_name]
    cases = adversarial_cases(cfg) + weight_density_cases(cfg)
    if cfg.output_stage:
        cases += output_stage_cases(cfg)
    assert any(c.stall for c in cases)
    by_harness = {}
    for harness in ("player", "cocotb"):
        reports, _ = simulate(cfg, cases, simulator=simulator, harness=harness,
                              build_root=build_root)
        _check(reports, cases)
        assert {r["harness"] for r in reports} == {harness}
        by_harness[harness] = [{k: r[k] for k in ("name", "passed", "cycles", "model_cycles",
                                                  "result_rows", "error")} for r in reports]
    assert by_harness["player"] == by_harness["cocotb"]
