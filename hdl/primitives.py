"""Vendor primitives the PE can instantiate where inference cannot reach, and the simulation
models that stand for them.

ECP5 (``cfg.primitives = "ecp5"``): each PE's multiplier is a ``MULT18X18D`` with its input
and output registers on. Yosys maps an inferred ``$mul`` to ``MULT18X18D`` without any of its
registers (techlibs/lattice ``dsp_map_18x18.v``), so the registers stay in fabric and each
product travels from a fabric register to the DSP and back: about 85 MHz at best on an
ECP5-85 (speed 6). With the block's own registers, clock-to-output is under 1 ns and the
register-to-register paths are the partial-sum adders (``../shared/TOOLCHAIN.md``'s probe:
154-168 MHz for an 8×8 int8 array).

The block's registers follow the PE's fabric registers: input register A copies the
activation operand and B the weight in use, every cycle (the fabric registers before them
hold while gated, which is a free clock enable there), and the output register holds the
product, cleared by the gate (synchronous reset). The block needs no clock enable of its
own: nextpnr allows at most four distinct clock-enable and four reset nets per DSP block of
four ``MULT18X18D``, so a PE with nets of its own on several of them takes a block alone,
and an 8×8 array did not place. With the enable tied high and one reset net per PE, three
PEs share a block. The gate costs a gated PE one LUT. Inputs the block does not use (C,
SRIA, SRIB, the other clocks) are left unconnected.

The accumulator memory uses ``DP16KD`` blocks (:func:`dp16kd_ram`) in their 36-bit
pseudo-dual-port arrangement with the read's output register on (Yosys never sets
``REGMODE``), and the output stage's wide products are 18-bit chunks of ``MULT18X18D``
(:func:`wide_product`).

Yosys ships only black boxes of ``MULT18X18D`` and ``DP16KD``, and the vendor's simulation
library is not free to copy, so :func:`mult18x18d_model` and :func:`dp16kd_model` write
behavioural models of exactly the configurations used here (registers on CLK0, the enables
and resets named by the parameters, synchronous reset, signed or unsigned operands; 36-bit
write and registered 36-bit read), and stop the simulation on any other. The simulators run
the primitive netlist with them, the engine suite checks it against NumPy on both, and a
model with one register too few fails it. Their meaning follows the parameter names of
Yosys' cell library and nextpnr's bitstream writer; they have not been checked against
hardware.
"""

from amaranth.hdl import ClockSignal, Const, Instance, Signal, Value, signed, unsigned

__all__ = ["mult18x18d_parameters", "mult18x18d", "wide_product", "chunk_spans",
           "output_stage_blocks",
           "MULT18X18D_OPERAND_BITS", "MULT18X18D_PRODUCT_BITS",
           "WIDE_PRODUCT_LATENCY", "DP16KD_PARAMETERS", "DP16KD_DEPTH", "dp16kd_ram",
           "mult18x18d_model", "dp16kd_model", "simulation_models"]


def mult18x18d_parameters(*, gated):
    """The parameters of zeroskip's ``MULT18X18D``: input registers A and B and the output
    register on CLK0, all enabled by CE0 (tied high); A and B reset by RST1 (tied low), the
    output register by RST0 (the gate) when ``gated``, else by RST1."""
    return {
        "REG_INPUTA_CLK": "CLK0", "REG_INPUTA_CE": "CE0", "REG_INPUTA_RST": "RST1",
        "REG_INPUTB_CLK": "CLK0", "REG_INPUTB_CE": "CE0", "REG_INPUTB_RST": "RST1",
        "REG_OUTPUT_CLK": "CLK0", "REG_OUTPUT_CE": "CE0",
        "REG_OUTPUT_RST": "RST0" if gated else "RST1",
        "REG_INPUTC_CLK": "NONE", "REG_PIPELINE_CLK": "NONE",
        "RESETMODE": "SYNC", "GSR": "DISABLED", "CLK0_DIV": "ENABLED",
        "HIGHSPEED_CLK": "NONE", "CAS_MATCH_REG": "FALSE", "SOURCEB_MODE": "B_SHIFT",
        "MULT_BYPASS": "DISABLED",
    }


MULT18X18D_OPERAND_BITS = 18
MULT18X18D_PRODUCT_BITS = 36


