"""Amaranth 0.5 components of the generated accelerators."""

from .array import WeightStationaryArray
from .decoders import BitmaskDecoder, CSRDecoder, NMDecoder, RLEDecoder, weight_decoder
from .engine import GemmEngine
from .pe import ProcessingElement

__all__ = ["GemmEngine", "ProcessingElement", "WeightStationaryArray", "BitmaskDecoder",
           "CSRDecoder", "NMDecoder", "RLEDecoder", "weight_decoder"]
