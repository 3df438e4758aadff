"""The stream player's run files: written before a run, read after it.

A run folder holds every case of one simulator invocation (formats in
:mod:`zeroskip.testbench.player_verilog`). Payload words are written fold by fold straight
from the operand matrices, so a long GEMM never becomes a Python list of words; results are
read back as the integers the check needs.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zeroskip.models.cycles import predict_cycles
from zeroskip.models.streams import activation_blocks, result_row_count, weight_blocks
from zeroskip.models.wire import compressed_weight_words

from .cases import case_bias, case_operands
from .checks import STREAMS, cycle_budget, idle_limit, pause_seed
from .endpoints import pause_bits
from .payloads import command_word, compressed_words, int_bytes, lane_bytes
from .player_verilog import END_REASONS, PLAYER_FORMAT, payload_widths

__all__ = ["PlayerFileError", "PlannedCase", "CaseOutcome", "write_run", "read_outcomes",
           "stall_message", "RUN_FILES"]

RUN_FILES = ("player.manifest", "cmd.bin", "weights.bin", "activations.bin",
             *(f"pause_{s}.bin" for s in STREAMS), "results.hex", "player.report")


class PlayerFileError(RuntimeError):
    """The run files and the player do not belong together, or a file is missing or short;
    the message names the file and what does not match."""


@dataclass
class PlannedCase:
    """A case as written: its operands, what the cycle model predicts, the words on each
    input stream and the limits the player stops at."""

    case: object
    a: np.ndarray
    w: np.ndarray
    model_cycles: int
    weight_words: int
    activation_words: int
    budget: int
    idle_limit: int


@dataclass
class CaseOutcome:
    """How the player ended a case (the report line), with the result words it received.
    ``handshake`` gives per stream ``(valid, ready)`` as the case ended."""

    reason: str
    start: int
    stop: int
    cycles_run: int
    sent: dict
    last_transfer: dict
    handshake: dict
    results: list

    @property
    def cycles(self):
        """Command transfer to last result transfer, both included (``None`` unless the case
        finished)."""
        return self.stop - self.start + 1 if self.reason == "done" else None


def _nbytes(bits):
    return -(-bits // 8)


def _write_weights(cfg, w, m, f, nbytes):
    """Write the ``weights`` stream of one case; returns its word count."""
    if cfg.weight_format != "dense":
        words = compressed_words(cfg, compressed_weight_words(cfg, w, m).words)
        f.write(int_bytes(words, nbytes))
        return len(words)
    count = 0
    for block in weight_blocks(cfg, w, m):
        if cfg.sparse:  # never on the wire: a sparse engine takes N:M words (nm format)
            raise AssertionError("dense weight rows for a sparse engine")
        f.write(lane_bytes(block, cfg.weight_width, nbytes))
        count += len(block)
    return count


def _write_activations(cfg, a, n, bias, f, nbytes):
    count = 0
    for block in activation_blocks(cfg, a, n, bias):
        f.write(lane_bytes(block, cfg.act_width, nbytes))
        count += len(block)
    return count


def write_run(cfg, cases, run_dir):
    """Write the run files of ``cases`` into ``run_dir`` (replacing an earlier run's) and
    return one :class:`PlannedCase` per case."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    widths = payload_widths(cfg)
    planned, lines = [], []
    offsets = dict.fromkeys(STREAMS, 0)
    files = {s: open(run_dir / f"pause_{s}.bin", "wb") for s in STREAMS}
    try:
        with open(run_dir / "cmd.bin", "wb") as f_cmd, \
                open(run_dir / "weights.bin", "wb") as f_w, \
                open(run_dir / "activations.bin", "wb") as f_a:
            for case in cases:
                a, w = case_operands(cfg, case)
                f_cmd.write(int_bytes([command_word(cfg, case.m, case.k, case.n,
                                                    case.requant)], _nbytes(widths["cmd"])))
                n_w = _write_weights(cfg, w, case.m, f_w, _nbytes(widths["weights"]))
                n_a = _write_activations(cfg, a, case.n, case_bias(cfg, case), f_a,
                                         _nbytes(widths["activations"]))
                model = predict_cycles(cfg, case.m, case.k, case.n, w)
                budget = cycle_budget(model, case.stall)
                limit = idle_limit(cfg, case.stall)
                pause_on, pause_at = [], []
                for s in STREAMS:
                    pause_at.append(offsets[s])
                    pause_on.append(int(bool(case.stall)))
                    if case.stall:
                        # A stream draws at most one pause per cycle of the budget.
                        bits = pause_bits(case.stall, pause_seed(case, s), budget)
                        packed = np.packbits(bits, bitorder="little").tobytes()
                        files[s].write(packed)
                        offsets[s] += len(packed)
                lines.append(" ".join(str(x) for x in (n_w, n_a, budget, limit, *pause_on,
                                                       *pause_at)))
                planned.append(PlannedCase(case, a, w, model, n_w, n_a, budget, limit))
    finally:
        for f in files.values():
            f.close()
    header = (f"zeroskip-player {PLAYER_FORMAT} {cfg.digest()} {widths['cmd']} "
              f"{widths['weights']} {widths['activations']} {widths['results']} "
              f"{len(cases)}")
    (run_dir / "player.manifest").write_text("\n".join([header, *lines]) + "\n")
    return planned


def read_outcomes(cfg, run_dir, planned):
    """The :class:`CaseOutcome` of every case the player reported, in order. Raises
    :class:`PlayerFileError` if the player refused the files or stopped early."""
    run_dir = Path(run_dir)
    report = run_dir / "player.report"
    if not report.exists():
        raise PlayerFileError(f"the player wrote no report in {str(run_dir)!r}; see "
                              f"{str(run_dir / 'sim.log')!r}")
    lines = report.read_text().splitlines()
    for line in lines:
        if line.startswith("error "):
            kind, _, message = line[len("error "):].partition(": ")
            raise PlayerFileError(f"the player refused the run files ({kind}): {message}")
    if len(lines) != len(planned):
        raise PlayerFileError(f"the player reported {len(lines)} of {len(planned)} cases; "
                              f"see {str(run_dir / 'sim.log')!r}")
    outcomes = []
    with open(run_dir / "results.hex") as results:
        for line, plan in zip(lines, planned):
            f = [int(x) for x in line.split()[1:]]
            _, reason, start, stop, cycles_run = f[:5]
            streams = {}
            for i, name in enumerate(("cmd", "weights", "activations")):
                sent, total, last, valid, ready = f[5 + 5 * i:10 + 5 * i]
                streams[name] = (sent, total, last, bool(valid), bool(ready))
            got, r_last, r_valid, r_ready = f[20:24]
            words = [int(results.readline(), 16) for _ in range(got)]
            outcomes.append(CaseOutcome(
                reason=END_REASONS[reason], start=start, stop=stop, cycles_run=cycles_run,
                sent={name: (v[0], v[1]) for name, v in streams.items()},
                last_transfer={**{name: v[2] for name, v in streams.items()},
                               "results": r_last},
                handshake={**{name: (v[3], v[4]) for name, v in streams.items()},
                           "results": (bool(r_valid), bool(r_ready))},
                results=words))
    return outcomes


def stall_message(cfg, plan, outcome):
    """Why a case ended without its last result, naming the stream that stalled: an input
    whose word the engine no longer takes, an input that ran out of words while the engine
    asks for more, or the results."""
    rows = result_row_count(cfg, plan.case.m, plan.case.k, plan.case.n)
    counts = (f"command {outcome.sent['cmd'][0]}/1, weights {outcome.sent['weights'][0]}/"
              f"{plan.weight_words}, activations {outcome.sent['activations'][0]}/"
              f"{plan.activation_words}, results {len(outcome.results)}/{rows}")
    if outcome.reason == "data":
        return (f"the run files end before the words the manifest promises ({counts}): "
                f"they do not belong to this configuration's player")
    why = {"budget": f"the cycle budget of {plan.budget} cycles (from the cycle model's "
                     f"{plan.model_cycles}) ran out",
           "idle": f"no stream moved for {plan.idle_limit} cycles"}[outcome.reason]
    # A stream that ran dry is a cause; an engine that stops taking a stream's words is
    # often a consequence (of results not taken, or of another stream running dry).
    dry, refused = [], []
    for name in ("cmd", "weights", "activations"):
        (sent, total), (valid, ready) = outcome.sent[name], outcome.handshake[name]
        if sent < total and valid and not ready:
            refused.append((outcome.last_transfer[name],
                            f"the engine stopped taking {name} at word {sent + 1} of {total}"))
        elif sent == total and ready and name != "cmd":
            dry.append((outcome.last_transfer[name],
                        f"{name} ran dry: the engine took all {total} words and asks for "
                        f"more"))
    stalls = dry or refused
    if stalls:
        since, what = min(stalls)
    else:
        since, what = outcome.last_transfer["results"], "results stalled"
        if outcome.handshake["results"] == (True, False):
            what += " (a row is on offer but not taken)"
    when = f"the last transfer at cycle {since}" if since >= 0 else "no transfer at all"
    note = "; results are not being taken" if stalls and \
        outcome.handshake["results"] == (True, False) else ""
    return (f"deadlock after {outcome.cycles_run} cycles: {why}; {what} ({when}){note}; "
            f"{counts}")
