"""GEMM cases: what a case may hold, its name, and the checks that refuse a bad case before
any simulator starts."""

import numpy as np
import pytest

from zeroskip import ZeroskipConfig
from zeroskip.testbench.cases import GemmCase
from zeroskip.testbench.runner import simulate


def test_bad_cases_fail_before_building(tmp_path):
    cfg = ZeroskipConfig(rows=4, cols=3, acc_depth=4, sparsity="2:4", output_stage=True)
    without_stage = ZeroskipConfig(rows=1, cols=1, output_stage=False)
    with pytest.raises(ValueError, match="requant needs a configuration with output_stage"):
        simulate(without_stage, [GemmCase(1, 1, 1, requant=(1, 0, 0))], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"requant shift must be an integer in \[0, 47\]"):
        simulate(cfg, [GemmCase(1, 1, 1, requant=(1, 48, 0))], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"multiplier must be an integer in \[0, 65535\]"):
        simulate(cfg, [GemmCase(1, 1, 1, requant=(-1, 3, 0))], build_root=tmp_path)
    np.savez(tmp_path / "ops.npz", a=np.zeros((2, 8), np.int8), w=np.ones((8, 3), np.int8))
    with pytest.raises(ValueError, match="'w' is not 2:4 sparse"):
        simulate(cfg, [GemmCase.from_operands(tmp_path / "ops.npz")], build_root=tmp_path)
    with pytest.raises(ValueError, match=r"but the case is M=3, K=8, N=3"):
        simulate(cfg, [GemmCase(3, 8, 3, operands=str(tmp_path / "ops.npz"))],
                 build_root=tmp_path)
    np.savez(tmp_path / "big.npz", a=np.full((2, 8), 300), w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match=r"'a' values must lie in \[-128, 127\].*300\.\.300"):
        simulate(cfg, [GemmCase.from_operands(tmp_path / "big.npz")], build_root=tmp_path)
    np.savez(tmp_path / "ragged.npz", a=np.zeros((2, 8), np.int64), w=np.zeros((7, 3), np.int64))
    with pytest.raises(ValueError, match="K must agree"):
        GemmCase.from_operands(tmp_path / "ragged.npz")
    np.savez(tmp_path / "floats.npz", a=np.zeros((2, 8)), w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match="'a' must be a 2-D integer array"):
        GemmCase.from_operands(tmp_path / "floats.npz")
    np.savez(tmp_path / "noa.npz", w=np.zeros((8, 3), np.int64))
    with pytest.raises(ValueError, match="has no array 'a'"):
        GemmCase.from_operands(tmp_path / "noa.npz")
    assert not any(tmp_path.glob("*/run"))   # nothing was built
    # NumPy parameters (as a network's quantiser gives them) become plain, JSON-able ints.
    case = GemmCase(1, 1, 1, requant=(np.int64(5), np.int32(3), np.bool_(True)))
    assert case.requant == (5, 3, 1) and all(type(x) is int for x in case.requant)
