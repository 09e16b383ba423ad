"""Helpers shared by the algorithms (canonical problem layout).

Canonical problem, as the planner hands it to every algorithm:

* ``x`` has shape ``(Bx, *n)`` and ``k`` has shape ``(Bk, *m)``: the
  convolution axes are the trailing ones, the batch is flattened to one
  leading axis and ``Bx, Bk`` are each 1 or ``B``;
* the result is ``y[b, i] = full(x[b], k[b])[starts + i]`` for
  ``0 <= i < out_shape`` (per axis), where ``full`` is the full linear
  convolution with ``x`` zero outside its extent.  Boundary extension other
  than zeros has already been applied (``x`` is then the padded array).
"""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=4096)
def fast_len(n: int, real: bool = True) -> int:
    import scipy.fft

    return int(scipy.fft.next_fast_len(int(n), real=real))


def window_pads(n, m, starts, out_shape):
    """Zero pads (before, after) per axis so a 'valid' pass yields the output."""
    pads = []
    for N, K, s, L in zip(n, m, starts, out_shape):
        lo = s - (K - 1)          # first input index needed
        hi = s + L - 1            # last input index needed
        pads.append((lo, hi))
    return pads


def window(x, m, starts, out_shape, extra=None):
    """Return ``W`` (contiguous) with ``valid(W, k) == wanted output``.

    ``W`` covers input indices ``[s-K+1, s+L-1]`` on every convolution axis,
    zero where that leaves ``x``, plus ``extra[d]`` trailing zeros per axis
    (one allocation, one copy).  No copy when ``x`` already is that window
    and contiguous.
    """
    extra = extra or (0,) * len(m)
    n = x.shape[1:]
    src = [slice(None)]
    dst = [slice(None)]
    shape = [x.shape[0]]
    need_copy = False
    for N, (lo, hi), e in zip(n, window_pads(n, m, starts, out_shape), extra):
        a, b = max(lo, 0), min(hi, N - 1)
        shape.append(hi - lo + 1 + e)
        if lo < 0 or hi > N - 1 or e:
            need_copy = True
        src.append(slice(a, b + 1))
        dst.append(slice(a - lo, b - lo + 1))
    if not need_copy:
        return np.ascontiguousarray(x[tuple(src)])
    W = np.zeros(shape, dtype=x.dtype)
    if all(s.stop > s.start for s in src[1:]):
        W[tuple(dst)] = x[tuple(src)]
    return W


def is_real(*arrays):
    return all(a.dtype.kind != "c" for a in arrays)


def kernel_spectrum(params, tag, k, compute):
    """``compute()`` (a kernel spectrum), reused across calls of one Plan.

    A Plan gives its calls a ``params['_kcache']`` dict; the spectrum is kept
    there under the kernel's bytes (and ``tag``: transform lengths, layout),
    so a plan applied again with the same kernel skips its transform.  One
    entry per tag; without a cache (one-off calls) it is just computed.
    """
    cache = params.get("_kcache") if params else None
    if cache is None:
        return compute()
    key = (k.shape, k.dtype.str, hash(k.tobytes()))
    hit = cache.get(tag)
    if hit is not None and hit[0] == key:
        return hit[1]
    val = compute()
    cache[tag] = (key, val)
    return val
