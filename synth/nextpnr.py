"""Running nextpnr (the YoWASP builds from PyPI) and reading its ``--report`` JSON."""

import json
import re
from pathlib import Path

from .tools import ToolMissing, run_tool

__all__ = ["NextpnrError", "DesignDoesNotFit", "run_nextpnr", "read_pnr_report"]


class NextpnrError(RuntimeError):
    """nextpnr failed; the message carries nextpnr's own last lines."""


class DesignDoesNotFit(NextpnrError):
    """The design needs more of some resource than the device has.

    Members
    -------
    utilization : dict
        ``{bel type: {"used": n, "available": m}}`` as nextpnr counted it.
    report : dict or None
        The synthesis report of the design, when raised by
        :func:`~zeroskip.synth.synthesis.synthesize`.
    """

    def __init__(self, message, utilization):
        super().__init__(message)
        self.utilization = utilization
        self.report = None


_UTILISATION_LINE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def utilization_from_log(log):
    """``{bel: {"used", "available"}}`` from the last "Device utilisation" block of a log."""
    blocks = log.split("Device utilisation:")
    if len(blocks) < 2:
        return {}
    return {bel: {"used": int(used), "available": int(available)}
            for bel, used, available in _UTILISATION_LINE.findall(blocks[-1])}


def overused(utilization):
    """Resources of ``utilization`` used beyond what is available, as readable text."""
    return [f"{bel} {u['used']}/{u['available']} ({100 * u['used'] / u['available']:.0f}%)"
            for bel, u in sorted(utilization.items()) if u["used"] > u["available"]]


def run_nextpnr(family, args, *, cwd, device_name, log_name="nextpnr.log", retries=None):
    """Run ``yowasp-nextpnr-{family}`` with ``args`` in ``cwd`` (relative paths only, like
    Yosys); return the log text.

    Raises
    ------
    DesignDoesNotFit
        If the log's utilisation shows a resource used beyond the device's count.
    NextpnrError
        On any other failure, with nextpnr's error lines and the end of its log.
    """
    cwd = Path(cwd)
    log_path = cwd / log_name
    if log_path.exists():
        log_path.unlink()
    try:
        proc = run_tool(f"yowasp-nextpnr-{family}", list(args) + ["-q", "-l", log_name],
                        cwd=cwd, retries=retries)
    except ToolMissing as e:
        raise NextpnrError(str(e)) from None
    log = log_path.read_text() if log_path.exists() else ""
    if proc.returncode != 0:
        text = (log or proc.stderr or proc.stdout).strip().splitlines()
        errors = [line for line in text if "ERROR" in line]
        utilization = utilization_from_log(log)
        too_big = overused(utilization)
        if too_big:
            raise DesignDoesNotFit(f"design does not fit {device_name}: {', '.join(too_big)}"
                                   + (f" (nextpnr: {errors[-1]})" if errors else ""),
                                   utilization)
        tail = "\n".join(dict.fromkeys(errors[-3:] + text[-6:]))
        raise NextpnrError(f"nextpnr-{family} exited with status {proc.returncode}:\n{tail}")
    return log


def _critical_path(path_entry):
    steps = path_entry["path"]
    return {
        "from": steps[0]["from"]["cell"],
        "to": steps[-1]["to"]["cell"],
        "delay_ns": round(sum(step["delay"] for step in steps), 3),
        "logic_ns": round(sum(step["delay"] for step in steps if step["type"] == "logic"), 3),
        "routing_ns": round(sum(step["delay"] for step in steps if step["type"] == "routing"),
                            3),
    }


def read_pnr_report(path):
    """Timing and utilisation from nextpnr's ``--report`` JSON.

    Returns ``{"fmax_mhz": min over clocks, "fmax_by_clock": {clock: MHz}, "utilization":
    {bel: {"used", "available"}} (unused bel types left out), "critical_path": {...} or
    None}``; the critical path is the slowest register-to-register path (I/O paths, marked
    ``<async>`` by nextpnr, are not core paths).
    """
    report = json.loads(Path(path).read_text())
    fmax_by_clock = {clock: round(v["achieved"], 2) for clock, v in report.get("fmax", {}).items()}
    if not fmax_by_clock:
        raise NextpnrError(f"nextpnr report {str(path)!r} has no clock with a timing result")
    utilization = {bel: {"used": u["used"], "available": u["available"]}
                   for bel, u in sorted(report.get("utilization", {}).items()) if u["used"]}
    internal = [p for p in report.get("critical_paths", [])
                if p["from"] != "<async>" and p["to"] != "<async>" and p["path"]]
    worst = max(internal, key=lambda p: sum(s["delay"] for s in p["path"]), default=None)
    return {
        "fmax_mhz": min(fmax_by_clock.values()),
        "fmax_by_clock": fmax_by_clock,
        "utilization": utilization,
        "critical_path": _critical_path(worst) if worst else None,
    }
