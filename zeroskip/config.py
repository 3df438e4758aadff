"""The configuration root: one frozen dataclass from which hardware, models, testbench and
reports all derive.

Every field carries its own documentation and allowed range in ``dataclasses.field``
metadata, so the CLI flags, the validation messages and the configuration reference are
generated from one place. Later capabilities (zero-gating, weight formats, N:M sparsity)
add fields here with defaults that keep existing configurations valid.
"""

import dataclasses
import hashlib
import json
import operator
import re
from dataclasses import dataclass, field

from .verilog_names import VERILOG_KEYWORDS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["ConfigError", "ZeroskipConfig", "DATAFLOWS", "WEIGHT_FORMATS", "NM_PATTERNS",
           "SPARSITIES", "PRIMITIVES", "INTERFACES", "ROUNDINGS",
           "load_config", "default_config"]

DATAFLOWS = ("weight_stationary",)
# Technology primitives the PEs may instantiate (zeroskip.hdl.primitives).
PRIMITIVES = ("none", "ecp5")
# Port sets of the top module: the engine's own streams, or AXI4-Stream (zeroskip.hdl.axis).
INTERFACES = ("native", "axis")
# How the output stage rounds to nearest (zeroskip.models.requant.requantize).
ROUNDINGS = ("half_up", "half_even")
WEIGHT_FORMATS = ("dense", "bitmask", "nm", "csr", "rle")
# N:M patterns the nm codec and decoder support: M in {2, 4, 8}, 1 <= N < M.
NM_PATTERNS = tuple(f"{n}:{m}" for m in (2, 4, 8) for n in range(1, m))
# N:M patterns the sparse array skips: each group of M K positions uses N PE rows.
SPARSITIES = ("dense", "1:2", "1:4", "2:4", "2:8", "4:8")

# Module names the generated files use besides the engine's (zeroskip.testbench.player_verilog
# PLAYER_TOP, which a test ties to this).
RESERVED_NAMES = ("zeroskip_player",)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")



class ConfigError(ValueError):
    """An invalid configuration value; the message names the parameter and the allowed range."""


def _param(default, help, *, lo=None, hi=None, choices=None):
    return field(default=default, metadata={"help": help, "lo": lo, "hi": hi, "choices": choices})


