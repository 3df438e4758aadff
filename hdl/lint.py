"""Verilator waivers for the generated Verilog: ``<name>.vlt`` beside ``<name>.v``.

``verilator --lint-only -Wall`` on an engine reports several hundred warnings, nearly all of
them idioms of Amaranth's Verilog backend (Yosys ``write_verilog``) rather than bugs: named
wires kept only for debugging, declaration initialisers, operands written at their own width
and extended by context. :func:`verilator_waivers` writes a Verilator control file that waives
exactly those idioms, so that a lint of the generated files comes out clean and anything it
does report is worth a look::

    verilator --lint-only -Wall --top-module NAME NAME.vlt NAME.v [NAME_sim_models.v]

(the control file first: Verilator applies file-scoped waivers only to files read after it).
With ``cfg.primitives == "ecp5"`` lint the netlist together with the behavioural models of
:func:`zeroskip.hdl.primitives.simulation_models`: Verilator then checks every primitive
instance against a real port list (a black-box stub would not), and the file covers the
models' own idioms too.

Every waiver is scoped to the generated file (``-file "*NAME.v"``, or
``"*NAME_sim_models.v"``) and, through ``-match``, to the message text *and the source line*
of its idiom: since Verilator 5.032 a waiver's match sees the message followed by the quoted
source line (the format ``--waiver-output --waiver-multiline`` prints). So the same rule on
another kind of line, in the same file or in any other, is still reported: a hand-written
``assign y = a + b;`` that drops the carry stays a WIDTHTRUNC, an unused register stays an
UNUSEDSIGNAL. An older Verilator matches only the message and then reports the idioms as
well (it never waives more).

Verilator's WIDTH warnings cannot see a truncation written in Amaranth: ``x.eq(a + b)`` with
a narrower ``x`` becomes a wide temporary and an explicit part-select, never an assignment of
mismatched widths. What they leave behind is an UNUSEDSIGNAL on the temporary's upper bits,
which is waived here for Yosys temporaries (``\\$N``) only; each of those truncations in the
generator was checked by hand (see the design notes on linting).
"""

from .axis import axis_payload_bits, tdata_width
from .pe import ProcessingElement
from .primitives import MULT18X18D_PRODUCT_BITS, chunk_spans

__all__ = ["verilator_waivers", "WAIVED_RULES", "MULT18X18D_OPEN_PINS", "MODEL_UNUSED_INPUTS"]

# Rules waived somewhere (each only for the idioms below).
WAIVED_RULES = ("DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL", "WIDTHEXPAND", "WIDTHTRUNC",
                "CMPCONST", "ASCRANGE", "PINMISSING", "UNUSEDPARAM")

# How Verilator names the operands Yosys writes unsigned: sized constants (4'h8), variables,
# part-selects and concatenations.
_UNSIGNED_OPERANDS = ("CONST", "VARREF", "SEL", "REPLICATE")

# MULT18X18D pins that zeroskip's instances leave open on purpose, besides the product bits
# above each product's width and RST0 where no gate drives it (hdl/primitives.py: "Unused
# inputs (C, SRIA, SRIB, the other clocks, enables and resets) stay unconnected"; tying them
# to 0 made nextpnr fail to route the ground net). The outputs are the cascade and
# register-out buses and the sign of the product, which nothing reads.
MULT18X18D_OPEN_PINS = (
    tuple(f"C{i}" for i in range(18)) + tuple(f"SRIA{i}" for i in range(18))
    + tuple(f"SRIB{i}" for i in range(18))
    + ("CLK1", "CLK2", "CLK3", "CE1", "CE2", "CE3", "RST2", "RST3")
    + tuple(f"{bus}{i}" for bus in ("SROA", "SROB", "ROA", "ROB", "ROC") for i in range(18))
    + ("SIGNEDP",))
# Inputs of the vendor cells' port lists that the behavioural models
# (hdl/primitives.py: mult18x18d_model, dp16kd_model) do not read: MULT18X18D's C and
# shift-in buses, SOURCEA/B and the other clocks; DP16KD's address bits below the 36-bit
# row (ADA0-3 are port A's byte enables), port A's read side and port B's write side, the
# chip selects.
MODEL_UNUSED_INPUTS = (
    tuple(f"C{i}" for i in range(18)) + tuple(f"SRIA{i}" for i in range(18))
    + tuple(f"SRIB{i}" for i in range(18)) + ("SOURCEA", "SOURCEB", "CLK1", "CLK2", "CLK3")
    + ("ADA4",) + tuple(f"ADB{i}" for i in range(5)) + ("OCEA", "RSTA", "WEB", "RSTB")
    + tuple(f"CS{p}{i}" for p in "AB" for i in range(3)))


