"""Synthesis targets: devices, the Yosys command per target, and which cells count as what."""

from dataclasses import dataclass

__all__ = ["TARGETS", "Device", "Target", "resolve_target"]


@dataclass(frozen=True)
class Device:
    """One device of a target. ``nextpnr_args`` is ``None`` where the flow has no place and
    route (generic, xilinx); ``has_dsp`` says whether it has multiplier blocks at all and
    ``dsp_blocks`` how many (``None`` where the flow does not fix a part)."""
    name: str
    has_dsp: bool
    yosys_args: tuple = ()
    nextpnr_args: tuple = None
    dsp_blocks: int = None


@dataclass(frozen=True)
class Target:
    """A Yosys synthesis target.

    ``cell_classes`` maps a report key (``luts``, ``ffs``...) to the ``fnmatch`` patterns of
    the cell types it counts; a key whose patterns are ``None`` does not apply to the target.
    ``depth_cells`` are the cell types counted by the logic-depth measure (the longest chain
    of them between flip-flops, memories and DSPs); ``None`` means the generic gate-level
    measure.
    """
    name: str
    devices: dict
    default_device: str
    cell_classes: dict
    depth_cells: tuple = None
    pnr_tool: str = None
    pnr_freq_mhz: float = None
    # nextpnr's HeAP placer timing weight (``--placer-heap-timingweight``); None leaves
    # nextpnr's own default (10).
    pnr_timing_weight: int = None

    def synth_command(self, top, device, *, dsp):
        """The Yosys command that maps the (hierarchy-kept) design to this target's cells."""
        if self.name == "generic":
            # Yosys' own `synth` script, except that memories stay memory cells: its
            # `memory_map` would turn the accumulator memory into tens of thousands of FFs.
            return [f"synth -flatten -top {top} -run begin:fine",
                    "opt -fast -full", "techmap", "opt -fast", "abc", "opt -fast"]
        if self.name == "ice40":
            return [f"synth_ice40 -top {top} " + " ".join(device.yosys_args)
                    + (" -dsp" if dsp and device.has_dsp else "")]
        if self.name == "ecp5":
            return [f"synth_ecp5 -top {top}" + ("" if dsp else " -nodsp")]
        if self.name == "xilinx":
            # No I/O buffers or clock buffer: the core is measured out of context.
            return [f"synth_xilinx -top {top} -family xc7 -noiopad -noclkbuf"
                    + ("" if dsp else " -nodsp")]
        raise AssertionError(self.name)


TARGETS = {
    "generic": Target(
        name="generic",
        devices={},
        default_device=None,
        cell_classes={"luts": None, "ffs": ("$_*DFF*",), "carry": None, "dsps": None,
                      "brams": ("$mem_v2",), "lutram": None},
    ),
    "ice40": Target(
        name="ice40",
        devices={
            "up5k": Device("up5k", True, ("-device u",), ("--up5k", "--package", "sg48"), 8),
            "hx8k": Device("hx8k", False, ("-device hx",), ("--hx8k", "--package", "ct256"),
                           0),
        },
        default_device="up5k",
        cell_classes={"luts": ("SB_LUT4",), "ffs": ("SB_DFF*",), "carry": ("SB_CARRY",),
                      "dsps": ("SB_MAC16",), "brams": ("SB_RAM40_4K*", "SB_SPRAM256KA"),
                      "lutram": None},
        depth_cells=("SB_LUT4", "SB_CARRY"),
        pnr_tool="ice40",
        pnr_freq_mhz=48.0,
    ),
    "ecp5": Target(
        name="ecp5",
        devices={
            # MULT18X18D blocks per device (Lattice ECP5 family data sheet).
            "LFE5U-25F": Device("LFE5U-25F", True, (), ("--25k", "--package", "CABGA381"), 28),
            "LFE5U-45F": Device("LFE5U-45F", True, (), ("--45k", "--package", "CABGA381"), 72),
            "LFE5U-85F": Device("LFE5U-85F", True, (), ("--85k", "--package", "CABGA756"),
                                156),
        },
        default_device="LFE5U-85F",
        cell_classes={"luts": ("LUT4",), "ffs": ("TRELLIS_FF",), "carry": ("CCU2C",),
                      "dsps": ("MULT18X18D", "ALU54B"), "brams": ("DP16KD", "PDPW16KD"),
                      "lutram": ("TRELLIS_DPR16X4",)},
        depth_cells=("LUT4", "CCU2C", "PFUMX", "L6MUX21"),
        pnr_tool="ecp5",
        pnr_freq_mhz=100.0,
        # Measured (README design notes, docs/synthesis.md): nextpnr's default of 10 left
        # the 8×8 engine at 130 MHz over seeds 1-3, 100 at 150 on the same netlist (and 2:4
        # at 133 against 147).
        pnr_timing_weight=100,
    ),
    "xilinx": Target(
        name="xilinx",
        devices={"xc7": Device("xc7", True)},
        default_device="xc7",
        cell_classes={"luts": ("LUT[1-6]",), "ffs": ("FD*",), "carry": ("CARRY4",),
                      "dsps": ("DSP48E1",), "brams": ("RAMB18E1", "RAMB36E1"),
                      "lutram": ("SRL16E", "SRLC32E", "RAM*M", "RAM*X1*")},
        depth_cells=("LUT[1-6]", "MUXF7", "MUXF8", "CARRY4", "INV"),
    ),
}


def resolve_target(target, device=None, *, pnr=False):
    """Check ``target``, ``device`` and ``pnr``; return ``(Target, Device or None)``.

    ``device`` is matched without regard to case; ``None`` picks the target's default.

    Raises
    ------
    ValueError
        Naming the bad parameter and the allowed values.
    """
    if target not in TARGETS:
        allowed = ", ".join(repr(t) for t in TARGETS)
        raise ValueError(f"target must be one of {allowed}, not {target!r}")
    spec = TARGETS[target]
    if not spec.devices:
        if device is not None:
            raise ValueError(f"target {target!r} takes no device, not {device!r}")
        chosen = None
    else:
        name = spec.default_device if device is None else device
        matches = [d for n, d in spec.devices.items() if n.lower() == str(name).lower()]
        if not matches:
            allowed = ", ".join(repr(n) for n in spec.devices)
            raise ValueError(f"device for target {target!r} must be one of {allowed}, "
                             f"not {device!r}")
        chosen = matches[0]
    if pnr and spec.pnr_tool is None:
        with_pnr = ", ".join(repr(n) for n, t in TARGETS.items() if t.pnr_tool)
        raise ValueError(f"pnr is available for targets {with_pnr}, not {target!r} "
                         f"(it reports logic depth instead)")
    return spec, chosen
