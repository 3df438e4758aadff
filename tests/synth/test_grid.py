"""Sweep grids: grid files and flags, their errors, and the expansion into jobs."""

import pytest

from zeroskip.synth.grid import GridError, expand_grid, load_grid, parse_grid


def test_grid_file_takes_values_and_lists_with_defaults(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('rows = [4, 8, 4]\nsparsity = ["dense", "2:4"]\nzero_gating = false\n'
                    'targets = ["ice40:HX8K", "generic"]\n')
    grid = load_grid(path)
    assert grid["rows"] == [4, 8] and grid["zero_gating"] == [False]
    assert grid["targets"] == [("ice40", "hx8k"), ("generic", None)]
    assert grid["dsp"] == [True] and grid["pnr"] is False
    # Flags replace the file's key.
    assert load_grid(path, {"rows": [2]})["rows"] == [2]


def test_the_example_grid_expands_to_jobs_on_every_target():
    from pathlib import Path
    example = Path(__file__).resolve().parents[2] / "benchmarks" / "grids" / "int8.toml"
    jobs, skipped = expand_grid(load_grid(example))
    assert len(jobs) == 60 and {j.target for j in jobs} == {"ice40", "ecp5", "xilinx"}
    assert all(j.pnr == (j.target != "xilinx") for j in jobs)
    assert {j.config["sparsity"] for j in jobs} == {"dense", "2:4", "1:4"}
    assert skipped and all("sparsity" in s.reason or "same configuration" in s.reason
                           for s in skipped)


@pytest.mark.parametrize("values, message", [
    ({"row": [4]}, "unknown key 'row' in grid; allowed keys: name, rows, cols"),
    ({"rows": [4, 0]}, "rows values must be between 1 and 64, not 0"),
    ({"rows": []}, "rows is an empty list"),
    ({"rows": ["4"]}, "rows takes integers, not '4'"),
    ({"zero_gating": [1]}, "zero_gating takes true or false, not 1"),
    ({"sparsity": ["3:4"]}, "sparsity values must be among 'dense', '1:2', '1:4', '2:4', '2:8', "
                            "'4:8', not '3:4'"),
    ({"acc_width": [99]}, "acc_width values must be between act_width + weight_width and 48"),
    ({"targets": ["asic"]}, "targets: target must be one of 'generic', 'ice40', 'ecp5', "
                            "'xilinx', not 'asic'"),
    ({"targets": ["ice40:up3k"]}, "targets: device for target 'ice40' must be one of 'up5k', "
                                  "'hx8k', not 'up3k'"),
    ({"targets": ["generic:xc7"]}, "targets: target 'generic' takes no device"),
    ({"pnr": [True]}, "pnr takes true or false, not [True]"),
    ({"dsp": ["yes"]}, "dsp takes true or false, not 'yes'"),
    ({"seeds": 0}, "seeds takes a positive integer (place with seeds 1..N), not 0"),
    ({"seeds": [3]}, "seeds takes a positive integer"),
    ({"dsp_budget": [-1]}, "dsp_budget takes non-negative integers, not -1"),
])
def test_bad_grid_values_name_the_key_and_allowed_values(values, message):
    with pytest.raises(GridError) as e:
        parse_grid(values)
    assert message in str(e.value)


def test_expansion_skips_invalid_and_duplicate_combinations_with_reasons():
    grid = parse_grid({"rows": [1, 4], "sparsity": ["dense", "2:4"],
                       "weight_format": ["dense", "nm"], "targets": ["generic", "ecp5"],
                       "pnr": True})
    jobs, skipped = expand_grid(grid)
    reasons = [s.reason for s in skipped]
    # rows=1: 2:4 sparsity needs a multiple of 2 rows, nm weights a multiple of 4.
    assert "sparsity '2:4' needs rows to be a multiple of 2" in " ".join(reasons)
    assert "nm_pattern '2:4' needs rows to be a multiple of 4" in " ".join(reasons)
    # rows=4, 2:4: weight_format dense and nm resolve to the same engine.
    assert sum("same configuration as" in r for r in reasons) == 2
    configs = {(j.config["rows"], j.config["weight_format"], j.config["sparsity"]) for j in jobs}
    assert configs == {(1, "dense", "dense"), (4, "dense", "dense"), (4, "nm", "dense"),
                       (4, "nm", "2:4")}
    # pnr applies where the target has place and route.
    assert {(j.target, j.device, j.pnr) for j in jobs} == {("generic", None, False),
                                                           ("ecp5", "LFE5U-85F", True)}
    assert len(jobs) == 8


def test_seeds_and_dsp_budget_reach_the_jobs():
    grid = parse_grid({"rows": [2], "targets": ["ecp5", "generic"], "pnr": True, "seeds": 5,
                       "dsp_budget": [2, 4]})
    jobs, _ = expand_grid(grid)
    placed = [j for j in jobs if j.pnr]
    assert {j.dsp_budget for j in jobs} == {2, 4} and len(jobs) == 4
    assert all(j.seeds == (1, 2, 3, 4, 5) for j in placed)
    assert all(j.seeds == () for j in jobs if not j.pnr)
    assert parse_grid({"rows": [2]})["seeds"] == 3
