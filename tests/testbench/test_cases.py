"""GEMM cases: what a case may hold, its name, and the checks that refuse a bad case before
any simulator starts."""

import dataclasses
import json

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.gemm import random_operands
from zeroskip.testbench.cases import (RESET_PHASES, GemmCase, case_operands, check_case,
                                      read_cases, write_cases)
from zeroskip.testbench.runner import simulate

from ..conftest import file_tree


def test_bad_cases_fail_before_building(tmp_path):
    cfg = ZeroskipConfig(rows=4, cols=3, acc_depth=4, sparsity="2:4", output_stage=True)
    without_stage = ZeroskipConfig(rows=1, cols=1, output_stage=False)
    with pytest.raises(ValueError, match="requant needs a configuration with output_stage"):
        simulate(without_stage, [GemmCase(1, 1, 1, requant=(1, 0, 0))], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"requant shift must be an integer in \[0, 47\]"):
        simulate(cfg, [GemmCase(1, 1, 1, requant=(1, 48, 0))], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"multiplier must be an integer in \[0, 65535\]"):
        simulate(cfg, [GemmCase(1, 1, 1, requant=(-1, 3, 0))], build_root=tmp_path)
    np.savez(tmp_path / "ops.npz", a=np.zeros((2, 8), np.int8), w=np.ones((8, 3), np.int8))
    with pytest.raises(ValueError, match="'w' is not 2:4 sparse"):
        simulate(cfg, [GemmCase.from_operands(tmp_path / "ops.npz")], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"but the case is M=3, K=8, N=3"):
        simulate(cfg, [GemmCase(3, 8, 3, operands=str(tmp_path / "ops.npz"))],
                 build_root=tmp_path)
    np.savez(tmp_path / "big.npz", a=np.full((2, 8), 300), w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match=r"'a' values must lie in \[-128, 127\].*300\.\.300"):
        simulate(cfg, [GemmCase.from_operands(tmp_path / "big.npz")], build_root=tmp_path)
    np.savez(tmp_path / "ragged.npz", a=np.zeros((2, 8), np.int64), w=np.zeros((7, 3), np.int64))
    with pytest.raises(ValueError, match="K must agree"):
        GemmCase.from_operands(tmp_path / "ragged.npz")
    np.savez(tmp_path / "floats.npz", a=np.zeros((2, 8)), w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match="'a' must be a 2-D integer array"):
        GemmCase.from_operands(tmp_path / "floats.npz")
    np.savez(tmp_path / "noa.npz", w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match="has no array 'a'"):
        GemmCase.from_operands(tmp_path / "noa.npz")
    assert not any(tmp_path.glob("*/run"))   # nothing was built
    # NumPy parameters (as a network's quantiser gives them) become plain, JSON-able ints.
    case = GemmCase(1, 1, 1, requant=(np.int64(5), np.int32(3), np.bool_(True)))
    assert case.requant == (5, 3, 1) and all(type(x) is int for x in case.requant)


# One change of every field that changes the run (results_out only says where to save).
_CHANGES = {"m": 5, "k": 6, "n": 7, "seed": 9, "act_kind": "zeros", "weight_kind": "max",
            "stall": 0.25, "act_zeros": 0.5, "weight_zeros": 0.75, "requant": (3, 2, 0),
            "operands": "/data/layer0.npz", "reset_phase": "drain", "bias_kind": "max"}


def test_a_case_name_tells_apart_every_field_that_changes_the_run():
    # A new field must be added here (or to the exceptions) to be named.
    assert set(_CHANGES) == {f.name for f in dataclasses.fields(GemmCase)} - {"results_out"}
    base = GemmCase(2, 3, 4)
    cases = [base]
    for key, value in _CHANGES.items():
        case = dataclasses.replace(base, **{key: value})
        shown = {"operands": ("layer0",), "requant": ("3", "2")}.get(key, (f"{value}",))
        assert all(text in case.name for text in shown), (key, case.name)
        cases.append(case)
    # Changes that a careless name would confuse: swapped dimensions or kinds, ReLU on or
    # off, a zero fraction of 0 against none, another stall, seed, operands file or phase.
    cases += [GemmCase(3, 2, 4), GemmCase(2, 4, 3), GemmCase(2, 3, 4, act_kind="max"),
              GemmCase(2, 3, 4, requant=(3, 2, 1)), GemmCase(2, 3, 4, act_zeros=0.0),
              GemmCase(2, 3, 4, weight_zeros=0.0), GemmCase(2, 3, 4, stall=0.5),
              GemmCase(2, 3, 4, seed=10), GemmCase(2, 3, 4, operands="/data/layer1.npz"),
              GemmCase(2, 3, 4, act_zeros=0.5, weight_zeros=0.75),
              GemmCase(2, 3, 4, act_zeros=0.75, weight_zeros=0.5),
              GemmCase(2, 3, 4, bias_kind="min"), GemmCase(2, 3, 4, weight_kind="max",
                                                           bias_kind="max"),
              *(GemmCase(2, 3, 4, reset_phase=p) for p in RESET_PHASES
                if p != _CHANGES["reset_phase"])]
    assert len(set(cases)) == len(cases)
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), sorted(names)
    assert dataclasses.replace(base, results_out="/tmp/c.npy").name == base.name


def test_requant_is_normalised_to_a_tuple_of_plain_ints():
    from_json = GemmCase(1, 1, 1, requant=json.loads("[7, 4, true]"))
    assert from_json.requant == (7, 4, 1) and all(type(x) is int for x in from_json.requant)
    assert hash(from_json) == hash(GemmCase(1, 1, 1, requant=(7, 4, 1)))
    # Not an integer: kept as given, for check_case to refuse with its range.
    odd = GemmCase(1, 1, 1, requant=(1.5, 4, 0))
    assert odd.requant == (1.5, 4, 0)
    with pytest.raises(ValueError, match=r"requant multiplier must be an integer.*1\.5"):
        check_case(ZeroskipConfig(rows=1, cols=1), odd)
    with pytest.raises(ValueError, match=r"requant must be \(mult, shift, relu\), not \(1, 2\)"):
        GemmCase(1, 1, 1, requant=(1, 2))


