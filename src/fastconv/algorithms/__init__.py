"""One module per method, one uniform entry point.

``REGISTRY[name](x, k, starts, out_shape, params, nthreads) -> y`` computes
the canonical problem described in :mod:`fastconv.algorithms._common`.
"""
from . import direct, fft, hybrid, overlap, separable

REGISTRY = {
    "direct": direct.run,
    "fft": fft.run,
    "overlap-add": overlap.run_add,
    "overlap-save": overlap.run_save,
    "hybrid": hybrid.run,
    "separable": separable.run,
}

#: methods whose result can differ from exact arithmetic by FFT round-off
FFT_METHODS = ("fft", "overlap-add", "overlap-save", "hybrid")
