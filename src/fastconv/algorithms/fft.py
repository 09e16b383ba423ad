"""FFT method: one transform of each operand over the convolution axes.

Real transforms for real data; per-axis transform lengths are the smallest
fast lengths that avoid circular wrap-around *in the outputs kept*
(``M >= max(N + K - 1 - s, s + L)``, so 'valid' needs only ``M >= N``);
only the convolution axes are transformed; ``workers`` = fastconv's threads.

The N-D transforms are done axis by axis and *pruned*: the forward pass
transforms the last axis first, so rows that are still all zero padding on
the other axes are never transformed (a 31x31 kernel padded to 2160x2160
costs 31 row transforms, not 2160); the inverse pass crops each axis to the
outputs kept as soon as it is transformed.

Error: about ``eps * log2(M) * ||x||_2 * ||k||_2`` in absolute terms, so
small outputs next to large ones lose relative accuracy.
"""
from __future__ import annotations

import functools

import numpy as np

from ._common import fast_len, is_real, kernel_spectrum

name = "fft"

#: an axis holding at most this many samples padded to >= 8x its length is
#: transformed by a DFT-matrix product (one single-threaded GEMM) instead of
#: an FFT, when threadpoolctl is installed to keep BLAS from spinning threads
DFT_MAX_TAPS = 64


@functools.lru_cache(maxsize=64)
def _dft_matrix(M, K, dtype):
    f = np.arange(M)[:, None]
    j = np.arange(K)[None, :]
    return np.exp(-2j * np.pi * ((f * j) % M) / M).astype(dtype)


def _dft_axis(A, M, axis, limiter):
    """Zero-padded DFT of length M along ``axis`` as a (single-threaded) GEMM."""
    D = _dft_matrix(M, A.shape[axis], A.dtype.str)
    Am = np.moveaxis(A, axis, -2)
    with limiter:
        return np.moveaxis(np.matmul(D, Am), -2, axis)


def lengths(n, m, starts, out_shape, real=True):
    return tuple(fast_len(max(N + K - 1 - s, s + L), real)
                 for N, K, s, L in zip(n, m, starts, out_shape))


def forward(a, M, axes, real, workers):
    """Pruned N-D forward transform of ``a`` zero-padded to ``M`` on ``axes``."""
    import scipy.fft as sfft

    data = 1
    for ax in axes:
        data *= a.shape[ax]
    padded = 1
    for Md in M:
        padded *= Md
    if len(axes) == 1 or padded < 1.5 * data:   # little to prune: one N-D call
        if real:
            return sfft.rfftn(a, s=M, axes=axes, workers=workers)
        return sfft.fftn(a, s=M, axes=axes, workers=workers)
    last = axes[-1]
    if real:
        A = sfft.rfft(a, n=M[-1], axis=last, workers=workers)
    else:
        A = sfft.fft(a, n=M[-1], axis=last, workers=workers)
    from .._config import blas_single_threaded

    for ax, Md in zip(reversed(axes[:-1]), reversed(M[:-1])):
        limiter = None
        if A.shape[ax] <= DFT_MAX_TAPS and Md >= 8 * A.shape[ax]:
            limiter = blas_single_threaded()   # None without threadpoolctl
        if limiter is not None:
            A = _dft_axis(A, Md, ax, limiter)
        else:
            A = sfft.fft(A, n=Md, axis=ax, workers=workers, overwrite_x=True)
    return A


def inverse(A, M, axes, starts, out_shape, real, workers):
    """Inverse transform keeping only ``[s, s + L)`` on every axis."""
    import scipy.fft as sfft

    for ax, Md, s, L in zip(axes[:-1], M[:-1], starts[:-1], out_shape[:-1]):
        A = sfft.ifft(A, n=Md, axis=ax, workers=workers, overwrite_x=True)
        sl = [slice(None)] * A.ndim
        sl[ax] = slice(s, s + L)
        A = A[tuple(sl)]
    last = axes[-1]
    if real:
        y = sfft.irfft(A, n=M[-1], axis=last, workers=workers)
    else:
        y = sfft.ifft(A, n=M[-1], axis=last, workers=workers)
    sl = [slice(None)] * y.ndim
    sl[last] = slice(starts[-1], starts[-1] + out_shape[-1])
    return y[tuple(sl)]


def run(x, k, starts, out_shape, params, nthreads):
    nd = x.ndim - 1
    axes = tuple(range(1, nd + 1))
    real = is_real(x, k)
    M = params.get("lengths") if params else None
    if M is None:
        M = lengths(x.shape[1:], k.shape[1:], starts, out_shape, real)
    X = forward(x, M, axes, real, nthreads)
    # contiguous, as X is (the pruned transform can leave it strided): the
    # product below then streams both
    Kf = kernel_spectrum(params, ("fft", M, real), k,
                         lambda: np.ascontiguousarray(forward(k, M, axes, real, nthreads)))
    if X.shape[0] >= Kf.shape[0] and X.dtype == np.result_type(X, Kf):
        X *= Kf
    else:
        X = X * Kf
    return inverse(X, M, axes, starts, out_shape, real, nthreads)
