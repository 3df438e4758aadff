"""SymbiYosys proof that zero-gating preserves the PE's function."""

import pytest

from zeroskip import ZeroskipConfig, default_config
from zeroskip.testbench.formal import prove_gating_equivalence

# The PE's function depends on the operand widths and signedness, the partial-sum width
# (from rows and acc_width) and sparsity; these three sets are the ones the README names.
PROVED = {
    "default-8x8-s8s8-acc32": default_config(),
    "8x8-u4s3-acc8": ZeroskipConfig(rows=8, cols=8, act_width=4, act_signed=False,
                                    weight_width=3, acc_width=8, output_stage=False),
    # The N:M sparse PE: gating composes with the activation select.
    "8x8-sparse2:4-s4s4-acc10": ZeroskipConfig(rows=8, cols=8, sparsity="2:4", act_width=4,
                                               weight_width=4, acc_width=10,
                                               output_stage=False),
}


def test_the_default_configuration_is_among_the_proved():
    assert PROVED["default-8x8-s8s8-acc32"] == ZeroskipConfig()
    assert (ZeroskipConfig().rows, ZeroskipConfig().act_width) == (8, 8)


@pytest.mark.parametrize("cfg", list(PROVED.values()), ids=list(PROVED))
def test_gated_pe_equivalent_to_ungated(cfg, in_tmp_cwd):
    result = prove_gating_equivalence(cfg)
    assert result["proved"], result["log"][-3000:]


# The PE that multiplies in LUT logic over the primitive PE's stages (lut_pe_cols): its gate
# clears the half products instead of the product.
LUT_PROVED = {
    "default-8x8-s8s8-acc32-lut": default_config().replace(primitives="ecp5"),
    "8x8-sparse2:4-u4s5-acc12-lut": ZeroskipConfig(rows=8, cols=8, sparsity="2:4", act_width=4,
                                                   act_signed=False, weight_width=5,
                                                   acc_width=12, output_stage=False,
                                                   primitives="ecp5"),
}


@pytest.mark.parametrize("cfg", list(LUT_PROVED.values()), ids=list(LUT_PROVED))
def test_gated_lut_multiplier_pe_equivalent_to_ungated(cfg, in_tmp_cwd):
    result = prove_gating_equivalence(cfg, lut_multiplier=True)
    assert result["proved"], result["log"][-3000:]


def test_proof_catches_an_unsound_gate_in_the_lut_multiplier_pe(in_tmp_cwd):
    cfg = ZeroskipConfig(act_width=4, weight_width=4, acc_width=8, output_stage=False,
                         primitives="ecp5")
    result = prove_gating_equivalence(cfg, broken_flag=True, lut_multiplier=True)
    assert not result["proved"]
    assert "FAIL" in result["log"]


def test_proof_catches_an_unsound_gate(in_tmp_cwd):
    result = prove_gating_equivalence(ZeroskipConfig(act_width=4, weight_width=4, acc_width=8,
                                                     output_stage=False), broken_flag=True)
    assert not result["proved"]
    assert "FAIL" in result["log"]
