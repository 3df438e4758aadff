"""The stream player's run files, without a simulator: the payload bytes are the words the
cocotb endpoints send, the manifest holds each case's counts and limits, the pause bits are
the endpoints' patterns, and a long GEMM is written without holding its stream in memory."""

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.models.cycles import predict_cycles
from zeroskip.models.streams import pack_activations
from zeroskip.testbench.cases import GemmCase, case_operands
from zeroskip.testbench.checks import STREAMS, cycle_budget, pause_seed
from zeroskip.testbench.endpoints import random_pauses
from zeroskip.testbench.payloads import activation_words, command_word, weights_stream_words
from zeroskip.testbench.player_files import PlayerFileError, read_outcomes, write_run
from zeroskip.testbench.player_verilog import PLAYER_FORMAT, payload_widths

CONFIGS = {
    "dense-3x2": ZeroskipConfig(rows=3, cols=2, acc_depth=4, output_stage=False),
    # Lanes of 5 and 7 bits: words that are not whole bytes.
    "u5s7-2x3": ZeroskipConfig(rows=2, cols=3, act_width=5, act_signed=False, weight_width=7,
                               acc_width=16, output_stage=False),
    "rle-2x3": ZeroskipConfig(rows=2, cols=3, weight_format="rle", output_stage=True),
    "sparse-2:4": ZeroskipConfig(rows=4, cols=2, sparsity="2:4", output_stage=False),
}


def _words(path, width):
    data = (path).read_bytes()
    nbytes = -(-width // 8)
    return [int.from_bytes(data[i:i + nbytes], "big") for i in range(0, len(data), nbytes)]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_payload_files_hold_the_endpoints_words_case_after_case(name, tmp_path):
    cfg = CONFIGS[name]
    cases = [GemmCase(2 * cfg.rows + 1, 2 * cfg.k_per_fold + 1, 2 * cfg.cols + 1, seed=1,
                      requant=(3, 2, 1) if cfg.output_stage else None),
             GemmCase(1, 1, 1, seed=2)]
    planned = write_run(cfg, cases, tmp_path)
    widths = payload_widths(cfg)
    expected = {"cmd": [], "weights": [], "activations": []}
    for case in cases:
        a, w = case_operands(cfg, case)
        expected["cmd"].append(command_word(cfg, case.m, case.k, case.n, case.requant))
        expected["weights"] += weights_stream_words(cfg, w, case.m)
        expected["activations"] += activation_words(cfg, pack_activations(cfg, a, case.n))
    for stream, words in expected.items():
        assert _words(tmp_path / f"{stream}.bin", widths[stream]) == words, stream
    assert [p.weight_words for p in planned] == [
        len(weights_stream_words(cfg, case_operands(cfg, c)[1], c.m)) for c in cases]


def test_the_manifest_holds_widths_counts_budgets_and_pause_offsets(tmp_path):
    cfg = CONFIGS["dense-3x2"]
    cases = [GemmCase(9, 7, 5, seed=1), GemmCase(4, 3, 2, seed=2, stall=0.4),
             GemmCase(5, 5, 5, seed=3, stall=0.1)]
    planned = write_run(cfg, cases, tmp_path)
    header, *lines = (tmp_path / "player.manifest").read_text().splitlines()
    widths = payload_widths(cfg)
    assert header.split() == ["zeroskip-player", str(PLAYER_FORMAT), cfg.digest(),
                              *(str(widths[s]) for s in STREAMS), "3"]
    offset = 0
    for line, plan, case in zip(lines, planned, cases):
        fields = [int(x) for x in line.split()]
        _, w = case_operands(cfg, case)
        model = predict_cycles(cfg, case.m, case.k, case.n, w)
        assert plan.model_cycles == model
        assert fields[:3] == [plan.weight_words, plan.activation_words,
                              cycle_budget(model, case.stall)]
        assert fields[4:8] == [int(bool(case.stall))] * 4
        assert fields[8:] == [offset] * 4
        offset += -(-fields[2] // 8) if case.stall else 0


def test_pause_bits_are_the_endpoints_patterns(tmp_path):
    cfg = CONFIGS["dense-3x2"]
    cases = [GemmCase(6, 4, 3, seed=5, stall=0.3), GemmCase(3, 3, 3, seed=6, stall=0.6)]
    planned = write_run(cfg, cases, tmp_path)
    for stream in STREAMS:
        bits = np.unpackbits(np.frombuffer((tmp_path / f"pause_{stream}.bin").read_bytes(),
                                           dtype=np.uint8), bitorder="little")
        start = 0
        for plan, case in zip(planned, cases):
            generator = random_pauses(case.stall, pause_seed(case, stream))
            drawn = [next(generator) for _ in range(plan.budget)]
            assert list(bits[start:start + plan.budget]) == drawn, stream
            start += -(-plan.budget // 8) * 8


def test_a_long_gemm_is_written_without_its_stream_in_memory(tmp_path):
    """128×384×1536 on 8×8 is 1.18 M activation words; the writer goes fold by fold."""
    import tracemalloc

    cfg = ZeroskipConfig(rows=8, cols=8)
    case = GemmCase(128, 384, 1536, seed=1)
    tracemalloc.start()
    (plan,) = write_run(cfg, [case], tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert plan.activation_words == 128 * (384 // 8) * (1536 // 8)
    assert (tmp_path / "activations.bin").stat().st_size == plan.activation_words * 8
    # The stream itself is 9.4 MB of bytes and would be over 100 MB as Python integers.
    assert peak < 40e6, peak


def test_a_missing_report_or_a_short_one_is_an_error(tmp_path):
    cfg = CONFIGS["dense-3x2"]
    planned = write_run(cfg, [GemmCase(2, 2, 2), GemmCase(3, 3, 3)], tmp_path)
    with pytest.raises(PlayerFileError, match="the player wrote no report"):
        read_outcomes(cfg, tmp_path, planned)
    (tmp_path / "player.report").write_text("case 0 0 0 10 11" + " 0" * 19 + "\n")
    (tmp_path / "results.hex").write_text("")
    with pytest.raises(PlayerFileError, match="the player reported 1 of 2 cases"):
        read_outcomes(cfg, tmp_path, planned)
