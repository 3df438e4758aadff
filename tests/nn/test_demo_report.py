"""The demo's report from a synthetic summary (the structure ``run_demo`` writes): every number
in the Markdown tables and the printout is the dict's, speed-ups and ratios are the dict's
cycles and toggles divided, and the plots follow the data they draw."""

import copy

import pytest

from zeroskip import ZeroskipConfig
from zeroskip.nn.demo_report import demo_markdown, demo_pngs, print_summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _grouped(n):
    """``n`` with a comma between groups of three digits, worked out digit by digit."""
    digits, groups = str(n), []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return ",".join(groups)


def _toggles(operands, products, psums, pes=16):
    counts = {"operands": operands, "act_lanes": 0, "products": products, "product_regs": 0,
              "psums": psums, "weights": 1_234, "control": 567}
    counts["datapath"] = operands + products + psums
    counts["total"] = counts["datapath"] + 1_234 + 567
    counts["pes"] = pes
    return counts


def _layers(cycles, model_cycles=None, matches=True):
    model_cycles = model_cycles or cycles
    return [{"layer": i, "m": 360, "k": k, "n": n, "requant": [20_000, 30, True] if i < 2 else None,
             "cycles": c, "model_cycles": mc, "passed": matches, "error": None,
             "matches_model": matches}
            for i, ((k, n), c, mc) in enumerate(zip(((64, 128), (128, 64), (64, 10)), cycles,
                                                   model_cycles))]


def _hardware_entry(sparsity, accuracy, density, storage, layer_cycles, toggles, *,
                    model_cycles=None, matches=True):
    layers = _layers(layer_cycles, model_cycles, matches)
    entry = {"accuracy_float": accuracy + 0.01, "accuracy": accuracy, "weight_density": density,
             "storage_bits_per_weight": storage,
             "engine": {"sparsity": sparsity, "zero_gating": True},
             "cycles": sum(r["cycles"] for r in layers),
             "model_cycles": sum(r["model_cycles"] for r in layers), "layers": layers,
             "rtl_matches_model": matches, "accuracy_rtl": accuracy - 0.0028,
             "toggles": toggles, "seconds": 81.3}
    if not matches:
        entry["failures"] = [f"layer {r['layer']}: 3 of 99 results differ (log x.log)"
                             for r in layers]
    return entry


def _storage(dense, bitmask, nm, csr, rle):
    return {"dense": dense, "bitmask": bitmask, "nm": nm, "csr": csr, "rle": rle}


def _summary():
    variants = {
        "float": {"accuracy_float": 0.9722},
        "dense": _hardware_entry("dense", 0.9694, [1.0, 1.0, 1.0],
                                 _storage(8.0, 9.125, None, 15.5, 10.25),
                                 [1_843_201, 921_604, 146_003], _toggles(5_432_100, 3_210_987,
                                                                         7_654_321)),
        "2:4": _hardware_entry("2:4", 0.9611, [0.5, 0.5, 0.5],
                               _storage(8.0, 5.125, 5.0, 8.75, 6.5),
                               [1_011_001, 505_002, 80_003],
                               _toggles(2_345_678, 1_234_567, 4_567_890),
                               model_cycles=[1_011_001, 505_000, 80_003], matches=False),
        "1:4": _hardware_entry("1:4", 0.9417, [0.25, 0.25, 0.25],
                               _storage(8.0, 3.125, 3.5, 4.75, 4.0),
                               [602_301, 301_152, 48_077],
                               _toggles(1_111_111, 654_321, 2_222_222)),
        "90%": {"accuracy_float": 0.9, "accuracy": 0.8861, "weight_density": [0.1, 0.1, 0.12],
                "storage_bits_per_weight": _storage(8.0, 1.812, None, 1.75, 2.25)},
    }
    ungated = _toggles(6_000_001, 4_500_002, 7_654_321)
    dense = variants["dense"]
    return {
        "config": ZeroskipConfig(rows=4, cols=4).to_dict(),
        "simulator": "icarus",
        "images": 360,
        "toggle_images": 16,
        "rtl_matches_model": False,
        "variants": variants,
        "speedup": {n: round(dense["cycles"] / variants[n]["cycles"], 4)
                    for n in ("dense", "2:4", "1:4")},
        "gating": {"gated": dense["toggles"], "ungated": ungated,
                   "datapath_gated_over_ungated": round(
                       dense["toggles"]["datapath"] / ungated["datapath"], 4)},
        "synthesis": {
            "dense": {"target": "ecp5", "device": "LFE5U-85F", "status": "ok", "error": None,
                      "tool_retries": None, "luts": 12_345, "ffs": 6_789, "dsps": 16,
                      "brams": 2, "fmax_mhz": 87.654},
            "2:4": {"target": "ecp5", "device": "LFE5U-85F", "status": "failed",
                    "error": "nextpnr failed", "tool_retries": None, "luts": None,
                    "ffs": None, "dsps": None, "brams": None, "fmax_mhz": None},
        },
        "seconds": {"train": 5.3, "rtl": 241.7, "synth": 612.4, "total": 859.9},
    }


