"""Networks on the generated hardware: the digits classifier (data, training, pruning, int8
quantisation, saved models), running a network layer by layer on the RTL, and the demo.

The hardware's executable specification (GEMM, stream order, cycle model, wire formats,
requantisation) stays in :mod:`zeroskip.models`; this package builds on it.
"""
