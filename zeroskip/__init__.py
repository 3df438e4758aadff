"""zeroskip: a generator of sparse systolic-array GEMM accelerators.

Subpackages: :mod:`zeroskip.hdl` (Amaranth components), :mod:`zeroskip.models` (NumPy golden
models), :mod:`zeroskip.testbench` (cocotb drivers and runner), :mod:`zeroskip.synth` (Yosys).
"""

from .config import ConfigError, ZeroskipConfig, default_config, load_config

__all__ = ["ConfigError", "ZeroskipConfig", "default_config", "load_config"]
__version__ = "0.1.0"
