"""Hybrid method: FFT along the last convolution axis, direct sums along the others.

For a 2-D image and a small 2-D kernel, one real FFT per row turns the
problem into, for each frequency, a short 1-D convolution down the columns
(``L0 * K0`` complex multiply-adds per frequency).  That avoids the
column FFTs of a full 2-D transform (strided, cache-unfriendly, and as
large for a 31x31 kernel as for the image) and costs
``prod(L_lead) * prod(K_lead) * (M/2 + 1)`` complex multiply-adds plus
``rows * M log M`` for the row transforms.  It wins when the leading-axis
kernel extent is small and the last-axis kernel is long enough that direct
summation along it would cost more than a row FFT.

Accuracy: as the FFT method along the last axis (``eps * log2(M)``
relative to the norms of the rows), exact summation along the others.
"""
from __future__ import annotations

import numpy as np

from ._common import is_real, kernel_spectrum
from .direct import axis_map, row_layout
from .fft import lengths as _fft_lengths, rows_forward, rows_inverse, spectrum_array

name = "hybrid"


def last_length(n, m, starts, out_shape, real=True):
    return _fft_lengths(n[-1:], m[-1:], starts[-1:], out_shape[-1:], real)[0]


def run(x, k, starts, out_shape, params, nthreads):
    from .direct import apply_threads
    from .._kernels.mix import mix_rows

    real = is_real(x, k)
    n, m = x.shape[1:], k.shape[1:]
    M = params.get("length") if params else None
    if M is None:
        M = last_length(n, m, starts, out_shape, real)
    cdt = np.result_type(x.dtype, k.dtype, np.complex64)
    X = spectrum_array(x.shape[0], n[:-1] + (M,), real, cdt)
    rows_forward(x, X, M, real, nthreads)

    def spectrum():   # carrying the unnormalised inverse's 1/M
        S = spectrum_array(k.shape[0], m[:-1] + (M,), real, cdt)
        rows_forward(k, S, M, real, nthreads, 1.0 / M)
        return S

    Kf = kernel_spectrum(params, ("hybrid/unnormalised", M, real), k, spectrum)
    F = X.shape[-1]
    B = max(x.shape[0], k.shape[0])
    D = len(n) - 1
    maps = [axis_map(N, K, s, L) for N, K, s, L in zip(n[:D], m[:D], starts[:D], out_shape[:D])]
    obase, orow, krow, rmap, rstr, wdiv, rows = row_layout(
        maps, m[:D], out_shape[:D], n[:D], x.shape[0], k.shape[0], 1)
    flip = (slice(None),) + (slice(None, None, -1),) * D
    W = np.ascontiguousarray(Kf[flip]).reshape(k.shape[0], -1, F)
    Xr = X.reshape(-1, F).view(X.real.dtype)
    Wr = W.view(X.real.dtype)
    Y = np.empty((B * rows, F), dtype=X.dtype)
    apply_threads(Y.size * krow.shape[0] * 4, nthreads)
    ftile = (params.get("ftile") if params else None) or 4096   # tiles measured slower
    chunk = max(16, -(-(B * rows) // (4 * nthreads)))
    mix_rows(Xr, obase, orow, krow, rmap, rstr, Wr, wdiv, Y.view(X.real.dtype), ftile, chunk)
    Y = Y.reshape((B,) + tuple(out_shape[:D]) + (F,))
    y = rows_inverse(Y, M, real, nthreads)
    return y[..., starts[-1]:starts[-1] + out_shape[-1]]
