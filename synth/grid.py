"""Sweep grids: lists of configuration values, targets and flow options, and their expansion
into synthesis jobs.

A grid is a flat mapping (a TOML file or command-line flags). Its keys are the
:class:`~zeroskip.config.ZeroskipConfig` fields, each a value or a list of values, plus
``targets`` (``"target"`` or ``"target:device"`` strings), ``dsp`` (a boolean or a list) and
``pnr`` (a boolean). Every value is checked on its own when the grid is read; values that are
only invalid together (``sparsity = "2:4"`` with ``rows = 1``) are skipped, with
:class:`ConfigError`'s reason, when the cross product is expanded.
"""

import dataclasses
import itertools
from dataclasses import dataclass

from ..config import ConfigError, ZeroskipConfig
from .targets import TARGETS, resolve_target

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["GridError", "Job", "SkippedCombination", "expand_grid", "grid_keys", "load_grid",
           "parse_grid", "parse_list_flag"]

_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(ZeroskipConfig)}
_FLOW_KEYS = ("targets", "dsp", "pnr", "seeds", "dsp_budget")


class GridError(ValueError):
    """A bad grid: the message names the key and the allowed values."""


@dataclass(frozen=True)
class Job:
    """One synthesis of a sweep: everything a worker needs, and nothing that is not
    plain data (so it pickles and travels to a Dask worker)."""
    config: dict
    target: str
    device: str
    dsp: bool
    pnr: bool
    breakdown: bool = False
    seeds: tuple = (1, 2, 3)
    dsp_budget: int = None

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SkippedCombination:
    values: dict
    reason: str


def grid_keys():
    """Every key a grid accepts."""
    return tuple(_CONFIG_FIELDS) + _FLOW_KEYS


def _type_name(f):
    return f.type if isinstance(f.type, str) else f.type.__name__