@pytest.mark.parametrize("phase", ["reset", "Load", "", "stream "])
def test_a_bad_reset_phase_is_refused_naming_the_allowed_ones(phase):
    with pytest.raises(ValueError) as e:
        GemmCase(2, 2, 2, reset_phase=phase)
    message = str(e.value)
    assert message.startswith("reset_phase must be one of") and repr(phase) in message
    assert all(p in message for p in RESET_PHASES)
    for good in (*RESET_PHASES, None):
        assert GemmCase(2, 2, 2, reset_phase=good).reset_phase == good


def test_cases_survive_a_round_trip_through_their_json_file(tmp_path):
    cases = [GemmCase(1, 2, 3),
             GemmCase(40, 17, 9, seed=3, act_kind="alternating", weight_kind="dense",
                      stall=0.3, act_zeros=0.25, weight_zeros=0.0, requant=(np.int64(9), 5, True),
                      operands=str(tmp_path / "ops.npz"), results_out=str(tmp_path / "c.npy")),
             GemmCase(4, 4, 4, reset_phase="fifo_full")]
    path = tmp_path / "cases.json"
    write_cases(path, cases)
    raw = json.loads(path.read_text())
    assert [set(c) for c in raw] == [{f.name for f in dataclasses.fields(GemmCase)}] * 3
    back = read_cases(path)
    assert back == cases and [c.name for c in back] == [c.name for c in cases]
    assert type(back[1].requant) is tuple


def test_case_operands_come_from_the_file_checked_against_the_case_and_the_ranges(tmp_path):
    # Unsigned 4-bit activations, signed 3-bit weights: ranges worked out here.
    cfg = ZeroskipConfig(rows=1, cols=1, act_width=4, act_signed=False, weight_width=3,
                         output_stage=False)
    act_lo, act_hi = 0, 2 ** 4 - 1
    w_lo, w_hi = -(2 ** 2), 2 ** 2 - 1
    rng = np.random.default_rng(1)
    a = rng.integers(act_lo, act_hi + 1, (3, 5)).astype(np.int16)
    a[0, :2] = act_lo, act_hi           # the extremes are allowed
    w = rng.integers(w_lo, w_hi + 1, (5, 2)).astype(np.int8)
    w[0, :2] = w_lo, w_hi
    np.savez(tmp_path / "ops.npz", a=a, w=w)
    case = GemmCase.from_operands(tmp_path / "ops.npz")
    assert (case.m, case.k, case.n) == (3, 5, 2)
    got_a, got_w = case_operands(cfg, case)
    assert got_a.dtype == got_w.dtype == np.int64
    assert np.array_equal(got_a, a) and np.array_equal(got_w, w)
    # Without a file: the seeded random operands of the case.
    random_case = GemmCase(3, 5, 2, seed=4, act_kind="max")
    for got, want in zip(case_operands(cfg, random_case),
                         random_operands(cfg, 3, 5, 2, seed=4, act_kind="max")):
        assert np.array_equal(got, want)

    wrong = dataclasses.replace(case, m=4, n=3)
    with pytest.raises(ValueError) as e:
        case_operands(cfg, wrong)
    assert "'a' is 3×5 and 'w' 5×2, but the case is M=4, K=5, N=3" in str(e.value)
    assert str(tmp_path / "ops.npz") in str(e.value)

    for key, array, value, (lo, hi), which in (
            ("a", a, act_lo - 1, (act_lo, act_hi), "act_width 4, unsigned"),
            ("a", a, act_hi + 1, (act_lo, act_hi), "act_width 4, unsigned"),
            ("w", w, w_lo - 1, (w_lo, w_hi), "weight_width 3, signed"),
            ("w", w, w_hi + 1, (w_lo, w_hi), "weight_width 3, signed")):
        bad = array.astype(np.int64)
        bad[-1, -1] = value
        arrays = {"a": a, "w": w, key: bad}
        np.savez(tmp_path / "bad.npz", **arrays)
        with pytest.raises(ValueError) as e:
            case_operands(cfg, GemmCase.from_operands(tmp_path / "bad.npz"))
        found = f"found {min(int(bad.min()), value)}..{max(int(bad.max()), value)}"
        for text in (f"{key!r} values must lie in [{lo}, {hi}]", which, found):
            assert text in str(e.value), str(e.value)


@pytest.mark.parametrize("dim", ["M", "K", "N"])
def test_check_case_refuses_dimensions_beyond_dim_width_before_building(dim, tmp_path):
    cfg = ZeroskipConfig(rows=1, cols=1, dim_width=4, output_stage=False)
    largest = 2 ** 4 - 1
    dims = dict(m=2, k=2, n=2)
    check_case(cfg, GemmCase(**{**dims, dim.lower(): largest}))
    check_case(cfg, GemmCase(**{**dims, dim.lower(): 0}))
    too_big = GemmCase(**{**dims, dim.lower(): largest + 1})
    with pytest.raises(ValueError) as e:
        check_case(cfg, too_big)
    message = str(e.value)
    assert message.startswith(f"case {too_big.name}: {dim} must be between 0 and {largest}")
    assert "dim_width=4" in message and repr(largest + 1) in message
    with pytest.raises(ValueError, match=f"{dim} must be .*dim_width"):
        simulate(cfg, [GemmCase(1, 1, 1), too_big], build_root=tmp_path)
    assert file_tree(tmp_path) == []
