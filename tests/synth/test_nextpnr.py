"""Reading nextpnr's logs and reports: utilisation, the slowest clock, the critical path."""

import json

from zeroskip.synth.nextpnr import overused, read_pnr_report, utilization_from_log

_NEXTPNR_LOG = """Info: Device utilisation:
Info: 	         ICESTORM_LC:    1729/   5280    32%
Info: 	        ICESTORM_RAM:       7/     30    23%
Info: 	        ICESTORM_DSP:       9/      8   112%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_DSP'
"""


def test_utilisation_from_a_failed_nextpnr_log():
    utilization = utilization_from_log(_NEXTPNR_LOG)
    assert utilization["ICESTORM_DSP"] == {"used": 9, "available": 8}
    assert utilization["ICESTORM_LC"] == {"used": 1729, "available": 5280}
    assert overused(utilization) == ["ICESTORM_DSP 9/8 (112%)"]
    assert utilization_from_log("ERROR: no such file") == {}


def test_pnr_report_takes_the_slowest_clock_and_a_register_path(tmp_path):
    step = {"from": {"cell": "a"}, "to": {"cell": "b"}}
    report = {
        "fmax": {"clk_a": {"achieved": 80.5, "constraint": 100},
                 "clk_b": {"achieved": 60.25, "constraint": 100}},
        "utilization": {"TRELLIS_COMB": {"used": 10, "available": 100},
                        "DCCA": {"used": 0, "available": 56}},
        "critical_paths": [
            {"from": "<async>", "to": "clk_a", "path": [dict(step, delay=50.0, type="routing")]},
            {"from": "clk_b", "to": "clk_b", "path": [
                dict(step, delay=1.0, type="clk-to-q"), dict(step, delay=2.0, type="routing"),
                dict(step, delay=0.5, type="logic")]},
        ],
    }
    (tmp_path / "r.json").write_text(json.dumps(report))
    timing = read_pnr_report(tmp_path / "r.json")
    assert timing["fmax_mhz"] == 60.25
    assert timing["fmax_by_clock"] == {"clk_a": 80.5, "clk_b": 60.25}
    assert timing["utilization"] == {"TRELLIS_COMB": {"used": 10, "available": 100}}
    assert timing["critical_path"] == {"from": "a", "to": "b", "delay_ns": 3.5,
                                       "logic_ns": 0.5, "routing_ns": 2.0}
