"""Yosys flows. Today: running YoWASP Yosys and counting the cells of a generated design."""

from .yosys import YosysError, design_cell_counts, run_yosys

__all__ = ["YosysError", "design_cell_counts", "run_yosys"]
