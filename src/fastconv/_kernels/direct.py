"""Direct (sliding-window) correlation over rows, with virtual zero padding.

Every N-D direct problem is reduced in Python to this one kernel.  The
output is ``nrows`` contiguous rows of length ``L`` (the last convolution
axis; batch and leading axes are folded into the rows).  Output row ``o``
starts at input coordinates ``orow[o] - pad`` on the leading axes (flat base
``obase[o]`` for its batch); kernel row ``r`` adds ``krow[r]``.  Input rows
outside the array are skipped and input columns outside ``[0, N)`` are
treated as zeros, so zero padding is never materialised.

The inner loop is an AXPY over a tile of the output row (SIMD-friendly); the
tile stays in L1 while every tap is applied, four taps per pass, which cuts
loads/stores of the output tile by four.  Work is split over (row, tile)
units with ``prange``; columns near the edges take a scalar loop with bounds.
"""
import numpy as np
from numba import prange

from . import jit, row_start


#: column boundary rules (numpy.pad names)
ZERO, EDGE, SYMMETRIC, REFLECT, WRAP = 0, 1, 2, 3, 4


@jit(inline=True)
def src_col(t, p, N, mode):  # pragma: no cover - jitted
    """Input column of padded column t (left pad p), -1 for a zero.

    numpy.pad's rules, repeated periodically for pads longer than the input
    (symmetric: period 2N, reflect: 2N - 2, wrap: N).
    """
    c = t - p
    if c >= 0 and c < N:
        return c
    if mode == 0:
        return -1
    if mode == 1:
        return 0 if c < 0 else N - 1
    if mode == 4:
        return c % N
    if mode == 2:
        u = c % (2 * N)
        return u if u < N else 2 * N - 1 - u
    if N == 1:
        return 0
    u = c % (2 * N - 2)
    return u if u < N else 2 * N - 2 - u


@jit
def _edge_taps(yr, x, s, ws_r, j0, j1, cmode, p, N, i0, i1, lo, hi):  # pragma: no cover
    """Taps j0..j1-1 on the columns of [i0, i1) outside [lo, hi).

    Output column i meets padded column i + jj, input column
    ``src_col(i + jj, p, N, cmode)`` (the boundary rule; -1 = zero).
    """
    for jj in range(j0, j1):
        wv = ws_r[jj]
        if cmode == 0:
            # zero padding: only the in-range columns, no per-column test
            off = s + jj - p
            for i in range(max(i0, p - jj), min(lo, N + p - jj)):
                yr[i - i0] += wv * x[off + i]
            for i in range(max(hi, p - jj), min(i1, N + p - jj)):
                yr[i - i0] += wv * x[off + i]
            continue
        for i in range(i0, lo):
            c = src_col(i + jj, p, N, cmode)
            if c >= 0:
                yr[i - i0] += wv * x[s + c]
        for i in range(hi, i1):
            c = src_col(i + jj, p, N, cmode)
            if c >= 0:
                yr[i - i0] += wv * x[s + c]


