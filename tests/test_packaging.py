"""The wheel installs on its own: built, installed in a fresh venv, ``zeroskip --help`` runs,
and only the ``zeroskip`` namespace is installed (no bare ``hdl`` or ``models`` package)."""

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = dist.glob("zeroskip-*.whl")
    with zipfile.ZipFile(wheel) as z:
        top_level = {name.split("/")[0] for name in z.namelist()}
        names = set(z.namelist())
    assert top_level == {"zeroskip", wheel.name.split("-")[0] + "-" +
                         wheel.name.split("-")[1] + ".dist-info"}
    for module in ("zeroskip/hdl/engine.py", "zeroskip/models/cycles.py",
                   "zeroskip/testbench/gemm_test.py", "zeroskip/synth/yosys.py",
                   "zeroskip/default.toml"):
        assert module in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True)
    out = subprocess.run([str(env_dir / "bin" / "zeroskip"), "--help"], check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout
    assert "generate" in out and "sim" in out and "demo" in out
    check = subprocess.run([str(python), "-c", "import zeroskip.hdl, zeroskip.models, "
                            "zeroskip.testbench, zeroskip.synth; import importlib.util as u; "
                            "print(u.find_spec('hdl'), u.find_spec('models'))"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert check.strip() == "None None"