def _check_config_value(key, value):
    """Check one value of a configuration field on its own (ranges that depend on other
    fields, such as acc_width's lower bound, are left to ZeroskipConfig)."""
    f = _CONFIG_FIELDS[key]
    meta, kind = f.metadata, _type_name(f)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise GridError(f"{key} takes integers, not {value!r}")
        lo, hi = meta["lo"], meta["hi"]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            shown_lo = lo if lo is not None else "act_width + weight_width"
            raise GridError(f"{key} values must be between {shown_lo} and {hi}, not {value!r}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise GridError(f"{key} takes true or false, not {value!r}")
    else:
        if not isinstance(value, str):
            raise GridError(f"{key} takes strings, not {value!r}")
        if meta["choices"] is not None and value not in meta["choices"]:
            allowed = ", ".join(repr(c) for c in meta["choices"])
            raise GridError(f"{key} values must be among {allowed}, not {value!r}")


def _as_list(key, value):
    values = value if isinstance(value, list) else [value]
    if not values:
        raise GridError(f"{key} is an empty list; give at least one value")
    # Keep the order of first appearance, drop repeats.
    unique = []
    for v in values:
        if v not in unique:
            unique.append(v)
    return unique


def _parse_target(text):
    if not isinstance(text, str):
        raise GridError(f"targets takes strings 'target' or 'target:device', not {text!r}")
    target, _, device = text.partition(":")
    try:
        spec, dev = resolve_target(target, device or None)
    except ValueError as e:
        raise GridError(f"targets: {e}") from None
    return spec.name, dev.name if dev else None


def parse_grid(values, *, source="grid"):
    """Check a grid mapping and return it normalised: every key a list of checked values
    (``targets`` a list of ``(target, device)``, ``pnr`` a single boolean).

    Raises
    ------
    GridError
        Naming the key (and the allowed keys or values).
    """
    unknown = sorted(set(values) - set(grid_keys()))
    if unknown:
        raise GridError(f"unknown key {unknown[0]!r} in {source}; allowed keys: "
                        f"{', '.join(grid_keys())}")
    grid = {}
    for key, value in values.items():
        if key == "pnr":
            if not isinstance(value, bool):
                raise GridError(f"pnr takes true or false, not {value!r}")
            grid[key] = value
            continue
        if key == "seeds":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise GridError(f"seeds takes a positive integer (place with seeds 1..N), "
                                f"not {value!r}")
            grid[key] = value
            continue
        items = _as_list(key, value)
        if key == "targets":
            grid[key] = [_parse_target(t) for t in items]
        elif key == "dsp":
            for v in items:
                if not isinstance(v, bool):
                    raise GridError(f"dsp takes true or false, not {v!r}")
            grid[key] = items
        elif key == "dsp_budget":
            for v in items:
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise GridError(f"dsp_budget takes non-negative integers, not {v!r}")
            grid[key] = items
        else:
            for v in items:
                _check_config_value(key, v)
            grid[key] = items
    grid.setdefault("targets", [("generic", None)])
    grid.setdefault("dsp", [True])
    grid.setdefault("pnr", False)
    grid.setdefault("seeds", 3)
    grid.setdefault("dsp_budget", [None])
    return grid


def load_grid(path, overrides=None):
    """Read a grid TOML file (``path`` may be ``None``), apply ``overrides`` (a raw mapping,
    e.g. from flags, replacing the file's keys) and check it with :func:`parse_grid`."""
    values = {}
    source = "grid"
    if path is not None:
        source = f"grid file {str(path)!r}"
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except OSError as e:
            raise GridError(f"cannot read {source}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise GridError(f"{source} is not valid TOML: {e}") from None
        for key, value in values.items():
            if isinstance(value, dict):
                raise GridError(f"{key} in {source} is a table; a grid has only keys with a "
                                f"value or a list of values")
    values.update(overrides or {})
    return parse_grid(values, source=source)


def parse_list_flag(key, text):
    """A comma-separated flag value (``--rows 4,8``, ``--zero-gating true,false``) as the
    list a grid file would hold; booleans and integers are converted by the field's type."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    kind = "bool" if key in ("dsp", "pnr") else "int" if key == "dsp_budget" else (
        "str" if key == "targets" else _type_name(_CONFIG_FIELDS[key]))
    flag = "--" + key.replace("_", "-")
    out = []
    for item in items:
        if kind == "int":
            try:
                out.append(int(item))
            except ValueError:
                raise GridError(f"{flag} takes comma-separated integers, not {item!r}") from None
        elif kind == "bool":
            lowered = item.lower()
            if lowered not in ("true", "false"):
                raise GridError(f"{flag} takes comma-separated true/false, not {item!r}")
            out.append(lowered == "true")
        else:
            out.append(item)
    return out


def expand_grid(grid):
    """The cross product of ``grid`` (from :func:`parse_grid`) as ``(jobs, skipped)``.

    Configuration combinations that :class:`ZeroskipConfig` rejects are skipped with its
    reason; combinations that resolve to the same configuration (``sparsity = "2:4"`` sets
    ``weight_format = "nm"``) and flow give one job. ``pnr`` applies to the targets that have
    place and route (iCE40, ECP5); the others report logic depth only.
    """
    config_keys = [k for k in _CONFIG_FIELDS if k in grid]
    jobs, skipped, seen = [], [], {}
    for combo in itertools.product(*(grid[k] for k in config_keys)):
        values = dict(zip(config_keys, combo))
        try:
            cfg = ZeroskipConfig(**values)
        except ConfigError as e:
            skipped.append(SkippedCombination(values, str(e)))
            continue
        for (target, device), dsp, budget in itertools.product(grid["targets"], grid["dsp"],
                                                               grid["dsp_budget"]):
            pnr = grid["pnr"] and TARGETS[target].pnr_tool is not None
            identity = (cfg.digest(), target, device, dsp, pnr, budget)
            if identity in seen:
                skipped.append(SkippedCombination(
                    values, f"same configuration as {seen[identity]} after resolution"))
                continue
            seen[identity] = ", ".join(f"{k}={v!r}" for k, v in values.items())
            seeds = tuple(range(1, grid["seeds"] + 1)) if pnr else ()
            jobs.append(Job(cfg.to_dict(), target, device, dsp, pnr, seeds=seeds,
                            dsp_budget=budget))
    return jobs, skipped
