"""GEMM test cases: what the cocotb test runs, and what it reports back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["GemmCase", "RESET_PHASES", "write_cases", "read_cases", "case_operands",
           "case_bias", "check_case", "smoke_cases"]

RESET_PHASES = ("load", "stream", "drain", "fifo_full")


@dataclass(frozen=True)
class GemmCase:
    """One GEMM run through the engine.

    ``act_kind``/``weight_kind`` are operand kinds of
    :func:`zeroskip.models.gemm.random_operands`, ``act_zeros``/``weight_zeros`` exact zero
    fractions (``None``: as the kind draws them); ``stall`` is the probability of an idle cycle
    on every input stream and of backpressure on ``results`` (each stream seeded apart).

    ``requant`` is ``(mult, shift, relu)`` for an engine with ``output_stage``: the command
    requantises and the expected results are
    :func:`~zeroskip.models.requant.requantize` of the accumulators; ``None`` sends
    ``requant = 0`` (raw accumulators). ``operands`` is the path of an ``.npz`` with integer
    arrays ``a`` (M×K) and ``w`` (K×N) used instead of random operands (see
    :meth:`from_operands`), and for an engine with ``bias`` optionally ``b`` (N biases).
    ``bias_kind`` is the operand kind of the biases drawn otherwise (``cfg.bias`` only). ``results_out``, if set, is where the test saves the RTL's result
    matrix (``.npy``, int64, M×N), whether or not it matched.
    """

    m: int
    k: int
    n: int
    seed: int = 0
    act_kind: str = "random"
    weight_kind: str = "random"
    stall: float = 0.0
    act_zeros: float | None = None
    weight_zeros: float | None = None
    requant: tuple | None = None
    operands: str | None = None
    results_out: str | None = None
    reset_phase: str | None = None
    bias_kind: str = "random"

    def __post_init__(self):
        if self.reset_phase is not None and self.reset_phase not in RESET_PHASES:
            raise ValueError(f"reset_phase must be one of {', '.join(RESET_PHASES)}, not "
                             f"{self.reset_phase!r}")
        if self.requant is not None:
            if len(self.requant) != 3:
                raise ValueError(f"requant must be (mult, shift, relu), not {self.requant!r}")
            # JSON gives a list, callers may give NumPy integers: keep the case hashable and
            # serialisable, and leave range checks to check_case.
            mult, shift, relu = (int(x) if isinstance(x, (int, np.integer, np.bool_)) else x
                                 for x in self.requant)
            object.__setattr__(self, "requant", (mult, shift, relu))

    @classmethod
    def from_operands(cls, path, **fields):
        """A case running the operands of ``path`` (``.npz`` with ``a`` and ``w``), its M, K,
        N taken from their shapes."""
        a, w = _load_npz(path)
        return cls(m=a.shape[0], k=a.shape[1], n=w.shape[1], operands=str(path), **fields)

    @property
    def name(self):
        kinds = "" if (self.act_kind, self.weight_kind) == ("random", "random") else \
            f"-{self.act_kind}x{self.weight_kind}"
        stall = f"-stall{self.stall:g}" if self.stall else ""
        zeros = "".join(f"-{name}{value:g}" for name, value in
                        (("az", self.act_zeros), ("wz", self.weight_zeros)) if value is not None)
        requant = ""
        if self.requant is not None:
            mult, shift, relu = self.requant
            requant = f"-rq{mult}s{shift}{'relu' if relu else ''}"
        operands = f"-{Path(self.operands).stem}" if self.operands else ""
        reset = f"-reset-{self.reset_phase}" if self.reset_phase else ""
        bias = "" if self.bias_kind == "random" else f"-b{self.bias_kind}"
        return (f"{self.m}x{self.k}x{self.n}-s{self.seed}{kinds}{zeros}{operands}{bias}"
                f"{requant}{stall}{reset}")


def _load_npz(path):
    try:
        with np.load(path) as f:
            missing = [key for key in ("a", "w") if key not in f.files]
            if missing:
                raise ValueError(f"operands file {str(path)!r} has no array {missing[0]!r} "
                                 f"(needs 'a' M×K and 'w' K×N; has {sorted(f.files)})")
            a, w = f["a"], f["w"]
    except OSError as e:
        raise ValueError(f"cannot read operands file {str(path)!r}: {e}") from None
    for key, array in (("a", a), ("w", w)):
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"operands file {str(path)!r}: {key!r} must be a 2-D integer array, "
                             f"not {array.ndim}-D {array.dtype}")
    if a.shape[1] != w.shape[0]:
        raise ValueError(f"operands file {str(path)!r}: 'a' is {a.shape[0]}×{a.shape[1]} and "
                         f"'w' is {w.shape[0]}×{w.shape[1]}; K must agree")
    return a.astype(np.int64), w.astype(np.int64)


def case_operands(cfg, case):
    """``(A, W)`` of ``case``: from its ``operands`` file, checked against the case's shape
    and ``cfg``'s operand ranges, or seeded random operands. Raises ``ValueError``."""
    from zeroskip.models.gemm import random_operands

    if case.operands is None:
        return random_operands(cfg, case.m, case.k, case.n, seed=case.seed,
                               act_kind=case.act_kind, weight_kind=case.weight_kind,
                               act_zeros=case.act_zeros, weight_zeros=case.weight_zeros)
    a, w = _load_npz(case.operands)
    if a.shape != (case.m, case.k) or w.shape != (case.k, case.n):
        raise ValueError(f"operands file {case.operands!r}: 'a' is {a.shape[0]}×{a.shape[1]} "
                         f"and 'w' {w.shape[0]}×{w.shape[1]}, but the case is "
                         f"M={case.m}, K={case.k}, N={case.n}")
    for key, array, which in (("a", a, "act"), ("w", w, "weight")):
        lo, hi = cfg.operand_range(which)
        if array.size and (array.min() < lo or array.max() > hi):
            raise ValueError(f"operands file {case.operands!r}: {key!r} values must lie in "
                             f"[{lo}, {hi}] ({which}_width {getattr(cfg, which + '_width')}, "
                             f"{'signed' if getattr(cfg, which + '_signed') else 'unsigned'}), "
                             f"found {int(array.min())}..{int(array.max())}")
    if cfg.weight_format == "nm":
        from zeroskip.models.codecs import prune_nm

        if not np.array_equal(prune_nm(w, *cfg.nm), w):
            raise ValueError(f"operands file {case.operands!r}: 'w' is not {cfg.nm_pattern} "
                             f"sparse (at most {cfg.nm[0]} non-zeros in every {cfg.nm[1]} "
                             f"consecutive K positions of a column), as this engine needs")
    return a, w