# _taps and _edge_taps are compiled as functions of their own, not inlined
# into corr_rows' parallel loop: a cold first 1-D call compiled in 4.7 s
# instead of 6.4 s, and the warm times did not change (1e6 x 8/31/64 taps,
# 1000^2 complex 7x7 and int 5x5: within 4%, 2026-12-04)
@jit
def _taps(yr, x, s, ws_r, K, p, N, i0, i1, cmode):  # pragma: no cover - jitted
    """yr[i - i0] += sum_j ws_r[j] * x[s + src_col(i + j)] (interior: i + j - p)."""
    j = K - K  # an int64, not Literal[int](0): one compile of _edge_taps, not two
    while j < K:
        g = 8 if K - j >= 8 else min(4, K - j)
        # all g taps inside for i in [lo, hi); both clamped into the tile
        # [i0, i1), which the edge loops below rely on (a kernel longer than
        # the input can put p - j beyond the tile)
        lo = min(max(i0, p - j), i1)
        hi = max(min(i1, N + p - j - g + 1), lo)
        _edge_taps(yr, x, s, ws_r, j, j + g, cmode, p, N, i0, i1, lo, hi)
        if hi > lo:
            n = hi - lo
            b = s + j - p + lo
            yo = yr[lo - i0:hi - i0]
            if g == 8:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                w2 = ws_r[j + 2]
                w3 = ws_r[j + 3]
                w4 = ws_r[j + 4]
                w5 = ws_r[j + 5]
                w6 = ws_r[j + 6]
                w7 = ws_r[j + 7]
                xs = x[b:b + n + 7]
                for i in range(n):
                    yo[i] += (((w0 * xs[i] + w1 * xs[i + 1]) + (w2 * xs[i + 2] + w3 * xs[i + 3]))
                              + ((w4 * xs[i + 4] + w5 * xs[i + 5])
                                 + (w6 * xs[i + 6] + w7 * xs[i + 7])))
            elif g == 4:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                w2 = ws_r[j + 2]
                w3 = ws_r[j + 3]
                xs = x[b:b + n + 3]
                for i in range(n):
                    yo[i] += (w0 * xs[i] + w1 * xs[i + 1]) + (w2 * xs[i + 2] + w3 * xs[i + 3])
            elif g == 3:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                w2 = ws_r[j + 2]
                xs = x[b:b + n + 2]
                for i in range(n):
                    yo[i] += w0 * xs[i] + w1 * xs[i + 1] + w2 * xs[i + 2]
            elif g == 2:
                w0 = ws_r[j]
                w1 = ws_r[j + 1]
                xs = x[b:b + n + 1]
                for i in range(n):
                    yo[i] += w0 * xs[i] + w1 * xs[i + 1]
            else:
                w0 = ws_r[j]
                xs = x[b:b + n]
                for i in range(n):
                    yo[i] += w0 * xs[i]
        j += g


@jit(parallel=True)
def corr_rows(x, obase, orow, krow, rmap, xstr, N, p, cmode, w, wdiv, y, tile):  # pragma: no cover
    nrows, L = y.shape
    R = w.shape[1]
    K = w.shape[2]
    ntiles = (L + tile - 1) // tile
    for u in prange(nrows * ntiles):
        o = u // ntiles
        t = u - o * ntiles
        i0 = t * tile
        i1 = min(i0 + tile, L)
        yr = y[o, i0:i1]
        ws = w[o // wdiv]
        for i in range(i1 - i0):
            yr[i] = 0
        r = 0
        if K == 1 and p == 0 and N == L:
            # column kernels (e.g. the first pass of a separable filter): fuse
            # four kernel rows per pass over the output tile
            n = i1 - i0
            while r + 4 <= R:
                s0 = row_start(o, r, obase, orow, krow, rmap, xstr)
                s1 = row_start(o, r + 1, obase, orow, krow, rmap, xstr)
                s2 = row_start(o, r + 2, obase, orow, krow, rmap, xstr)
                s3 = row_start(o, r + 3, obase, orow, krow, rmap, xstr)
                if s0 < 0 or s1 < 0 or s2 < 0 or s3 < 0:
                    break
                w0 = ws[r, 0]
                w1 = ws[r + 1, 0]
                w2 = ws[r + 2, 0]
                w3 = ws[r + 3, 0]
                x0 = x[s0 + i0:s0 + i0 + n]
                x1 = x[s1 + i0:s1 + i0 + n]
                x2 = x[s2 + i0:s2 + i0 + n]
                x3 = x[s3 + i0:s3 + i0 + n]
                for i in range(n):
                    yr[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i])
                r += 4
        while r < R:
            s = row_start(o, r, obase, orow, krow, rmap, xstr)
            if s >= 0:
                _taps(yr, x, s, ws[r], K, p, N, i0, i1, cmode)
            r += 1


