"""cocotb test of the AXI4-Stream top (:mod:`zeroskip.hdl.axis`) with cocotbext-axi's
``AxiStreamSource`` and ``AxiStreamSink``, against the NumPy models.

The bytes on every stream come from :mod:`zeroskip.host`, the functions a user's host code
calls, so the test checks them too. Per case: one frame on each slave stream (the weights'
ends at ``tlast`` when they are compressed), one frame expected back ending at ``tlast`` on
exactly the final result beat, results bit-exact, every input byte consumed, and nothing more
on ``m_axis_results`` afterwards. With ``stall``, every stream pauses at random (seeded
apart): the slaves see gaps in ``tvalid``, the results back-pressure on ``tready``. Without,
the cycles from the command's transfer to the last result's must be the cycle model's.

Run through :func:`zeroskip.testbench.runner.simulate_axis`, which passes
``ZEROSKIP_CONFIG``, ``ZEROSKIP_CASES`` and ``ZEROSKIP_RESULTS`` by environment.
"""

import itertools
import json
import logging
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from zeroskip.models.cycles import predict_cycles

from zeroskip.config import ZeroskipConfig
from zeroskip.host import pack_gemm, unpack_results

from .cases import case_bias, case_operands, read_cases
from .checks import cycle_budget, expected_results, pause_seed

log = logging.getLogger("tb.axis")

CLOCK_NS = 10
SLAVES = (("cmd", "s_axis_cmd"), ("weights", "s_axis_weights"),
          ("activations", "s_axis_activations"))


def _pauses(case, stream):
    rng = random.Random(pause_seed(case, stream))
    return (rng.random() < case.stall for _ in itertools.count())


class _Transfers:
    """Counts rising edges and notes the ones that transfer the command and the last
    result."""

    def __init__(self, dut):
        self.dut, self.cycle, self.cmd, self.last, self.lasts = dut, 0, None, None, 0

    async def run(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.aclk)
            self.cycle += 1
            if dut.s_axis_cmd_tvalid.value and dut.s_axis_cmd_tready.value:
                self.cmd = self.cycle
            if dut.m_axis_results_tvalid.value and dut.m_axis_results_tready.value \
                    and dut.m_axis_results_tlast.value:
                self.last, self.lasts = self.cycle, self.lasts + 1


async def run_case(dut, cfg, case, sources, sink, transfers):
    a, w = case_operands(cfg, case)
    gemm = pack_gemm(cfg, a, w, case.requant, case_bias(cfg, case))
    model_cycles = predict_cycles(cfg, case.m, case.k, case.n, w)
    report = {"name": case.name, "m": case.m, "k": case.k, "n": case.n, "stall": case.stall,
              "model_cycles": model_cycles, "cycles": None,
              "result_bytes": gemm.result_bytes}
    for stream, port in [*sources.items(), ("results", sink)]:
        if case.stall:
            port.set_pause_generator(_pauses(case, stream))
        else:
            # Clearing the generator leaves the last pause it drew in force.
            port.clear_pause_generator()
            port.pause = False
    transfers.cmd = transfers.last = None
    lasts_before = transfers.lasts
    for stream, payload in (("cmd", gemm.cmd), ("weights", gemm.weights),
                            ("activations", gemm.activations)):
        if payload:
            await sources[stream].send(AxiStreamFrame(payload))
    budget = cycle_budget(model_cycles, case.stall)
    errors = []
    if gemm.result_bytes == 0:
        # M, K or N is zero: the engine accepts the command and sends nothing.
        for _ in range(4 * (cfg.rows + cfg.cols) + 40):
            await RisingEdge(dut.aclk)
        if not sink.empty() or transfers.cmd is None:
            errors.append(f"an empty GEMM sent results ({sink.count()} frames) or left its "
                          f"command untaken (taken at {transfers.cmd})")
        report.update(passed=not errors, error="; ".join(errors) or None)
        return report
    try:
        frame = await with_timeout(sink.recv(), budget * CLOCK_NS, "ns")
    except cocotb.triggers.SimTimeoutError:
        report.update(passed=False, error=f"timeout after {budget} cycles: no frame ending "
                                          f"at tlast on m_axis_results")
        return report
    # Let anything that should not come out come out.
    for _ in range(4 * (cfg.rows + cfg.cols) + 40):
        await RisingEdge(dut.aclk)
    data = bytes(frame.tdata)
    if len(data) != gemm.result_bytes:
        errors.append(f"tlast after {len(data)} result bytes, expected {gemm.result_bytes}")
    else:
        got = unpack_results(cfg, data, case.m, case.k, case.n)
        expected = expected_results(cfg, case, a, w)
        if case.results_out:
            np.save(case.results_out, got)
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)
            i, j = bad[0]
            errors.append(f"{len(bad)} of {got.size} results differ; first C[{i},{j}] = "
                          f"{got[i, j]}, expected {expected[i, j]}")
    if not sink.empty():
        errors.append(f"{sink.count()} more frames on m_axis_results after the GEMM's")
    if transfers.lasts - lasts_before != 1:
        errors.append(f"tlast on {transfers.lasts - lasts_before} result beats, expected 1")
    for stream, source in sources.items():
        if not source.empty() or source.active:
            errors.append(f"{stream}: the engine left bytes of its frame unconsumed")
    cycles = None
    if transfers.cmd is not None and transfers.last is not None:
        cycles = transfers.last - transfers.cmd + 1
    if not case.stall and cycles != model_cycles:
        errors.append(f"RTL took {cycles} cycles, cycle model predicts {model_cycles}")
    report.update(passed=not errors, cycles=cycles, error="; ".join(errors) or None)
    return report


@cocotb.test()
async def axis_cases(dut):
    cfg = ZeroskipConfig.from_dict(json.loads(open(os.environ["ZEROSKIP_CONFIG"]).read()))
    cases = read_cases(os.environ["ZEROSKIP_CASES"])
    for name in ("cocotb", "cocotbext.axi"):
        logging.getLogger(name).setLevel(logging.WARNING)
    cocotb.start_soon(Clock(dut.aclk, CLOCK_NS, unit="ns").start())
    sources = {stream: AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), dut.aclk,
                                       dut.aresetn, reset_active_level=False)
               for stream, prefix in SLAVES}
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_results"), dut.aclk,
                         dut.aresetn, reset_active_level=False)
    transfers = _Transfers(dut)
    dut.aresetn.value = 0
    for _ in range(3):
        await RisingEdge(dut.aclk)
    dut.aresetn.value = 1
    cocotb.start_soon(transfers.run())
    reports = []
    for case in cases:
        report = await run_case(dut, cfg, case, sources, sink, transfers)
        log.info("%s: %s, %s cycles (model %s)%s", report["name"],
                 "passed" if report["passed"] else "FAILED", report["cycles"],
                 report["model_cycles"], f": {report['error']}" if report["error"] else "")
        reports.append(report)
        if not report["passed"] and report["cycles"] is None and report["result_bytes"]:
            break  # the engine is wedged; later cases would only time out too
    with open(os.environ["ZEROSKIP_RESULTS"], "w") as f:
        json.dump(reports, f, indent=1)
    failed = [r["name"] for r in reports if not r["passed"]]
    assert not failed and len(reports) == len(cases), f"failed cases: {', '.join(failed)}"