def case_bias(cfg, case):
    """The N biases of ``case`` on an engine with ``bias`` (``None`` without): the operands
    file's ``b`` if it has one, otherwise seeded ones of ``case.bias_kind``. Raises
    ``ValueError`` naming the file for a ``b`` that does not fit."""
    from zeroskip.models.gemm import random_bias
    from zeroskip.models.streams import check_bias

    if not cfg.bias:
        return None
    if case.operands is not None:
        with np.load(case.operands) as f:
            if "b" in f.files:
                try:
                    return check_bias(cfg, f["b"], case.n)
                except ValueError as e:
                    raise ValueError(f"operands file {case.operands!r}: {e}") from None
    return random_bias(cfg, case.n, seed=case.seed, kind=case.bias_kind)


def check_case(cfg, case):
    """Raise ``ValueError`` if ``case`` cannot run on ``cfg`` (dimensions beyond
    ``dim_width``, requant parameters, operands), before any simulator starts."""
    from zeroskip.config import ConfigError
    from zeroskip.models.requant import check_requant

    try:
        cfg.check_gemm(case.m, case.k, case.n)
    except ConfigError as e:
        raise ValueError(f"case {case.name}: {e}") from None
    check_requant(cfg, case.requant)
    if case.operands is not None:
        case_operands(cfg, case)
    case_bias(cfg, case)


def write_cases(path, cases):
    with open(path, "w") as f:
        json.dump([asdict(c) for c in cases], f, indent=1)


def read_cases(path):
    with open(path) as f:
        return [GemmCase(**c) for c in json.load(f)]


def smoke_cases(cfg):
    """A short run that touches every part of ``cfg``'s engine: a ragged GEMM over more than
    one fold in each dimension, one with pauses on every stream, and with an output stage a
    requantised one with ReLU. ``zeroskip generate`` writes it for the FuseSoC core's
    ``sim`` target."""
    r, c = cfg.k_per_fold, cfg.cols

    def case(m, k, n, **fields):
        # As large as the command fields allow (dim_width may be a few bits).
        return GemmCase(m=min(m, cfg.max_dim), k=min(k, cfg.max_dim), n=min(n, cfg.max_dim),
                        **fields)

    cases = [case(5, r + 3, c + 1, seed=1), case(7, 2 * r + 1, c + 2, seed=2, stall=0.3)]
    if cfg.output_stage:
        requant = (1 << (cfg.requant_mult_width - 1), min(12, cfg.requant_max_shift), True)
        cases.append(case(4, r + 1, c, seed=3, requant=requant))
    return cases