def _waiver(rule, file, match):
    # The control file's strings take backslash escapes (and end at a double quote): a
    # match spells the backslash of an escaped identifier (\\$1) as "?".
    assert '"' not in match and "\\" not in match, match
    return f'lint_off -rule {rule} -file "{file}" -match "{match}"'


def _block(comment, lines):
    # A comment that starts with the word "verilator" is a Verilator metacomment.
    assert not any(c.lstrip().lower().startswith("verilator") for c in comment), comment
    return "\n".join([*(f"// {c}" if c else "//" for c in comment), *lines, ""])


def _main_waivers(cfg, vfile):
    name = cfg.name
    blocks = [
        _block([
            "DECLFILENAME: Amaranth writes the engine, the row and PE modules and every",
            f"submodule ({name}.accumulator, ...) into one file named after the top module.",
            "Only modules of this engine are covered.",
        ], [_waiver("DECLFILENAME", vfile,
                    f"Filename '{name}' does not match MODULE name: '{name}*'*module *")]),
        _block([
            "PROCASSINIT: a signal's init value (Amaranth's Signal(init=...)) is written as a",
            "declaration initialiser, reg x = 8'h00; -- the FPGA power-up value -- and the",
            "signal is a register of a clocked process (with its synchronous reset, if any,",
            "in that process). Both are meant. Only regs with a sized-constant initialiser",
            "that a non-blocking assignment writes are covered.",
        ], [_waiver("PROCASSINIT", vfile,
                    "Procedural assignment to declaration with initial value: '*'*"
                    "Location of variable initialization*reg * = *'*;*"
                    "Location of variable process write*<=*")]),
        _block([
            "UNUSEDSIGNAL: Amaranth keeps named wires for waveforms that nothing reads:",
            "aliases of registers (assign psum = psum_out;), per-field and per-element views",
            "of structured signals (meta_1.valid, act[0]), the parent-side copies of",
            "submodule ports (a$5) and Yosys temporaries. Only wire declarations are",
            "covered: an unused register is still reported.",
        ], [_waiver("UNUSEDSIGNAL", vfile, "Signal is not used: '*'*wire *;*")]),
        _block([
            "UNUSEDSIGNAL, bits: an Amaranth operator's result is wider than its operands",
            "(a + b has a carry bit), and assigning it to a narrower signal slices the Yosys",
            "temporary that holds it (\\$1 [18:0]): counters and pointers wrap, partial sums",
            "and accumulators drop the carry (results wrap modulo 2**acc_width), fold counts",
            "are selected only when they fit. Each such truncation in the generator was",
            "checked by hand (design notes on linting). Only temporaries (\\$N) are covered.",
        ], [_waiver("UNUSEDSIGNAL", vfile,
                    "Bits of signal are not used: '$*'[*]*wire * ?$*;*")]),
    ]
    blocks += [
        _block([
            "WIDTHEXPAND: Yosys writes each Amaranth operator as its own assignment to a",
            "temporary of the result width Amaranth computed, assign \\$3 = a + 4'h8;, with",
            "every operand at its own width (constants at their smallest). Verilog extends",
            "the operands to the temporary's width: unsigned ones (a constant, a variable, a",
            "part-select, a concatenation) by zeros, and $signed() ones by the sign, where",
            "both operands are $signed() -- which is exactly Amaranth's arithmetic. Only",
            "operands of an operator assigned to a temporary are covered: an assignment",
            "that widens (Operator ASSIGNW), or a $signed() operand beside an unsigned one,",
            "is still reported.",
        ], [*(_waiver("WIDTHEXPAND", vfile,
                      f"Operator * expects * bits on the {side}, but {side}'s {kind}* "
                      "generates * bits.*assign ?$* = *;*")
              for side in ("LHS", "RHS") for kind in _UNSIGNED_OPERANDS),
            *(_waiver("WIDTHEXPAND", vfile,
                      f"Operator * expects * bits on the {side}, but {side}'s SIGNED generates "
                      "* bits.*assign ?$* = $signed(*) * $signed(*);*")
              for side in ("LHS", "RHS"))]),
        _block([
            "WIDTHTRUNC: an Amaranth comparison with zero (x == 0) becomes Yosys' $logic_not,",
            "written ! x on the whole vector: true when every bit is 0, as meant.",
        ], [_waiver("WIDTHTRUNC", vfile,
                    "Logical operator LOGNOT expects 1 bit on the LHS, but LHS's * generates "
                    "* bits.*assign ?$* = ! *;*")]),
        _block([
            "WIDTHTRUNC: Amaranth's bit_select and word_select become a Yosys shift whose",
            "result is narrower than its operand, written assign y = x >> n;: Verilog",
            "shifts at the operand's width and keeps the low bits, the selected field. Only",
            "right shifts are covered: any other narrowing assignment is still reported.",
        ], [_waiver("WIDTHTRUNC", vfile,
                    "Operator ASSIGNW expects * bits on the Assign RHS, but Assign RHS's "
                    "SHIFTR generates * bits.*assign * = * >> *;*")]),
        _block([
            "CMPCONST: the engine's command stage asks whether a command's dimension fits",
            "in one fold (extent <= step) for the fold sequencers' first folds. Where the",
            "step is at least the largest dimension (2**dim_width - 1) the answer is",
            "always yes, and Amaranth leaves the constant comparison to synthesis. Only",
            "those comparisons of the command port's fields are covered.",
        ], [_waiver("CMPCONST", vfile,
                    "Comparison is constant due to limited range*"
                    "assign ?$* = cmd__payload[*] <= *'h*;*")]),
        _block([
            "ASCRANGE, UNUSEDSIGNAL: Yosys declares a zero-width signal (an Amaranth",
            "Signal(range(1)), e.g. the weight loader's settle count of an array that needs",
            "none) as wire [-1:0]; nothing drives or reads it.",
        ], [_waiver("ASCRANGE", vfile,
                    "Ascending bit range vector: left < right of bit range: [-1:0]*"
                    "wire [-1:0] *;*"),
            _waiver("UNUSEDSIGNAL", vfile,
                    "Signal is not driven, nor used: '*'*wire [-1:0] *;*")]),
    ]
    if cfg.interface == "axis":
        waivers = []
        for prefix, (bits, _) in axis_payload_bits(cfg).items():
            top = tdata_width(bits) - 1
            if prefix.startswith("s_") and top >= bits:
                span = f"{top}" if top == bits else f"{top}:{bits}"
                waivers.append(_waiver("UNUSEDSIGNAL", vfile,
                                       f"Bits of signal are not used: '{prefix}_tdata'[{span}]*"
                                       f"input [*] {prefix}_tdata;*"))
        if waivers:
            blocks.append(_block([
                "UNUSEDSIGNAL: an AXI4-Stream tdata is the native payload padded to whole",
                "bytes (hdl/axis.py); the padding bits of the inputs are ignored by design.",
                "Each waiver covers exactly one input's padding bits.",
            ], waivers))
    if cfg.primitives == "ecp5":
        blocks.append(_block(*_pin_waivers(cfg, vfile)))
    return blocks


