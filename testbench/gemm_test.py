"""cocotb test of the generated GEMM engine against the NumPy models.

Run through :func:`zeroskip.testbench.runner.simulate`, which passes, by environment:
``ZEROSKIP_CONFIG`` (resolved configuration JSON), ``ZEROSKIP_CASES`` (cases JSON) and
``ZEROSKIP_RESULTS`` (where the per-case results are written as JSON).
"""

import json
import logging
import os

import cocotb
from cocotb.triggers import FallingEdge

from zeroskip.config import ZeroskipConfig
from zeroskip.models.cycles import predict_cycles
from zeroskip.models.streams import pack_activations
from zeroskip.wire_fields import bias_beats

from .cases import case_bias, case_operands, read_cases
from .checks import case_report, cycle_budget, pause_seed, timeout_report
from .endpoints import StreamSink, StreamSource, always_paused, no_pauses, random_pauses
from .harness import start_clock_and_reset
from .payloads import activation_words, command_word, result_last_bit, weights_stream_words

log = logging.getLogger("tb.gemm")


def _pauses(case, stream):
    if not case.stall:
        return no_pauses()
    return random_pauses(case.stall, seed=pause_seed(case, stream))


def _phase_reached(phase, cfg, cmd, weights, acts, results, idle_acts):
    """Whether a run has reached ``phase`` (see :class:`~zeroskip.testbench.cases.GemmCase`)."""
    if phase == "load":
        # No activation row yet (an engine with biases takes a tile's bias rows first).
        return cmd.done and weights.sent >= 1 and acts.sent <= (bias_beats(cfg) if cfg.bias
                                                                else 0)
    if phase == "stream":
        return max(1, acts.total // 2) <= acts.sent < acts.total
    if phase == "drain":
        return acts.done and len(results.received) >= 1
    # fifo_full: results held back, the engine has stopped taking activations for longer
    # than anything in flight needs to reach the FIFO.
    return (not acts.done and results.offered
            and idle_acts > 2 * (cfg.rows + cfg.cols) + 20)


async def run_reset_case(dut, cfg, case, ports):
    """Start a GEMM, assert reset once it reaches ``case.reset_phase``, and check that
    afterwards no result row comes out and a command would be accepted."""
    cmd, weights, acts, results = ports
    a, w = case_operands(cfg, case)
    cmd.start([command_word(cfg, case.m, case.k, case.n, case.requant)], _pauses(case, "cmd"))
    weights.start(weights_stream_words(cfg, w, case.m), _pauses(case, "weights"))
    acts.start(activation_words(cfg, pack_activations(cfg, a, case.n, case_bias(cfg, case))),
               _pauses(case, "activations"))
    results.start(always_paused() if case.reset_phase == "fifo_full" else _pauses(case, "results"))
    model_cycles = predict_cycles(cfg, case.m, case.k, case.n, w)
    report = {"name": case.name, "m": case.m, "k": case.k, "n": case.n, "stall": case.stall,
              "model_cycles": model_cycles, "cycles": None, "reset_phase": case.reset_phase}
    last_bit = result_last_bit(cfg)
    reached, idle_acts = None, 0
    for cycle in range(cycle_budget(model_cycles, case.stall)):
        await FallingEdge(dut.clk)
        cmd.step()
        weights.step()
        idle_acts = 0 if acts.step() else idle_acts + 1
        word = results.step()
        if word is not None and (word >> last_bit) & 1:
            break
        if _phase_reached(case.reset_phase, cfg, cmd, weights, acts, results, idle_acts):
            reached = cycle
            break
    if reached is None:
        report.update(passed=False, error=f"the run never reached phase "
                                          f"{case.reset_phase!r} (weights sent "
                                          f"{weights.sent}, activations {acts.sent}, "
                                          f"results {len(results.received)})")
        return report
    rows_before = len(results.received)
    dut.rst.value = 1
    for source in (cmd, weights, acts):
        source.abort()
    results.start(no_pauses())
    for _ in range(3):
        await FallingEdge(dut.clk)
        results.step()
    dut.rst.value = 0
    # Long enough for anything still in the array or the FIFO to come out, were it kept.
    results.start(no_pauses())
    for _ in range(4 * (cfg.rows + cfg.cols) + 40):
        await FallingEdge(dut.clk)
        results.step()
    errors = []
    if results.received:
        errors.append(f"{len(results.received)} stale result rows after the reset")
    if not dut.cmd__ready.value:
        errors.append("the engine does not take a command after the reset")
    report.update(passed=not errors, error="; ".join(errors) or None, reset_at=reached,
                  result_rows=rows_before)
    return report


async def run_case(dut, cfg, case, ports):
    """Drive one GEMM, return a result dict (passed, cycles, model_cycles, details)."""
    if case.reset_phase is not None:
        return await run_reset_case(dut, cfg, case, ports)
    cmd, weights, acts, results = ports
    a, w = case_operands(cfg, case)
    cmd.start([command_word(cfg, case.m, case.k, case.n, case.requant)], _pauses(case, "cmd"))
    weights.start(weights_stream_words(cfg, w, case.m), _pauses(case, "weights"))
    acts.start(activation_words(cfg, pack_activations(cfg, a, case.n, case_bias(cfg, case))),
               _pauses(case, "activations"))
    results.start(_pauses(case, "results"))

    model_cycles = predict_cycles(cfg, case.m, case.k, case.n, w)
    budget = cycle_budget(model_cycles, case.stall)
    cycle, start, end = 0, None, None
    last_bit = result_last_bit(cfg)
    while end is None:
        await FallingEdge(dut.clk)
        if cmd.step():
            start = cycle - 1  # transferred at the end of the previous cycle
        weights.step()
        acts.step()
        word = results.step()
        if word is not None and (word >> last_bit) & 1:
            end = cycle
        cycle += 1
        if cycle > budget:
            break
    # One more edge so the sources account for the last transfers.
    await FallingEdge(dut.clk)
    for source in (cmd, weights, acts):
        source.step()
    sent = {"weights": (weights.sent, weights.total), "activations": (acts.sent, acts.total)}
    for source in (cmd, weights, acts):
        source.start([])
    if end is None:
        return timeout_report(case, model_cycles,
                              f"timeout after {budget} cycles: {len(results.received)} result "
                              f"rows, weights sent {weights.sent}, activations sent "
                              f"{acts.sent}")
    return case_report(cfg, case, a, w, results.received, end - start + 1, sent, model_cycles)


@cocotb.test()
async def gemm_cases(dut):
    cfg = ZeroskipConfig.from_dict(json.loads(open(os.environ["ZEROSKIP_CONFIG"]).read()))
    cases = read_cases(os.environ["ZEROSKIP_CASES"])
    ports = (StreamSource(dut, "cmd"), StreamSource(dut, "weights"),
             StreamSource(dut, "activations"), StreamSink(dut, "results"))
    await start_clock_and_reset(dut)

    reports = []
    for case in cases:
        report = await run_case(dut, cfg, case, ports)
        log.info("%s: %s, %s cycles (model %s)%s", report["name"],
                 "passed" if report["passed"] else "FAILED", report["cycles"],
                 report["model_cycles"], f": {report['error']}" if report["error"] else "")
        reports.append(report)
        if report["cycles"] is None and case.reset_phase is None:
            break  # the engine is wedged; later cases would only time out too
    with open(os.environ["ZEROSKIP_RESULTS"], "w") as f:
        json.dump(reports, f, indent=1)
    failed = [r["name"] for r in reports if not r["passed"]]
    assert not failed and len(reports) == len(cases), f"failed cases: {', '.join(failed)}"