@jit(inline=True)
def _col_rows(z, x, b, rows, wts, cnt, qa, qb, off, q0):  # pragma: no cover - jitted
    """z[q - q0] += sum_t wts[t] * x[b, rows[t], q - off] for q in [qa, qb)."""
    n = qb - qa
    if n <= 0:
        return
    zz = z[qa - q0:qb - q0]
    a = qa - off
    t = 0
    while t + 8 <= cnt:
        w0 = wts[t]
        w1 = wts[t + 1]
        w2 = wts[t + 2]
        w3 = wts[t + 3]
        w4 = wts[t + 4]
        w5 = wts[t + 5]
        w6 = wts[t + 6]
        w7 = wts[t + 7]
        x0 = x[b, rows[t], a:a + n]
        x1 = x[b, rows[t + 1], a:a + n]
        x2 = x[b, rows[t + 2], a:a + n]
        x3 = x[b, rows[t + 3], a:a + n]
        x4 = x[b, rows[t + 4], a:a + n]
        x5 = x[b, rows[t + 5], a:a + n]
        x6 = x[b, rows[t + 6], a:a + n]
        x7 = x[b, rows[t + 7], a:a + n]
        for q in range(n):
            zz[q] += (((w0 * x0[q] + w1 * x1[q]) + (w2 * x2[q] + w3 * x3[q]))
                      + ((w4 * x4[q] + w5 * x5[q]) + (w6 * x6[q] + w7 * x7[q])))
        t += 8
    while t + 4 <= cnt:
        w0 = wts[t]
        w1 = wts[t + 1]
        w2 = wts[t + 2]
        w3 = wts[t + 3]
        x0 = x[b, rows[t], a:a + n]
        x1 = x[b, rows[t + 1], a:a + n]
        x2 = x[b, rows[t + 2], a:a + n]
        x3 = x[b, rows[t + 3], a:a + n]
        for q in range(n):
            zz[q] += (w0 * x0[q] + w1 * x1[q]) + (w2 * x2[q] + w3 * x3[q])
        t += 4
    while t < cnt:
        w0 = wts[t]
        x0 = x[b, rows[t], a:a + n]
        for q in range(n):
            zz[q] += w0 * x0[q]
        t += 1


# compiled as a function of its own (one call per output row): the kernels
# that call it compile faster, the first call of a separable filter included
@jit
def col_row(z, x, b, i, rmap, wcol, cmap, rows, wts, qa, qb, off, q0, W):  # pragma: no cover
    """z[q - q0] = sum_j wcol[j] * x[b, rmap[i + j], cmap[q]] for the padded
    columns q0 .. q0 + W - 1 (zero rows / columns skipped): the column pass
    of one output row; ``rows``/``wts`` are scratch of length K0."""
    cnt = 0
    for j in range(wcol.shape[0]):
        r = rmap[i + j]
        if r >= 0:
            rows[cnt] = r
            wts[cnt] = wcol[j]
            cnt += 1
    for q in range(W):
        z[q] = 0
    _col_rows(z, x, b, rows, wts, cnt, qa, qb, off, q0)
    _edge_cols(z, x, b, rows, wts, cnt, cmap, q0, q0, qa)          # left edge columns
    _edge_cols(z, x, b, rows, wts, cnt, cmap, q0, qb, q0 + W)      # right edge columns


@jit(inline=True)
def _edge_cols(z, x, b, rows, wts, cnt, cmap, q0, qs, qe):  # pragma: no cover - jitted
    for q in range(qs, qe):
        c = cmap[q]
        if c >= 0:
            acc = z[q - q0]
            for t in range(cnt):
                acc += wts[t] * x[b, rows[t], c]
            z[q - q0] = acc


@jit(inline=True)
def sep_unit(u, nr, nc, cstrip, L1):  # pragma: no cover - jitted
    """Work unit ``u`` of the separable kernels: (batch, row chunk, first
    and end column of its strip)."""
    b = u // (nr * nc)
    v = u - b * nr * nc
    rc = v // nc
    q0 = (v - rc * nc) * cstrip
    return b, rc, q0, min(q0 + cstrip, L1)


