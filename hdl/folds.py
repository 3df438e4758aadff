"""Fold sequencing: the order in which the engine walks the tiles of a GEMM."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FoldSequencer", "command_members", "add_fold_sequencer", "fold_state_layout",
           "first_fold"]


def command_members(cfg):
    """The command ports a block that walks the folds takes: ``start`` (a command is accepted
    this cycle), ``first_fold`` (the new command's first fold, :func:`first_fold`, in the
    ``start`` cycle) and ``running``."""
    return {"start": In(1), "first_fold": In(fold_state_layout(cfg)), "running": In(1)}


def add_fold_sequencer(m, block, cfg, *, spaced=False):
    """Add a :class:`FoldSequencer` to ``m`` as ``folds``, restarted by ``block.start`` with
    ``block``'s first fold (see :func:`command_members`); returns it. ``spaced``: as for
    :class:`FoldSequencer`."""
    m.submodules.folds = folds = FoldSequencer(cfg, spaced=spaced)
    m.d.comb += [folds.restart.eq(block.start), folds.first_fold.eq(block.first_fold)]
    return folds


def fold_state_layout(cfg):
    """A fold as the sequencer keeps it: each dimension's remainder from the fold on, its
    last-fold flag and count, the bases, and whether it is a first K fold."""
    width = cfg.dim_width + 1
    return data.StructLayout({
        "k_left": width, "n_left": width, "m_left": width,
        "last_k": 1, "last_n": 1, "last_m": 1, "first_k": 1,
        "k_rows": range(cfg.k_per_fold + 1), "n_cols": range(cfg.cols + 1),
        "tile_rows": range(cfg.acc_depth + 1), "tile_last": range(cfg.acc_depth),
        "k_base": cfg.dim_width, "n_base": cfg.dim_width, "m_base": cfg.dim_width,
    })


# Each dimension's fields in the fold state: what is left, whether this is its last fold, the
# fold's count (and for M the index of its last row).
_FIELDS = {"k": ("k_left", "last_k", "k_rows"), "n": ("n_left", "last_n", "n_cols"),
           "m": ("m_left", "last_m", "tile_rows", "tile_last")}


def _steps(cfg):
    return {"k": cfg.k_per_fold, "n": cfg.cols, "m": cfg.acc_depth}


def _first(cfg, dims):
    """The first fold of the command ``dims``, as a dict of field values."""
    out = {"first_k": 1, "k_base": 0, "n_base": 0, "m_base": 0}
    for d, step in _steps(cfg).items():
        extent = dims[d]
        single = extent <= step
        values = (extent, single, Mux(single, extent, step), Mux(single, extent - 1, step - 1))
        out.update(zip(_FIELDS[d], values))
    return out


def _step(cfg, state, first):
    """The fold after ``state`` (a dict of field values) in walk order, as a dict; ``first``
    holds the command's first fold (:func:`_first`), to which K and N return."""
    steps = _steps(cfg)
    step_k, step_n = ~state["last_k"], state["last_k"] & ~state["last_n"]
    out = {}
    for d, step in steps.items():
        left = state[f"{d}_left"]
        final = left <= 2 * step
        after = (left - step, final, Mux(final, left - step, step),
                 Mux(final, left - step - 1, step - 1))
        for key, value in zip(_FIELDS[d], after):
            # k steps within an output tile; at its end k restarts and n steps, and after
            # the last n fold n restarts and m steps.
            if d == "k":
                out[key] = Mux(step_k, value, first[key])
            elif d == "n":
                out[key] = Mux(step_n, value, Mux(step_k, state[key], first[key]))
            else:
                out[key] = Mux(step_k | step_n, state[key], value)
    kpf, cols, tile = steps["k"], steps["n"], steps["m"]
    out["first_k"] = ~step_k
    out["k_base"] = Mux(step_k, state["k_base"] + kpf, 0)
    out["n_base"] = Mux(step_k, state["n_base"], Mux(step_n, state["n_base"] + cols, 0))
    out["m_base"] = Mux(step_k | step_n, state["m_base"], state["m_base"] + tile)
    return out


def first_fold(m, cfg, dims, *, name="first_fold"):
    """A signal of :func:`fold_state_layout` driven from the command ``dims`` (``m``, ``k``,
    ``n``): its first fold. The engine computes it once, as the command enters its register
    stage, for every sequencer: a restart then only loads registers (computed at the restart,
    the compares and subtracts from the command's payload into both sequencers' fold
    registers were the 8×8 engine's critical path, 7.4-8.1 ns). The fold after it the
    sequencer steps to itself, in the cycle after the restart."""
    fold = Signal(fold_state_layout(cfg), name=name)
    m.d.comb += [fold[key].eq(value) for key, value in _first(cfg, dims).items()]
    return fold


