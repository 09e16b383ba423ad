"""Separable and low-rank kernels as sums of 1-D passes.

A kernel of rank ``r`` is written as ``sum_t (u_t (x) v_t (x) ...)``:

* 2-D: from the SVD (a randomized range finder for kernels wider than
  ``SVD_SIZE``: O(taps) planning), keeping the singular values above
  ``tol = eps(dtype) * max(shape) * s_max`` (the numerical rank), at most
  ``MAX_TERMS`` of them;
* N-D: rank 1 only (the fibres through the largest entry reproduce the
  kernel), otherwise the whole kernel is kept as one dense term;
* kernels holding NaN or Inf are never factored.

Each term runs as one direct 1-D pass per axis (a column pass on the kept
output rows, then a row pass), so a KxK Gaussian costs ``2K`` instead of
``K^2`` multiply-adds per output.  The result equals the dense convolution
to about ``r * eps * sum|x||k|`` per output, the truncation being below
``eps * max(shape) * s_max`` by construction.  Real and complex kernels;
integer data and per-batch kernels run as one dense direct term.
"""
from __future__ import annotations

import functools

import numpy as np

from . import direct
from ._common import result

name = "separable"


def _eps(dtype):
    return float(np.finfo(np.dtype(dtype)).eps) if np.dtype(dtype).kind in "fc" else 2.0 ** -52


_CACHE: dict = {}


#: kernels up to this many bytes keep their factors in the cache below,
#: keyed by their bytes (so the cache holds at most 32 x 256 KiB of keys);
#: larger ones are factored once per call (``Prepared.factors``)
CACHE_KERNEL_BYTES = 256 << 10
#: most rank-1 terms tried: more passes than that rarely beat the other methods
MAX_TERMS = 8
#: 2-D kernels up to this size get a full SVD; larger ones a randomized range
#: finder whose cost is O(taps x MAX_TERMS) (a 3000^2 SVD took 10.7 s)
SVD_SIZE = 64


def factors(k2d, dtype):
    """Low-rank factors of one kernel: list of per-axis 1-D vectors per term.

    Returns None when the kernel is not (numerically) low-rank enough to gain,
    or holds NaN/Inf (no factorisation reproduces those).  The linear algebra
    runs with BLAS limited to one thread (a spinning multi-threaded BLAS slows
    the numba kernel that follows, see ``_config``), and the factors of the
    last few small kernels are kept, keyed by their bytes, so a filter applied
    again is not factored again.
    """
    from contextlib import nullcontext

    from .._config import blas_single_threaded

    key = None
    if k2d.nbytes <= CACHE_KERNEL_BYTES:
        key = (k2d.shape, k2d.dtype.str, np.dtype(dtype).str, k2d.tobytes())
        if key in _CACHE:
            return _CACHE[key]
    with blas_single_threaded() or nullcontext():
        res = _factors(k2d, dtype)
    if key is not None:
        if len(_CACHE) >= 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = res
    return res


