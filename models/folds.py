"""The engine's fold order, shared by the stream packers and the cycle model."""

from dataclasses import dataclass

__all__ = ["Fold", "fold_sequence"]


@dataclass(frozen=True)
class Fold:
    m_base: int
    tile_rows: int
    n_base: int
    n_cols: int
    k_base: int
    k_rows: int
    first_k: bool
    last_k: bool


def fold_sequence(cfg, m, k, n):
    """Folds in engine order: ``for m tile: for n fold: for k fold`` (as ``hdl.folds``)."""
    if min(m, k, n) < 1:
        return []
    folds = []
    for m_base in range(0, m, cfg.acc_depth):
        for n_base in range(0, n, cfg.cols):
            for k_base in range(0, k, cfg.k_per_fold):
                folds.append(Fold(
                    m_base=m_base, tile_rows=min(cfg.acc_depth, m - m_base),
                    n_base=n_base, n_cols=min(cfg.cols, n - n_base),
                    k_base=k_base, k_rows=min(cfg.k_per_fold, k - k_base),
                    first_k=k_base == 0, last_k=k_base + cfg.k_per_fold >= k))
    return folds
