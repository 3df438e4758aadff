"""An out-of-context wrapper: the engine behind a few pins, so place and route measures the core.

An 8×8 int8 engine has more I/O bits than any iCE40 or ECP5 package has pins, and an unplaced
port is no measurement anyway. The wrapper feeds every engine input from a shift register
loaded one bit per cycle, and captures every engine output into a second shift register read
out one bit per cycle. Every engine port stays observable and controllable, so synthesis can
remove nothing, and every engine path starts and ends at a flip-flop inside the device.

The engine is the module ``{name}`` of :func:`~zeroskip.hdl.verilog.generate_verilog`, the
very Verilog a user gets, instantiated by name; its ports are read from that Verilog.
"""

import re

from amaranth.back import verilog
from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hdl.verilog import generate_verilog

__all__ = ["OutOfContextWrapper", "module_ports", "wrapper_module_name", "wrapper_verilog"]

_PORT = re.compile(r"^\s*(input|output)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?([A-Za-z_]\w*)\s*;",
                   re.MULTILINE)


def module_ports(verilog_text, module):
    """``[(name, width, is_input)]`` of the ports of ``module`` in Amaranth's Verilog output."""
    match = re.search(rf"^module {re.escape(module)}\(.*?^endmodule", verilog_text,
                      re.MULTILINE | re.DOTALL)
    if match is None:
        raise ValueError(f"module {module!r} is not in the Verilog text")
    ports = [(name, abs(int(hi) - int(lo)) + 1 if hi else 1, direction == "input")
             for direction, hi, lo, name in _PORT.findall(match.group(0))]
    header = match.group(0)[:match.group(0).index(";")]
    if len(ports) != header.count(",") + 1:
        raise ValueError(f"could not read every port of module {module!r} (found "
                         f"{[p[0] for p in ports]!r} in {header!r})")
    return ports


def wrapper_module_name(cfg):
    return f"{cfg.name}_ooc"


class OutOfContextWrapper(wiring.Component):
    """An engine module behind a serial interface of four pins (plus clock and reset).

    Parameters
    ----------
    module : str
        Verilog module name of the engine.
    ports : list of (str, int, bool)
        The engine's ports, ``(name, width, is_input)``, as :func:`module_ports` returns
        them; ``clk`` and ``rst`` are driven by the wrapper's clock and registered reset.

    Members
    -------
    serial_in : In(1)
        Bit shifted into the input register while ``shift`` is high; the input register's bits
        drive all of the engine's inputs.
    shift : In(1)
    capture : In(1)
        Load all of the engine's outputs into the output register; otherwise it shifts by one.
    serial_out : Out(1)
        Last bit of the output register.

    The engine's reset is the ``sync`` domain's reset passed through two flip-flops, so the
    reset pin's path is not a core path either.
    """

    serial_in: In(1)
    shift: In(1)
    capture: In(1)
    serial_out: Out(1)

    def __init__(self, module, ports):
        self._module = module
        self._ports = [p for p in ports if p[0] not in ("clk", "rst")]
        super().__init__()

    @property
    def input_bits(self):
        """Width of the input shift register (all engine input bits but clock and reset)."""
        return sum(width for _, width, is_input in self._ports if is_input)

    @property
    def output_bits(self):
        """Width of the output shift register (all engine output bits)."""
        return sum(width for _, width, is_input in self._ports if not is_input)

    @property
    def pins(self):
        """Device pins the wrapper needs: its ports plus clock and reset."""
        return len(self.signature.members) + 2

    def elaborate(self, platform):
        m = Module()
        # Reset-less: the wrapper's registers add no reset fan-out to the measured design.
        in_reg = Signal(self.input_bits, reset_less=True)
        out_reg = Signal(self.output_bits, reset_less=True)
        rst_sync = Signal(2, reset_less=True)
        m.d.sync += rst_sync.eq(Cat(ResetSignal(), rst_sync[0]))
        with m.If(self.shift):
            m.d.sync += in_reg.eq(Cat(in_reg[1:], self.serial_in))

        connections = {"i_clk": ClockSignal(), "i_rst": rst_sync[1]}
        outputs = []
        in_pos = 0
        for name, width, is_input in self._ports:
            if is_input:
                connections[f"i_{name}"] = in_reg[in_pos:in_pos + width]
                in_pos += width
            else:
                signal = Signal(width, name=f"engine_{name}")
                connections[f"o_{name}"] = signal
                outputs.append(signal)
        m.submodules.engine = Instance(self._module, **connections)

        with m.If(self.capture):
            m.d.sync += out_reg.eq(Cat(*outputs))
        with m.Else():
            m.d.sync += out_reg.eq(out_reg[1:])
        m.d.comb += self.serial_out.eq(out_reg[0])
        return m


def wrapper_verilog(cfg):
    """``(verilog_text, wrapper)``: the wrapper (top module ``{name}_ooc``) followed by the
    engine's own Verilog (:func:`~zeroskip.hdl.verilog.generate_verilog`)."""
    engine_text = generate_verilog(cfg)
    wrapper = OutOfContextWrapper(cfg.name, module_ports(engine_text, cfg.name))
    text = verilog.convert(wrapper, name=wrapper_module_name(cfg), emit_src=False)
    return text + "\n" + engine_text, wrapper
