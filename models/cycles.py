"""Exact cycle model of the dense weight-stationary engine.

``predict_cycles`` returns the cycles from the command transfer to the last result transfer,
both included, when no stream stalls (every input stream always has data, ``results`` is
always ready). The tests compare it with the RTL for every shape they simulate.

Timeline (cycle 0 is the command transfer):

* the weight loader shifts fold 0's R rows in cycles 1..R; fold 0's first activation row is
  transferred in cycle ``R + 1``;
* fold f's rows are transferred in consecutive cycles ``h_f .. h_f + T_f - 1`` (``T_f`` rows of
  its M tile); the shadow chain is free ``R + C - 1`` cycles after ``h_f`` (the last PE has
  adopted the new weights), then the next fold's R rows take R cycles, so
  ``h_{f+1} = h_f + max(T_f, 2R + C - 1)``;
* the last row leaves ``RESULT_PATH`` cycles after its transfer: input register (1), array
  (R + C - 1), accumulator read and add (2), result FIFO (1).
"""

from .folds import fold_sequence

__all__ = ["predict_cycles", "scalesim_ws_cycles", "utilization", "result_path",
           "weight_reload_interval"]

# Result FIFO (amaranth.lib.fifo.SyncFIFOBuffered): written in cycle y, readable in y + 1.
FIFO_LATENCY = 1


def weight_reload_interval(cfg):
    """Minimum cycles between the first rows of consecutive folds (weights double-buffered)."""
    return (cfg.rows + cfg.cols - 1) + cfg.rows


def result_path(cfg):
    """Cycles from an activation row's transfer to its result's transfer."""
    return 1 + (cfg.rows + cfg.cols - 1) + 2 + FIFO_LATENCY


def predict_cycles(cfg, m, k, n):
    """Engine cycles for C[m×n] = A[m×k] · W[k×n] with no stalls (0 when a dimension is 0)."""
    folds = fold_sequence(cfg, m, k, n)
    if not folds:
        return 0
    h = cfg.rows + 1
    for f in folds[:-1]:
        h += max(f.tile_rows, weight_reload_interval(cfg))
    last_row = h + folds[-1].tile_rows - 1
    return last_row + result_path(cfg) + 1


def scalesim_ws_cycles(cfg, m, k, n):
    """SCALE-Sim v3's weight-stationary estimate: folds·(2R + C + M − 2),
    folds = ⌈K/R⌉·⌈N/C⌉ (next fold's weights not preloaded)."""
    r, c = cfg.rows, cfg.cols
    folds = -(-k // r) * -(-n // c)
    return folds * (2 * r + c + m - 2)


def utilization(cfg, m, k, n, cycles):
    """Useful MACs over multiplier-cycles: ``m·k·n / (R·C·cycles)``."""
    return (m * k * n) / (cfg.rows * cfg.cols * cycles) if cycles else 0.0
