"""Switching activity from simulation waveforms: bit toggles per signal class.

Reads the VCD (Verilator) or FST (Icarus) that a ``waves=True`` simulation writes, with
``pywellen`` (a maintained, fast reader of both formats), and counts, for every PE, the bit
toggles of the signals of each class. Classes are found by the PE's signal names, so the
count works on any configuration, gated or not.
"""

import re

__all__ = ["TOGGLE_CLASSES", "DATAPATH_CLASSES", "count_toggles"]

# Signal names inside a PE (see hdl/pe.py) and the class each belongs to. The multiplier's
# operands are the activation operand register ``op_act`` and the weight in use (``weight``);
# ``act_in`` carries the activations along the row (the M of a group in an N:M sparse PE) past
# the PE: ``act_lanes``, counted once per PE. ``product`` is the multiplier's output and
# ``product_reg`` the register after it.
TOGGLE_CLASSES = {
    "operands": ("op_act", "weight"),
    "act_lanes": ("act_in",),
    "products": ("product",),
    "product_regs": ("product_reg",),
    "psums": ("psum_out",),
    "weights": ("w_chain_out", "active"),
    "control": ("swap_out", "act_zero_out", "w_zero_chain_out", "active_zero", "gate"),
}
DATAPATH_CLASSES = ("operands", "products", "product_regs", "psums")

_CLASS_OF = {name: cls for cls, names in TOGGLE_CLASSES.items() for name in names}
_PE_SCOPE = re.compile(r"pe_\d+$")


def _toggles(changes):
    total, previous = 0, None
    for _, value in changes:
        if not isinstance(value, int):  # x or z (before initialisation): not a toggle
            previous = None
            continue
        if previous is not None:
            total += (previous ^ value).bit_count()
        previous = value
    return total


def count_toggles(wave_path):
    """``{class: toggles}`` summed over all PEs, plus ``datapath`` (operands, products,
    product registers, psums), ``total`` and ``pes`` (how many PEs were found)."""
    import pywellen

    wave = pywellen.Waveform(str(wave_path))
    counts = dict.fromkeys(TOGGLE_CLASSES, 0)
    per_pe = {}
    for var in wave.all_vars():
        scope, _, name = var.full_name.rpartition(".")
        if name not in _CLASS_OF or not _PE_SCOPE.search(scope):
            continue
        per_pe.setdefault(scope, {})[name] = _toggles(var.tv[:])
    pes = set(per_pe)
    for signals in per_pe.values():
        for name, toggles in signals.items():
            counts[_CLASS_OF[name]] += toggles
    if not pes:
        raise ValueError(f"no PE signals found in {wave_path}")
    counts["datapath"] = sum(counts[c] for c in DATAPATH_CLASSES)
    counts["total"] = sum(counts[c] for c in TOGGLE_CLASSES)
    counts["pes"] = len(pes)
    return counts
