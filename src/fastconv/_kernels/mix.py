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
def mix_rows(X, obase, orow, krow, xdims, xstr, W, wdiv, Y):  # pragma: no cover - jitted
    # X: (rows_in, 2F) real view of complex; W: (Bk, R, 2F); Y: (rows_out, 2F)
    nrows, F2 = Y.shape
    R = W.shape[1]
    F = F2 // 2
    for o in prange(nrows):
        yr = Y[o]
        for f in range(F2):
            yr[f] = 0
        ws = W[o // wdiv]
        for r in range(R):
            s = row_start(o, r, obase, orow, krow, xdims, xstr)
            if s >= 0:
                xr = X[s]
                wr = ws[r]
                for f in range(F):
                    a = xr[2 * f]
                    b = xr[2 * f + 1]
                    c = wr[2 * f]
                    e = wr[2 * f + 1]
                    yr[2 * f] += a * c - b * e
                    yr[2 * f + 1] += a * e + b * c
