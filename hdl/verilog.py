"""Verilog generation: deterministic, one definition per block kind (engine, row, PE)."""

import functools

from amaranth.back import verilog

from .array import ArrayRow, lut_pe_module_name
from .axis import AxiStreamTop
from .decoders import weight_decoder
from .engine import GemmEngine
from .pe import ProcessingElement
from .primitives import simulation_models

__all__ = ["generate_verilog", "simulation_verilog", "generate_decoder_verilog", "native_ports"]


def native_ports(cfg):
    """``cfg`` with the engine's own ports at the top: what the native harnesses (the player,
    the cocotb endpoints) and synthesis drive. The logic is the same for either interface."""
    return cfg.replace(interface="native") if cfg.interface != "native" else cfg


# Conversion takes about two seconds for an 8×8 engine; a flow that simulates one
# configuration many times (the demo's layers) converts it once. Configurations are frozen.
@functools.lru_cache(maxsize=16)
def generate_verilog(cfg):
    """Verilog text of the engine ``cfg.name`` with its modules ``{name}_row`` and ``{name}_pe``
    (and ``{name}_pe_lut`` with ``cfg.lut_pe_cols``).

    The top module has the engine's own stream ports, or with ``cfg.interface = "axis"``
    AXI4-Stream ports (:class:`~zeroskip.hdl.axis.AxiStreamTop`, the engine inside it).

    Rows and PEs are converted once and instantiated by name, so generation time grows with
    R + C rather than R×C (32×32 in a few seconds). The output depends only on ``cfg``: no
    source locations, paths or dates, so the same configuration gives a byte-identical file.
    """
    pe_name, row_name = f"{cfg.name}_pe", f"{cfg.name}_row"
    top = AxiStreamTop if cfg.interface == "axis" else GemmEngine
    parts = [
        verilog.convert(top(cfg, row_module=row_name), name=cfg.name, emit_src=False),
        verilog.convert(ArrayRow(cfg, pe_module=pe_name), name=row_name, emit_src=False),
    ]
    # (A module no row instantiates would be a second top for Verilator and users' tools.)
    if cfg.lut_pe_cols < cfg.cols:
        parts.append(verilog.convert(ProcessingElement(cfg), name=pe_name, emit_src=False))
    if cfg.lut_pe_cols:
        parts.append(verilog.convert(ProcessingElement(cfg, lut_multiplier=True),
                                     name=lut_pe_module_name(pe_name), emit_src=False))
    return "\n".join(parts)


def simulation_verilog(cfg):
    """What a simulator compiles for ``cfg``: :func:`generate_verilog`, followed by the
    behavioural models of any vendor primitives it instantiates (``cfg.primitives``)."""
    models = simulation_models(cfg)
    return generate_verilog(cfg) + ("\n" + models if models else "")


def generate_decoder_verilog(cfg, name):
    """Verilog of ``cfg``'s weight decoder alone, as module ``name`` (for its own tests and
    for users who place the decoder elsewhere)."""
    decoder = weight_decoder(cfg)
    if decoder is None:
        raise ValueError("weight_format 'dense' has no decoder")
    return verilog.convert(decoder, name=name, emit_src=False)
