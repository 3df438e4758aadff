"""Counting a synthesised hierarchy: instances, totals below a module, cell classes per target."""

from zeroskip.synth.cells import cells_by_block, classify, instance_counts, subtree_cells
from zeroskip.synth.targets import TARGETS


def _stat(modules):
    return {"modules": {f"\\{name}": {"num_cells_by_type": cells}
                        for name, cells in modules.items()}}


def test_hierarchy_totals_multiply_instances():
    stat = _stat({
        "top": {"SB_LUT4": 10, "SB_DFF": 3, "top_row": 2, "$scopeinfo": 4},
        "top_row": {"top_pe": 3, "SB_DFF": 1},
        "top_pe": {"SB_LUT4": 5, "SB_MAC16": 1},
        "unused": {"SB_LUT4": 1000},
    })
    assert instance_counts(stat, "top") == {"top": 1, "top_row": 2, "top_pe": 6}
    assert subtree_cells(stat, "top") == {"SB_DFF": 5, "SB_LUT4": 40, "SB_MAC16": 6}
    counts = classify(subtree_cells(stat, "top"), TARGETS["ice40"].cell_classes)
    assert counts == {"luts": 40, "ffs": 5, "carry": 0, "dsps": 6, "brams": 0, "lutram": None}
    assert classify({"$_AND_": 3, "$_DFF_P_": 2, "$_SDFFE_PP0P_": 1},
                    TARGETS["generic"].cell_classes)["ffs"] == 3


def test_xilinx_classes_keep_lut_ram_apart_from_block_ram():
    cells = {"LUT6": 2, "LUT1": 1, "RAMB18E1": 1, "RAM32M": 3, "SRL16E": 4, "FDRE": 7,
             "MUXF7": 1}
    assert classify(cells, TARGETS["xilinx"].cell_classes) == {
        "luts": 3, "ffs": 7, "carry": 0, "dsps": 0, "brams": 1, "lutram": 7}


def test_cells_by_block_counts_flattened_names_under_a_prefix():
    cells = {
        "engine.injector.done_LUT4_D": "LUT4",
        "\\engine.injector.$abc$12$lut": "LUT4",
        "engine.output_stage.x_LUT4_Z": "LUT4",
        "engine.output_stage.x_FF": "TRELLIS_FF",
        "engine.$abc$99$auto$lut": "LUT4",
        "in_reg_LUT4_Z": "LUT4",
    }
    netlist = {"modules": {"ooc": {"cells": {name: {"type": kind}
                                             for name, kind in cells.items()}}}}
    assert cells_by_block(netlist, "ooc", ("LUT4",), within="engine.") == {
        "(outside)": 1, "(unnamed)": 1, "injector": 2, "output_stage": 1}
    assert cells_by_block(netlist, "ooc", ("TRELLIS_FF",))["engine"] == 1
