"""Switching activity from simulation waveforms: bit toggles per signal class.

Reads the VCD (Verilator) or FST (Icarus) that a ``waves=True`` simulation writes, with
``pywellen`` (a maintained, fast reader of both formats), and counts, for every PE, the bit
toggles of the signals of each class. Classes are found by the PE's signal names, so the
count works on any configuration, gated or not.
"""

import re

__all__ = ["TOGGLE_CLASSES", "DATAPATH_CLASSES", "count_toggles"]

# Signal names inside a PE (see hdl/pe.py) and the class each belongs to. ``act_in`` is the
# multiplier's activation operand (the previous PE's ``act_out`` or a skew register), counted
# once per PE; ``weight`` is the weight in use. In an N:M sparse PE the operand is
# ``act_selected``, and ``act_in`` carries the group's M activations past the PE: counted as
# ``act_lanes``, not as operands.
TOGGLE_CLASSES = {
    "operands": ("act_in", "act_selected", "weight"),
    "act_lanes": (),
    "products": ("product",),
    "psums": ("psum_out",),
    "weights": ("w_chain_out", "active"),
    "control": ("swap_out", "act_zero_out", "w_zero_chain_out", "active_zero"),
}
DATAPATH_CLASSES = ("operands", "products", "psums")

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
    """``{class: toggles}`` summed over all PEs, plus ``datapath`` (operands + products +
    psums), ``total`` and ``pes`` (how many PEs were found)."""
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
            cls = _CLASS_OF[name]
            if name == "act_in" and "act_selected" in signals:
                cls = "act_lanes"
            counts[cls] += toggles
    if not pes:
        raise ValueError(f"no PE signals found in {wave_path}")
    counts["datapath"] = sum(counts[c] for c in DATAPATH_CLASSES)
    counts["total"] = sum(counts[c] for c in TOGGLE_CLASSES)
    counts["pes"] = len(pes)
    return counts
