"""cocotb test of a weight decoder alone against the NumPy wire decoder.

Run through :func:`zeroskip.testbench.runner.simulate_decoder`. Each case is a dict with the
compressed ``words`` (ints), the number of ``rows`` to decode, a ``seed`` and the ``stall``
probability applied to both the words stream (idle cycles) and the rows stream (backpressure).
The decoder is restarted between cases, as the engine does between commands.
"""

import json
import logging
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from zeroskip.config import ZeroskipConfig
from zeroskip.models.wire import decode_weight_stream

from .payloads import compressed_words, decode_weight_rows
from .harness import start_clock_and_reset
from .endpoints import StreamSink, StreamSource, no_pauses, random_pauses

log = logging.getLogger("tb.decoder")


def _pauses(case, index):
    return random_pauses(case["stall"], case["seed"] * 4 + index) if case["stall"] else \
        no_pauses()


async def run_case(dut, cfg, case, words_in, rows_out):
    expected = decode_weight_stream(cfg, case["words"], case["rows"])
    dut.restart.value = 1
    await FallingEdge(dut.clk)
    dut.restart.value = 0
    words_in.start(compressed_words(cfg, case["words"]), _pauses(case, 0))
    rows_out.start(_pauses(case, 1))
    budget = 20 * (len(case["words"]) + case["rows"]) + 100
    for _ in range(budget):
        await FallingEdge(dut.clk)
        words_in.step()
        rows_out.step()
        if len(rows_out.received) == case["rows"]:
            break
    await FallingEdge(dut.clk)
    words_in.step()
    sent = words_in.sent
    words_in.start([])
    got = decode_weight_rows(cfg, rows_out.received)
    errors = []
    if len(got) != case["rows"]:
        errors.append(f"timeout: {len(got)} of {case['rows']} rows after {budget} cycles")
    elif not np.array_equal(got, expected):
        bad = np.argwhere(got != expected)[0]
        errors.append(f"row {bad[0]} lane {bad[1]}: decoder gave {got[tuple(bad)]}, NumPy "
                      f"decodes {expected[tuple(bad)]}")
    if sent != len(case["words"]):
        errors.append(f"decoder took {sent} of {len(case['words'])} words")
    return {"name": case["name"], "passed": not errors, "error": "; ".join(errors) or None}


@cocotb.test()
async def decoder_cases(dut):
    cfg = ZeroskipConfig.from_dict(json.loads(open(os.environ["ZEROSKIP_CONFIG"]).read()))
    cases = json.loads(open(os.environ["ZEROSKIP_CASES"]).read())
    words_in, rows_out = StreamSource(dut, "words"), StreamSink(dut, "rows")
    dut.restart.value = 0
    dut.stream_follows.value = 1
    await start_clock_and_reset(dut)
    reports = []
    for case in cases:
        report = await run_case(dut, cfg, case, words_in, rows_out)
        if not report["passed"]:
            log.error("%s: %s", report["name"], report["error"])
        reports.append(report)
    with open(os.environ["ZEROSKIP_RESULTS"], "w") as f:
        json.dump(reports, f, indent=1)
    failed = [r["name"] for r in reports if not r["passed"]]
    assert not failed, f"{len(failed)} of {len(cases)} cases failed, first {failed[0]}"
