"""Direct method: sliding-window sums in a parallel numba kernel.

Cost: ``B * prod(out_shape) * prod(m)`` multiply-adds.  Zero padding is
virtual (the kernel skips taps that fall outside the input), so no padded
copy is made.  Exact for integers (64-bit accumulation); for floats each
output's error is bounded by about ``K * eps * sum(|x| |k|)`` over its own
window, which makes it the accurate choice for data of wide dynamic range.
"""
from __future__ import annotations

import numpy as np

name = "direct"


def _grid(sizes, offsets=None):
    """All multi-indices of a grid (rows), as an (count, D) int64 array."""
    if not sizes:
        return np.zeros((1, 0), dtype=np.int64)
    g = np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1).T
    if offsets is not None:
        g = g + np.asarray(offsets, dtype=np.int64)
    return np.ascontiguousarray(g)


def row_layout(n_lead, m_lead, pads_lead, out_lead, bx, bk, unit):
    """Row bookkeeping shared by the row kernels (direct and hybrid).

    Output rows are the batch times the leading output axes; ``unit`` is
    the number of elements per input row (1 to address rows themselves).
    Returns ``obase, orow, krow, xdims, xstr, wdiv, rows`` as the kernels
    take them: output row o's batch base, its leading input coordinates
    before the kernel offset, kernel-row offsets, input extents, strides,
    the divisor mapping an output row to its kernel, and rows per batch.
    """
    B = max(bx, bk)
    D = len(n_lead)
    xstr = np.ones(D, dtype=np.int64) * unit
    for d in range(D - 2, -1, -1):
        xstr[d] = xstr[d + 1] * n_lead[d + 1]
    orow = _grid(tuple(out_lead), [-p for p in pads_lead])
    krow = _grid(tuple(m_lead))
    rows = orow.shape[0]
    bstride = int(np.prod(n_lead)) * unit if bx > 1 else 0
    obase = np.repeat(np.arange(B, dtype=np.int64) * bstride, rows)
    orow = np.tile(orow, (B, 1))
    wdiv = rows if bk > 1 else B * rows + 1
    return obase, orow, krow, np.asarray(n_lead, dtype=np.int64), xstr, wdiv, rows


#: last-axis tap counts with generated, unrolled kernels (_kernels/fixed.py,
#: made by tools/gen_fixed_kernels.py from this range); float32/float64 only
FIXED_TAPS = range(2, 17)
FIXED_DTYPES = ("f4", "f8")

#: below this many multiply-adds the kernel runs on the calling thread only:
#: waking the worker threads costs more than the work, and a worker that has
#: to wait for a core (another pool still spinning) stalls for milliseconds
SMALL_WORK = 1 << 18


def threads_for(work, nthreads):
    return 1 if work < SMALL_WORK else nthreads


def run(x, k, starts, out_shape, params, nthreads):
    """Compute the canonical problem by direct summation (see _common)."""
    from .._config import numba_threads
    from .._kernels.direct import corr_rows

    x = np.ascontiguousarray(x)
    m = k.shape[1:]
    n = x.shape[1:]
    B = max(x.shape[0], k.shape[0])
    # padding before each axis: output i reads input i + j - pad (j = corr tap)
    pads = [K - 1 - s for K, s in zip(m, starts)]
    obase, orow, krow, xdims, xstr, wdiv, rows = row_layout(
        n[:-1], m[:-1], pads[:-1], out_shape[:-1], x.shape[0], k.shape[0], n[-1])
    # correlation weights: the kernel reversed on every convolution axis
    flip = (slice(None),) + (slice(None, None, -1),) * len(m)
    w = np.ascontiguousarray(k[flip]).reshape(k.shape[0], -1, m[-1])
    y = np.empty((B * rows, out_shape[-1]), dtype=x.dtype)
    tile = params.get("tile", 1024) if params else 1024
    kernel = corr_rows
    if x.dtype.str[1:] in FIXED_DTYPES and m[-1] in FIXED_TAPS:
        from .._kernels.fixed import FIXED    # taps unrolled: one pass per kernel row

        kernel = FIXED[m[-1]]
    numba_threads(threads_for(y.size * w.shape[1] * w.shape[2], nthreads))
    kernel(x.reshape(-1), obase, orow, krow, xdims, xstr, n[-1], pads[-1], w, wdiv, y, tile)
    return y.reshape((B,) + tuple(out_shape))