@jit(parallel=True)
def sep2d(x, rmap, cmap, c_lo, c_hi, wcol, wrow, y, rchunk, cstrip, group, rnd, ylo,
          yhi):  # pragma: no cover
    """Rank-1 2-D correlation with virtual boundaries, fused column + row pass.

    x: (B, N0, N1) unpadded input; y: (B, L0, L1).  Padded row ``t`` (0 <=
    t < L0 + K0 - 1) is input row ``rmap[t]``, padded column ``q`` is input
    column ``cmap[q]`` (-1: zero), and ``cmap[q] == q - c_lo + cmap[c_lo]``
    on ``[c_lo, c_hi)`` (the contiguous middle), so no padded copy exists.
    Output row ``i`` of a column strip sums its K0 rows into a buffer that
    stays in L1 (eight rows per pass), then slides the K1 row taps over it.
    Units are (batch, row chunk, column strip); a strip's K0 input rows stay
    in L2 between consecutive output rows.  The sums are in the weights'
    dtype; with ``rnd`` != 0 (integer images: 1.5 * 2**23 or 2**52 in the
    weights' dtype, as ``ylo``/``yhi``) each output is rounded half to even
    and saturated to ``[ylo, yhi]`` as it is stored, so integer images are
    read and written directly (no float copies of the image).
    """
    B, L0, L1 = y.shape
    K0 = wcol.shape[0]
    K1 = wrow.shape[0]
    nr = (L0 + rchunk - 1) // rchunk
    nc = (L1 + cstrip - 1) // cstrip
    off = c_lo - cmap[c_lo] if c_hi > c_lo else 0
    for u in prange(B * nr * nc):
        b, rc, q0, q1 = sep_unit(u, nr, nc, cstrip, L1)
        W = q1 - q0 + K1 - 1          # padded columns q0 .. q0 + W - 1
        zb = np.empty((group, W), dtype=wcol.dtype)
        tb = np.empty(q1 - q0, dtype=wcol.dtype)
        rows = np.empty(K0, dtype=np.int64)
        wts = np.empty(K0, dtype=wcol.dtype)
        qa = min(max(c_lo, q0), q0 + W)
        qb = max(min(c_hi, q0 + W), qa)
        i_end = min(rc * rchunk + rchunk, L0)
        for g0 in range(rc * rchunk, i_end, group):
            g1 = min(g0 + group, i_end)
            for i in range(g0, g1):
                col_row(zb[i - g0], x, b, i, rmap, wcol, cmap, rows, wts, qa, qb, off, q0, W)
            for i in range(g0, g1):
                yr = y[b, i, q0:q1]
                if rnd != 0:
                    for q in range(q1 - q0):
                        tb[q] = 0
                    _taps(tb, zb[i - g0], 0, wrow, K1, 0, W, 0, q1 - q0, 0)
                    for q in range(q1 - q0):
                        v = tb[q].real          # (real already; .real types complex too)
                        v = min(max(v, ylo), yhi)
                        # round half to even by adding and subtracting rnd = 1.5 *
                        # 2**(mantissa bits) in the sums' dtype (exact for the clamped
                        # range): vectorises, unlike rint; no multiply to contract
                        yr[q] = (v + rnd) - rnd
                else:
                    for q in range(q1 - q0):
                        yr[q] = 0
                    _taps(yr, zb[i - g0], 0, wrow, K1, 0, W, 0, q1 - q0, 0)   # no edges


@jit(inline=True)
def _box_row(cs, x, b, ra, rs, cmap, qa, qb, off):  # pragma: no cover - jitted
    """cs[q] += x[b, ra, c(q)] - x[b, rs, c(q)] over the padded columns
    (``ra``/``rs`` = -1: nothing to add / subtract)."""
    W = cs.shape[0]
    cm = cs[qa:qb]
    n = qb - qa
    if ra >= 0 and rs >= 0:
        xa = x[b, ra, qa - off:qb - off]
        xs = x[b, rs, qa - off:qb - off]
        for q in range(n):
            cm[q] += cs.dtype.type(xa[q]) - cs.dtype.type(xs[q])
    elif ra >= 0:
        xa = x[b, ra, qa - off:qb - off]
        for q in range(n):
            cm[q] += xa[q]
    elif rs >= 0:
        xs = x[b, rs, qa - off:qb - off]
        for q in range(n):
            cm[q] -= xs[q]
    for e in range(2):                     # the edge columns, through cmap
        for q in range(0 if e == 0 else qb, qa if e == 0 else W):
            c = cmap[q]
            if c >= 0:
                if ra >= 0:
                    cs[q] += x[b, ra, c]
                if rs >= 0:
                    cs[q] -= x[b, rs, c]


