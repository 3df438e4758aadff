"""What both test harnesses (the cocotb endpoints and the stream player) share: the pause
seeds of each stream, the cycle budget, and the check of a finished GEMM against NumPy and
the cycle model. One definition, so that the two harnesses judge a run the same way."""

import math

import numpy as np

from zeroskip.models.gemm import gemm_reference
from zeroskip.models.requant import requantize
from zeroskip.models.streams import unpack_results

from .cases import case_bias
from .payloads import decode_results

__all__ = ["STREAMS", "pause_seed", "expected_results", "cycle_budget", "idle_limit",
           "case_report", "timeout_report"]

# The engine's streams, in the order their pause seeds are numbered.
STREAMS = ("cmd", "weights", "activations", "results")


def pause_seed(case, stream):
    """The seed of ``stream``'s pause pattern in ``case`` (each stream seeded apart)."""
    return case.seed * 16 + STREAMS.index(stream)


def expected_results(cfg, case, a, w):
    """``C`` as the engine must deliver it: the wrapped GEMM (plus the case's biases),
    requantised if the case asks."""
    expected = gemm_reference(cfg, a, w, case_bias(cfg, case))
    if case.requant is not None:
        mult, shift, relu = case.requant
        expected = requantize(expected, mult, shift, relu=relu, out_width=cfg.out_width,
                              rounding=cfg.requant_rounding)
    return expected


def cycle_budget(model_cycles, stall):
    """Cycles after which a run counts as hung: four times what the cycle model predicts,
    stretched by the stall probability (each stream then moves a word in a ``1 - stall``
    share of cycles), plus a margin for the shortest GEMMs."""
    return math.ceil(4 * model_cycles / (1.0 - stall)) + 1000


def idle_limit(cfg, stall):
    """Cycles without a transfer on any stream after which a run counts as deadlocked. An
    unstalled engine never goes more than its result path (about R + C + 10 cycles) without
    one; stalls stretch that by ``1 / (1 - stall)``."""
    return math.ceil((1000 + 16 * (cfg.rows + cfg.cols)) / (1.0 - stall))


def _base(case, model_cycles):
    return {"name": case.name, "m": case.m, "k": case.k, "n": case.n, "stall": case.stall,
            "model_cycles": model_cycles}


def timeout_report(case, model_cycles, error):
    """The report of a run that ended without its last result; ``error`` says why and names
    the stream that stalled."""
    return {**_base(case, model_cycles), "passed": False, "cycles": None, "error": error,
            "result_rows": None}


def case_report(cfg, case, a, w, result_words, cycles, sent, model_cycles):
    """Judge a finished run: ``result_words`` (payload integers in arrival order),
    ``cycles`` (command transfer to last result transfer, both included) and ``sent``
    (``{"weights": (taken, total), "activations": (taken, total)}``). Saves the result
    matrix to ``case.results_out`` when set. Returns the case's report dict."""
    data, last = decode_results(cfg, result_words)
    errors = []
    try:
        got = unpack_results(cfg, data, case.m, case.k, case.n)
    except ValueError as e:
        errors.append(str(e))
    else:
        if case.results_out:
            np.save(case.results_out, got)
        expected = expected_results(cfg, case, a, w)
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)
            i, j = bad[0]
            errors.append(f"{len(bad)} of {got.size} results differ; first C[{i},{j}] = "
                          f"{got[i, j]}, expected {expected[i, j]}")
    if last.count(True) != 1:
        errors.append(f"'last' set on {last.count(True)} rows, expected 1")
    (w_sent, w_total), (a_sent, a_total) = sent["weights"], sent["activations"]
    if w_sent != w_total or a_sent != a_total:
        errors.append(f"engine consumed {w_sent}/{w_total} weight words and "
                      f"{a_sent}/{a_total} activation rows")
    if not case.stall and cycles != model_cycles:
        errors.append(f"RTL took {cycles} cycles, cycle model predicts {model_cycles}")
    return {**_base(case, model_cycles), "passed": not errors, "cycles": cycles,
            "error": "; ".join(errors) or None, "result_rows": len(data)}
