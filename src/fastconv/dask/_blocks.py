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


def _assemble(parts, spans, shape, dtype, fn):
    """One task: the piece from its input chunks, then ``fn(piece)``."""
    if len(parts) == 1 and tuple(parts[0][spans[0][0]].shape) == tuple(shape):
        piece = parts[0][spans[0][0]]
    else:
        piece = np.empty(shape, dtype=dtype)
        for part, (src, dst) in zip(parts, spans):
            piece[dst] = part[src]
    return fn(piece)


def blocked(X, reach, chunks, fn, dtype):
    """The array of blocks ``fn(piece)``: output block ``[a, b)`` on axis
    ``d`` reads ``X[a : b + reach[d]]`` (``reach[d] = K - 1``; 0 on axes
    that are not convolved, whose output chunks are ``X``'s own).

    One task per output block takes the input chunks its piece overlaps
    and assembles the piece itself, so the graph holds no intermediate
    slices and an input chunk lives only until its last block is computed.
    ``chunks``: the output chunks per axis; ``fn`` maps the numpy piece to
    the numpy block.
    """
    da = _da()
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    if any(sum(c) == 0 for c in chunks):
        return da.zeros(tuple(sum(c) for c in chunks), dtype=dtype, chunks=chunks)
    ostarts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]
    xstarts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in X.chunks]
    name = "fastconv-blocks-" + tokenize(X, tuple(reach), chunks, fn, np.dtype(dtype).str)
    xdt = X.dtype
    dsk = {}
    for ix in itertools.product(*[range(len(c)) for c in chunks]):
        per_axis, shape = [], []
        for d, i in enumerate(ix):
            a, b = int(ostarts[d][i]), int(ostarts[d][i + 1]) + reach[d]
            shape.append(b - a)
            js = []
            for j in range(len(X.chunks[d])):
                u, v = int(xstarts[d][j]), int(xstarts[d][j + 1])
                lo, hi = max(a, u), min(b, v)
                if lo < hi:
                    js.append((j, slice(lo - u, hi - u), slice(lo - a, hi - a)))
            per_axis.append(js)
        keys, spans = [], []
        for combo in itertools.product(*per_axis):
            keys.append((X.name,) + tuple(j for j, _, _ in combo))
            spans.append((tuple(sl for _, sl, _ in combo), tuple(sl for _, _, sl in combo)))
        dsk[(name,) + ix] = (_assemble, keys, spans, tuple(shape), xdt, fn)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[X])
    return da.Array(graph, name, chunks, dtype=dtype, meta=np.empty((0,) * X.ndim, dtype))


def piece_shapes(chunks, reach):
    """The distinct input piece shapes of ``blocked`` (for planning)."""
    per_axis = [sorted({c + r for c in cs if c}) or [r] for cs, r in zip(chunks, reach)]
    return list(itertools.product(*per_axis))