@jit(inline=True)
def _hsum(hs, cs, K1, L1):  # pragma: no cover - jitted
    """hs[q] = cs[q] + ... + cs[q + K1 - 1], four terms per pass."""
    j = min(K1, 4) if K1 != 3 else 2
    c0 = cs[0:L1]
    c1 = cs[min(1, K1 - 1):L1 + min(1, K1 - 1)]
    if j == 4:
        c2 = cs[2:L1 + 2]
        c3 = cs[3:L1 + 3]
        for q in range(L1):
            hs[q] = (c0[q] + c1[q]) + (c2[q] + c3[q])
    elif j == 2:
        for q in range(L1):
            hs[q] = c0[q] + c1[q]
    else:
        for q in range(L1):
            hs[q] = c0[q]
    while j + 4 <= K1:
        c0 = cs[j:j + L1]
        c1 = cs[j + 1:j + 1 + L1]
        c2 = cs[j + 2:j + 2 + L1]
        c3 = cs[j + 3:j + 3 + L1]
        for q in range(L1):
            hs[q] += (c0[q] + c1[q]) + (c2[q] + c3[q])
        j += 4
    while j < K1:
        c0 = cs[j:j + L1]
        for q in range(L1):
            hs[q] += c0[q]
        j += 1


@jit(parallel=True)
def box2d_int(x, rmap, cmap, c_lo, c_hi, K0, K1, wv, y, rchunk, acc, bad):  # pragma: no cover
    """Constant-kernel ('box') correlation of integer images with exact
    integer sums, O(1) work per pixel in the kernel height.

    x: (B, N0, N1) integers; y: (B, L0, L1) of x's dtype.  Padded rows and
    columns map to input ones through ``rmap``/``cmap`` (-1: zero) as in
    :func:`sep2d`.  Each unit (batch, row chunk) keeps the column sums of the
    K0 rows under the current output row in ``acc``'s integer dtype (an
    unsigned one may wrap in between: the sums it ends with are exact),
    moving them down one row per output row (add the entering row, subtract
    the leaving one).  Each output is the sum of K1 column sums times
    ``wv[0]``, rounded half to even in ``wv``'s float dtype (adding and
    subtracting ``wv[1]`` = 1.5 * 2**mantissa bits) and saturated to
    ``[wv[2], wv[3]]`` (not clamped when ``wv[2] > wv[3]``: the caller knows
    the result cannot leave the range).

    Float32 images run it too, with float64 sums (``acc``), ``wv[1] = 0``
    (no rounding) and an infinite range; a NaN or Inf that enters the running
    sums never leaves them, so ``bad[u]`` (when ``bad`` is not empty) marks
    the units whose final sums are not finite, for the caller to redo.
    """
    B, L0, L1 = y.shape
    W = L1 + K1 - 1
    nr = (L0 + rchunk - 1) // rchunk
    off = c_lo - cmap[c_lo] if c_hi > c_lo else 0
    qa = min(max(c_lo, 0), W)
    qb = max(min(c_hi, W), qa)
    w = wv[0]
    magic = wv[1]
    ylo = wv[2]
    yhi = wv[3]
    for u in prange(B * nr):
        b = u // nr
        i0 = (u - b * nr) * rchunk
        i1 = min(i0 + rchunk, L0)
        cs = np.zeros(W, dtype=acc.dtype)
        hs = np.empty(L1, dtype=acc.dtype)
        for j in range(K0):
            _box_row(cs, x, b, rmap[i0 + j], -1, cmap, qa, qb, off)
        for i in range(i0, i1):
            if i > i0:
                _box_row(cs, x, b, rmap[i + K0 - 1], rmap[i - 1], cmap, qa, qb, off)
            if K1 <= 16:
                _hsum(hs, cs, K1, L1)
            else:                     # running sum along the row
                s = cs[0]
                for j in range(1, K1):
                    s += cs[j]
                hs[0] = s
                for q in range(1, L1):
                    s += cs[q + K1 - 1] - cs[q - 1]
                    hs[q] = s
            yr = y[b, i]
            if magic == 0:            # float output: no rounding, no range
                for q in range(L1):
                    yr[q] = hs[q] * w
            elif ylo > yhi:           # cannot saturate: no clamp (twice as fast);
                for q in range(L1):   # rint, as an add of magic would contract to an FMA
                    yr[q] = np.rint(wv.dtype.type(hs[q]) * w)
            else:
                for q in range(L1):
                    v = min(max(wv.dtype.type(hs[q]) * w, ylo), yhi)
                    yr[q] = (v + magic) - magic
        if bad.shape[0] > 0:
            for q in range(W):
                if not abs(cs[q]) < np.inf:
                    bad[u] = True


