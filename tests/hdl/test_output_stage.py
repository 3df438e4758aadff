"""OutputStage in Amaranth's simulator, bit-exact against models.requant.requantize."""

import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from zeroskip import ZeroskipConfig
from zeroskip.hdl.output_stage import OutputStage
from zeroskip.models.cycles import output_stage_latency
from zeroskip.models.requant import requantize

CONFIGS = {
    "s8-acc32-m16": ZeroskipConfig(cols=3, output_stage=True),
    # Every width at its maximum: a 48 × 32-bit product and a shift up to 79.
    "s16-acc48-m32-o16": ZeroskipConfig(cols=2, act_width=16, weight_width=16, acc_width=48,
                                        requant_mult_width=32, out_width=16,
                                        output_stage=True),
    # Unsigned accumulators, odd widths.
    "u4u4-acc12-m5-o6": ZeroskipConfig(cols=2, act_width=4, act_signed=False, weight_width=4,
                                       weight_signed=False, acc_width=12,
                                       requant_mult_width=5, out_width=6, output_stage=True),
    # Narrowest: 4-bit accumulators, a 1-bit multiplier, 3-bit results.
    "s2s2-acc4-m1-o3": ZeroskipConfig(cols=1, act_width=2, weight_width=2, acc_width=4,
                                      requant_mult_width=1, out_width=3, output_stage=True),
}
# Each again rounding ties to even (onnxruntime's rounding), ties being where the two differ.
CONFIGS.update({f"{name}-even": cfg.replace(requant_rounding="half_even")
                for name, cfg in list(CONFIGS.items())})


def expected_row(cfg, vector):
    accs, requant, relu, mult, shift, _ = vector
    if not requant:
        return [int(x) for x in accs]
    return requantize(accs, mult, shift, relu=relu, out_width=cfg.out_width,
                      rounding=cfg.requant_rounding).tolist()


def simulate(cfg, vectors):
    """Feed one vector ``(accs, requant, relu, mult, shift, last)`` per cycle (back to back)
    and return ``(outputs, valid_cycles, latency)``: the rows seen at ``row_out`` while
    ``valid_out`` was high, the cycles after the first input on which that happened, and the
    stage's ``latency``."""
    dut = OutputStage(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    outputs, valid_cycles = [], []

    async def testbench(ctx):
        for t in range(len(vectors) + dut.latency + 1):
            if t < len(vectors):
                accs, requant, relu, mult, shift, last = vectors[t]
                ctx.set(dut.row_in, {"data": list(accs), "last": last})
                ctx.set(dut.params, {"requant": requant, "relu": relu, "mult": mult,
                                     "shift": shift})
                ctx.set(dut.valid_in, 1)
            else:
                # Idle inputs that would give different results: they must not leak out.
                ctx.set(dut.params, {"requant": 0, "relu": 1, "mult": 0, "shift": 0})
                ctx.set(dut.valid_in, 0)
            await ctx.tick()
            if ctx.get(dut.valid_out):
                row = ctx.get(dut.row_out)
                outputs.append(([int(row.data[c]) for c in range(cfg.cols)], int(row.last)))
                valid_cycles.append(t + 1)

    sim.add_testbench(testbench)
    sim.run()
    return outputs, valid_cycles, dut.latency


def check(cfg, vectors):
    outputs, valid_cycles, latency = simulate(cfg, vectors)
    assert valid_cycles == [i + latency for i in range(len(vectors))]
    for i, (vector, (row, last)) in enumerate(zip(vectors, outputs)):
        assert row == expected_row(cfg, vector), f"vector {i}: {vector}"
        assert last == vector[5], f"vector {i}: last"


def adversarial_vectors(cfg):
    """Accumulator extremes, multiplier and shift 0 and maximum, exact rounding ties of both
    signs, saturation at both ends, ReLU on and off, pass-through."""
    lo, hi = cfg.operand_range("acc")
    mmax, smax = (1 << cfg.requant_mult_width) - 1, cfg.requant_max_shift
    cols = cfg.cols

    def row(*values):
        return [values[i % len(values)] for i in range(cols)]

    vectors = []
    for relu in (0, 1):
        for mult in sorted({0, 1, mmax}):
            for shift in sorted({0, 1, smax // 2, smax - 1, smax}):
                vectors.append((row(lo, hi, 0), 1, relu, mult, shift, 0))
                vectors.append((row(hi, lo, -1 if lo < 0 else 1), 1, relu, mult, shift, 1))
        # Ties: acc · mult = (odd) · 2**(shift-1), at both signs and with odd multipliers.
        for shift in range(1, smax + 1):
            for mult in sorted({1, 3 % (mmax + 1) or 1, mmax}):
                for odd in (1, 3, -1, -3):
                    value = odd << (shift - 1)
                    acc = value // mult
                    if value % mult == 0 and lo <= acc <= hi:
                        # The tie, and its neighbours one accumulator step away.
                        near = [x for x in (acc, acc + 1, acc - 1) if lo <= x <= hi]
                        vectors.append((row(*near), 1, relu, mult, shift, 0))
    # Pass-through ignores relu, mult and shift.
    vectors += [(row(lo, hi, 0), 0, 1, mmax, smax, 1), (row(-1 if lo < 0 else 5), 0, 0, 0, 0, 0)]
    return vectors


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_adversarial(config_name):
    cfg = CONFIGS[config_name]
    vectors = adversarial_vectors(cfg)
    # The ties must really be there, and results must saturate at both ends.
    expected = [expected_row(cfg, v) for v in vectors if v[1]]
    flat = [x for r in expected for x in r]
    out_lo, out_hi = -(1 << (cfg.out_width - 1)), (1 << (cfg.out_width - 1)) - 1
    assert out_hi in flat and (out_lo in flat or not cfg.acc_signed)
    check(cfg, vectors)


@st.composite
def vector_lists(draw, cfg):
    lo, hi = cfg.operand_range("acc")
    mmax, smax = (1 << cfg.requant_mult_width) - 1, cfg.requant_max_shift
    acc = st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, 1, hi - 1]),
                    st.integers(-300, 300).filter(lambda x: lo <= x <= hi))
    vector = st.tuples(st.lists(acc, min_size=cfg.cols, max_size=cfg.cols),
                       st.sampled_from([1, 1, 1, 0]), st.integers(0, 1),
                       st.one_of(st.integers(0, mmax), st.sampled_from([0, 1, mmax])),
                       st.one_of(st.integers(0, smax), st.sampled_from([0, 1, smax])),
                       st.integers(0, 1))
    return draw(st.lists(vector, min_size=1, max_size=30))


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_random(config_name):
    cfg = CONFIGS[config_name]

    @settings(max_examples=15, deadline=None)
    @given(vector_lists(cfg))
    def run(vectors):
        check(cfg, vectors)

    run()


