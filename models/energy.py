"""A relative dynamic-energy proxy from bit toggles. It is a proxy, not a power estimate.

Dynamic energy is roughly proportional to switched capacitance, i.e. to toggles weighted by
how much logic each toggling bit drives. The weights below give each class's cost per bit
toggle relative to a register bit (1.0). They follow the per-operation energies of Horowitz,
"Computing's energy problem" (ISSCC 2014, 45 nm): an 8-bit multiply (0.2 pJ) costs about
twice a 32-bit add (0.1 pJ) and an order of magnitude more than moving its operands through a
register. A product bit toggle stands for the multiplier's internal switching that produced
it, so it carries the multiplier's share; a partial-sum bit toggle stands for the adder and
the register.

Use ratios between runs of the same configuration (gated over ungated), never absolute values.
"""

__all__ = ["ENERGY_WEIGHTS", "relative_energy"]

ENERGY_WEIGHTS = {
    "products": 4.0,      # multiplier array switching, per output bit toggle
    "psums": 2.0,         # 32-bit adder + partial-sum register, per bit toggle
    "operands": 1.0,      # operand registers and wires into the multiplier
    "product_regs": 1.0,  # the product register between multiplier and adder
    "act_lanes": 1.0,     # activation registers passed along the row
    "weights": 1.0,       # shadow and active weight registers
    "control": 1.0,       # swap and zero flags, the registered gate
}


def relative_energy(toggles):
    """Weighted toggle sum, in register-bit-toggle units."""
    return sum(weight * toggles[cls] for cls, weight in ENERGY_WEIGHTS.items())
