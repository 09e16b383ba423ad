"""Pointwise multiply-accumulate of spectrum rows over the leading axes.

Used by the hybrid method: after an FFT along the last axis, an N-D
convolution becomes, for every frequency, a direct convolution over the
leading axes.  Output row ``o`` accumulates ``W[r] * X[row(o, r)]`` over
kernel rows ``r`` whose input row lies inside the array (virtual zero
padding, as in the direct kernel); the loop over frequencies is contiguous
and vectorised.  Complex values are handled as interleaved (re, im) pairs
of reals so the loop is plain real arithmetic.
"""
from numba import prange

from . import jit, row_start


@jit(parallel=True)
def mix_rows(X, obase, orow, krow, rmap, xstr, W, wdiv, Y, ftile, chunk):  # pragma: no cover
    # X: (rows_in, 2F) real view of complex; W: (Bk, R, 2F); Y: (rows_out, 2F).
    # Work units: a tile of `ftile` frequencies x a chunk of consecutive output
    # rows (consecutive rows share all but one input row).  Measured here,
    # tiles narrower than the whole row were slower (per-row overheads).
    nrows, F2 = Y.shape
    R = W.shape[1]
    F = F2 // 2
    ntiles = (F + ftile - 1) // ftile
    nchunks = (nrows + chunk - 1) // chunk
    for u in prange(ntiles * nchunks):
        t = u // nchunks
        c = u - t * nchunks
        f0 = t * ftile
        f1 = min(f0 + ftile, F)
        for o in range(c * chunk, min(c * chunk + chunk, nrows)):
            yr = Y[o, 2 * f0:2 * f1]
            for f in range(2 * (f1 - f0)):
                yr[f] = 0
            ws = W[o // wdiv]
            for r in range(R):
                s = row_start(o, r, obase, orow, krow, rmap, xstr)
                if s >= 0:
                    xr = X[s, 2 * f0:2 * f1]
                    wr = ws[r, 2 * f0:2 * f1]
                    for f in range(f1 - f0):
                        a = xr[2 * f]
                        b = xr[2 * f + 1]
                        cc = wr[2 * f]
                        e = wr[2 * f + 1]
                        yr[2 * f] += a * cc - b * e
                        yr[2 * f + 1] += a * e + b * cc
