"""NumPy golden models: bit-exact GEMM, stream packing, fold order and the cycle model."""

from .cycles import predict_cycles
from .folds import Fold, fold_sequence
from .gemm import gemm_reference, random_operands, wrap
from .streams import pack_activations, pack_weights, unpack_results

__all__ = ["Fold", "fold_sequence", "gemm_reference", "pack_activations", "pack_weights",
           "predict_cycles", "random_operands", "unpack_results", "wrap"]