def _tables(markdown):
    """``{section heading: (header, rows)}`` of every table, rows as lists of cells."""
    tables, heading = {}, None
    for line in markdown.splitlines():
        if line.startswith("## "):
            heading = line[3:]
        elif line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if heading not in tables:
                tables[heading] = (cells, [])
            else:
                tables[heading][1].append(cells)
    return tables


def _table(markdown, starts):
    (found,) = [t for h, t in _tables(markdown).items() if h.startswith(starts)]
    header, rows = found
    return {row[0]: dict(zip(header, row)) for row in rows}


def _number(cell):
    return None if cell == "–" else float(cell.rstrip("%x").replace(",", ""))


def _bold(cell):
    return cell.startswith("**") and cell.endswith("**")


def test_the_cycles_table_shows_the_summary_cycles_and_their_speed_ups():
    summary = _summary()
    rows = _table(demo_markdown(summary), "Cycles on the RTL")
    variants = summary["variants"]
    hardware = [n for n, v in variants.items() if "cycles" in v]
    assert set(rows) == set(hardware)
    dense_cycles = variants["dense"]["cycles"]
    for name in hardware:
        v, row = variants[name], rows[name]
        assert row["engine sparsity"] == v["engine"]["sparsity"]
        assert row["RTL cycles"] == _grouped(v["cycles"])
        assert row["per layer"] == " + ".join(_grouped(r["cycles"]) for r in v["layers"])
        assert row["cycle model"] == _grouped(v["model_cycles"])
        assert row["speed-up"].endswith("x")
        assert _number(row["speed-up"]) == pytest.approx(dense_cycles / v["cycles"], abs=5e-4)
        assert row["every logit = model"] == ("yes" if v["rtl_matches_model"] else "**NO**")
    assert rows["2:4"]["every logit = model"] == "**NO**"


def test_the_accuracy_toggles_and_storage_tables_show_the_summary_figures():
    summary = _summary()
    md = demo_markdown(summary)
    variants = summary["variants"]

    accuracy = _table(md, "Accuracy")
    assert set(accuracy) == set(variants)
    for name, v in variants.items():
        row = accuracy[name]
        for column, key in (("float accuracy", "accuracy_float"),
                            ("int8 accuracy (model)", "accuracy"),
                            ("int8 accuracy (RTL)", "accuracy_rtl")):
            want = v.get(key)
            got = _number(row[column])
            assert got is None if want is None else got == pytest.approx(100 * want, abs=0.05)
        density = v.get("weight_density")
        cell = row["weight density per layer"]
        assert cell == "–" if density is None else \
            [float(d) for d in cell.split(" / ")] == pytest.approx(density, abs=0.005 + 1e-9)

    toggles = _table(md, "Datapath bit toggles")
    gating = summary["gating"]
    runs = {"dense, gated": gating["gated"], "dense, ungated": gating["ungated"],
            **{f"{n}, gated": v["toggles"] for n, v in variants.items()
               if "toggles" in v and n != "dense"}}
    assert set(toggles) == set(runs)
    for label, counts in runs.items():
        row = toggles[label]
        for column, key in (("operand", "operands"), ("product", "products"),
                            ("psum", "psums"), ("datapath", "datapath")):
            assert row[f"{column} toggles"] == _grouped(counts[key])
        assert _number(row["vs dense ungated"]) == pytest.approx(
            counts["datapath"] / gating["ungated"]["datapath"], abs=5e-4)
    assert f"({summary['toggle_images']} images" in md

    storage = _table(md, "Weight storage")
    stored = {n: v["storage_bits_per_weight"] for n, v in variants.items()
              if "storage_bits_per_weight" in v}
    assert set(storage) == set(stored)
    for name, bits in stored.items():
        best = min(b for b in bits.values() if b is not None)
        for fmt, value in bits.items():
            cell = storage[name][fmt]
            if value is None:
                assert cell == "–"
                continue
            assert _bold(cell) == (value == best), (name, fmt, cell)
            assert float(cell.strip("*")) == pytest.approx(value, abs=0.005 + 1e-9)
        assert sum(_bold(c) for c in storage[name].values()) >= 1