@dataclass(frozen=True)
class ZeroskipConfig:
    """Configuration of one generated GEMM accelerator.

    Parameters
    ----------
    See :func:`parameter_table` (or ``docs/configuration.md``) for each field, its default and its
    allowed range.

    Raises
    ------
    ConfigError
        If a value has the wrong type or lies outside its allowed range.
    """

    name: str = _param("zeroskip_gemm", "Verilog module name and output file stem (an identifier)")
    rows: int = _param(8, "array rows R: K positions held per weight fold", lo=1, hi=64)
    cols: int = _param(8, "array columns C: output columns per N fold", lo=1, hi=64)
    act_width: int = _param(8, "activation width in bits", lo=2, hi=16)
    weight_width: int = _param(8, "weight width in bits", lo=2, hi=16)
    acc_width: int = _param(32, "accumulator width in bits (results wrap modulo 2**acc_width)",
                            lo=None, hi=48)
    act_signed: bool = _param(True, "activations are two's-complement signed")
    weight_signed: bool = _param(True, "weights are two's-complement signed")
    dataflow: str = _param("weight_stationary", "array dataflow", choices=DATAFLOWS)
    dim_width: int = _param(16, "width of the M, K, N command fields (largest dimension is "
                                "2**dim_width - 1)", lo=1, hi=32)
    acc_depth: int = _param(512, "accumulator memory rows: M is processed in tiles of this "
                                 "many rows", lo=1, hi=65536)
    zero_gating: bool = _param(True, "PEs hold their operand registers and bypass the adder "
                                     "when an activation or weight is zero")
    weight_format: str = _param("dense", "format of the weights stream: dense rows, or "
                                         "compressed words decoded in hardware (see "
                                         "docs/weight-formats.md)", choices=WEIGHT_FORMATS)
    nm_pattern: str = _param("2:4", "N:M pattern of weight_format nm: at most N non-zeros in "
                                    "every M consecutive K positions (M must divide rows)",
                             choices=NM_PATTERNS)
    rle_run_width: int = _param(4, "zero-run field width in bits of weight_format rle",
                                lo=1, hi=8)
    sparsity: str = _param("dense", "N:M structured sparsity the array skips: each PE row "
                                    "holds one of the N non-zero weights of M K positions, so "
                                    "a fold covers rows*M/N K positions (implies weight_format "
                                    "nm with that pattern; N must divide rows)",
                           choices=SPARSITIES)
    output_stage: bool = _param(True, "hardware requantisation + optional ReLU after the "
                                       "accumulators (per-command multiplier, shift, ReLU; see "
                                       "docs/architecture.md)")
    out_width: int = _param(8, "saturation width of requantised results (at most acc_width "
                               "with output_stage)", lo=2, hi=16)
    requant_mult_width: int = _param(16, "width of the unsigned requantisation multiplier; "
                                         "shifts go up to acc_width + requant_mult_width - 1",
                                     lo=1, hi=32)
    requant_rounding: str = _param("half_up", "how the output stage rounds acc·mult/2**shift "
                                              "to nearest: ties up (half_up) or to even "
                                              "(half_even, onnxruntime's QuantizeLinear)",
                                   choices=ROUNDINGS)
    bias: bool = _param(False, "per-column biases at accumulator width, added at each output "
                               "tile's first K fold; they travel on the activations stream "
                               "ahead of that fold's rows (see docs/architecture.md)")
    primitives: str = _param("none", "vendor primitives in the PEs: none (vendor-neutral "
                                     "Verilog) or ecp5 (each multiplier a MULT18X18D with its "
                                     "input and output registers; zeroskip synth --target "
                                     "ecp5 uses it by default)", choices=PRIMITIVES)
    lut_pe_cols: int = _param(0, "with primitives: how many of the array's last PE columns "
                                 "multiply in LUT logic instead of a DSP block, pipelined over "
                                 "the same register stages (same cycles); for arrays with more "
                                 "PEs than the device has DSP blocks (zeroskip synth picks it)",
                              lo=0, hi=None)
    interface: str = _param("native", "ports of the top module: native (the engine's "
                                      "streams, clk and rst) or axis (AXI4-Stream: aclk, "
                                      "aresetn, s_axis_cmd/weights/activations, "
                                      "m_axis_results; see docs/integration.md)",
                            choices=INTERFACES)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if f.type in (int, "int"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"{f.name} must be an integer, not {value!r}")
                lo, hi = self._bounds(f.name)
                if not lo <= value <= hi:
                    raise ConfigError(f"{f.name} must be between {lo} and {hi}, not {value!r}")
            elif f.type in (bool, "bool"):
                if not isinstance(value, bool):
                    raise ConfigError(f"{f.name} must be true or false, not {value!r}")
            else:
                if not isinstance(value, str):
                    raise ConfigError(f"{f.name} must be a string, not {value!r}")
                if meta["choices"] is not None and value not in meta["choices"]:
                    allowed = ", ".join(repr(c) for c in meta["choices"])
                    raise ConfigError(f"{f.name} must be one of {allowed}, not {value!r}")
        if self.sparsity != "dense":
            if self.weight_format not in ("dense", "nm") or (
                    self.weight_format == "nm" and self.nm_pattern != self.sparsity):
                raise ConfigError(f"sparsity {self.sparsity!r} implies weight_format 'nm' with "
                                  f"nm_pattern {self.sparsity!r}, not weight_format "
                                  f"{self.weight_format!r} with nm_pattern "
                                  f"{self.nm_pattern!r}")
            # The sparse array reads N:M records: the pattern is the sparsity's.
            object.__setattr__(self, "weight_format", "nm")
            object.__setattr__(self, "nm_pattern", self.sparsity)
            if self.rows % self.nm[0]:
                raise ConfigError(f"sparsity {self.sparsity!r} needs rows to be a multiple of "
                                  f"{self.nm[0]} (N PE rows per group of M K positions), "
                                  f"not rows={self.rows}")
        elif self.weight_format == "nm" and self.rows % self.nm[1]:
            raise ConfigError(f"nm_pattern {self.nm_pattern!r} needs rows to be a multiple of "
                              f"{self.nm[1]} (N:M groups must not straddle weight folds), "
                              f"not rows={self.rows}")
        if self.lut_pe_cols and self.primitives == "none":
            raise ConfigError(f"lut_pe_cols needs primitives (the LUT PEs take the DSP block's "
                              f"register stages), so it must be 0 with primitives 'none', not "
                              f"{self.lut_pe_cols}")
        if self.output_stage and self.out_width > self.acc_width:
            raise ConfigError(f"out_width must be at most acc_width ({self.acc_width}) with "
                              f"output_stage, as requantised results travel in the "
                              f"accumulator lanes, not {self.out_width}")
        if not _IDENTIFIER.match(self.name):
            raise ConfigError(f"name must be a Verilog identifier of at most 64 characters "
                              f"([A-Za-z_][A-Za-z0-9_]*), not {self.name!r}")
        if self.name in VERILOG_KEYWORDS:
            raise ConfigError(f"name must not be a Verilog or SystemVerilog keyword, "
                              f"not {self.name!r}")
        if self.name in RESERVED_NAMES:
            raise ConfigError(f"name must not be {self.name!r}: the stream player's testbench "
                              f"module has that name")

    def _bounds(self, name):
        meta = {f.name: f.metadata for f in dataclasses.fields(self)}[name]
        lo, hi = meta["lo"], meta["hi"]
        if name == "lut_pe_cols":
            hi = self.cols
        if name == "acc_width":
            # A product must fit the accumulator, otherwise "wraparound" would silently drop
            # product bits rather than only carries.
            lo = self.act_width + self.weight_width
        return lo, hi

    # Derived properties ------------------------------------------------------------------------

    @property
    def acc_signed(self):
        """Results are signed unless both operands are unsigned."""
        return self.act_signed or self.weight_signed

    @property
    def nm(self):
        """``(N, M)`` of ``nm_pattern``."""
        n, m = self.nm_pattern.split(":")
        return int(n), int(m)

    @property
    def sparse(self):
        """The array skips zeros (``sparsity`` is N:M)."""
        return self.sparsity != "dense"

    @property
    def k_per_fold(self):
        """K positions one weight fold covers: R, or R·M/N for an N:M sparse array."""
        if not self.sparse:
            return self.rows
        n, m = self.nm
        return self.rows * m // n

    @property
    def act_group(self):
        """Activations each PE receives: M for an N:M sparse array (it selects one), else 1."""
        return self.nm[1] if self.sparse else 1

    @property
    def requant_max_shift(self):
        """Largest requantisation shift: ``acc_width + requant_mult_width - 1``. A larger one
        would only ever give 0 or -1 from the ``acc_width + requant_mult_width``-bit product."""
        return self.acc_width + self.requant_mult_width - 1

    @property
    def multipliers(self):
        """Multipliers in the generated array (one per PE)."""
        return self.rows * self.cols

    @property
    def max_dim(self):
        """Largest M, K or N a command can carry."""
        return (1 << self.dim_width) - 1

    def check_gemm(self, m, k, n, *, allow_empty=True):
        """Raise :class:`ConfigError` unless a command for ``C[m×n] = A[m×k] · W[k×n]`` fits
        the command fields (``dim_width``); ``allow_empty=False`` also rejects 0 (which the
        engine accepts and ignores)."""
        lo = 0 if allow_empty else 1
        for name, value in zip("MKN", (m, k, n)):
            try:
                ok = not isinstance(value, bool) and lo <= operator.index(value) <= self.max_dim
            except TypeError:
                ok = False
            if not ok:
                raise ConfigError(f"{name} must be between {lo} and {self.max_dim} "
                                  f"(dim_width={self.dim_width}), not {value!r}")

    def operand_range(self, which):
        """``(lo, hi)`` inclusive range of ``"act"``, ``"weight"`` or ``"acc"`` values."""
        width, signed = {
            "act": (self.act_width, self.act_signed),
            "weight": (self.weight_width, self.weight_signed),
            "acc": (self.acc_width, self.acc_signed),
        }[which]
        if signed:
            return -(1 << (width - 1)), (1 << (width - 1)) - 1
        return 0, (1 << width) - 1

    # Serialisation -----------------------------------------------------------------------------

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        """Resolved configuration as deterministic JSON (sorted keys, trailing newline)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def digest(self):
        """Short hash of the configuration, used to key build caches."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes):
        """A copy with ``changes``. Fields that ``sparsity`` implies follow it: on an N:M
        sparse configuration, ``weight_format`` and ``nm_pattern`` are the sparsity's, so a
        new ``sparsity`` re-derives them (``"dense"`` restores their defaults) unless the
        change gives them too. Likewise ``primitives = "none"`` clears ``lut_pe_cols``, whose
        LUT PEs exist only beside primitives."""
        if "sparsity" in changes and self.sparse:
            for name in ("weight_format", "nm_pattern"):
                changes.setdefault(name, _FIELDS[name].default)
        if changes.get("primitives") == "none":
            changes.setdefault("lut_pe_cols", 0)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values, *, source="configuration"):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown parameter {unknown[0]!r} in {source}; "
                              f"known parameters: {', '.join(sorted(known))}")
        return cls(**values)


