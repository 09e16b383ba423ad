"""FFT method: one transform of each operand over the convolution axes.

Real transforms for real data; per-axis transform lengths are the smallest
fast lengths that avoid circular wrap-around *in the outputs kept*
(``M >= max(N + K - 1 - s, s + L)``, so 'valid' needs only ``M >= N``);
only the convolution axes are transformed; ``workers`` = fastconv's threads.

The N-D transforms are done axis by axis and *pruned*: the forward pass
transforms the last axis first, so rows that are still all zero padding on
the other axes are never transformed (a 31x31 kernel padded to 2160x2160
costs 31 row transforms, not 2160); the inverse pass crops each axis to the
outputs kept as soon as it is transformed.  The transforms run in place
through scipy's pocketfft binding (:mod:`fastconv._pocket`): the input is
copied into the spectrum array (the real view of its rows), transformed
there, and the inverse lands there too, so a call allocates the spectrum
and the caller's output, nothing else; the kernel's spectrum carries the
``1/prod(M)`` so nothing is normalised twice.

Error: about ``eps * log2(M) * ||x||_2 * ||k||_2`` in absolute terms, so
small outputs next to large ones lose relative accuracy.
"""
from __future__ import annotations

import numpy as np

from .. import _pocket
from ._common import fast_len, is_real, kernel_spectrum, multiply_into, split_apply

name = "fft"


def lengths(n, m, starts, out_shape, real=True):
    return tuple(fast_len(max(N + K - 1 - s, s + L), real)
                 for N, K, s, L in zip(n, m, starts, out_shape))


def _sub(n):
    return tuple(slice(0, v) for v in n)


def _crop(starts, out_shape):
    """``(:, s0:s0+L0, s1:s1+L1, ...)`` over the axes given."""
    return (slice(None),) + tuple(slice(s, s + L) for s, L in zip(starts, out_shape))


def spectrum_array(B, M, real, cdt, zeroed=False):
    """The (B, *M) spectrum array (last axis halved for a real transform)."""
    last = M[-1] // 2 + 1 if real else M[-1]
    return (np.zeros if zeroed else np.empty)((B,) + tuple(M[:-1]) + (last,), cdt)


def rows_forward(x, Y, M, real, workers, scale=None, zeroed=False):
    """``Y[...] = (r)fft(x * scale, n=M, axis=-1)``, in place in ``Y``: ``x``
    is copied into ``Y``'s rows (their real view for a real transform: an
    rfft output row holds ``2 (M//2 + 1) >= M`` reals), then transformed
    there; pocketfft reads a row into its own buffer before writing it.
    ``zeroed``: ``Y`` is known to be zero (no padding fill).  Samples from
    ``M`` on are dropped: with ``M >= s + L`` they reach no output kept."""
    x = x[..., :M]
    N = x.shape[-1]
    dst = (Y.view(np.finfo(Y.dtype).dtype) if real else Y)[..., :M]
    # the copy (and zero fill) in pieces along the first axis with room
    ax = 0 if x.ndim < 3 or x.shape[0] >= workers else 1

    def fill(a, b):
        sl = (slice(None),) * ax + (slice(a, b),)
        if scale is None:
            dst[sl][..., :N] = x[sl]
        else:
            np.multiply(x[sl], scale, out=dst[sl][..., :N], casting="unsafe")
        if not zeroed:
            dst[sl][..., N:] = 0

    split_apply(workers, x.shape[ax], dst.size, fill)
    if real:
        _pocket.r2c(dst, -1, Y, workers)
    else:
        _pocket.c2c(dst, -1, True, dst, workers)


def rows_inverse(Y, M, real, workers):
    """Unnormalised inverse of :func:`rows_forward` in place: a view of
    ``Y`` (its real view for a real transform) holding ``M`` samples per row."""
    if not real:
        _pocket.c2c(Y, -1, False, Y, workers)
        return Y
    y = Y.view(np.finfo(Y.dtype).dtype)[..., :M]
    _pocket.c2r(Y, -1, M, y, workers)
    return y


def forward(x, M, real, cdt, workers, scale=None, out=None):
    """Pruned forward transform of ``x`` (B, *n) zero-padded to ``M`` on all
    trailing axes, unnormalised (times ``scale`` if given), into
    a new array of complex ``cdt``: the only allocation.

    ``x`` is copied (cast, scaled) straight into the rows of that array and
    every transform runs in place (:func:`rows_forward`).  The last axis is
    transformed first, only on rows inside ``x``; each earlier axis only
    where the axes before it are still inside ``x`` (the rest is zero).
    (A DFT-matrix GEMM for an axis of few samples padded far, once used for
    kernels, lost to these in-place transforms on every shape measured:
    4096^2 x 63^2 73 vs 40 ms, 128^3 x 15^3 7.1 vs 2.3.)
    ``out``: a spectrum array to reuse (overlap-save's tiles), any contents.
    """
    x = x[(slice(None),) + _sub(M)]   # what lies beyond M reaches no output kept
    n = x.shape[1:]
    nd = len(n)
    # mostly padding (a kernel): pages the OS hands out zeroed, no fills
    zeroed = np.prod(M, dtype=np.float64) > 2.0 * np.prod(n, dtype=np.float64) and out is None
    Y = spectrum_array(x.shape[0], M, real, cdt, zeroed) if out is None else out
    rows_forward(x, Y[(slice(None),) + _sub(n[:-1])], M[-1], real, workers, scale, zeroed)
    for ax in range(nd - 1, 0, -1):
        pre = (slice(None),) + _sub(n[:ax - 1])
        if not zeroed:
            Y[pre + (slice(n[ax - 1], None),)] = 0
        blk = Y[pre]
        _pocket.c2c(blk, ax, True, blk, workers)
    return Y


def inverse(Y, M, starts, out_shape, real, workers):
    """Unnormalised inverse of :func:`forward`'s layout, in place in ``Y``,
    keeping only ``[s, s + L)`` per axis: each axis is cropped as soon as it
    is transformed; a real last axis lands in ``Y``'s real view.  Returns a
    (strided) view of ``Y``."""
    nd = len(M)
    for ax in range(1, nd):
        blk = Y[_crop(starts[:ax - 1], out_shape[:ax - 1])]
        _pocket.c2c(blk, ax, False, blk, workers)
    y = rows_inverse(Y[_crop(starts[:-1], out_shape[:-1])], M[-1], real, workers)
    return y[..., starts[-1]:starts[-1] + out_shape[-1]]


def run(x, k, starts, out_shape, params, nthreads):
    real = is_real(x, k)
    M = params.get("lengths") if params else None
    if M is None:
        M = lengths(x.shape[1:], k.shape[1:], starts, out_shape, real)
    M = tuple(int(Md) for Md in M)
    cdt = np.result_type(x.dtype, k.dtype, np.complex64)
    X = forward(x, M, real, cdt, nthreads)
    # the kernel's spectrum carries the inverse's 1/prod(M)
    scale = 1.0 / float(np.prod(M, dtype=np.float64))
    Kf = kernel_spectrum(params, ("fft/unnormalised", M, real), k,
                         lambda: forward(k, M, real, cdt, nthreads, scale))
    if X.shape[0] >= Kf.shape[0]:
        multiply_into(X, Kf, nthreads)
    else:
        X = X * Kf
    return inverse(X, M, starts, out_shape, real, nthreads)