def chunk_spans(width):
    """``(lo, bits)`` of the chunks :func:`wide_product` cuts an operand of ``width`` bits
    into: :data:`MULT18X18D_OPERAND_BITS` each, the top one what is left."""
    step = MULT18X18D_OPERAND_BITS
    return [(lo, min(step, width - lo)) for lo in range(0, width, step)]


def mult18x18d(m, name, *, a, b, a_signed, b_signed, width, rst_p=None):
    """Add a ``MULT18X18D`` named ``name`` to ``m`` and return its registered product.

    ``a`` and ``b`` (at most 18 bits, two's complement when ``a_signed``/``b_signed``) enter
    the input registers every cycle; the output register takes their product every cycle and
    clears when ``rst_p`` is high (``None``: never). Returns the low ``width`` bits of the
    output register: a product two cycles after its operands were presented.

    The clock enable is tied high and the input registers' reset low, the same two nets in
    every block: nextpnr allows at most four distinct clock-enable and four distinct reset
    nets per DSP block (four MULT18X18D), so a per-block net of each of its own would leave
    most of the blocks unusable."""
    if len(a) > 18 or len(b) > 18:
        raise ValueError(f"MULT18X18D operands are at most 18 bits, not {len(a)} and {len(b)}")

    def extend(v, is_signed):
        return [v[i] if i < len(v) else (v[-1] if is_signed else Const(0, 1))
                for i in range(18)]

    ports = {"i_CLK0": ClockSignal(), "i_SIGNEDA": Const(int(a_signed), 1),
             "i_SIGNEDB": Const(int(b_signed), 1), "i_SOURCEA": Const(0, 1),
             "i_SOURCEB": Const(0, 1), "i_CE0": Const(1, 1), "i_RST1": Const(0, 1)}
    if rst_p is not None:
        ports["i_RST0"] = rst_p
    for i, bit in enumerate(extend(a, a_signed)):
        ports[f"i_A{i}"] = bit
    for i, bit in enumerate(extend(b, b_signed)):
        ports[f"i_B{i}"] = bit
    # Unused inputs (C, SRIA, SRIB, the other clocks, enables and resets) stay unconnected.
    product = Signal(width, name=f"{name}_p")
    for i in range(width):
        ports[f"o_P{i}"] = product[i]
    params = {f"p_{k}": v for k, v in mult18x18d_parameters(gated=rst_p is not None).items()}
    m.submodules[name] = Instance("MULT18X18D", **params, **ports)
    return product


# Cycles from the operands of wide_product to its result: the blocks' input and output
# registers, then the registered sum of their partial products.
WIDE_PRODUCT_LATENCY = 3


def wide_product(m, name, *, a, a_signed, b, shape):
    """``a · b`` in ``shape`` from MULT18X18D blocks, :data:`WIDE_PRODUCT_LATENCY` cycles after
    the operands (``b`` unsigned, either of any width): ``a`` and ``b`` split into 18-bit
    chunks (all unsigned but ``a``'s top chunk, which carries the sign), one block per pair of
    chunks, and a registered sum of the shifted partial products."""
    def chunks(v, is_signed):
        out = []
        for lo, bits in chunk_spans(len(v)):
            part = v[lo:lo + bits]
            top = lo + bits == len(v)
            out.append((lo, part.as_signed() if top and is_signed else part,
                        top and is_signed))
        return out

    terms = []
    for i, (a_lo, a_part, a_sig) in enumerate(chunks(a, a_signed)):
        for j, (b_lo, b_part, _) in enumerate(chunks(b, False)):
            # Exact: a signed n-bit times an unsigned k-bit value fits n + k signed bits.
            part_shape = (signed if a_sig else unsigned)(len(a_part) + len(b_part))
            raw = mult18x18d(m, f"{name}_{i}_{j}", a=a_part, b=b_part, a_signed=a_sig,
                             b_signed=False, width=part_shape.width)
            terms.append((a_lo + b_lo, raw.as_signed() if part_shape.signed else raw))
    total = Signal(shape, name=f"{name}_sum", reset_less=True)
    acc = 0
    for offset, term in terms:
        acc = acc + (term << offset)
    m.d.sync += total.eq(acc)
    return total


def output_stage_blocks(cfg):
    """``MULT18X18D`` blocks of the output stage with ``cfg.primitives``: one per lane and
    pair of 18-bit chunks of the accumulator and the requantisation multiplier
    (:func:`wide_product`); 0 without the output stage. A test ties it to the Verilog."""
    if not cfg.output_stage:
        return 0
    return cfg.cols * len(chunk_spans(cfg.acc_width)) * len(chunk_spans(cfg.requant_mult_width))


