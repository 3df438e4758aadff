"""The AXI4-Stream top: the GEMM engine behind ports that follow AXI4-Stream naming and rules.

``cfg.interface = "axis"`` (``zeroskip generate --interface axis``) makes this the top module.
Its ports follow the AXI4-Stream naming convention (``<prefix>_t<signal>``, ``aclk``,
``aresetn``) that Vivado's IP packager and LiteX infer interfaces from; no Vivado or LiteX
run checks this here:

- ``aclk``, and ``aresetn``: active low, synchronous (AXI4-Stream resets are sampled on
  ``aclk``);
- ``s_axis_cmd_*``, ``s_axis_weights_*``, ``s_axis_activations_*`` (slaves) and
  ``m_axis_results_*`` (master), each with ``tdata``, ``tvalid`` and ``tready``;
- ``tlast`` on the streams that have a last: ``m_axis_results`` (the final row of a command)
  and ``s_axis_weights`` when the weights are compressed (the final word of a GEMM's
  weights).

Each ``tdata`` is the native payload without its ``last`` bit, from bit 0 up, padded with
zeros to whole bytes; padding bits on an input are ignored, on the output they are 0. The
layout of each payload is given bit by bit in ``docs/integration.md`` and packed and unpacked
by :mod:`zeroskip.host`. The top adds no logic and no latency: the handshakes are the
engine's, whose outputs all come from registers (no ``tready`` to ``tvalid`` path), so the
cycle counts of :mod:`zeroskip.models.cycles` hold unchanged.
"""

from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Shape, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .engine import GemmEngine
from .layouts import stream_layouts

__all__ = ["AXIS_STREAMS", "AxiStreamTop", "tdata_width", "axis_payload_bits"]

# (engine member, AXI4-Stream port prefix), in the order the ports are declared.
AXIS_STREAMS = (("cmd", "s_axis_cmd"), ("weights", "s_axis_weights"),
                ("activations", "s_axis_activations"), ("results", "m_axis_results"))


def tdata_width(bits):
    """``tdata`` bits for a payload of ``bits``: whole bytes."""
    return 8 * max(1, -(-bits // 8))


def axis_payload_bits(cfg):
    """``{prefix: (payload bits without last, has tlast)}`` of each stream of ``cfg``'s top,
    from the payload layouts (:mod:`zeroskip.hdl.layouts`)."""
    layouts = stream_layouts(cfg)
    found = {}
    for member, prefix in AXIS_STREAMS:
        layout = layouts[member]
        has_last = isinstance(layout, data.StructLayout) and "last" in layout.members
        bits = Shape.cast(layout["data"].shape).width if has_last else layout.size
        found[prefix] = (bits, has_last)
    return found


class AxiStreamTop(wiring.Component):
    """:class:`~zeroskip.hdl.engine.GemmEngine` with AXI4-Stream ports (see the module notes).

    Parameters
    ----------
    cfg : ZeroskipConfig
    row_module, pe_module : str or None
        See :class:`~zeroskip.hdl.array.WeightStationaryArray`.

    Members
    -------
    aclk, aresetn : In(1)
    s_axis_cmd_*, s_axis_weights_*, s_axis_activations_* : slave streams
    m_axis_results_* : master stream
    busy : Out(1)
        A command is running (a status output, not part of a stream).
    """

    def __init__(self, cfg, *, row_module=None, pe_module=None):
        self._cfg = cfg
        self._engine = GemmEngine(cfg, row_module=row_module, pe_module=pe_module)
        members = {"aclk": In(1), "aresetn": In(1)}
        for prefix, (bits, has_last) in axis_payload_bits(cfg).items():
            master = prefix.startswith("m_")
            out, back = (Out, In) if master else (In, Out)
            members[f"{prefix}_tdata"] = out(tdata_width(bits))
            members[f"{prefix}_tvalid"] = out(1)
            members[f"{prefix}_tready"] = back(1)
            if has_last:
                members[f"{prefix}_tlast"] = out(1)
        members["busy"] = Out(1)
        super().__init__(members)

    @property
    def engine(self):
        return self._engine

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = engine = self._engine
        m.domains.sync = ClockDomain("sync")
        m.d.comb += [ClockSignal("sync").eq(self.aclk), ResetSignal("sync").eq(~self.aresetn),
                     self.busy.eq(engine.busy)]
        payload_bits = axis_payload_bits(self._cfg)
        for member, prefix in AXIS_STREAMS:
            port, (bits, has_last) = getattr(engine, member), payload_bits[prefix]
            tdata, tvalid, tready = (getattr(self, f"{prefix}_{s}")
                                     for s in ("tdata", "tvalid", "tready"))
            payload = port.payload.data if has_last else port.payload
            if prefix.startswith("m_"):
                m.d.comb += [tdata.eq(Value.cast(payload)), tvalid.eq(port.valid),
                             port.ready.eq(tready)]
                if has_last:
                    m.d.comb += getattr(self, f"{prefix}_tlast").eq(port.payload.last)
            else:
                m.d.comb += [payload.eq(tdata[:bits]), port.valid.eq(tvalid),
                             tready.eq(port.ready)]
                if has_last:
                    m.d.comb += port.payload.last.eq(getattr(self, f"{prefix}_tlast"))
        return m
