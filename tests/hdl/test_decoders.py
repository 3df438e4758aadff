"""Each weight decoder alone, on Icarus and Verilator, against the NumPy wire decoder: 1000
Hypothesis-drawn row streams plus adversarial ones, with random stalls on both streams.

Hypothesis draws the cases up front and one simulation runs them all (a simulation per example
would take hours); a failure names the case, which can be replayed with ``simulate_decoder``.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from zeroskip.models import wire
from zeroskip.models.codecs import prune_nm
from zeroskip.testbench.runner import simulate_decoder

from ..conftest import require_simulator
from ..strategies import WIRE_CONFIGS, weight_row_streams

STALLS = (0.0, 0.3, 0.7)


def _hypothesis_streams(cfg, count):
    drawn = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=weight_row_streams(cfg))
    def collect(rows):
        drawn.append(rows)

    collect()
    return drawn


def adversarial_streams(cfg):
    r, c = cfg.rows, cfg.cols
    lo, hi = cfg.operand_range("weight")
    rng = np.random.default_rng(7)
    dense = rng.integers(lo, hi, size=(4 * r, c), endpoint=True)
    dense[dense == 0] = hi
    one = np.zeros((3 * r, c), dtype=np.int64)
    one[2 * r - 1, c - 1] = lo or hi
    empty_rows = np.where(np.arange(2 * r)[:, None] % 2 == 0, dense[:2 * r], 0)
    streams = {
        "all-zero": np.zeros((6 * r, c), dtype=np.int64),
        "dense": dense,
        "one-non-zero": one,
        "empty-rows": empty_rows,
        "empty-lanes": np.where(np.arange(c) % 2 == 1, dense, 0),
        "min": np.full((2 * r, c), lo, dtype=np.int64),
        "max": np.full((2 * r, c), hi, dtype=np.int64),
    }
    if cfg.weight_format == "nm":
        streams = {name: prune_nm(rows, *cfg.nm) for name, rows in streams.items()}
    return streams


def _case(cfg, name, rows, seed, stall):
    s = wire.encode_weight_stream(cfg, rows)
    return {"name": f"{name}-stall{stall:g}", "words": s.words, "rows": len(rows),
            "seed": seed, "stall": stall}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("config_name", list(WIRE_CONFIGS))
def test_decoder_matches_numpy(simulator, config_name, build_root):
    require_simulator(simulator)
    cfg = WIRE_CONFIGS[config_name]
    cases = [_case(cfg, name, rows, seed=i, stall=stall)
             for i, (name, rows) in enumerate(adversarial_streams(cfg).items())
             for stall in STALLS]
    streams = _hypothesis_streams(cfg, 1000)
    assert len(streams) >= 1000
    cases += [_case(cfg, f"hypothesis{i}", rows, seed=100 + i, stall=STALLS[i % 3])
              for i, rows in enumerate(streams)]
    reports = simulate_decoder(cfg, cases, simulator=simulator, build_root=build_root)
    assert len(reports) == len(cases)
    failures = [f"{r['name']}: {r['error']}" for r in reports if not r["passed"]]
    assert not failures, "\n".join(failures[:10])


def test_the_cycle_model_knows_which_parse_sees_words_late():
    """The cycle model replays the RLE decoder's parse one cycle behind the words (its
    registered prefix sums); every other decoder parses the buffer as it is."""
    from zeroskip.hdl.decoders import weight_decoder

    for cfg in WIRE_CONFIGS.values():
        assert weight_decoder(cfg).SEES_WORDS_LATE == (cfg.weight_format == "rle"), cfg
