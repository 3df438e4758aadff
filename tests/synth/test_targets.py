"""Synthesis targets: device choice and the errors that name a bad target, device or pnr."""

import pytest

from zeroskip.synth.targets import resolve_target


@pytest.mark.parametrize("target, device, pnr, message", [
    ("vhdl", None, False, "target must be one of 'generic', 'ice40', 'ecp5', 'xilinx', "
                          "not 'vhdl'"),
    ("ice40", "up3k", False, "device for target 'ice40' must be one of 'up5k', 'hx8k', "
                             "not 'up3k'"),
    ("ecp5", "LFE5U-12F", False, "device for target 'ecp5' must be one of 'LFE5U-25F', "
                                 "'LFE5U-45F', 'LFE5U-85F', not 'LFE5U-12F'"),
    ("generic", "up5k", False, "target 'generic' takes no device, not 'up5k'"),
    ("generic", None, True, "pnr is available for targets 'ice40', 'ecp5', not 'generic'"),
    ("xilinx", None, True, "pnr is available for targets 'ice40', 'ecp5', not 'xilinx'"),
])
def test_bad_target_device_or_pnr_names_the_parameter(target, device, pnr, message):
    with pytest.raises(ValueError) as e:
        resolve_target(target, device, pnr=pnr)
    assert message in str(e.value)


def test_devices_default_and_match_without_case():
    assert resolve_target("ice40")[1].name == "up5k"
    assert resolve_target("ecp5", "lfe5u-85f", pnr=True)[1].name == "LFE5U-85F"
    assert resolve_target("generic")[1] is None
    assert not resolve_target("ice40", "hx8k")[1].has_dsp
