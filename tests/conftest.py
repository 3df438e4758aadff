import os
import re
import shutil
from pathlib import Path

import pytest


def _required_simulators():
    return {s for s in os.environ.get("ZEROSKIP_REQUIRE_SIMULATORS", "").split(",") if s}


def require_simulator(simulator):
    """Skip when a simulator is missing, unless CI requires it (ZEROSKIP_REQUIRE_SIMULATORS)."""
    from zeroskip.testbench.runner import SimulatorUnavailable, prepare_simulator

    try:
        prepare_simulator(simulator)
    except SimulatorUnavailable as e:
        if simulator in _required_simulators():
            pytest.fail(f"{simulator} is required here: {e}")
        pytest.skip(str(e))


@pytest.fixture
def build_root(request, tmp_path_factory):
    """A build folder named after the test (inside $ZEROSKIP_BUILD_DIR when set)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
    base = os.environ.get("ZEROSKIP_BUILD_DIR")
    root = Path(base) / "tests" if base else tmp_path_factory.mktemp("builds")
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch):
    """Run in a fresh working folder (Yosys through YoWASP sees only the working folder)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def has_iverilog():
    return shutil.which("iverilog") is not None


def one_line_error(capsys, *fragments):
    """The captured stderr, checked to be one line holding every fragment."""
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def file_tree(path):
    """Every path below ``path``, relative and sorted: to show that nothing was written."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def run_cli_read_only(folder, argv, *, cwd=None):
    """Run the command line (in ``cwd``) where ``folder`` is read-only: as root (whom
    permissions do not stop), in a private mount namespace with ``folder`` bind-mounted
    read-only."""
    import shlex
    import subprocess
    import sys

    command = [sys.executable, "-m", "zeroskip.cli", *argv]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, cwd=cwd)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a read-only folder")
    script = (f"mount --bind {shlex.quote(str(folder))} {shlex.quote(str(folder))} && "
              f"mount -o remount,bind,ro {shlex.quote(str(folder))} && "
              + " ".join(shlex.quote(a) for a in command))
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True,
                          text=True, cwd=cwd)
    if "mount:" in proc.stderr or "unshare:" in proc.stderr:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    return proc