def _pin_waivers(cfg, vfile):
    """PINMISSING on the MULT18X18D instances: the open pins of MULT18X18D_OPEN_PINS, RST0
    where no gate drives it, and the product bits above each instance's product width."""
    lines = []
    instances = ["mult", "requant_mult_*"] if cfg.output_stage else ["mult"]
    for inst in instances:
        lines += [_waiver("PINMISSING", vfile, f"Instance has missing pin: '{pin}'*) {inst} (*")
                  for pin in MULT18X18D_OPEN_PINS]
    # RST0 clears the PE's product register when the gate is on; nothing else resets.
    for inst in (["mult"] if not cfg.zero_gating else []) + instances[1:]:
        lines.append(_waiver("PINMISSING", vfile, f"Instance has missing pin: 'RST0'*) {inst} (*"))
    # P: the PE's product has ProcessingElement.product_shape bits; the output stage's partial
    # product (i, j) of wide_product the widths of accumulator chunk i and multiplier chunk j.
    widths = {"mult": ProcessingElement.product_shape(cfg).width}
    if cfg.output_stage:
        for i, (_, a) in enumerate(chunk_spans(cfg.acc_width)):
            for j, (_, b) in enumerate(chunk_spans(cfg.requant_mult_width)):
                widths[f"requant_mult_*_{i}_{j}"] = a + b
    for inst, width in widths.items():
        lines += [_waiver("PINMISSING", vfile, f"Instance has missing pin: 'P{bit}'*) {inst} (*")
                  for bit in range(width, MULT18X18D_PRODUCT_BITS)]
    comment = [
        "PINMISSING: the MULT18X18D blocks leave their unused pins open on purpose",
        "(hdl/primitives.py): the C and shift-in inputs, clocks, enables and resets 1-3",
        "(and RST0 where no gate clears the product), the cascade and register-out buses,",
        "SIGNEDP, and the product bits above each product's exact width. Tying inputs to 0",
        "made nextpnr fail to route the ground net. Only those pins of those instances",
        "are covered: a missing clock, operand or product bit is still reported.",
    ]
    return comment, lines


