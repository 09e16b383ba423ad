"""Blocked convolution of dask arrays, shared by ``fastconv.dask`` and
``fastconv.dask.ndimage``.

Every convolution here is a 'valid' convolution of the input *extended* by
the boundary rule: ``extend`` pads each convolution axis by ``(lo, hi)``
samples (index maps through ``numpy.pad``'s own rule, so a pad deeper than
the axis, or a 'wrap' that reads the far end, is right), and ``blocked``
computes each output block from the slice of the extended array it reads:
the block plus ``K - 1`` samples, gathered from as many neighbouring chunks
as that spans (never an error, never a whole-axis rechunk).  Each block is
one task that calls the in-memory function, so the same planner picks
direct, separable, FFT or overlap-save for each block shape, and a kernel's
spectrum is shared by the tasks of one process (the engine's spectrum
cache).
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def _da():
    try:
        import dask.array as da
    except ImportError:                                  # pragma: no cover
        raise ImportError("fastconv.dask needs dask: pip install 'fastconv[dask]'") from None
    return da


def is_dask(a) -> bool:
    return hasattr(a, "dask") and hasattr(a, "chunks") and hasattr(a, "compute")


def as_dask(a, name):
    """A dask array (numpy-like input wrapped in one chunk)."""
    da = _da()
    if is_dask(a):
        return a
    arr = np.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"{name} must be a dask array or array_like of numbers")
    return da.from_array(arr, chunks=arr.shape or ())


def _split(n, size):
    """Chunks of at most ``size`` covering ``n``."""
    size = max(int(size), 1)
    return (size,) * (n // size) + ((n % size,) if n % size else ())


def extend(x, axis, lo, hi, mode, cval):
    """``x`` padded along ``axis`` by ``lo``/``hi`` samples (numpy.pad modes)."""
    da = _da()
    if lo == 0 and hi == 0:
        return x
    N = x.shape[axis]
    big = max(x.chunks[axis]) if x.chunks[axis] else 1
    parts = []
    if mode == "constant":
        def fill(n):
            shape = list(x.shape)
            shape[axis] = n
            chunks = list(x.chunks)
            chunks[axis] = _split(n, big)
            return da.full(shape, cval, dtype=x.dtype, chunks=tuple(chunks))
        left, right = (fill(lo) if lo else None), (fill(hi) if hi else None)
    else:
        # where each padded sample comes from (numpy.pad's rule on indices)
        idx = np.pad(np.arange(N), (lo, hi), mode=mode)

        def take(ix):
            sl = [slice(None)] * x.ndim
            sl[axis] = ix
            part = x[tuple(sl)]
            return part.rechunk({axis: _split(len(ix), big)})
        left = take(idx[:lo]) if lo else None
        right = take(idx[lo + N:]) if hi else None
    for p in (left, x, right):
        if p is not None:
            parts.append(p)
    return da.concatenate(parts, axis=axis)


def out_chunks(base, L):
    """Output chunks of total ``L`` following the input's chunks ``base``."""
    if L <= 0:
        return (0,)
    out, tot = [], 0
    for c in base:
        if tot >= L:
            break
        c = min(c, L - tot)
        if c:
            out.append(c)
            tot += c
    step = max(base) if base and max(base) > 0 else L
    while tot < L:
        c = min(step, L - tot)
        out.append(c)
        tot += c
    return tuple(out)


def blocked(X, reach, chunks, fn, dtype):
    """The array of blocks ``fn(piece)``: output block ``[a, b)`` on axis
    ``d`` reads ``X[a : b + reach[d]]`` (``reach[d] = K - 1``; 0 on axes
    that are not convolved, whose output chunks are ``X``'s own).

    ``chunks``: the output chunks per axis.  ``fn`` maps a numpy piece to
    the numpy block.
    """
    da = _da()
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]
    nb = [len(c) for c in chunks]
    if any(sum(c) == 0 for c in chunks):
        return da.zeros(tuple(sum(c) for c in chunks), dtype=dtype, chunks=chunks)
    blocks = np.empty(nb, dtype=object)
    for ix in itertools.product(*[range(n) for n in nb]):
        sl, shape = [], []
        for d, i in enumerate(ix):
            a, b = int(starts[d][i]), int(starts[d][i + 1])
            sl.append(slice(a, b + reach[d]))
            shape.append(b - a)
        piece = X[tuple(sl)]
        if math.prod(len(c) for c in piece.chunks) > 1:
            piece = piece.rechunk(piece.shape)
        blocks[ix] = piece.map_blocks(fn, chunks=tuple((s,) for s in shape), dtype=dtype,
                                      meta=np.empty((0,) * X.ndim, dtype))
    return da.block(blocks.tolist())


def piece_shapes(chunks, reach):
    """The distinct input piece shapes of ``blocked`` (for planning)."""
    per_axis = [sorted({c + r for c in cs if c}) or [r] for cs, r in zip(chunks, reach)]
    return list(itertools.product(*per_axis))
