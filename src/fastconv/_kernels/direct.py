"""Direct (sliding-window) correlation over rows, with virtual zero padding.

Every N-D direct problem is reduced in Python to this one kernel.  The
output is ``nrows`` contiguous rows of length ``L`` (the last convolution
axis; batch and leading axes are folded into the rows).  Output row ``o``
starts at input coordinates ``orow[o] - pad`` on the leading axes (flat base
``obase[o]`` for its batch); kernel row ``r`` adds ``krow[r]``.  Input rows
outside the array are skipped and input columns outside ``[0, N)`` are
treated as zeros, so zero padding is never materialised.

The inner loop is an AXPY over a tile of the output row (SIMD-friendly); the
tile stays in L1 while every tap is applied, four taps per pass, which cuts
loads/stores of the output tile by four.  Work is split over (row, tile)
units with ``prange``; columns near the edges take a scalar loop with bounds.
"""
from numba import prange

from . import jit, row_start


@jit(inline=True)
def _taps(yr, x, s, ws_r, K, p, N, i0, i1):  # pragma: no cover - jitted
    """yr[i - i0] += sum_j ws_r[j] * x[s + i + j - p] over valid columns."""
    j = 0
    while j < K:
        g = min(4, K - j)
        lo = max(i0, p - j)                  # all g taps inside for i in [lo, hi)
        hi = min(i1, N + p - j - g + 1)
        if hi < lo:
            hi = lo
        for jj in range(j, j + g):           # edges, one tap at a time
            wv = ws_r[jj]
            off = s + jj - p
            for i in range(max(i0, p - jj), min(lo, N + p - jj)):
                yr[i - i0] += wv * x[off + i]
            for i in range(max(hi, p - jj), min(i1, N + p - jj)):
                yr[i - i0] += wv * x[off + i]
        if hi > lo:
            n = hi - lo
            b = s + j - p + lo
            yo = yr[lo - i0:hi - i0]
            if g == 4:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                w2 = ws_r[j + 2]
                w3 = ws_r[j + 3]
                xs = x[b:b + n + 3]
                for i in range(n):
                    yo[i] += (w0 * xs[i] + w1 * xs[i + 1]) + (w2 * xs[i + 2] + w3 * xs[i + 3])
            elif g == 3:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                w2 = ws_r[j + 2]
                xs = x[b:b + n + 2]
                for i in range(n):
                    yo[i] += w0 * xs[i] + w1 * xs[i + 1] + w2 * xs[i + 2]
            elif g == 2:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                xs = x[b:b + n + 1]
                for i in range(n):
                    yo[i] += w0 * xs[i] + w1 * xs[i + 1]
            else:
                w0 = ws_r[j]
                xs = x[b:b + n]
                for i in range(n):
                    yo[i] += w0 * xs[i]
        j += g


@jit(parallel=True)
def corr_rows(x, obase, orow, krow, xdims, xstr, N, p, w, wdiv, y, tile):  # pragma: no cover
    nrows, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    ntiles = (L + tile - 1) // tile
    for u in prange(nrows * ntiles):
        o = u // ntiles
        t = u - o * ntiles
        i0 = t * tile
        i1 = min(i0 + tile, L)
        yr = y[o, i0:i1]
        ws = w[o // wdiv]
        for i in range(i1 - i0):
            yr[i] = 0
        for r in range(R):
            s = row_start(o, r, obase, orow, krow, xdims, xstr)
            if s >= 0:
                _taps(yr, x, s, ws[r], K, p, N, i0, i1)
