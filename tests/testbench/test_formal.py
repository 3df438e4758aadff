"""SymbiYosys proof that zero-gating preserves the PE's function."""

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.testbench.formal import prove_gating_equivalence


@pytest.mark.parametrize("cfg", [
    ZeroskipConfig(),  # int8 x int8 -> int32
    ZeroskipConfig(act_width=4, act_signed=False, weight_width=3, acc_width=8),
    # The N:M sparse PE: gating composes with the activation select.
    ZeroskipConfig(sparsity="2:4", act_width=4, weight_width=4, acc_width=10),
], ids=["s8s8-acc32", "u4s3-acc8", "sparse2:4-s4s4-acc10"])
def test_gated_pe_equivalent_to_ungated(cfg, in_tmp_cwd):
    result = prove_gating_equivalence(cfg)
    assert result["proved"], result["log"][-3000:]


def test_proof_catches_an_unsound_gate(in_tmp_cwd):
    result = prove_gating_equivalence(ZeroskipConfig(act_width=4, weight_width=4,
                                                     acc_width=8), broken_flag=True)
    assert not result["proved"]
    assert "FAIL" in result["log"]
