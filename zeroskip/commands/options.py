"""What the commands share: the usage error, argument types, and the configuration flags
generated from the configuration root."""

import argparse
import dataclasses
from pathlib import Path

from ..config import ZeroskipConfig, load_config, parameter_table

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "UsageError", "parse_bool", "gemm_dims", "probability",
           "fraction", "positive", "non_negative", "requant_pair", "add_config_flags",
           "config_from_args"]

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


def parse_bool(text):
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _integers(text, count, what):
    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}")
    return tuple(values)


def gemm_dims(text):
    return _integers(text, 3, "M,K,N (three integers)")


def requant_pair(text):
    return _integers(text, 2, "MULT,SHIFT (two integers)")


def _fraction_parser(*, allow_one):
    """argparse type for a float in [0, 1] (or [0, 1) without ``allow_one``)."""
    interval = "[0, 1]" if allow_one else "[0, 1)"

    def parse(text):
        try:
            f = float(text)
        except ValueError:
            f = -1.0
        if not (0.0 <= f <= 1.0 if allow_one else 0.0 <= f < 1.0):
            noun = "fraction" if allow_one else "probability"
            raise argparse.ArgumentTypeError(f"expected a {noun} in {interval}, not {text!r}")
        return f
    return parse


probability = _fraction_parser(allow_one=False)
fraction = _fraction_parser(allow_one=True)


def _bounded_int(lo, noun):
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = lo - 1
        if n < lo:
            raise argparse.ArgumentTypeError(f"expected a {noun} integer, not {text!r}")
        return n
    return parse


positive = _bounded_int(1, "positive")
non_negative = _bounded_int(0, "non-negative")


def add_config_flags(parser):
    """``--config FILE.toml`` and one flag per configuration field, generated from the
    configuration root."""
    group = parser.add_argument_group("configuration (override --config; see "
                                      "docs/configuration.md)")
    group.add_argument("--config", metavar="FILE.toml", type=Path,
                       help="TOML configuration file (default: the default configuration, "
                            "whose values each flag's help shows)")
    for name, type_name, default, allowed, help_text in parameter_table():
        kind = {"int": int, "bool": parse_bool, "str": str}[type_name]
        shown = str(default).lower() if isinstance(default, bool) else default
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"cfg_{name}", type=kind,
                           metavar=type_name.upper(),
                           help=f"{help_text} [{allowed}; default {shown}]")


def config_from_args(args):
    """The configuration of ``--config`` (or the default one) with the flags applied."""
    overrides = {f.name: getattr(args, f"cfg_{f.name}")
                 for f in dataclasses.fields(ZeroskipConfig)
                 if getattr(args, f"cfg_{f.name}") is not None}
    return load_config(args.config, overrides)