class FoldSequencer(wiring.Component):
    """Walks the folds of a GEMM in the order ``for m tile: for n fold: for k fold``.

    The same order is defined in :func:`zeroskip.models.folds.fold_sequence`; the weight loader
    and the activation injector each own one sequencer and meet at the shadow weights.

    Parameters
    ----------
    cfg : ZeroskipConfig
    spaced : bool
        The block never advances in the cycle after a restart or an advance (the loader of
        an array of two rows or more, the injector). The advance then loads the outputs from
        the stored next fold alone, never from the step being computed.

    Members
    -------
    restart : In(1)
        Return to the first fold of the command, ``first_fold`` (outputs valid from the next
        cycle on).
    first_fold : In(fold_state_layout)
        The new command's first fold (:func:`first_fold`), read in the ``restart`` cycle
        only: the sequencer keeps it, and every later step returns K and N to it.
    advance : In(1)
        Step to the next fold.
    m_base, n_base, k_base : Out
        First row, column and K position of the current fold.

    Every output but ``next_single`` is registered.
    tile_rows : Out
        Rows of A in the current M tile: ``min(acc_depth, M - m_base)``.
    tile_last : Out
        ``tile_rows - 1``: the index of the tile's last row.
    k_rows : Out
        K positions in the fold: ``min(R, K - k_base)``.
    n_cols : Out
        Output columns in the fold: ``min(C, N - n_base)``.
    first_k, last_k : Out(1)
        The fold is the first / last K fold of its output tile.
    last : Out(1)
        The fold is the final fold of the command.
    next_single : Out(1)
        The fold after the current one has one row per fold (``tile_rows == 1``); valid
        whenever no step is pending, so at every advance of a spaced sequencer. Not a
        register: a compare on the stored next fold.
    """

    def __init__(self, cfg, *, spaced=False):
        self._cfg = cfg
        self._spaced = bool(spaced)
        dim = unsigned(cfg.dim_width)
        super().__init__({
            "restart": In(1),
            "first_fold": In(fold_state_layout(cfg)),
            "advance": In(1),
            "m_base": Out(dim),
            "n_base": Out(dim),
            "k_base": Out(dim),
            "tile_rows": Out(range(cfg.acc_depth + 1)),
            "tile_last": Out(range(cfg.acc_depth)),
            "k_rows": Out(range(cfg.k_per_fold + 1)),
            "n_cols": Out(range(cfg.cols + 1)),
            "first_k": Out(1),
            "last_k": Out(1),
            "last": Out(1),
            "next_single": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # Every output but next_single is a register, and the advance only loads registers.
        # The sequencer keeps the current fold (``fold``, of which only the outputs are
        # read) and the one after it (``next_fold``; while a step is pending, after an
        # advance or a restart, ``next_fold`` still holds the current fold and the one after
        # it is its step). An advance loads the fold after it into the outputs; the step to
        # the fold after that (one compare or subtract per field from ``next_fold``)
        # is stored a cycle later (``advance_pending``), so the advance, which comes from the
        # engine's handshakes, enables only the few output registers, and the wide
        # ``next_fold`` is enabled by a flip-flop: the 150 MHz goal leaves no room for a
        # handshake's fan-out onto every field. Each dimension keeps what is left of it from
        # the fold on (``*_left``).
        cfg = self._cfg
        layout = fold_state_layout(cfg)
        cur = Signal(layout, name="fold")
        nxt = Signal(layout, name="next_fold")
        pending = Signal(name="advance_pending")

        def store(target, values):
            m.d.sync += [target[key].eq(value) for key, value in values.items()]

        # The command's first fold, kept from the restart on: the steps take the first K and
        # N folds from these registers, not from compares on the held dimensions (the next
        # critical path at 8×8, 7.5 ns from the engine's command register).
        initial = Signal(layout, name="first_fold")
        stepped = _step(cfg, {name: nxt[name] for name in layout.members},
                        {name: initial[name] for name in layout.members})
        # The fold after the current one: next_fold, or, while its step is pending, the step.
        # Spaced advances never meet a pending step, so they load next_fold alone: from the
        # step's subtracts and compares through this multiplexer into the outputs was the
        # 8×8 engines' next critical path (6.7-7.1 ns).
        coming = {name: nxt[name] if self._spaced else Mux(pending, stepped[name], nxt[name])
                  for name in layout.members}
        # A restart loads the first fold into all three, with the step pending: the fold
        # after it is then stepped from next_fold like any other (and from a register:
        # stepped at the command's entry, the second subtract behind the first fold's compare
        # led an 8×8 placement from the command port, 7.3 ns).
        with m.If(self.restart):
            m.d.sync += [cur.eq(self.first_fold), initial.eq(self.first_fold),
                         nxt.eq(self.first_fold), pending.eq(1)]
        with m.Else():
            with m.If(self.advance):
                store(cur, coming)
            with m.If(pending):
                store(nxt, stepped)
            m.d.sync += pending.eq(self.advance)

        m.d.comb += [
            self.m_base.eq(cur.m_base), self.n_base.eq(cur.n_base), self.k_base.eq(cur.k_base),
            self.tile_rows.eq(cur.tile_rows), self.tile_last.eq(cur.tile_last),
            self.k_rows.eq(cur.k_rows), self.n_cols.eq(cur.n_cols),
            self.first_k.eq(cur.first_k), self.last_k.eq(cur.last_k),
            self.last.eq(cur.last_m & cur.last_n & cur.last_k),
            # A reduction, not `== 0`, which Amaranth writes as a logical not of the
            # field (Verilator's -Wall warns of its width).
            self.next_single.eq(~nxt.tile_last.any()),
        ]
        return m