def _bus(name, width):
    return [f"{name}{i}" for i in range(width)]


# The DP16KD as zeroskip uses it: one 36-bit write port (A) and one 36-bit read port (B) of
# 512 rows, the read through the block's output register (Yosys never sets REGMODE, and an
# unregistered read takes 5.8 ns on an ECP5 against under 1 ns registered).
DP16KD_DEPTH = 512
DP16KD_PARAMETERS = {
    "DATA_WIDTH_A": 36, "DATA_WIDTH_B": 36, "REGMODE_A": "OUTREG", "REGMODE_B": "OUTREG",
    "RESETMODE": "SYNC", "ASYNC_RESET_RELEASE": "SYNC", "CSDECODE_A": "0b000",
    "CSDECODE_B": "0b000", "WRITEMODE_A": "NORMAL", "WRITEMODE_B": "NORMAL", "GSR": "DISABLED",
}


def dp16kd_ram(m, name, *, width, depth, read_addr, write_addr, write_data, write_en):
    """A memory of ``depth`` (at most :data:`DP16KD_DEPTH`) rows of ``width`` bits from
    DP16KD blocks, 36 bits each, and its read data: the row at ``read_addr`` two cycles later
    (the block's read, then its output register). A row is written at ``write_addr`` when
    ``write_en``. A read of a row written in the same cycle returns either value; the caller
    must not depend on it (the accumulator forwards such rows itself)."""
    if depth > DP16KD_DEPTH:
        raise ValueError(f"dp16kd_ram holds at most {DP16KD_DEPTH} rows, not {depth}")
    read_addr, write_addr, write_data = (Value.cast(v) for v in
                                         (read_addr, write_addr, write_data))
    data = Signal(width, name=f"{name}_data")
    for i, lo in enumerate(range(0, width, 36)):
        ports = {"i_CLKA": ClockSignal(), "i_CLKB": ClockSignal(), "i_WEA": Const(1, 1),
                 "i_CEA": write_en, "i_OCEA": Const(0, 1), "i_RSTA": Const(0, 1),
                 "i_WEB": Const(0, 1), "i_CEB": Const(1, 1), "i_OCEB": Const(1, 1),
                 "i_RSTB": Const(0, 1)}
        for j in range(3):
            ports[f"i_CSA{j}"] = ports[f"i_CSB{j}"] = Const(0, 1)
        # 36-bit ports: the row address in bits 13..5; port A's bits 3..0 enable its bytes.
        for j in range(14):
            if j >= 5:
                ports[f"i_ADA{j}"] = write_addr[j - 5] if j - 5 < len(write_addr) else Const(0, 1)
                ports[f"i_ADB{j}"] = read_addr[j - 5] if j - 5 < len(read_addr) else Const(0, 1)
            else:
                ports[f"i_ADA{j}"] = Const(int(j < 4), 1)
                ports[f"i_ADB{j}"] = Const(0, 1)
        bits = min(36, width - lo)
        for j in range(36):
            bit = write_data[lo + j] if j < bits else Const(0, 1)
            ports[f"i_DIA{j}" if j < 18 else f"i_DIB{j - 18}"] = bit
        out = Signal(36, name=f"{name}_{i}_do")
        for j in range(36):
            ports[f"o_DOA{j}" if j < 18 else f"o_DOB{j - 18}"] = out[j]
        m.submodules[f"{name}_{i}"] = Instance(
            "DP16KD", **{f"p_{k}": v for k, v in DP16KD_PARAMETERS.items()}, **ports)
        m.d.comb += data[lo:lo + bits].eq(out[:bits])
    return data


