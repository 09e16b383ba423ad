"""Direct method: sliding-window sums in a parallel numba kernel.

Cost: ``B * prod(out_shape) * prod(m)`` multiply-adds.  Exact for integers
(64-bit accumulation); for floats each output's error is bounded by about
``K * eps * sum(|x| |k|)`` over its own window, so it is the accurate choice
for data of wide dynamic range.
"""
from __future__ import annotations

import numpy as np

from ._common import window

name = "direct"


def _row_layout(W, m, out_shape):
    """Flat start of every output row and offset of every kernel row."""
    wshape = W.shape[1:]
    strides = np.ones(len(wshape), dtype=np.int64)
    for d in range(len(wshape) - 2, -1, -1):
        strides[d] = strides[d + 1] * wshape[d + 1]
    bstride = int(np.prod(wshape))
    xstart = np.zeros((), dtype=np.int64)
    for d in range(len(wshape) - 1):
        xstart = np.add.outer(xstart, np.arange(out_shape[d], dtype=np.int64) * strides[d])
    woff = np.zeros((), dtype=np.int64)
    for d in range(len(wshape) - 1):
        woff = np.add.outer(woff, np.arange(m[d], dtype=np.int64) * strides[d])
    return xstart.ravel(), woff.ravel(), bstride


def run(x, k, starts, out_shape, params, nthreads):
    """Compute the canonical problem by direct summation (see _common)."""
    from .._config import numba_threads
    from .._kernels.direct import corr_rows

    m = k.shape[1:]
    W = window(x, m, starts, out_shape)
    B = max(W.shape[0], k.shape[0])
    xstart, woff, bstride = _row_layout(W, m, out_shape)
    rows_per_batch = xstart.size
    if W.shape[0] > 1:
        xstart = (np.arange(W.shape[0], dtype=np.int64)[:, None] * bstride
                  + xstart[None, :]).ravel()
    else:
        xstart = np.tile(xstart, B)
    # correlation weights: the kernel reversed on every convolution axis
    flip = (slice(None),) + (slice(None, None, -1),) * len(m)
    w = np.ascontiguousarray(k[flip]).reshape(k.shape[0], -1, m[-1])
    wdiv = rows_per_batch if k.shape[0] > 1 else xstart.size + 1
    L = out_shape[-1]
    y = np.empty((xstart.size, L), dtype=W.dtype)
    tile = params.get("tile", 1024) if params else 1024
    numba_threads(nthreads)
    corr_rows(W.reshape(-1), xstart, w, woff, wdiv, y, tile)
    return y.reshape((B,) + tuple(out_shape))