def test_latency_matches_cycle_model():
    """The latency the cycle model adds for the stage is the one measured here: a row fed in
    cycle 0 comes out with valid_out in cycle ``output_stage_latency``; and the component's
    ``latency`` property, which the engine sizes its FIFO with, says the same."""
    for cfg in CONFIGS.values():
        lo, hi = cfg.operand_range("acc")
        vector = ([hi] * cfg.cols, 1, 0, 1, 0, 1)
        outputs, valid_cycles, latency = simulate(cfg, [vector])
        assert len(outputs) == 1
        assert valid_cycles == [output_stage_latency(cfg)] == [latency]
    assert output_stage_latency(ZeroskipConfig(output_stage=False)) == 0


@pytest.mark.filterwarnings("ignore:.*created but never used")
def test_out_width_must_fit_accumulator_lanes():
    # Without the stage such a configuration is valid; the stage itself refuses it.
    cfg = ZeroskipConfig(act_width=2, weight_width=2, acc_width=4, output_stage=False)
    with pytest.raises(ValueError, match=r"out_width \(8\) must not exceed acc_width \(4\)"):
        OutputStage(cfg)


def test_engine_without_stage_has_none():
    """output_stage off generates no trace of the stage (existing Verilog is unchanged), and
    the command carries only M, K, N."""
    from zeroskip.hdl.layouts import command_layout
    from zeroskip.hdl.verilog import generate_verilog

    cfg = ZeroskipConfig(rows=2, cols=2, output_stage=False)
    assert "requant" not in generate_verilog(cfg)
    assert list(dict(command_layout(cfg).members)) == ["m", "k", "n"]
    with_stage = cfg.replace(output_stage=True)
    assert "requant" in generate_verilog(with_stage)
    assert list(dict(command_layout(with_stage).members)) == ["m", "k", "n", "requant", "relu",
                                                              "mult", "shift"]
