"""Field widths of the compressed weights stream, which the decoders and the wire model share."""

import ast
import inspect
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from zeroskip import ZeroskipConfig, wire_fields
from zeroskip.config import WEIGHT_FORMATS
from zeroskip.models.wire import encode_weight_stream
from zeroskip.wire_fields import (bits_for, decoder_buffer_bits, field_widths, max_need_bits,
                                  record_fields, word_width)

from .strategies import WIRE_CONFIGS, weight_row_streams

# Run fields at both ends of their range, which WIRE_CONFIGS does not reach.
EXTRA_CONFIGS = {
    "rle-run1-3lanes": ZeroskipConfig(rows=2, cols=3, weight_format="rle", rle_run_width=1),
    "rle-run8-s3": ZeroskipConfig(rows=3, cols=5, weight_format="rle", rle_run_width=8,
                                  weight_width=3),
}
HYPOTHESIS_CONFIGS = {**WIRE_CONFIGS, **EXTRA_CONFIGS}


@pytest.mark.parametrize("n, bits", [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 3),
                                     (8, 4), (63, 6), (64, 7), (255, 8), (256, 9)])
def test_bits_for_holds_zero_to_n(n, bits):
    assert bits_for(n) == bits
    # Independently: the fewest bits whose largest value reaches n.
    assert bits == min(b for b in range(1, 20) if (1 << b) - 1 >= n)


@pytest.mark.parametrize("cols, weight_width, width", [(5, 8, 40), (3, 3, 9), (1, 16, 16),
                                                       (7, 5, 35)])
def test_word_width_is_one_dense_row(cols, weight_width, width):
    cfg = ZeroskipConfig(rows=2, cols=cols, weight_width=weight_width, output_stage=False)
    assert word_width(cfg) == width


# (config, fields, max_need), each worked out by hand from docs of models/wire.py.
HAND_WIDTHS = [
    # bitmask: mask of C bits + C values.  5 + 5*8
    (dict(cols=5, weight_format="bitmask"), {"mask": 5, "value": 8}, 45),
    # 7 + 7*3
    (dict(cols=7, weight_width=3, weight_format="bitmask"), {"mask": 7, "value": 3}, 28),
    # nm: per lane N (index: log2 M, value) slots.  3:8 -> index 3; 2 lanes * 3 * (3 + 4)
    (dict(rows=8, cols=2, weight_width=4, weight_format="nm", nm_pattern="3:8"),
     {"index": 3, "value": 4}, 42),
    # 2:4 -> index 2; 3 * 2 * (2 + 8)
    (dict(rows=4, cols=3, weight_format="nm", nm_pattern="2:4"), {"index": 2, "value": 8}, 60),
    # 1:2 -> index 1; 5 * 1 * (1 + 6)
    (dict(rows=2, cols=5, weight_width=6, weight_format="nm", nm_pattern="1:2"),
     {"index": 1, "value": 6}, 35),
    # csr: count holds 0..C, lane 0..C-1.  C=6: count 3, lane 3; 3 + 6 * (3 + 5)
    (dict(cols=6, weight_width=5, weight_format="csr"),
     {"count": 3, "lane": 3, "value": 5}, 51),
    # C=8: count 4 (0..8), lane 3 (0..7); 4 + 8 * (3 + 8)
    (dict(cols=8, weight_format="csr"), {"count": 4, "lane": 3, "value": 8}, 92),
    # C=1: count 1, lane 1 (one lane still takes a bit); 1 + 1 * (1 + 8)
    (dict(cols=1, weight_format="csr"), {"count": 1, "lane": 1, "value": 8}, 10),
    # rle: C entries of (run, value).  4 * (1 + 8)
    (dict(cols=4, weight_format="rle", rle_run_width=1), {"run": 1, "value": 8}, 36),
    # 3 * (8 + 2)
    (dict(cols=3, weight_width=2, weight_format="rle", rle_run_width=8),
     {"run": 8, "value": 2}, 30),
]


@pytest.mark.parametrize("fields, widths, max_need", HAND_WIDTHS,
                         ids=[f"{f['weight_format']}-{i}" for i, (f, _, _)
                              in enumerate(HAND_WIDTHS)])
def test_field_widths_and_max_need_by_hand(fields, widths, max_need):
    cfg = ZeroskipConfig(**dict(dict(rows=4), **fields), output_stage=False)
    assert field_widths(cfg) == widths
    assert record_fields(cfg).fields(cfg) == widths
    assert max_need_bits(cfg) == max_need
    assert decoder_buffer_bits(cfg) == max_need + cfg.cols * cfg.weight_width


def test_sparse_array_reads_the_records_of_its_pattern():
    cfg = ZeroskipConfig(rows=2, cols=3, sparsity="1:4", output_stage=False)
    # index 2 bits (0..3); 3 lanes * 1 slot * (2 + 8)
    assert field_widths(cfg) == {"index": 2, "value": 8}
    assert max_need_bits(cfg) == 30


def test_every_compressed_format_has_record_fields():
    for fmt in WEIGHT_FORMATS:
        if fmt == "dense":
            continue
        cfg = ZeroskipConfig(rows=4, cols=3, weight_format=fmt, output_stage=False)
        assert record_fields(cfg).name == fmt


@pytest.mark.parametrize("function", [record_fields, field_widths, max_need_bits,
                                      decoder_buffer_bits])
def test_dense_has_no_records(function):
    cfg = ZeroskipConfig(weight_format="dense")
    with pytest.raises(ValueError, match=r"^weight_format 'dense' has no compressed records$"):
        function(cfg)


@pytest.mark.parametrize("name", list(HYPOTHESIS_CONFIGS))
def test_max_need_is_reached_by_a_row_of_non_zeros(name):
    cfg = HYPOTHESIS_CONFIGS[name]
    lo, hi = cfg.operand_range("weight")
    rows = np.full((cfg.k_per_fold, cfg.cols), hi if hi else lo, dtype=np.int64)
    if cfg.weight_format == "nm":
        from zeroskip.models.codecs import prune_nm

        rows = prune_nm(rows, *cfg.nm)
    assert max(encode_weight_stream(cfg, rows).need) == max_need_bits(cfg)


@pytest.mark.parametrize("name", list(HYPOTHESIS_CONFIGS))
def test_no_row_needs_more_than_the_decoder_window(name):
    cfg = HYPOTHESIS_CONFIGS[name]

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=weight_row_streams(cfg))
    def need_fits_window(rows):
        stream = encode_weight_stream(cfg, rows)
        assert len(stream.need) == len(rows)
        assert max(stream.need) <= max_need_bits(cfg)

    need_fits_window()


def test_module_imports_only_the_standard_library():
    tree = ast.parse(inspect.getsource(wire_fields))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append((node.level, node.module or ""))
    outside = [(level, name) for level, name in imported
               if level or name.split(".")[0] not in sys.stdlib_module_names]
    assert outside == []
