"""Yosys and nextpnr flows: cell counts of a generated design, synthesis reports per FPGA
target, and place and route of an out-of-context wrapper for fmax."""

from .nextpnr import DesignDoesNotFit, NextpnrError
from .report import report_json, report_markdown
from .targets import TARGETS, resolve_target
from .yosys import YosysError, design_cell_counts, run_yosys

__all__ = ["YosysError", "NextpnrError", "DesignDoesNotFit", "TARGETS", "design_cell_counts",
           "report_json", "report_markdown", "resolve_target", "run_yosys", "synthesize"]


def __getattr__(name):
    # synthesize needs Amaranth; importing it lazily keeps `zeroskip --help` fast.
    if name == "synthesize":
        from .synthesis import synthesize
        return synthesize
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