def dp16kd_model():
    """Verilog of a behavioural ``DP16KD`` for simulation: the subset of
    :data:`DP16KD_PARAMETERS` (36-bit write on A, 36-bit read on B through the output
    register); any other configuration stops the simulation."""
    def bus(prefix, hi, lo=0):
        return ", ".join(f"{prefix}{i}" for i in range(hi, lo - 1, -1))

    ports = [f"DI{p}{i}" for p in "AB" for i in range(18)] + \
        [f"AD{p}{i}" for p in "AB" for i in range(14)] + \
        [f"{n}{p}{i}" for p in "AB" for n, i in (("CE", ""), ("OCE", ""), ("CLK", ""),
                                                  ("WE", ""), ("RST", ""), ("CS", 0),
                                                  ("CS", 1), ("CS", 2))]
    outputs = [f"DO{p}{i}" for p in "AB" for i in range(18)]
    params = "\n".join(f'  parameter {k} = {v if isinstance(v, int) else chr(34) + v + chr(34)};'
                       for k, v in {"DATA_WIDTH_A": 18, "DATA_WIDTH_B": 18, "REGMODE_A": "NOREG",
                                    "REGMODE_B": "NOREG", "RESETMODE": "SYNC",
                                    "ASYNC_RESET_RELEASE": "SYNC", "CSDECODE_A": "0b000",
                                    "CSDECODE_B": "0b000", "WRITEMODE_A": "NORMAL",
                                    "WRITEMODE_B": "NORMAL", "GSR": "ENABLED"}.items())
    outs = "\n".join(f"  assign DOA{i} = q[{i}];\n  assign DOB{i} = q[{i + 18}];"
                     for i in range(18))
    return f"""// Behavioural model of the ECP5 DP16KD, for simulation only: the subset zeroskip uses
// (see zeroskip.hdl.primitives). Any other configuration stops the simulation.
module DP16KD({", ".join(ports + outputs)});
{params}
  input {", ".join(ports)};
  output {", ".join(outputs)};
  wire [8:0] wa = {{{bus("ADA", 13, 5)}}};
  wire [8:0] ra = {{{bus("ADB", 13, 5)}}};
  wire [3:0] be = {{ADA3, ADA2, ADA1, ADA0}};
  wire [35:0] d = {{{bus("DIB", 17)}, {bus("DIA", 17)}}};
  reg [35:0] mem [0:511];
  reg [35:0] read = 36'd0, q = 36'd0;
  integer i;
  initial begin
    if (DATA_WIDTH_A != 36 || DATA_WIDTH_B != 36 || REGMODE_B != "OUTREG"
        || RESETMODE != "SYNC" || GSR != "DISABLED") begin
      $display("DP16KD model: configuration outside the modelled subset");
      $finish;
    end
    for (i = 0; i < 512; i = i + 1) mem[i] = 36'd0;
  end
  always @(posedge CLKA)
    if (CEA === 1'b1 && WEA === 1'b1)
      for (i = 0; i < 4; i = i + 1)
        if (be[i]) mem[wa][9 * i +: 9] <= d[9 * i +: 9];
  always @(posedge CLKB) begin
    if (CEB === 1'b1) read <= mem[ra];
    if (OCEB === 1'b1) q <= read;
  end
{outs}
endmodule
"""