_FIELDS = {f.name: f for f in dataclasses.fields(ZeroskipConfig)}


def parameter_table():
    """``[(name, type, default, allowed, help)]`` for docs and ``--help``."""
    rows = []
    for f in dataclasses.fields(ZeroskipConfig):
        meta = f.metadata
        if meta["choices"] is not None:
            allowed = ", ".join(meta["choices"])
        elif f.type in (int, "int"):
            lo = meta["lo"] if meta["lo"] is not None else "act_width + weight_width"
            hi = meta["hi"] if meta["hi"] is not None else "cols"
            allowed = f"{lo} .. {hi}"
        elif f.type in (bool, "bool"):
            allowed = "true, false"
        else:
            allowed = "identifier"
        type_name = f.type if isinstance(f.type, str) else f.type.__name__
        rows.append((f.name, type_name, f.default, allowed, meta["help"]))
    return rows


def load_config(path=None, overrides=None):
    """Load a TOML file (if given) and apply ``overrides`` (a dict), returning the config.

    Raises :class:`ConfigError` on unreadable files, TOML syntax errors, unknown keys and invalid
    values.
    """
    values = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read config file {str(path)!r}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
        source = f"config file {str(path)!r}"
    else:
        source = "configuration"
    values.update(overrides or {})
    return ZeroskipConfig.from_dict(values, source=source)


