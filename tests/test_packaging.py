"""The wheel holds every module of the source tree under the one ``zeroskip`` namespace and
runs on its own.

The default suite builds the wheel offline, checks its contents and metadata against the
source tree and ``pyproject.toml``, installs it without dependencies into a folder of its own
and runs the command line from there (the dependencies come from this environment). The slow
suite installs it into a fresh venv with its dependencies from the package index, as a user
would.
"""

import email
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the sources: setuptools reuses a ``build/`` folder
    left in the tree, which would hide a package missing from ``pyproject.toml``."""
    source = tmp_path_factory.mktemp("source") / "zeroskip"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ci-build",
        ".bench-build", "demo", "demo-out", "out"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(source)], check=True, capture_output=True, cwd=dist)
    (path,) = dist.glob("zeroskip-*.whl")
    return path


def _source_modules():
    """Every module of the source folders, at its path inside the installed namespace: all
    Python files below each folder that ``package-dir`` maps, so a subpackage missing from
    ``packages`` shows up as missing from the wheel."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = project["tool"]["setuptools"]["package-dir"]
    modules = set()
    for package, folder in folders.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            inner = path.relative_to(ROOT / folder)
            if package == "zeroskip" and inner.parts[0] in {"hdl", "models", "testbench",
                                                            "synth"}:
                continue  # not under zeroskip/: mapped folders of their own
            modules.add("/".join((*package.split("."), *inner.parts)))
    return modules


def test_wheel_holds_every_module_under_one_namespace(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(z.read(info))
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert {n.split("/")[0] for n in names} == {"zeroskip", info.split("/")[0]}
    modules = _source_modules()
    assert {"zeroskip/hdl/engine.py", "zeroskip/nn/demo.py", "zeroskip/commands/sim.py"} <= \
        modules
    assert modules <= names, sorted(modules - names)
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(str(Requirement(r)) for r in required) == \
        sorted(str(Requirement(r)) for r in project["dependencies"])
    assert "zeroskip = zeroskip.cli:main" in entry_points


def test_wheel_runs_from_its_own_folder(wheel, tmp_path):
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    found = subprocess.run([sys.executable, "-c", "import zeroskip, importlib.util as u; "
                            "print(zeroskip.__file__); print(u.find_spec('hdl'), "
                            "u.find_spec('models'))"], check=True, capture_output=True,
                           text=True, cwd=tmp_path, env=env).stdout.splitlines()
    assert found[0].startswith(str(target)) and found[1] == "None None"
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "zeroskip.cli", "generate", "--rows", "2", "--cols",
                    "2", "-o", str(out)], check=True, capture_output=True, cwd=tmp_path,
                   env=env)
    assert "module zeroskip_gemm(" in (out / "zeroskip_gemm.v").read_text()


@pytest.mark.slow
def test_wheel_installs_with_its_dependencies_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True)
    out = subprocess.run([str(env_dir / "bin" / "zeroskip"), "--help"], check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout
    assert all(command in out for command in ("generate", "sim", "demo", "synth", "sweep"))