@jit(inline=True)
def _exact_edge(tmp, xr, cmap, w, q0, lo, hi, first, zero):  # pragma: no cover - jitted
    """sep2d_exact's column sums at padded columns [lo, hi) through ``cmap``."""
    for q in range(lo, hi):
        c = cmap[q]
        s = w * xr[c] if c >= 0 else zero
        if first:
            tmp[q - q0] = s
        else:
            tmp[q - q0] += s


@jit(parallel=True)
def sep2d_exact(x, rmap, cmap, c_lo, c_hi, u, v, y, rchunk, cstrip, ylo, yhi):  # pragma: no cover
    """Rank-1 correlation of integer images with an integer kernel
    ``outer(u, v)``, 'same' size, in exact integer arithmetic, saturated.

    x: (B, N0, N1) integers; y: (B, L0, L1) of x's dtype; ``u`` (K0,) and
    ``v`` (K1,) hold integers in the accumulator dtype (int16 or int32),
    which the caller chose wide enough for every partial sum
    (``sum|u| * sum|v| * max|x|``), so no sum wraps and the result is exact
    before it is clamped to ``[ylo, yhi]``.  Padded rows and columns map to
    input ones through ``rmap``/``cmap`` (-1: zero) as in :func:`sep2d`.  Each
    unit (batch, row chunk, column strip) keeps one row of column sums and
    one row of results in the accumulator dtype (L1-resident; 16-bit lanes
    where they suffice: twice the lanes of float32)."""
    B, L0, L1 = y.shape
    K0 = u.shape[0]
    K1 = v.shape[0]
    nr = (L0 + rchunk - 1) // rchunk
    nc = (L1 + cstrip - 1) // cstrip
    off = c_lo - cmap[c_lo] if c_hi > c_lo else 0
    for t in prange(B * nr * nc):
        b, rc, q0, q1 = sep_unit(t, nr, nc, cstrip, L1)
        n = q1 - q0
        W = n + K1 - 1                  # padded columns q0 .. q0 + W - 1
        qa = min(max(c_lo, q0), q0 + W)
        qb = max(min(c_hi, q0 + W), qa)
        tmp = np.zeros(W, dtype=u.dtype)
        acc = np.empty(n, dtype=u.dtype)
        zero = u[0] - u[0]
        for i in range(rc * rchunk, min(rc * rchunk + rchunk, L0)):
            first = True
            for j in range(K0):
                w = u[j]
                r = rmap[i + j]
                if w == 0 or r < 0:
                    continue
                xr = x[b, r]
                ti = tmp[qa - q0:qb - q0]
                xs = xr[qa - off:qb - off]
                if first:
                    for c in range(qb - qa):
                        ti[c] = w * xs[c]
                else:
                    for c in range(qb - qa):
                        ti[c] += w * xs[c]
                _exact_edge(tmp, xr, cmap, w, q0, q0, qa, first, zero)
                _exact_edge(tmp, xr, cmap, w, q0, qb, q0 + W, first, zero)
                first = False
            if first:
                tmp[:] = zero
            first = True
            for j in range(K1):
                w = v[j]
                if w == 0:
                    continue
                ts = tmp[j:j + n]
                if first:
                    for c in range(n):
                        acc[c] = w * ts[c]
                else:
                    for c in range(n):
                        acc[c] += w * ts[c]
                first = False
            yr = y[b, i, q0:q0 + n]
            for c in range(n):
                yr[c] = min(max(acc[c], ylo), yhi)
