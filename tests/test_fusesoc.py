"""The FuseSoC core that generate writes: run by the real fusesoc (PyPI) through edalize,
its lint target passes with the waivers and fails without them, and its sim target plays
the smoke-test run on Icarus with results checked against NumPy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zeroskip import ZeroskipConfig
from zeroskip.cli import main
from zeroskip.fusesoc import core_name

from .conftest import require_simulator


def _fusesoc():
    found = shutil.which("fusesoc") or shutil.which("fusesoc", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("fusesoc is not installed ('pip install fusesoc')")
    return found


def _generate(tmp_path, *flags, name="fs_core"):
    out = tmp_path / "core"
    assert main(["generate", "--name", name, *flags, "-o", str(out)]) == 0
    return out


def _run(tmp_path, out, cfg, target):
    require_simulator("verilator" if target == "lint" else "icarus")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
               XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    proc = subprocess.run([_fusesoc(), "--cores-root", str(out), "run", "--target", target,
                           core_name(cfg)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    work = tmp_path / "build" / core_name(cfg).replace(":", "_") / f"{target}-" \
        f"{'verilator' if target == 'lint' else 'icarus'}"
    return proc, work


def test_core_file_names_its_filesets_and_targets(tmp_path):
    out = _generate(tmp_path, "--rows", "2", "--cols", "2", "--primitives", "ecp5")
    core = yaml.safe_load((out / "fs_core.core").read_text())
    assert (out / "fs_core.core").read_text().startswith("CAPI=2:\n")
    assert core["name"] == "zeroskip:gemm:fs_core:0.1.0"
    files = {name: [next(iter(f)) if isinstance(f, dict) else f for f in fs["files"]]
             for name, fs in core["filesets"].items()}
    assert files["rtl"] == ["fs_core.v"] and files["lint_waivers"] == ["fs_core.vlt"]
    assert files["sim_models"] == ["fs_core_sim_models.v"]
    for listed in files.values():
        assert all((out / f).is_file() for f in listed), listed
    assert core["targets"]["lint"]["tools"]["verilator"]["mode"] == "lint-only"
    assert "-Wall" in core["targets"]["lint"]["tools"]["verilator"]["verilator_options"]
    assert core["targets"]["sim"]["toplevel"] == "zeroskip_player"
    # The AXI4-Stream top has the same targets; its player drives the AXI ports.
    axis = _generate(tmp_path / "axis", "--interface", "axis", name="fs_axis")
    axis_core = yaml.safe_load((axis / "fs_axis.core").read_text())
    assert set(axis_core["targets"]) == {"default", "lint", "sim"}
    assert ".s_axis_cmd_tdata(c_tdata)" in (axis / "fs_axis_player.v").read_text()


@pytest.mark.parametrize("flags", [[], ["--interface", "axis", "--weight-format", "csr"],
                                   ["--primitives", "ecp5"]],
                         ids=["native", "axis-csr", "primitives"])
def test_fusesoc_lints_the_core(flags, tmp_path):
    out = _generate(tmp_path, "--rows", "3", "--cols", "2", *flags)
    cfg = ZeroskipConfig.from_dict(yaml.safe_load((out / "fs_core.json").read_text()))
    proc, work = _run(tmp_path, out, cfg, "lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "%Warning" not in proc.stdout + proc.stderr
    assert (work / "Makefile").exists()


def test_fusesoc_lint_fails_without_the_waivers(tmp_path):
    """The lint target really runs Verilator with -Wall on the generated files."""
    out = _generate(tmp_path, "--rows", "2", "--cols", "2")
    (out / "fs_core.vlt").write_text("`verilator_config\n")
    proc, _ = _run(tmp_path, out, ZeroskipConfig(rows=2, cols=2, name="fs_core"), "lint")
    assert proc.returncode != 0
    assert "%Warning-" in proc.stdout + proc.stderr


@pytest.mark.parametrize("flags", [["--rows", "3", "--cols", "3", "--weight-format", "rle"],
                                   ["--rows", "4", "--cols", "3", "--sparsity", "2:4",
                                    "--interface", "axis", "--act-width", "6"]],
                         ids=["rle", "axis-2:4"])
def test_fusesoc_simulates_the_smoke_run(flags, tmp_path):
    from zeroskip.testbench.cases import smoke_cases
    from zeroskip.testbench.player import judge_run
    from zeroskip.testbench.player_files import write_run

    out = _generate(tmp_path, *flags)
    cfg = ZeroskipConfig.from_dict(yaml.safe_load((out / "fs_core.json").read_text()))
    proc, work = _run(tmp_path, out, cfg, "sim")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    planned = write_run(cfg, smoke_cases(cfg), tmp_path / "planned")
    reports = judge_run(cfg, planned, work)
    assert len(reports) == 3
    failed = [f"{r['name']}: {r['error']}" for r in reports if not r["passed"]]
    assert not failed, failed
