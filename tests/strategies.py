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


@st.composite
def configurations(draw, *, max_size=64, max_acc_depth=65536):
    """Valid configurations across every field's range (sizes up to ``max_size``, accumulator
    memories up to ``max_acc_depth`` rows): widths, signedness, weight formats, N:M sparsity,
    the output stage. Drawn field by field so that every draw is valid."""
    from zeroskip.config import NM_PATTERNS, SPARSITIES, WEIGHT_FORMATS

    rows = draw(st.integers(1, max_size))
    cols = draw(st.integers(1, max_size))
    act_width = draw(st.integers(2, 16))
    weight_width = draw(st.integers(2, 16))
    acc_width = draw(st.integers(act_width + weight_width, 48))
    fields = dict(rows=rows, cols=cols, act_width=act_width, weight_width=weight_width,
                  acc_width=acc_width, act_signed=draw(st.booleans()),
                  weight_signed=draw(st.booleans()), dim_width=draw(st.integers(1, 32)),
                  acc_depth=draw(st.one_of(st.integers(1, 16),
                                           st.integers(1, max_acc_depth))),
                  zero_gating=draw(st.booleans()))
    sparsities = [s for s in SPARSITIES if s == "dense" or rows % int(s.split(":")[0]) == 0]
    sparsity = draw(st.sampled_from(sparsities))
    if sparsity != "dense":
        fields["sparsity"] = sparsity
    else:
        patterns = [p for p in NM_PATTERNS if rows % int(p.split(":")[1]) == 0]
        formats = [f for f in WEIGHT_FORMATS if f != "nm" or patterns]
        fields["weight_format"] = draw(st.sampled_from(formats))
        if fields["weight_format"] == "nm":
            fields["nm_pattern"] = draw(st.sampled_from(patterns))
        if fields["weight_format"] == "rle":
            fields["rle_run_width"] = draw(st.integers(1, 8))
    if draw(st.booleans()):
        fields.update(output_stage=True, out_width=draw(st.integers(2, min(16, acc_width))),
                      requant_mult_width=draw(st.integers(1, 32)))
    else:
        fields["output_stage"] = False
    return ZeroskipConfig(**fields)


@st.composite
def small_gemms(draw, cfg):
    """A GEMM that fits ``cfg``'s command fields and crosses a fold boundary or two, with
    requantisation parameters when ``cfg`` has an output stage."""
    from zeroskip.testbench.cases import GemmCase

    top = cfg.max_dim
    m = draw(st.integers(1, min(top, 2 * cfg.acc_depth + 1, 12)))
    k = draw(st.integers(1, min(top, 2 * cfg.k_per_fold + 1)))
    n = draw(st.integers(1, min(top, 2 * cfg.cols + 1)))
    requant = None
    if cfg.output_stage and draw(st.booleans()):
        requant = (draw(st.integers(0, (1 << cfg.requant_mult_width) - 1)),
                   draw(st.integers(0, cfg.requant_max_shift)), draw(st.booleans()))
    return GemmCase(m, k, n, seed=draw(st.integers(0, 2**16)),
                    stall=draw(st.sampled_from([0.0, 0.0, 0.3])), requant=requant)
