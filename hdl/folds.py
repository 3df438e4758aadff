"""Fold sequencing: the order in which the engine walks the tiles of a GEMM."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import command_layout

__all__ = ["FoldSequencer"]


class FoldSequencer(wiring.Component):
    """Walks the folds of a GEMM in the order ``for m tile: for n fold: for k fold``.

    The same order is defined in :func:`zeroskip.models.folds.fold_sequence`; the weight loader
    and the activation injector each own one sequencer and meet at the shadow weights.

    Members
    -------
    dims : In(command_layout)
        M, K, N of the running command (held stable while running).
    restart : In(1)
        Return to the first fold.
    advance : In(1)
        Step to the next fold.
    m_base, n_base, k_base : Out
        First row, column and K position of the current fold.
    tile_rows : Out
        Rows of A in the current M tile: ``min(acc_depth, M - m_base)``.
    k_rows : Out
        K positions in the fold: ``min(R, K - k_base)``.
    n_cols : Out
        Output columns in the fold: ``min(C, N - n_base)``.
    first_k, last_k : Out(1)
        The fold is the first / last K fold of its output tile.
    last : Out(1)
        The fold is the final fold of the command.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        dim = unsigned(cfg.dim_width)
        super().__init__({
            "dims": In(command_layout(cfg)),
            "restart": In(1),
            "advance": In(1),
            "m_base": Out(dim),
            "n_base": Out(dim),
            "k_base": Out(dim),
            "tile_rows": Out(range(cfg.acc_depth + 1)),
            "k_rows": Out(range(cfg.k_per_fold + 1)),
            "n_cols": Out(range(cfg.cols + 1)),
            "first_k": Out(1),
            "last_k": Out(1),
            "last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, dims = self._cfg, self.dims
        tile = cfg.acc_depth
        last_m = Signal()
        last_n = Signal()
        m.d.comb += [
            last_m.eq(self.m_base + tile >= dims.m),
            last_n.eq(self.n_base + cfg.cols >= dims.n),
            self.last_k.eq(self.k_base + cfg.k_per_fold >= dims.k),
            self.first_k.eq(self.k_base == 0),
            self.last.eq(last_m & last_n & self.last_k),
            self.tile_rows.eq(Mux(last_m, dims.m - self.m_base, tile)),
            self.k_rows.eq(Mux(self.last_k, dims.k - self.k_base, cfg.k_per_fold)),
            self.n_cols.eq(Mux(last_n, dims.n - self.n_base, cfg.cols)),
        ]
        with m.If(self.restart):
            m.d.sync += [self.m_base.eq(0), self.n_base.eq(0), self.k_base.eq(0)]
        with m.Elif(self.advance):
            with m.If(~self.last_k):
                m.d.sync += self.k_base.eq(self.k_base + cfg.k_per_fold)
            with m.Else():
                m.d.sync += self.k_base.eq(0)
                with m.If(~last_n):
                    m.d.sync += self.n_base.eq(self.n_base + cfg.cols)
                with m.Else():
                    m.d.sync += [self.n_base.eq(0), self.m_base.eq(self.m_base + tile)]
        return m
