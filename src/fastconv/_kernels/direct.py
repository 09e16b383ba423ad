"""Direct (sliding-window) correlation over rows of a flattened array.

Every N-D direct problem is reduced in Python to this one kernel: the output
is seen as ``nrows`` contiguous rows of length ``L`` (the last convolution
axis); output row ``o`` reads the flat input starting at ``xstart[o]``; the
kernel is ``R`` rows of ``K`` taps whose rows start at ``woff[r]`` relative to
that.  The inner loop is an AXPY over a tile of the output row, so it is
vectorised (SIMD) and the tile stays in L1 while all taps are applied.
Taps are taken four at a time, which cuts loads/stores of the output tile by
four.  Work is split over (row, tile) units with ``prange``.
"""
from numba import prange

from . import jit


@jit(parallel=True)
def corr_rows(x, xstart, w, woff, wdiv, y, tile):  # pragma: no cover - jitted
    nrows, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    ntiles = (L + tile - 1) // tile
    for u in prange(nrows * ntiles):
        o = u // ntiles
        t = u - o * ntiles
        i0 = t * tile
        i1 = min(i0 + tile, L)
        n = i1 - i0
        yr = y[o, i0:i1]
        ws = w[o // wdiv]
        for i in range(n):
            yr[i] = 0
        base = xstart[o] + i0
        for r in range(R):
            s = base + woff[r]
            j = 0
            while j + 4 <= K:
                w0 = ws[r, j]
                w1 = ws[r, j + 1]
                w2 = ws[r, j + 2]
                w3 = ws[r, j + 3]
                xs = x[s + j:s + j + n + 3]
                for i in range(n):
                    yr[i] += (w0 * xs[i] + w1 * xs[i + 1]) + (w2 * xs[i + 2] + w3 * xs[i + 3])
                j += 4
            rem = K - j
            if rem == 3:
                w0 = ws[r, j]
                w1 = ws[r, j + 1]
                w2 = ws[r, j + 2]
                xs = x[s + j:s + j + n + 2]
                for i in range(n):
                    yr[i] += w0 * xs[i] + w1 * xs[i + 1] + w2 * xs[i + 2]
            elif rem == 2:
                w0 = ws[r, j]
                w1 = ws[r, j + 1]
                xs = x[s + j:s + j + n + 1]
                for i in range(n):
                    yr[i] += w0 * xs[i] + w1 * xs[i + 1]
            elif rem == 1:
                w0 = ws[r, j]
                xs = x[s + j:s + j + n]
                for i in range(n):
                    yr[i] += w0 * xs[i]


