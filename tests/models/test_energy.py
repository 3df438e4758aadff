"""The relative energy proxy: toggles by class, weighted by each class's cost per bit toggle."""

import pytest

from zeroskip.models.energy import ENERGY_WEIGHTS, relative_energy

# Toggle counts as count_toggles returns them: every weighted class, plus aggregates.
SOME_TOGGLES = {"products": 37, "psums": 101, "operands": 13, "product_regs": 17,
                "act_lanes": 5, "weights": 29, "control": 7}


def _with_aggregates(toggles):
    datapath = toggles["operands"] + toggles["products"] + toggles["product_regs"] + \
        toggles["psums"]
    return dict(toggles, datapath=datapath, total=sum(toggles.values()), pes=9)


def test_no_toggles_cost_nothing():
    assert relative_energy(dict.fromkeys(ENERGY_WEIGHTS, 0)) == 0


@pytest.mark.parametrize("cls", list(ENERGY_WEIGHTS))
def test_one_toggle_of_a_class_costs_its_weight(cls):
    one_hot = dict.fromkeys(ENERGY_WEIGHTS, 0)
    one_hot[cls] = 1
    assert relative_energy(one_hot) == ENERGY_WEIGHTS[cls]


@pytest.mark.parametrize("cls", list(ENERGY_WEIGHTS))
def test_doubling_a_class_adds_its_weight_times_its_count(cls):
    doubled = dict(SOME_TOGGLES, **{cls: 2 * SOME_TOGGLES[cls]})
    added = relative_energy(doubled) - relative_energy(SOME_TOGGLES)
    assert added == pytest.approx(ENERGY_WEIGHTS[cls] * SOME_TOGGLES[cls])


def test_energy_is_the_weighted_sum_over_classes():
    expected = 0.0
    for cls, count in SOME_TOGGLES.items():
        one_hot = dict.fromkeys(ENERGY_WEIGHTS, 0)
        one_hot[cls] = count
        expected += relative_energy(one_hot)
    assert relative_energy(SOME_TOGGLES) == pytest.approx(expected)


def test_aggregate_counts_are_not_weighted_again():
    # count_toggles adds datapath (operands + products + psums), total and pes: weighting
    # them would count the same toggles twice.
    assert relative_energy(_with_aggregates(SOME_TOGGLES)) == relative_energy(SOME_TOGGLES)


@pytest.mark.parametrize("cls", list(ENERGY_WEIGHTS))
def test_a_missing_class_raises_key_error_naming_it(cls):
    toggles = {c: n for c, n in SOME_TOGGLES.items() if c != cls}
    with pytest.raises(KeyError) as e:
        relative_energy(toggles)
    assert e.value.args == (cls,)


def test_weights_are_positive():
    assert all(w > 0 for w in ENERGY_WEIGHTS.values()), ENERGY_WEIGHTS


def test_weights_follow_horowitz_ordering():
    # An 8-bit multiply costs more than a 32-bit add, which costs more than moving a bit
    # through a register: product > partial sum > operand toggles.
    w = ENERGY_WEIGHTS
    assert w["products"] > w["psums"] > w["operands"]
    assert w["products"] > max(w[c] for c in ("operands", "act_lanes", "weights", "control"))