def _model_waivers(cfg, mfile):
    name = f"{cfg.name}_sim_models"
    return [
        _block([
            f"The behavioural models ({name}.v, zeroskip.hdl.primitives.simulation_models)",
            "of the vendor primitives: the vendor's port and parameter lists, modelling",
            "only the subset zeroskip configures.",
            "DECLFILENAME: both models are in one file (Verilator names the first).",
        ], [_waiver("DECLFILENAME", mfile,
                    f"Filename '{name}' does not match MODULE name: '{module}'*")
            for module in ("MULT18X18D", "DP16KD")]),
        _block([
            "UNUSEDSIGNAL: inputs of the vendor port list that the modelled subset ignores,",
            "by name (Verilator quotes no source line for the models' long port lists), and",
            "the upper half of the model's 74-bit product, of which P keeps 36 bits.",
        ], [*(_waiver("UNUSEDSIGNAL", mfile, f"Signal is not used: '{pin}'*")
              for pin in MODEL_UNUSED_INPUTS),
            _waiver("UNUSEDSIGNAL", mfile,
                    "Bits of signal are not used: 'product'[73:36]*"
                    "wire signed [73:0] product = *;*")]),
        _block([
            "UNUSEDPARAM: parameters of the vendor cell that the modelled subset does not",
            "read (the netlist sets them, so the model must declare them).",
        ], [_waiver("UNUSEDPARAM", mfile, "Parameter is not used: '*'*parameter * = *;*")]),
        _block([
            "PROCASSINIT: the blocks' registers start at 0 (GSR is disabled) and are then",
            "written by the clocked process, as in the netlist.",
        ], [_waiver("PROCASSINIT", mfile,
                    "Procedural assignment to declaration with initial value: '*'*"
                    "Location of variable initialization*reg * = *'*;*"
                    "Location of variable process write*<=*")]),
    ]


def verilator_waivers(cfg):
    """The text of ``<cfg.name>.vlt``: a Verilator control file that waives the Amaranth
    idioms in :func:`~zeroskip.hdl.verilog.generate_verilog`'s output (and, with
    ``cfg.primitives == "ecp5"``, in the behavioural models of
    :func:`~zeroskip.hdl.primitives.simulation_models`), each waiver with the reason it is
    an idiom and not a bug. Depends only on ``cfg``. Lint with::

        verilator --lint-only -Wall --top-module NAME NAME.vlt NAME.v [NAME_sim_models.v]
    """
    name = cfg.name
    header = _block([
        f"Waivers for {name}.v, generated by zeroskip (zeroskip.hdl.lint) for this",
        "configuration. Lint with the control file first:",
        f"  $ verilator --lint-only -Wall --top-module {name} {name}.vlt {name}.v"
        + (f" {name}_sim_models.v" if cfg.primitives == "ecp5" else ""),
        "Each waiver covers one idiom of Amaranth's Verilog backend: the rule in these",
        "files only (-file), and only the message and source line of that idiom (-match,",
        "which sees the source line from Verilator 5.032 on). Anything else is reported.",
    ], [])
    blocks = _main_waivers(cfg, f"*{name}.v")
    if cfg.primitives == "ecp5":
        blocks += _model_waivers(cfg, f"*{name}_sim_models.v")
    return "`verilator_config\n" + "\n".join([header, *blocks])
