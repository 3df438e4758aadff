"""Command-line options shared by the benchmarks that simulate the RTL."""

from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def add_simulation_options(parser, result_name):
    """``--simulator``, ``--size`` (array R = C), ``--out`` (JSON) and ``--build-dir``."""
    parser.add_argument("--simulator", default="verilator", choices=("icarus", "verilator"))
    parser.add_argument("--size", type=int, default=8, help="array rows and columns")
    parser.add_argument("--out", type=Path, default=RESULTS / f"{result_name}.json")
    parser.add_argument("--build-dir", type=Path, default=Path(".bench-build"))
