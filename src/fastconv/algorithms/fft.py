"""FFT method: one transform of each operand over the convolution axes.

Real transforms for real data; per-axis transform lengths are the smallest
fast lengths that avoid circular wrap-around *in the outputs kept*
(``M >= max(N + K - 1 - s, s + L)``, so 'valid' needs only ``M >= N``);
only the convolution axes are transformed; ``workers`` = fastconv's threads.

Error: about ``eps * log2(M) * ||x||_2 * ||k||_2`` in absolute terms, so
small outputs next to large ones lose relative accuracy.
"""
from __future__ import annotations

import numpy as np

from ._common import fast_len, is_real

name = "fft"


def lengths(n, m, starts, out_shape, real=True):
    return tuple(fast_len(max(N + K - 1 - s, s + L), real)
                 for N, K, s, L in zip(n, m, starts, out_shape))


def run(x, k, starts, out_shape, params, nthreads):
    import scipy.fft as sfft

    nd = x.ndim - 1
    axes = tuple(range(1, nd + 1))
    real = is_real(x, k)
    M = params.get("lengths") if params else None
    if M is None:
        M = lengths(x.shape[1:], k.shape[1:], starts, out_shape, real)
    if real:
        X = sfft.rfftn(x, s=M, axes=axes, workers=nthreads)
        Kf = sfft.rfftn(k, s=M, axes=axes, workers=nthreads)
    else:
        X = sfft.fftn(x, s=M, axes=axes, workers=nthreads)
        Kf = sfft.fftn(k, s=M, axes=axes, workers=nthreads)
    if X.shape[0] >= Kf.shape[0]:
        X *= Kf
    else:
        X = X * Kf
    if real:
        y = sfft.irfftn(X, s=M, axes=axes, workers=nthreads, overwrite_x=True)
    else:
        y = sfft.ifftn(X, s=M, axes=axes, workers=nthreads, overwrite_x=True)
    sl = (slice(None),) + tuple(slice(s, s + L) for s, L in zip(starts, out_shape))
    return y[sl]
