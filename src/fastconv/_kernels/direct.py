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
import numpy as np
from numba import prange

from . import jit, row_start


@jit(inline=True)
def _edge_taps(yr, x, s, ws_r, j0, j1, p, N, i0, i1, lo, hi):  # pragma: no cover - jitted
    """Taps j0..j1-1 on the columns of [i0, i1) outside [lo, hi), with bounds."""
    for jj in range(j0, j1):
        wv = ws_r[jj]
        off = s + jj - p
        for i in range(max(i0, p - jj), min(lo, N + p - jj)):
            yr[i - i0] += wv * x[off + i]
        for i in range(max(hi, p - jj), min(i1, N + p - jj)):
            yr[i - i0] += wv * x[off + i]


@jit(inline=True)
def _taps(yr, x, s, ws_r, K, p, N, i0, i1):  # pragma: no cover - jitted
    """yr[i - i0] += sum_j ws_r[j] * x[s + i + j - p] over valid columns."""
    j = 0
    while j < K:
        g = min(4, K - j)
        # all g taps inside for i in [lo, hi); both clamped into the tile
        # [i0, i1), which the edge loops below rely on (a kernel longer than
        # the input can put p - j beyond the tile)
        lo = min(max(i0, p - j), i1)
        hi = max(min(i1, N + p - j - g + 1), lo)
        _edge_taps(yr, x, s, ws_r, j, j + g, p, N, i0, i1, lo, hi)
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
        r = 0
        if K == 1 and p == 0:
            # column kernels (e.g. the first pass of a separable filter): fuse
            # four kernel rows per pass over the output tile
            n = i1 - i0
            while r + 4 <= R:
                s0 = row_start(o, r, obase, orow, krow, xdims, xstr)
                s1 = row_start(o, r + 1, obase, orow, krow, xdims, xstr)
                s2 = row_start(o, r + 2, obase, orow, krow, xdims, xstr)
                s3 = row_start(o, r + 3, obase, orow, krow, xdims, xstr)
                if s0 < 0 or s1 < 0 or s2 < 0 or s3 < 0:
                    break
                w0 = ws[r, 0]
                w1 = ws[r + 1, 0]
                w2 = ws[r + 2, 0]
                w3 = ws[r + 3, 0]
                x0 = x[s0 + i0:s0 + i0 + n]
                x1 = x[s1 + i0:s1 + i0 + n]
                x2 = x[s2 + i0:s2 + i0 + n]
                x3 = x[s3 + i0:s3 + i0 + n]
                for i in range(n):
                    yr[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i])
                r += 4
        while r < R:
            s = row_start(o, r, obase, orow, krow, xdims, xstr)
            if s >= 0:
                _taps(yr, x, s, ws[r], K, p, N, i0, i1)
            r += 1


@jit(parallel=True)
def sep_rows(W, wcol, wrow, y, chunk):  # pragma: no cover - jitted
    """Rank-1 2-D 'valid' correlation, fused: y = rows(cols(W, wcol), wrow).

    W: (B, L0 + K0 - 1, L1 + K1 - 1); y: (B, L0, L1).  Each output row first
    sums K0 input rows (four at a time) into a row buffer that stays in L1,
    then slides the K1 row taps over it; nothing of size of the image is
    written besides the output.
    """
    B, L0, L1 = y.shape
    K0 = wcol.shape[0]
    K1 = wrow.shape[0]
    N1 = W.shape[2]
    nchunks = (L0 + chunk - 1) // chunk
    for u in prange(B * nchunks):
        b = u // nchunks
        c = u - b * nchunks
        z = np.empty(N1, dtype=y.dtype)
        for i in range(c * chunk, min(c * chunk + chunk, L0)):
            for q in range(N1):
                z[q] = 0
            j = 0
            while j + 4 <= K0:
                w0 = wcol[j]
                w1 = wcol[j + 1]
                w2 = wcol[j + 2]
                w3 = wcol[j + 3]
                x0 = W[b, i + j]
                x1 = W[b, i + j + 1]
                x2 = W[b, i + j + 2]
                x3 = W[b, i + j + 3]
                for q in range(N1):
                    z[q] += (w0 * x0[q] + w1 * x1[q]) + (w2 * x2[q] + w3 * x3[q])
                j += 4
            while j < K0:
                w0 = wcol[j]
                x0 = W[b, i + j]
                for q in range(N1):
                    z[q] += w0 * x0[q]
                j += 1
            yr = y[b, i]
            for q in range(L1):
                yr[q] = 0
            _taps(yr, z, 0, wrow, K1, 0, N1, 0, L1)