def default_config():
    """The default configuration: every field at its default (8×8 int8 with int32
    accumulators, zero-gating and the output stage on). The field defaults are its only
    definition; ``zeroskip demo`` and every command without ``--config`` start from it."""
    return ZeroskipConfig()


def config_reference_markdown():
    """The configuration reference (``docs/configuration.md``), generated from the fields."""
    lines = ["# Configuration reference", "",
             "Generated from `zeroskip/config.py` by "
             "`python -c 'import zeroskip.config as c; print(c.config_reference_markdown(), end=\"\")'`."
             " Every parameter can be set in a TOML file (`--config F.toml`) or as a flag "
             "(`--act-width 4`); flags override the file.", "",
             "| parameter | flag | type | default | allowed | meaning |",
             "|---|---|---|---|---|---|"]
    for name, type_name, default, allowed, help_text in parameter_table():
        shown = str(default).lower() if isinstance(default, bool) else default
        lines.append(f"| `{name}` | `--{name.replace('_', '-')}` | {type_name} | `{shown}` | "
                     f"{allowed} | {help_text} |")
    lines += ["", "Derived: results are signed unless both operands are unsigned; "
              "multipliers = rows × cols; the largest M, K, N is `2**dim_width - 1`; with "
              "`output_stage`, a command's requantisation shift lies in "
              "`0 .. acc_width + requant_mult_width - 1` (`requant_max_shift`).", ""]
    return "\n".join(lines)
