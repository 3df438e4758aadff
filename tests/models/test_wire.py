import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from zeroskip import ZeroskipConfig
from zeroskip.models import wire
from zeroskip.models.codecs import prune_nm

from ..strategies import WIRE_CONFIGS, weight_row_streams

@pytest.mark.parametrize("name", list(WIRE_CONFIGS))
def test_round_trip_hypothesis(name):
    cfg = WIRE_CONFIGS[name]

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=weight_row_streams(cfg))
    def round_trip(rows):
        s = wire.encode_weight_stream(cfg, rows)
        assert np.array_equal(wire.decode_weight_stream(cfg, s.words, len(rows)), rows)
        assert len(s.words) == -(-s.bits // wire.word_width(cfg))
        assert sum(s.consume) == s.bits
        assert all(0 <= c <= n <= wire.max_need_bits(cfg) for n, c in zip(s.need, s.consume))

    round_trip()


def test_record_sizes():
    cfg = ZeroskipConfig(rows=2, cols=4, weight_format="bitmask")
    rows = np.array([[0, 3, 0, -1], [0, 0, 0, 0]])
    s = wire.encode_weight_stream(cfg, rows)
    assert s.consume == [4 + 2 * 8, 4] and s.bits == 24 and len(s.words) == 1
    # mask 0b1010, then 3 and -1 (0xff) in lane order, then the empty row's mask.
    assert s.words[0] == 0b1010 | 3 << 4 | 0xFF << 12
    cfg = cfg.replace(weight_format="csr")
    s = wire.encode_weight_stream(cfg, rows)
    assert s.consume == [3 + 2 * (2 + 8), 3]
    cfg = cfg.replace(weight_format="nm", nm_pattern="1:2")
    s = wire.encode_weight_stream(cfg, np.array([[0, 3, 0, -1], [5, 0, 0, 0]]))
    assert s.need == [4 * 9, 4 * 9] and s.consume == [0, 4 * 9]


def test_rle_runs_longer_than_field_and_across_rows():
    cfg = ZeroskipConfig(rows=4, cols=3, weight_format="rle", rle_run_width=2)
    rows = np.zeros((8, 3), dtype=np.int64)
    rows[6, 1] = 7                      # 19 zeros first: continuations of 4 zeros each
    s = wire.encode_weight_stream(cfg, rows)
    assert np.array_equal(wire.decode_weight_stream(cfg, s.words, 8), rows)
    entry = 2 + 8
    # 19 zeros = 4 continuations (16) + run 3; then 4 trailing zeros = one (3, 0) entry.
    assert s.bits == 6 * entry
    # Rows 0..5 hold no entry's end but the first, which ends in row 1 (position 3).
    assert s.consume[0] == 0 and s.need[0] == entry


def test_padding_rows_and_fold_layout():
    cfg = ZeroskipConfig(rows=4, cols=2, weight_format="rle")
    w = np.arange(1, 16).reshape(5, 3)
    rows = wire.padded_weight_rows(cfg, w, m=3)
    # K=5 -> 2 K folds of 4 rows, N=3 -> 2 N folds: 4 folds of R rows, zeros past K and N.
    assert rows.shape == (16, 2)
    assert np.array_equal(rows[:4], w[:4, :2]) and np.array_equal(rows[4], w[4, :2])
    assert not rows[5:8].any() and not rows[8:12, 1].any()


@pytest.mark.parametrize("fmt, rows, message", [
    ("nm", [[1, 1], [1, 0], [0, 0], [0, 0]], "violate 1:4 sparsity"),
    ("bitmask", [[1, 1], [1, 0], [0, 0]], "multiple of 4"),
    ("csr", [[1, 200], [0, 0], [0, 0], [0, 0]], "must lie in [-128, 127]"),
])
def test_encoder_rejects(fmt, rows, message):
    cfg = ZeroskipConfig(rows=4, cols=2, weight_format=fmt, nm_pattern="1:4")
    with pytest.raises(ValueError) as e:
        wire.encode_weight_stream(cfg, np.array(rows))
    assert message in str(e.value)


def test_decoder_rejects_truncated_and_malformed_streams():
    cfg = ZeroskipConfig(rows=1, cols=4, weight_format="csr")
    s = wire.encode_weight_stream(cfg, np.array([[1, 2, 3, 4]]))
    with pytest.raises(ValueError, match="ends at bit"):
        wire.decode_weight_stream(cfg, s.words[:1], 2)
    with pytest.raises(ValueError, match="count 7 exceeds cols=4"):
        wire.decode_weight_stream(cfg, [7], 1)


def test_nm_needs_rows_multiple_of_m():
    from zeroskip.config import ConfigError
    with pytest.raises(ConfigError, match="needs rows to be a multiple of 4"):
        ZeroskipConfig(rows=6, weight_format="nm", nm_pattern="2:4")
    assert ZeroskipConfig(rows=6, weight_format="nm", nm_pattern="1:2").nm == (1, 2)
    assert np.array_equal(prune_nm(np.array([[3], [-4], [1], [2]]), 1, 4), [[0], [-4], [0], [0]])
