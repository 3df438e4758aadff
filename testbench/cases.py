"""GEMM test cases: what the cocotb test runs, and what it reports back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

__all__ = ["GemmCase", "write_cases", "read_cases"]


@dataclass(frozen=True)
class GemmCase:
    """One GEMM run through the engine.

    ``act_kind``/``weight_kind`` are operand kinds of
    :func:`zeroskip.models.gemm.random_operands`, ``act_zeros``/``weight_zeros`` exact zero
    fractions (``None``: as the kind draws them); ``stall`` is the probability of an idle cycle
    on every input stream and of backpressure on ``results`` (each stream seeded apart).
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

    @property
    def name(self):
        kinds = "" if (self.act_kind, self.weight_kind) == ("random", "random") else \
            f"-{self.act_kind}x{self.weight_kind}"
        stall = f"-stall{self.stall:g}" if self.stall else ""
        zeros = "".join(f"-{name}{value:g}" for name, value in
                        (("az", self.act_zeros), ("wz", self.weight_zeros)) if value is not None)
        return f"{self.m}x{self.k}x{self.n}-s{self.seed}{kinds}{zeros}{stall}"


def write_cases(path, cases):
    with open(path, "w") as f:
        json.dump([asdict(c) for c in cases], f, indent=1)


def read_cases(path):
    with open(path) as f:
        return [GemmCase(**c) for c in json.load(f)]
