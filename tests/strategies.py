"""Hypothesis strategies shared by the NumPy and the hardware tests of the weight formats."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zeroskip import ZeroskipConfig
from zeroskip.models.codecs import prune_nm

# One configuration per decoder, chosen for awkward field widths: lane counts that are not
# powers of two, a 2-bit run field (runs longer than the field all the time), unsigned int4.
WIRE_CONFIGS = {
    "bitmask-5lanes": ZeroskipConfig(rows=4, cols=5, weight_format="bitmask"),
    "nm-2:4": ZeroskipConfig(rows=4, cols=3, weight_format="nm", nm_pattern="2:4"),
    "nm-3:8-u4": ZeroskipConfig(rows=8, cols=2, weight_format="nm", nm_pattern="3:8",
                                weight_width=4, weight_signed=False),
    "csr-6lanes-s5": ZeroskipConfig(rows=4, cols=6, weight_format="csr", weight_width=5),
    "rle-run2": ZeroskipConfig(rows=4, cols=4, weight_format="rle", rle_run_width=2),
}


@st.composite
def weight_row_streams(draw, cfg, max_folds=4):
    """A whole number of folds of weight rows ``[folds·R, C]`` that ``cfg.weight_format`` can
    encode: values drawn by Hypothesis with zeros over-represented (so runs, empty rows and
    single non-zeros come up), N:M-pruned for ``nm``."""
    folds = draw(st.integers(1, max_folds))
    lo, hi = cfg.operand_range("weight")
    zero_bias = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    values = st.one_of(st.just(0), st.integers(lo, hi), st.sampled_from([lo, hi]))
    rows = draw(arrays(np.int64, (folds * cfg.rows, cfg.cols), elements=values))
    keep = draw(arrays(np.float64, rows.shape, elements=st.floats(0, 1))) >= zero_bias
    rows = np.where(keep, rows, 0)
    if cfg.weight_format == "nm":
        rows = prune_nm(rows, *cfg.nm)
    return rows