def mult18x18d_model():
    """Verilog of a behavioural ``MULT18X18D`` for simulation (see the module notes)."""
    inputs = (_bus("A", 18) + _bus("B", 18) + _bus("C", 18) + ["SIGNEDA", "SIGNEDB",
              "SOURCEA", "SOURCEB"] + _bus("CLK", 4) + _bus("CE", 4) + _bus("RST", 4)
              + _bus("SRIA", 18) + _bus("SRIB", 18))
    outputs = (_bus("SROA", 18) + _bus("SROB", 18) + _bus("ROA", 18) + _bus("ROB", 18)
               + _bus("ROC", 18) + _bus("P", 36) + ["SIGNEDP"])
    defaults = {"REG_INPUTA_CLK": "NONE", "REG_INPUTA_CE": "CE0", "REG_INPUTA_RST": "RST0",
                "REG_INPUTB_CLK": "NONE", "REG_INPUTB_CE": "CE0", "REG_INPUTB_RST": "RST0",
                "REG_INPUTC_CLK": "NONE", "REG_INPUTC_CE": "CE0", "REG_INPUTC_RST": "RST0",
                "REG_PIPELINE_CLK": "NONE", "REG_PIPELINE_CE": "CE0",
                "REG_PIPELINE_RST": "RST0", "REG_OUTPUT_CLK": "NONE", "REG_OUTPUT_CE": "CE0",
                "REG_OUTPUT_RST": "RST0", "CLK0_DIV": "ENABLED", "CLK1_DIV": "ENABLED",
                "CLK2_DIV": "ENABLED", "CLK3_DIV": "ENABLED", "HIGHSPEED_CLK": "NONE",
                "GSR": "ENABLED", "CAS_MATCH_REG": "FALSE", "SOURCEB_MODE": "B_SHIFT",
                "MULT_BYPASS": "DISABLED", "RESETMODE": "SYNC"}
    params = "\n".join(f'  parameter {k} = "{v}";' for k, v in defaults.items())

    def cat(names):
        return "{" + ", ".join(reversed(names)) + "}"

    def pick(kind, param):
        return (f"({param} == \"{kind}0\") ? {kind.lower()}[0] : ({param} == \"{kind}1\") ? "
                f"{kind.lower()}[1] : ({param} == \"{kind}2\") ? {kind.lower()}[2] : "
                f"{kind.lower()}[3]")

    outs = "\n".join(f"  assign P{i} = p_out[{i}];" for i in range(36))
    zeros = "\n".join(f"  assign {n} = 1'b0;" for n in outputs if not n.startswith("P"))
    return f"""// Behavioural model of the ECP5 MULT18X18D, for simulation only: the subset zeroskip's
// PE configures (see zeroskip.hdl.primitives). Any other configuration stops the simulation.
module MULT18X18D({", ".join(inputs + outputs)});
{params}
  input {", ".join(inputs)};
  output {", ".join(outputs)};
  wire [17:0] a = {cat(_bus("A", 18))};
  wire [17:0] b = {cat(_bus("B", 18))};
  wire [3:0] ce = {cat(_bus("CE", 4))};
  wire [3:0] rst = {cat(_bus("RST", 4))};
  // An unconnected clock enable or reset (z) counts as low, as nextpnr ties it.
  wire ce_a = ({pick("CE", "REG_INPUTA_CE")}) === 1'b1;
  wire ce_b = ({pick("CE", "REG_INPUTB_CE")}) === 1'b1;
  wire ce_p = ({pick("CE", "REG_OUTPUT_CE")}) === 1'b1;
  wire rst_a = ({pick("RST", "REG_INPUTA_RST")}) === 1'b1;
  wire rst_b = ({pick("RST", "REG_INPUTB_RST")}) === 1'b1;
  wire rst_p = ({pick("RST", "REG_OUTPUT_RST")}) === 1'b1;
  reg [17:0] a_reg = 18'd0, b_reg = 18'd0;
  reg [35:0] p_reg = 36'd0;
  reg signed_a = 1'b0, signed_b = 1'b0;
  initial begin
    if (REG_INPUTA_CLK != "CLK0" || REG_INPUTB_CLK != "CLK0" || REG_OUTPUT_CLK != "CLK0"
        || REG_INPUTC_CLK != "NONE" || REG_PIPELINE_CLK != "NONE" || RESETMODE != "SYNC"
        || MULT_BYPASS != "DISABLED" || GSR != "DISABLED") begin
      $display("MULT18X18D model: configuration outside the modelled subset");
      $finish;
    end
  end
  // Operands as the block reads them: two's complement when SIGNED is set.
  wire signed [36:0] a_ext = signed_a ? {{{{19{{a_reg[17]}}}}, a_reg}} : {{19'd0, a_reg}};
  wire signed [36:0] b_ext = signed_b ? {{{{19{{b_reg[17]}}}}, b_reg}} : {{19'd0, b_reg}};
  wire signed [73:0] product = a_ext * b_ext;
  wire [35:0] p_out = p_reg;
  always @(posedge CLK0) begin
    if (rst_a) begin a_reg <= 18'd0; signed_a <= 1'b0; end
    else if (ce_a) begin a_reg <= a; signed_a <= SIGNEDA; end
    if (rst_b) begin b_reg <= 18'd0; signed_b <= 1'b0; end
    else if (ce_b) begin b_reg <= b; signed_b <= SIGNEDB; end
    if (rst_p) p_reg <= 36'd0;
    else if (ce_p) p_reg <= product[35:0];
  end
{outs}
{zeros}
endmodule
"""


def simulation_models(cfg):
    """Verilog the simulators need beside the engine's: the primitive models, if any."""
    if cfg.primitives != "ecp5":
        return ""
    # Every PE multiplying in LUTs and no output stage: no MULT18X18D to model.
    uses_mult = cfg.lut_pe_cols < cfg.cols or cfg.output_stage
    return (mult18x18d_model() + "\n" if uses_mult else "") + dp16kd_model()
