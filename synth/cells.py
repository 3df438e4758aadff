"""Counting a synthesised hierarchy: cells per module, totals below a module, and cell classes
(LUTs, flip-flops, carry, DSPs, block RAMs) per target."""

from collections import Counter
from fnmatch import fnmatchcase

__all__ = ["IGNORED_CELLS", "classify", "module_cells", "instance_counts", "subtree_cells",
           "cells_by_block"]

# Debug-only cells that Amaranth's Verilog leaves behind; they become no hardware.
IGNORED_CELLS = ("$scopeinfo",)


def _module_key(stat, name):
    for key in (name, "\\" + name):
        if key in stat["modules"]:
            return key
    raise KeyError(f"module {name!r} is not in the stat output "
                   f"(modules: {', '.join(sorted(stat['modules']))})")


def module_cells(stat, name):
    """``(own cells by type, {submodule name: instance count})`` of module ``name``."""
    by_type = stat["modules"][_module_key(stat, name)]["num_cells_by_type"]
    own, subs = {}, {}
    for cell_type, count in by_type.items():
        if cell_type in IGNORED_CELLS:
            continue
        if cell_type in stat["modules"] or "\\" + cell_type in stat["modules"]:
            subs[cell_type] = count
        else:
            own[cell_type] = count
    return own, subs


def instance_counts(stat, top):
    """How many times each module occurs in the hierarchy below (and including) ``top``."""
    counts = Counter({top: 1})
    stack = [(top, 1)]
    while stack:
        name, times = stack.pop()
        for sub, n in module_cells(stat, name)[1].items():
            counts[sub] += times * n
            stack.append((sub, times * n))
    return dict(counts)


def subtree_cells(stat, top):
    """Cells by type of everything below ``top``, submodule instances expanded."""
    total = Counter()
    for name, times in instance_counts(stat, top).items():
        for cell_type, count in module_cells(stat, name)[0].items():
            total[cell_type] += times * count
    return dict(sorted(total.items()))


def classify(cells_by_type, cell_classes):
    """``{class: count}`` for a target's ``cell_classes``; ``None`` where a class does not
    apply to the target (e.g. LUTs in the generic gate library)."""
    result = {}
    for key, patterns in cell_classes.items():
        if patterns is None:
            result[key] = None
        else:
            result[key] = sum(count for cell_type, count in cells_by_type.items()
                              if any(fnmatchcase(cell_type, p) for p in patterns))
    return result


def cells_by_block(netlist, module, cell_types, within=""):
    """Cells of ``cell_types`` in ``module`` of a flattened Yosys JSON ``netlist``, counted by
    the block their name places them in: the hierarchy component after ``within`` (a
    prefix such as ``"engine."`` when the blocks sit under an instance of the flattened
    module), ``"(outside)"`` for cells not under ``within`` and ``"(unnamed)"`` for cells
    whose names keep no hierarchy. A flattened synthesis optimises across blocks, so this is
    where cells ended up, which can differ between two runs of identical RTL; it is not a
    per-block synthesis."""
    counts = Counter()
    for name, cell in netlist["modules"][module]["cells"].items():
        if cell["type"] not in cell_types:
            continue
        name = name.lstrip("\\")
        if not name.startswith(within):
            counts["(outside)"] += 1
            continue
        block, dot, _ = name[len(within):].partition(".")
        counts[block if dot and not block.startswith("$") else "(unnamed)"] += 1
    return dict(sorted(counts.items()))
