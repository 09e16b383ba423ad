"""Blocked FFT methods: overlap-add and overlap-save, on N-D blocks.

The input is cut into blocks along every blocked convolution axis and all
blocks are transformed in one batched FFT call (the blocks become extra
batch axes), multiplied by one kernel spectrum and transformed back.

* overlap-add: non-overlapping input blocks of ``S`` samples, full
  convolutions of length ``S + K - 1`` added where they overlap;
* overlap-save: overlapping input windows of ``M = S + K - 1`` samples
  (strided views, no copy until the FFT), the first ``K - 1`` outputs of
  each circular convolution discarded, no additions.

Block sizes (``blocks``: per-axis FFT length ``M``, or ``None`` for an axis
that is not blocked) come from the cost model.  Accuracy: as the FFT method,
with ``M`` the block FFT length (a little better than one large FFT).
"""
from __future__ import annotations

import numpy as np

from ._common import TaskQueue, fast_len, is_real, kernel_spectrum, result, window


def _block_lengths(lo, hi):
    """FFT block lengths 2**k and 3 * 2**k in [lo, hi): the fastest sizes."""
    out = []
    p = 16
    while p < hi:
        for M in (p, 3 * p // 2):
            if lo <= M < hi:
                out.append(M)
        p *= 2
    return sorted(out)


#: N-D overlap-save tiles: at least this FFT length per axis (2-D, 3-D, more),
#: and at least REACH[nd] kernel lengths, up to TILE_MAX[nd]
TILE = {2: 512, 3: 128}
REACH = {2: 12, 3: 8}
TILE_MAX = {2: 1024, 3: 512}
#: N-D overlap-save tiles hold at least this many points: where the axes
#: that are not blocked are short (a few rows: (2, 2e6) x (2, 100)), the
#: blocked axes' tiles grow past TILE_MAX (each tile costs ~0.1 ms of
#: Python work besides its transforms: 1024-long tiles of 3 rows took 240 ms
#: there, against 23 for the same problem's direct sums)
TILE_POINTS = {2: 1 << 18, 3: 1 << 21}


def choose_blocks(n, m, out_shape, real=True, threads=1, batch=1, tiled=True):
    """Per-axis FFT block length (None = not blocked).

    N-D (overlap-save runs tile by tile, see :func:`_save_tiled`): tiles of
    the smallest fast length >= ``max(TILE[nd], REACH[nd] K)`` (at most
    ``TILE_MAX[nd]``) on every axis long enough for two of them (measured on
    4096^2 float32, 2 threads, best of 5: 31^2 72.8 ms at 512 / 73.5 at 768
    / 88.4 at 1024; 63^2 87.7 / 74.9 / 90.4; 127^2 98.5 / 91.5 / 90.6 /
    102 at 1536); whether tiles
    beat one large transform is the cost model's call.  ``tiled=False``
    (overlap-add, whose blocks are transformed in one batch) and 1-D: the
    length minimising a simple cost, as follows.

    Cost per axis: ``nblocks * (M * log2(M) + c)`` against the unblocked
    ``M_full * log2(M_full)``; ``c`` (~ 4096 point-logs) stands for the
    per-block overhead.  Block lengths are restricted to the fastest FFT
    sizes (2**k, 3 * 2**k).  In 1-D a single long transform runs on one
    thread (the FFT library threads over independent transforms only), while
    blocks are shared among ``threads``: each cost is divided by the threads
    its transforms can use.
    """
    blocks = []
    one_d = len(n) == 1
    if not one_d and tiled:
        T = TILE.get(len(n), 32)
        for N, K, L in zip(n, m, out_shape):
            full = fast_len(N + K - 1, real)
            want = max(T, min(REACH.get(len(n), 8) * K, TILE_MAX.get(len(n), 256)), 2 * K)
            M = next(iter(_block_lengths(want, 8 * want + 1)))
            blocks.append(M if full >= 1.5 * M and L > M - K + 1 else None)
        return _grown(blocks, n, m, out_shape, real)
    for N, K, L in zip(n, m, out_shape):
        full = fast_len(N + K - 1, real)
        best_cost = full * np.log2(max(full, 2))
        if one_d:
            best_cost /= min(threads, batch)
        best = None
        for M in _block_lengths(max(2 * K, 16), full):
            S = M - K + 1
            nb = -(-L // S)
            cost = nb * (M * np.log2(M) + 4096)
            if one_d:
                cost /= min(threads, batch * nb)
            if cost < best_cost:
                best, best_cost = M, cost
        blocks.append(best)
    return tuple(blocks)


def _grown(blocks, n, m, out_shape, real):
    """N-D tiles grown on their blocked axes to TILE_POINTS points (see there)."""
    nd = len(n)
    fixed = 1.0
    for N, K, M in zip(n, m, blocks):
        if M is None:
            fixed *= fast_len(N + K - 1, real)
    tiled = [d for d, M in enumerate(blocks) if M is not None]
    pts = fixed * float(np.prod([blocks[d] for d in tiled])) if tiled else 0.0
    want = TILE_POINTS.get(nd, 1 << 18)
    if not tiled or pts >= want:
        return tuple(blocks)
    factor = (want / pts) ** (1.0 / len(tiled))
    out = list(blocks)
    for d in tiled:
        N, K, L, M = n[d], m[d], out_shape[d], blocks[d]
        full = fast_len(N + K - 1, real)
        grown = next(iter(_block_lengths(int(M * factor), 8 * int(M * factor) + 64)), M)
        out[d] = grown if full >= 1.5 * grown and L > grown - K + 1 else None
    return tuple(out)


def _transforms(real, nthreads):
    import scipy.fft as sfft

    if real:
        return (lambda a, s, ax: sfft.rfftn(a, s=s, axes=ax, workers=nthreads),
                lambda a, s, ax: sfft.irfftn(a, s=s, axes=ax, workers=nthreads,
                                            overwrite_x=True))
    return (lambda a, s, ax: sfft.fftn(a, s=s, axes=ax, workers=nthreads),
            lambda a, s, ax: sfft.ifftn(a, s=s, axes=ax, workers=nthreads,
                                       overwrite_x=True))


def _blocks_or_default(x, k, out_shape, params, nthreads, tiled):
    blocks = params.get("blocks") if params else None
    if blocks is None:
        blocks = choose_blocks(x.shape[1:], k.shape[1:], out_shape, is_real(x, k),
                               nthreads, max(x.shape[0], k.shape[0]), tiled)
    return blocks


#: 1-D overlap-save works through its blocks in chunks of about this many
#: input samples (the chunk's windows and spectra stay in L2)
CHUNK_SAMPLES = 1 << 17


def chunk_blocks(M):
    """Blocks of FFT length ``M`` per chunk of the 1-D path."""
    return max(1, CHUNK_SAMPLES // M)


def _save_1d(x, k, starts, L, M, params, nthreads):
    """1-D overlap-save in cache-sized chunks of blocks, chunks shared among
    threads: each chunk's windows are read straight from ``x`` (zeros beyond
    its ends), transformed, multiplied, transformed back and their valid
    parts written into the output, so no padded copy of the input and no
    array of all the blocks' spectra is ever made."""
    import scipy.fft as sfft

    from .._config import run_tasks

    K = k.shape[1]
    N = x.shape[1]
    S = M - K + 1
    nb = -(-L // S)
    real = is_real(x, k)
    fwd = (lambda a: sfft.rfft(a, n=M, axis=-1)) if real else (lambda a: sfft.fft(a, n=M))
    inv = (lambda a: sfft.irfft(a, n=M, axis=-1, overwrite_x=True)) if real else (
        lambda a: sfft.ifft(a, n=M, overwrite_x=True))
    H = kernel_spectrum(params, ("save1d", M, real), k, lambda: fwd(k))
    B = max(x.shape[0], k.shape[0])
    dt = np.result_type(x.dtype, k.dtype, np.float32)
    y = result((B, L), dt)
    lo = starts[0] - (K - 1)               # input index of window sample 0
    per = chunk_blocks(M)
    chunks = [(r, b0, min(b0 + per, nb)) for r in range(B) for b0 in range(0, nb, per)]

    def work(r, b0, b1):
        xr = x[r if x.shape[0] > 1 else 0]
        a = lo + b0 * S                     # input span of the chunk's windows
        span = (b1 - b0 - 1) * S + M
        if a >= 0 and a + span <= N:
            src = xr[a:a + span]
        else:                               # an end of the input: zeros around it
            src = np.zeros(span, dtype=x.dtype)
            u, v = max(a, 0), min(a + span, N)
            if v > u:
                src[u - a:v - a] = xr[u:v]
        it = src.strides[0]
        V = np.lib.stride_tricks.as_strided(src, shape=(b1 - b0, M), strides=(S * it, it),
                                            writeable=False)
        X = fwd(V)
        X *= H[r if H.shape[0] > 1 else 0]
        Z = inv(X)
        o0 = b0 * S
        n = min(b1 * S, L) - o0
        full, rest = divmod(n, S)
        yr = y[r, o0:o0 + n]
        if full:
            yr[:full * S].reshape(full, S)[...] = Z[:full, K - 1:]
        if rest:
            yr[full * S:] = Z[full, K - 1:K - 1 + rest]

    # contiguous runs of chunks per thread (fewer hand-offs)
    T = max(1, min(nthreads, len(chunks)))
    runs = [chunks[i * len(chunks) // T:(i + 1) * len(chunks) // T] for i in range(T)]
    run_tasks(T, lambda run: [work(*c) for c in run], [(run,) for run in runs])
    return y


#: a tile task holds at most about this many bytes of spectrum (several
#: batch entries in one task while they fit): tiles stay in cache
TILE_TASK_BYTES = 16 << 20


def _save_tiled(x, k, starts, out_shape, blocks, params, nthreads, maps=None):
    """N-D overlap-save tile by tile: each task reads its input window
    (zeros beyond ``x``), transforms it (all blocked and unblocked axes at
    once), multiplies by the shared kernel spectrum, transforms back and
    writes its valid part into the output.  Tasks are shared among threads
    (one-thread transforms), so there is no array of every tile's spectrum
    and the transforms stay in cache.

    ``maps`` (one per convolution axis: padded coordinate -> index of ``x``)
    applies a boundary rule virtually: ``x`` is then the unextended input and
    each tile gathers its window through the maps (a view for tiles inside
    the input), so no padded copy of the whole input is made."""
    import itertools

    from .._config import run_tasks

    m = k.shape[1:]
    n = x.shape[1:] if maps is None else tuple(len(mp) for mp in maps)
    nd = len(m)
    real = is_real(x, k)
    Ms, Ss, nbs = [], [], []
    for K, L, M in zip(m, out_shape, blocks):
        if M is None:
            M, S = fast_len(L + K - 1, real), L
        else:
            S = M - K + 1
        Ms.append(M)
        Ss.append(S)
        nbs.append(-(-L // S))
    from . import fft as _fft

    Ms = tuple(int(M) for M in Ms)
    cdt = np.result_type(x.dtype, k.dtype, np.complex64)
    # the kernel spectrum carries the inverse's 1 / prod(M) (unnormalised
    # in-place transforms, as the FFT method)
    scale = 1.0 / float(np.prod(Ms, dtype=np.float64))
    H = kernel_spectrum(params, ("save-tiled", Ms, real), k,
                        lambda: _fft.forward(k, Ms, real, cdt, nthreads, scale))
    B = max(x.shape[0], k.shape[0])
    dt = np.result_type(x.dtype, k.dtype, np.float32)
    y = result((B,) + tuple(out_shape), dt)
    tiles = list(itertools.product(*[range(nb) for nb in nbs]))
    per = int(np.prod(Ms[:-1])) * (Ms[-1] // 2 + 1 if real else Ms[-1]) * 2 * dt.itemsize
    group = max(1, min(B, TILE_TASK_BYTES // max(per, 1)))
    tasks = [(b0, min(b0 + group, B), t) for t in tiles for b0 in range(0, B, group)]
    workers = 1 if len(tasks) >= nthreads else nthreads
    import threading

    local = threading.local()          # each thread's spectrum buffer, reused

    def work(b0, b1, t):
        xb = x[b0:b1] if x.shape[0] > 1 else x
        src, dst, shape, inside = [slice(None)], [slice(None)], [xb.shape[0]], True
        osl, zsl = [slice(b0, b1)], []
        for d in range(nd):
            o = t[d] * Ss[d]
            ln = min(Ss[d], out_shape[d] - o)
            a = starts[d] + o - (m[d] - 1)          # input index of window sample 0
            u, v = max(a, 0), min(a + Ms[d], n[d])
            inside = inside and a >= 0 and a + Ms[d] <= n[d]
            src.append(slice(u, max(v, u)))
            dst.append(slice(u - a, max(v, u) - a))
            shape.append(Ms[d])
            osl.append(slice(o, o + ln))
            zsl.append(ln)
        if maps is not None:
            W = _gather(xb, [mp[sl] for mp, sl in zip(maps, src[1:])])
        elif inside or all(sl.start == 0 for sl in dst[1:]):
            W = xb[tuple(src)]                   # zeros beyond it: forward pads
        else:
            W = np.zeros(shape, dtype=x.dtype)
            if all(sl.stop > sl.start for sl in src[1:]):
                W[tuple(dst)] = xb[tuple(src)]
        buf = getattr(local, "buf", None)
        B_t = max(W.shape[0], 1)
        if buf is None or buf.shape[0] != B_t:
            buf = local.buf = _fft.spectrum_array(B_t, Ms, real, cdt)
        X = _fft.forward(W, Ms, real, cdt, workers, out=buf)
        hb = H[b0:b1] if H.shape[0] > 1 else H
        if X.shape[0] >= hb.shape[0]:
            X *= hb
        else:
            X = X * hb
        Z = _fft.inverse(X, Ms, tuple(K - 1 for K in m), tuple(zsl), real, workers)
        y[tuple(osl)] = Z

    if workers > 1:
        for tk in tasks:
            work(*tk)
    else:
        # each thread takes the next tile when it is done with one
        T = min(nthreads, len(tasks))
        queue = TaskQueue(tasks)
        run_tasks(T, lambda: [work(*tk) for tk in queue], [()] * T)
    return y


def _gather(x, idx):
    """``x[:, idx[0], idx[1], ...]`` (outer indexing): slices where an index
    run is contiguous, ``np.take`` on the other axes."""
    sl, takes = [slice(None)], []
    for d, ix in enumerate(idx):
        if len(ix) and ix[-1] - ix[0] == len(ix) - 1 and (len(ix) < 2 or np.all(np.diff(ix) == 1)):
            sl.append(slice(int(ix[0]), int(ix[-1]) + 1))
        else:
            sl.append(slice(None))
            takes.append((d + 1, ix))
    W = x[tuple(sl)]
    for ax, ix in takes:
        W = np.take(W, ix, axis=ax)
    return W


def run_virtual(x, k, pads, boundary, out_shape, params, nthreads):
    """Tiled N-D overlap-save on the unextended input, the boundary rule
    (not 'constant') applied through index maps; None when the problem is not
    tiled (the caller pads and runs :func:`run_save`)."""
    from .direct import pad_map

    blocks = params.get("blocks") if params else None
    if (blocks is None or k.ndim < 3 or all(M is None for M in blocks)
            or x.dtype.kind not in "fc"):
        return None
    maps = [pad_map(N, lo, hi, boundary) for N, (lo, hi) in zip(x.shape[1:], pads[1:])]
    starts = tuple(K - 1 for K in k.shape[1:])
    return _save_tiled(x, k, starts, out_shape, blocks, params, nthreads, maps)


def run_save(x, k, starts, out_shape, params, nthreads):
    """Overlap-save over the window of the input the outputs need."""
    m = k.shape[1:]
    nd = len(m)
    blocks = _blocks_or_default(x, k, out_shape, params, nthreads, True)
    real = is_real(x, k)
    if nd == 1 and blocks[0] is not None:
        return _save_1d(x, k, starts, out_shape[0], blocks[0], params, nthreads)
    if nd > 1 and any(M is not None for M in blocks):
        return _save_tiled(x, k, starts, out_shape, blocks, params, nthreads)
    fwd, inv = _transforms(real, nthreads)
    # the window valid(W, k) == output, padded to whole blocks on every axis
    extra = []
    meta = []
    for d, (K, L, M) in enumerate(zip(m, out_shape, blocks)):
        if M is None:
            M = fast_len(L + K - 1, real)
            S, nb = L, 1
        else:
            S = M - K + 1
            nb = -(-L // S)
        need = (nb - 1) * S + M
        extra.append(max(0, need - (L + K - 1)))
        meta.append((M, S, nb))
    Wp = window(x, m, starts, out_shape, extra)
    # strided view: (B, nb0, M0, nb1, M1, ...)
    shape = [Wp.shape[0]]
    strides = [Wp.strides[0]]
    for d, (M, S, nb) in enumerate(meta):
        st = Wp.strides[d + 1]
        shape += [nb, M]
        strides += [st * S, st]
    V = np.lib.stride_tricks.as_strided(Wp, shape=shape, strides=strides, writeable=False)
    axes = tuple(2 + 2 * d for d in range(nd))
    Ms = tuple(M for M, _, _ in meta)
    X = fwd(V, Ms, axes)
    kk = k.reshape((k.shape[0],) + sum(((1, K) for K in m), ()))
    X *= kernel_spectrum(params, ("save", Ms, real), k, lambda: fwd(kk, Ms, axes))
    Y = inv(X, Ms, axes)
    sl = [slice(None)]
    for (M, S, nb), K in zip(meta, m):
        sl += [slice(None), slice(K - 1, K - 1 + S)]
    Y = Y[tuple(sl)]
    B = Y.shape[0]
    Y = Y.reshape((B,) + tuple(nb * S for M, S, nb in meta))
    return Y[(slice(None),) + tuple(slice(0, L) for L in out_shape)]


def run_add(x, k, starts, out_shape, params, nthreads):
    """Overlap-add: blocks of x, full convolutions added, then the crop."""
    m = k.shape[1:]
    n = x.shape[1:]
    nd = len(m)
    blocks = _blocks_or_default(x, k, out_shape, params, nthreads, False)
    real = is_real(x, k)
    fwd, inv = _transforms(real, nthreads)
    pads = [(0, 0)]
    meta = []
    for N, K, M in zip(n, m, blocks):
        if M is None or M - K + 1 < K - 1:
            M = fast_len(N + K - 1, real)
            S, nb = N, 1
        else:
            S = M - K + 1
            nb = -(-N // S)
        pads.append((0, nb * S - N))
        meta.append((M, S, nb))
    xp = np.pad(x, pads) if any(p[1] > 0 for p in pads) else x
    shape = [xp.shape[0]]
    for M, S, nb in meta:
        shape += [nb, S]
    V = xp.reshape(shape)
    axes = tuple(2 + 2 * d for d in range(nd))
    Ms = tuple(M for M, _, _ in meta)
    X = fwd(V, Ms, axes)
    kk = k.reshape((k.shape[0],) + sum(((1, K) for K in m), ()))
    X *= kernel_spectrum(params, ("add", Ms, real), k, lambda: fwd(kk, Ms, axes))
    Y = inv(X, Ms, axes)
    # fold each blocked axis: (nb, M) -> (nb + 1) * S (tails of K-1 <= S)
    for d, ((M, S, nb), K) in enumerate(zip(meta, m)):
        ax = 1 + d                        # axes before it are folded already
        Y = np.moveaxis(Y, (ax, ax + 1), (-2, -1))
        lead = Y.shape[:-2]
        if nb == 1:
            F = Y[..., 0, :S + K - 1]
        else:
            F = np.zeros(lead + ((nb + 1) * S,), dtype=Y.dtype)
            F[..., :nb * S] = Y[..., :S].reshape(lead + (nb * S,))
            tails = F[..., S:].reshape(lead + (nb, S))   # splits one axis: a view
            tails[..., :K - 1] += Y[..., S:S + K - 1]
        Y = np.moveaxis(F, -1, ax)
    sl = (slice(None),) + tuple(slice(s, s + L) for s, L in zip(starts, out_shape))
    return Y[sl]