def _factors(k2d, dtype):
    m = k2d.shape
    if len(m) == 1 or min(m) == 1:
        return None
    if not np.isfinite(np.sum(k2d)) and not np.isfinite(k2d).all():
        return None
    tol_eps = _eps(dtype)
    kk = np.asarray(k2d, dtype=np.complex128 if np.iscomplexobj(k2d) else np.float64)
    if len(m) == 2:
        rmax = min(MAX_TERMS, (m[0] * m[1] - 1) // (m[0] + m[1]))
        if rmax < 1:
            return None
        if max(m) <= SVD_SIZE:
            U, s, Vh = np.linalg.svd(kk, full_matrices=False)
        else:
            U, s, Vh = _range_svd(kk, rmax)
        if s[0] == 0:
            return [[np.zeros(m[0]), np.zeros(m[1])]]
        r = int(np.sum(s > tol_eps * max(m) * s[0]))
        if r > rmax:
            return None
        if max(m) > SVD_SIZE:
            # a sketch sees only its own range: check what it leaves out
            if _residual(kk, U[:, :r] * s[:r], Vh[:r]) > \
                    tol_eps * max(m) * s[0] * np.sqrt(min(m)):
                return None
        if r == 1:
            # a column and a row of the kernel through its largest entry (where
            # the leading singular vectors peak): exact factors for integer
            # stencils (Sobel: [1, 2, 1] x [-1, 0, 1])
            i0, j0 = int(np.argmax(np.abs(U[:, 0]))), int(np.argmax(np.abs(Vh[0])))
            return [[kk[:, j0].copy(), kk[i0, :] / kk[i0, j0]]]
        return [[U[:, t] * s[t], Vh[t, :]] for t in range(r)]
    # N-D: rank 1 or nothing.  The fibres through the largest entry are the
    # factors of an exactly rank-1 kernel (up to a scale); accept them when
    # their outer product reproduces the kernel to the SVD test's tolerance
    scale = np.linalg.norm(kk)
    if scale == 0:
        return [[np.zeros(K) for K in m]]
    idx = np.unravel_index(np.argmax(np.abs(kk)), m)
    vecs = []
    for d in range(len(m)):
        sl = list(idx)
        sl[d] = slice(None)
        vecs.append(kk[tuple(sl)].copy())
    vecs[0] = vecs[0] / kk[idx] ** (len(m) - 1)
    outer = vecs[0]
    for v in vecs[1:]:
        outer = np.multiply.outer(outer, v)
    outer -= kk
    if np.linalg.norm(outer) > tol_eps * max(m) * scale:
        return None
    return [vecs]


def _residual(kk, US, Vh, rows=32):
    """``||kk - US @ Vh||_F`` through blocks of rows (no kernel-sized temporary)."""
    acc = 0.0
    for i in range(0, kk.shape[0], rows):
        d = kk[i:i + rows] - US[i:i + rows] @ Vh
        acc += float(np.vdot(d, d).real)
    return acc ** 0.5


def _range_svd(kk, rmax):
    """Leading singular triplets of ``kk`` from a randomized range finder
    (Halko, Martinsson & Tropp 2011) with ``rmax + 4`` samples: exact for a
    kernel of rank <= rmax + 4, O(taps x rmax) flops (fixed seed: plans are
    deterministic)."""
    p = min(rmax + 4, min(kk.shape))
    G = np.random.default_rng(0).standard_normal((kk.shape[1], p))
    Q, _ = np.linalg.qr(kk @ G)
    U, s, Vh = np.linalg.svd(Q.conj().T @ kk, full_matrices=False)
    return Q @ U, s, Vh


def gain(m, nterms):
    """Multiply-adds of the passes relative to the dense kernel."""
    return nterms * sum(m) / float(np.prod(m))


def run(x, k, starts, out_shape, params, nthreads):
    """Sum over rank-1 terms of one direct 1-D pass per convolution axis."""
    m = k.shape[1:]
    nd = len(m)
    # per-batch kernels and integers (inexact factors) run dense; the factors
    # are computed per call, as a reused plan may be handed a new kernel
    terms = None
    if k.shape[0] == 1 and x.dtype.kind in "fc":
        terms = (params or {}).get("_terms") or factors(k[0], x.dtype)
    if terms is None:                 # not low-rank: the dense kernel is the only term
        return direct.run(x, k, starts, out_shape, params, nthreads)
    if nd == 2:
        rmap, _, _ = _zero_map(x.shape[1], m[0], starts[0], out_shape[0])
        cmap, lo, hi = _zero_map(x.shape[2], m[1], starts[1], out_shape[1])
        return _run_2d(x, terms, rmap, cmap, lo, hi, out_shape, nthreads)
    y = None
    for vecs in terms:
        z = x
        cur_shape = list(x.shape[1:])
        for d in range(nd):
            shape = [1] * nd
            shape[d] = m[d]
            kd = np.asarray(vecs[d]).astype(x.dtype).reshape((1,) + tuple(shape))
            cur_shape[d] = out_shape[d]
            st = [0] * nd
            st[d] = starts[d]
            z = direct.run(z, kd, tuple(st), tuple(cur_shape), None, nthreads)
        y = z if y is None else y + z
    return y


def _zero_map(N, K, s, L):
    """Padded index -> input index for zero padding (-1 outside the input)."""
    t = np.arange(s - K + 1, s + L, dtype=np.int64)
    t[(t < 0) | (t >= N)] = -1
    return t, max(K - 1 - s, 0), min(K - 1 - s + N, L + K - 1)


@functools.lru_cache(maxsize=64)
def _pad_map(N, lo, hi, boundary):
    """Padded index -> input index with numpy.pad's semantics for ``boundary``
    (the last maps kept: np.pad took 25 us of a 145 us small filter call;
    the kernels only read them)."""
    t = np.pad(np.arange(N, dtype=np.int64), (lo, hi), mode=boundary)
    return t, lo, lo + N


def run_virtual(x, k, pads, boundary, out_shape, params, nthreads):
    """Separable pass on the unpadded input with a non-zero boundary rule.

    Returns None when the fused 2-D path does not apply (the caller then pads
    and runs :func:`run`).
    """
    m = k.shape[1:]
    if len(m) != 2 or k.shape[0] != 1 or x.dtype.kind not in "fc":
        return None
    terms = (params or {}).get("_terms") or factors(k[0], x.dtype)
    if terms is None:
        return None
    (r0, r1), (c0, c1) = pads[1], pads[2]
    rmap, _, _ = _pad_map(x.shape[1], r0, r1, boundary)
    cmap, lo, hi = _pad_map(x.shape[2], c0, c1, boundary)
    return _run_2d(x, terms, rmap, cmap, lo, hi, out_shape, nthreads)


def _run_2d(x, terms, rmap, cmap, c_lo, c_hi, out_shape, nthreads):
    """2-D terms through the fused column-then-row kernel (no padded copy)."""
    from .direct import apply_threads

    x = np.ascontiguousarray(x)
    L0, L1 = out_shape
    y = result((x.shape[0], L0, L1), x.dtype)
    rchunk, cstrip = _tiling(x.shape[0], L0, L1, nthreads)
    acc = None
    for u, v in terms:
        wc = np.ascontiguousarray(np.asarray(u)[::-1]).astype(x.dtype)
        wr = np.ascontiguousarray(np.asarray(v)[::-1]).astype(x.dtype)
        apply_threads(y.size * (len(wc) + len(wr)), nthreads)
        _sep2d(x, rmap, cmap, c_lo, c_hi, wc, wr, y, rchunk, cstrip, 0.0, 0.0, 0.0)
        if acc is None:
            acc = y
            y = np.empty_like(acc) if len(terms) > 1 else None
        else:
            acc += y
    return acc


def _sep2d(x, rmap, cmap, c_lo, c_hi, wc, wr, y, rchunk, cstrip, rnd, ylo, yhi):
    """The fused rank-1 2-D kernel: on the vector blocks (``sep2d_simd``) for
    float32/float64 sums (float or 8/16-bit images), else ``sep2d``."""
    if direct.uses_simd(2, wc.dtype):
        from .._kernels.simd import column_choice, row_choice, sep2d_simd, vector_arg

        bits = direct.vector_bits("separable", len(wr))
        sep2d_simd(x, rmap, cmap, c_lo, c_hi, wc, wr, y, rchunk, cstrip, rnd, ylo, yhi,
                   vector_arg(bits), column_choice(len(wc)),
                   row_choice(len(wr), wc.dtype.itemsize, bits))
    else:
        from .._kernels.direct import sep2d

        sep2d(x, rmap, cmap, c_lo, c_hi, wc, wr, y, rchunk, cstrip, 16, rnd, ylo, yhi)


def _tiling(B, L0, L1, nthreads):
    """(row chunk, column strip) of sep2d's work units.  Full-width rows
    measured fastest here (the prefetchers stream whole rows from L3); very
    long rows are cut into strips; about 8 units per thread."""
    cstrip = L1 if L1 <= 16384 else 8192
    units = B * -(-L1 // cstrip)
    return max(16, -(-L0 // max(1, -(-8 * nthreads // units)))), cstrip


#: integer image dtypes the fused filter path reads and writes directly
INT_IMAGES = ("u1", "u2", "i2")


def filter_int_2d(x, k, boundary, nthreads):
    """Correlate integer images ``x`` (B, N0, N1) with a rank-1 2-D kernel,
    'same' size (ndimage's centring), in float32 (8-bit) or float64 (16-bit),
    each output rounded half to even and saturated to the image dtype as it
    is stored.

    ``boundary``: a numpy.pad mode ('constant' means zeros).  Returns None
    when the kernel is not rank 1 (the caller takes the general path).
    """
    from .direct import apply_threads

    k = np.asarray(k, dtype=np.float64)
    B, N0, N1 = x.shape
    if k.min() == k.max() and k.flat[0] != 0:
        return _box_int_2d(x, k, boundary, nthreads)
    exact = _int_factors(k, x.dtype)
    if exact is not None:
        return _exact_int_2d(x, *exact, boundary, nthreads)
    terms = factors(k,
                    np.float32 if x.dtype.itemsize == 1 else np.float64)
    if terms is None or len(terms) != 1:
        return None
    u, v = terms[0]
    K0, K1 = k.shape
    rmap, _, _ = _same_map(N0, K0, boundary)
    cmap, c_lo, c_hi = _same_map(N1, K1, boundary)
    x = np.ascontiguousarray(x)
    y = result(x.shape, x.dtype)
    info = np.iinfo(x.dtype)
    rchunk, cstrip = _tiling(B, N0, N1, nthreads)
    # sums in float32 for 8-bit images, float64 for 16-bit (as the general path)
    cd = np.float32 if x.dtype.itemsize == 1 else np.float64
    wc = np.ascontiguousarray(u, dtype=cd)      # correlation: not reversed
    wr = np.ascontiguousarray(v, dtype=cd)
    apply_threads(y.size * (K0 + K1), nthreads)
    _sep2d(x, rmap, cmap, c_lo, c_hi, wc, wr, y, rchunk, cstrip, _magic(cd), cd(info.min),
           cd(info.max))
    return y


def _int_factors(k, dtype):
    """:func:`_int_factors_of` of ``k``, the last few kept (26 us a kernel)."""
    key = (k.shape, k.tobytes(), np.dtype(dtype).str)
    if key not in _INT_FACTORS:
        if len(_INT_FACTORS) >= 64:
            _INT_FACTORS.pop(next(iter(_INT_FACTORS)))
        _INT_FACTORS[key] = _int_factors_of(np.asarray(k, dtype=np.float64), dtype)
    return _INT_FACTORS[key]


_INT_FACTORS: dict = {}


def _int_factors_of(k, dtype):
    """``(u, v)`` with ``k == outer(u, v)`` exactly, integers in the
    narrowest accumulator dtype (int16, else int32) that holds every partial
    sum of the two passes over images of ``dtype`` (``sum|u| * sum|v| *
    max|x|``), or None: a kernel with a non-integer tap, of rank > 1, zero,
    or too large for int32 sums (Sobel, Scharr, binomial and other integer
    derivative kernels take this path; their sums are exact)."""
    if not np.all(np.isfinite(k)) or np.abs(k).max() >= 2 ** 15 or np.any(k != np.round(k)):
        return None
    ki = k.astype(np.int64)
    if not ki.any():
        return None
    row = ki[np.argmax(np.abs(ki).max(axis=1))]
    v = row // np.gcd.reduce(np.abs(row))
    j = np.flatnonzero(v)[0]
    if np.any(ki[:, j] % v[j]):
        return None
    u = ki[:, j] // v[j]
    if not np.array_equal(np.outer(u, v), ki):
        return None
    info = np.iinfo(dtype)
    bound = int(np.abs(u).sum()) * int(np.abs(v).sum()) * max(-int(info.min), int(info.max))
    if bound >= 2 ** 31:
        return None
    acc = np.int16 if bound < 2 ** 15 else np.int32
    return u.astype(acc), v.astype(acc)


def _exact_int_2d(x, u, v, boundary, nthreads):
    """:func:`filter_int_2d` for an integer rank-1 kernel ``outer(u, v)``
    (:func:`_int_factors`): exact integer sums, then saturated (no rounding
    needed).  cv2's Sobel/Scharr on 8-bit images run int16 SIMD the same
    way; the float32 sums of the general fused path took 1.0 ms for a
    2048^2 uint8 Sobel, these 0.4."""
    from .._kernels.direct import sep2d_exact
    from .direct import apply_threads

    B, N0, N1 = x.shape
    rmap, _, _ = _same_map(N0, len(u), boundary)
    cmap, c_lo, c_hi = _same_map(N1, len(v), boundary)
    x = np.ascontiguousarray(x)
    y = result(x.shape, x.dtype)
    info = np.iinfo(x.dtype)
    rchunk, cstrip = _tiling(B, N0, N1, nthreads)
    apply_threads(y.size * (len(u) + len(v)), nthreads)
    sep2d_exact(x, rmap, cmap, c_lo, c_hi, u, v, y, rchunk, cstrip, u.dtype.type(info.min),
                u.dtype.type(info.max))
    return y


def _same_map(N, K, boundary):
    """Padded index -> input index for a 'same' filter (K // 2 pad before);
    the last few maps are kept (read only)."""
    key = (N, K, boundary)
    if key not in _MAPS:
        if len(_MAPS) >= 64:
            _MAPS.pop(next(iter(_MAPS)))
        m = (_zero_map(N, K, K - 1 - K // 2, N) if boundary == "constant"
             else _pad_map(N, K // 2, K - 1 - K // 2, boundary))
        m = (m[0].copy(),) + tuple(m[1:])     # (not _pad_map's cached array)
        m[0].flags.writeable = False
        _MAPS[key] = m
    return _MAPS[key]


_MAPS: dict = {}


def _box_int_2d(x, k, boundary, nthreads):
    """Constant kernels on integer images: exact integer sums (running in
    the kernel height), then ``sum * k[0, 0]`` rounded half to even and
    saturated.  The sums are exact, so the result is the correctly rounded
    ``sum * k[0, 0]`` (for a mean filter, the correctly rounded mean; the
    float paths can be 1 off at a half)."""
    from .._kernels.direct import box2d_int
    from .direct import apply_threads

    B, N0, N1 = x.shape
    K0, K1 = k.shape
    w = float(k.flat[0])
    info = np.iinfo(x.dtype)
    lo, hi = info.min * K0 * K1, info.max * K0 * K1      # range of the sums
    acc = np.int64 if max(-lo, hi) >= 2 ** 31 else np.int32
    if lo == 0 and hi < 2 ** 16:
        acc = np.uint16                     # 8-bit images, up to 257 pixels
    wd = np.float32 if _box_f32_exact(lo, hi, w, info.min, info.max) else np.float64
    wv = np.array([w, _magic(wd), info.min, info.max], wd)
    if info.min - 0.49 <= min(lo * w, hi * w) and max(lo * w, hi * w) <= info.max + 0.49:
        wv[2:] = info.max, info.min      # every sum rounds into range (a mean): no clamp
    rmap, _, _ = _same_map(N0, K0, boundary)
    cmap, c_lo, c_hi = _same_map(N1, K1, boundary)
    x = np.ascontiguousarray(x)
    y = result(x.shape, x.dtype)
    rchunk, _ = _tiling(B, N0, N1, nthreads)
    apply_threads(y.size * 8, nthreads)
    box2d_int(x, rmap, cmap, c_lo, c_hi, K0, K1, wv, y, max(rchunk, 4 * K0), np.zeros(1, acc),
              np.zeros(0, bool))
    return y


def box_float32_2d(x, k, boundary, nthreads):
    """Constant kernels on float32 images (B, N0, N1), 'same' size: running
    sums in float64 (add the entering row, subtract the leaving one), O(1)
    work per pixel as in cv2.blur.  The float64 sums carry about
    ``rchunk * eps(float64)`` relative error, far below float32's rounding,
    so the result is the float32 rounding of the float64 mean (direct float32
    sums are less accurate).  Returns None when the kernel is not constant or
    the image holds NaN or Inf (they would stay in the running sums): the
    caller takes the general path."""
    from .._kernels.direct import box2d_int
    from .direct import apply_threads

    k = np.asarray(k)
    if x.dtype != np.float32 or k.ndim != 2 or k.min() != k.max() or not np.isfinite(k.flat[0]):
        return None
    B, N0, N1 = x.shape
    K0, K1 = k.shape
    rmap, _, _ = _same_map(N0, K0, boundary)
    cmap, c_lo, c_hi = _same_map(N1, K1, boundary)
    x = np.ascontiguousarray(x)
    y = result(x.shape, np.float32)
    rchunk, _ = _tiling(B, N0, N1, nthreads)
    rchunk = max(rchunk, 4 * K0)
    bad = np.zeros(B * -(-N0 // rchunk), bool)
    wv = np.array([float(k.flat[0]), 0.0, -np.inf, np.inf])
    apply_threads(y.size * 8, nthreads)
    box2d_int(x, rmap, cmap, c_lo, c_hi, K0, K1, wv, y, rchunk, np.zeros(1, np.float64), bad)
    return None if bad.any() else y


def _magic(dtype):
    """1.5 * 2**mantissa bits: ``(v + m) - m`` rounds ``v`` half to even in ``dtype``
    (exact for ``|v| < 2**(mantissa bits - 1)``) and vectorises, unlike rint."""
    return dtype(1.5 * 2.0 ** np.finfo(dtype).nmant)


def _box_f32_exact(lo, hi, w, ylo, yhi):
    """True when float32 gives the same rounded, saturated ``s * w`` as
    float64 for every possible sum ``s`` in [lo, hi] (checked, all of them;
    only for ranges up to 2**20)."""
    if hi - lo > 1 << 20:
        return False
    key = (lo, hi, w, ylo, yhi)
    if key not in _F32_OK:
        s = np.arange(lo, hi + 1)
        r64 = np.clip(np.rint(s * w), ylo, yhi)
        v = np.clip(s.astype(np.float32) * np.float32(w), np.float32(ylo), np.float32(yhi))
        r32 = (v + _magic(np.float32)) - _magic(np.float32)
        _F32_OK[key] = bool(np.all(np.abs(s * w) < 2.0 ** 22) and np.array_equal(r64, r32))
    return _F32_OK[key]


_F32_OK: dict = {}