def test_the_synthesis_section_is_there_only_with_synthesis_results():
    summary = _summary()
    md = demo_markdown(summary)
    synthesis = summary["synthesis"]
    first = next(iter(synthesis.values()))
    rows = _table(md, f"Synthesis ({first['target']} {first['device']}")
    assert set(rows) == set(synthesis)
    for name, s in synthesis.items():
        row = rows[name]
        assert row["status"] == s["status"]
        for column, key in (("LUTs", "luts"), ("FFs", "ffs"), ("DSPs", "dsps")):
            assert row[column] == ("–" if s[key] is None else _grouped(s[key]))
        fmax = _number(row["fmax MHz"])
        assert fmax is None if s["fmax_mhz"] is None else \
            fmax == pytest.approx(s["fmax_mhz"], abs=0.05)
    assert f"synthesis {summary['seconds']['synth']} s" in md

    without = copy.deepcopy(summary)
    del without["synthesis"], without["seconds"]["synth"]
    plain = demo_markdown(without)
    assert "Synthesis" not in plain and "synthesis" not in plain
    # Everything else is the same report.
    assert {h: t for h, t in _tables(md).items() if not h.startswith("Synthesis")} == \
        _tables(plain)


def test_the_headline_gives_the_run_and_its_verdict():
    summary = _summary()
    md = demo_markdown(summary)
    cfg = summary["config"]
    assert f"{cfg['rows']}×{cfg['cols']}" in md
    assert f"{summary['images']} test images" in md and summary["simulator"] in md
    assert "NumPy int8 model: NO.**" in md
    s = summary["seconds"]
    assert f"training {s['train']} s, RTL runs {s['rtl']} s" in md
    assert f"total {s['total']} s." in md
    summary["rtl_matches_model"] = True
    assert "NumPy int8 model: yes, every logit.**" in demo_markdown(summary)


def test_demo_pngs_draws_four_plots_that_follow_their_data():
    summary = _summary()
    pngs = demo_pngs(summary)
    assert set(pngs) == {"accuracy.png", "cycles.png", "toggles.png", "storage.png"}
    assert all(png.startswith(PNG_SIGNATURE) for png in pngs.values())
    assert len(set(pngs.values())) == 4
    assert demo_pngs(copy.deepcopy(summary)) == pngs      # the same data, the same files
    # Change one figure of each plot: exactly that plot changes.
    for png, change in (
            ("cycles.png", lambda s: s["variants"]["1:4"].update(cycles=2_000_000)),
            ("accuracy.png", lambda s: s["variants"]["90%"].update(accuracy=0.81)),
            ("toggles.png", lambda s: s["gating"]["ungated"].update(datapath=30_000_000)),
            ("storage.png", lambda s: s["variants"]["2:4"]["storage_bits_per_weight"].update(
                csr=12.0))):
        changed = copy.deepcopy(summary)
        change(changed)
        redrawn = demo_pngs(changed)
        assert [n for n in pngs if redrawn[n] != pngs[n]] == [png]


def test_print_summary_prints_the_tables_and_the_verdict(capsys):
    summary = _summary()
    print_summary(summary)
    printed = capsys.readouterr().out
    md = demo_markdown(summary)
    # Every table of the report is printed as it is.
    tables = [block for block in md.split("\n\n") if block.startswith("| ")]
    assert len(tables) == len(_tables(md))
    assert all(table in printed for table in tables)
    for v in summary["variants"].values():
        if "cycles" in v:
            assert _grouped(v["cycles"]) in printed
    assert _grouped(summary["gating"]["ungated"]["datapath"]) in printed
    assert _grouped(summary["synthesis"]["dense"]["luts"]) in printed
    assert f"{summary['seconds']['total']} s in total" in printed
    assert "DIFFER" in printed
    summary["rtl_matches_model"] = True
    del summary["synthesis"]
    print_summary(summary)
    printed = capsys.readouterr().out
    assert "every RTL logit equals the NumPy int8 model" in printed
    assert _grouped(12_345) not in printed and "LUTs" not in printed
