"""The cycle model's structure and the SCALE-Sim reference formula (the RTL comparison is in tests/hdl/test_engine.py)."""

from zeroskip import ZeroskipConfig
from zeroskip.models.cycles import (
    predict_cycles,
    scalesim_ws_cycles,
    weight_reload_interval,
)


def test_cycle_model_structure():
    cfg = ZeroskipConfig(rows=4, cols=4)
    # One fold: R cycles of weight load, M rows, result path.
    one = predict_cycles(cfg, 10, 4, 4)
    assert predict_cycles(cfg, 11, 4, 4) == one + 1
    # Folds with M >= reload interval cost exactly M each: weight loading is hidden.
    m = 4 * weight_reload_interval(cfg)
    assert predict_cycles(cfg, m, 8, 4) - predict_cycles(cfg, m, 4, 4) == m
    # Short folds are bound by the weight reload interval.
    assert predict_cycles(cfg, 2, 8, 4) - predict_cycles(cfg, 2, 4, 4) == \
        weight_reload_interval(cfg)
    assert predict_cycles(cfg, 0, 4, 4) == 0


def test_scalesim_formula():
    cfg = ZeroskipConfig(rows=8, cols=8)
    assert scalesim_ws_cycles(cfg, 64, 64, 64) == 64 * (16 + 8 + 64 - 2)
    assert scalesim_ws_cycles(cfg, 1, 9, 9) == 4 * (16 + 8 + 1 - 2)
