"""Depthwise 2-D correlation (one channel per group), direct, zero padding
applied in a per-plane buffer (stride 1) or virtually (other strides), any
dilation (only the outputs asked for are computed), one unit of parallel work
per (image, channel) plane; the col2im scatter and Winograd F(2x2,3x3)'s
transforms of the layer algorithms."""
import numpy as np
from numba import prange

from . import jit


@jit(inline=True)
def _taps_row(s, out, M, wc, a, first):  # pragma: no cover - jitted
    """``out[:M] (+)= sum_b wc[a, b] * s[m + b]`` (dilation 1): one pass per
    kernel row, its taps summed in registers (3, 5 and 7 taps written out
    with constant offsets, which LLVM vectorises; others a pass per tap)."""
    K1 = wc.shape[1]
    if K1 == 3:
        v0, v1, v2 = wc[a, 0], wc[a, 1], wc[a, 2]
        if first:
            for m in range(M):
                out[m] = v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2]
        else:
            for m in range(M):
                out[m] += v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2]
    elif K1 == 5:
        v0, v1, v2, v3, v4 = wc[a, 0], wc[a, 1], wc[a, 2], wc[a, 3], wc[a, 4]
        if first:
            for m in range(M):
                out[m] = v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2] + v3 * s[m + 3] + v4 * s[m + 4]
        else:
            for m in range(M):
                out[m] += v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2] + v3 * s[m + 3] + v4 * s[m + 4]
    elif K1 == 7:
        v0, v1, v2, v3 = wc[a, 0], wc[a, 1], wc[a, 2], wc[a, 3]
        v4, v5, v6 = wc[a, 4], wc[a, 5], wc[a, 6]
        if first:
            for m in range(M):
                out[m] = (v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2] + v3 * s[m + 3]
                          + v4 * s[m + 4] + v5 * s[m + 5] + v6 * s[m + 6])
        else:
            for m in range(M):
                out[m] += (v0 * s[m] + v1 * s[m + 1] + v2 * s[m + 2] + v3 * s[m + 3]
                           + v4 * s[m + 4] + v5 * s[m + 5] + v6 * s[m + 6])
    else:
        _taps_dilated(s, out, M, wc, a, first, 1)


@jit(inline=True)
def _taps_dilated(s, out, M, wc, a, first, dw):  # pragma: no cover - jitted
    """``out[:M] (+)= sum_b wc[a, b] * s[m + b * dw]``: a pass per tap."""
    if first:
        for m in range(M):
            out[m] = 0
    for b in range(wc.shape[1]):
        v = wc[a, b]
        t = s[b * dw:b * dw + M]
        for m in range(M):
            out[m] += v * t[m]


@jit(inline=True)
def _plane_sums(buf, o, Wp, wc, out, M, dh, dw):  # pragma: no cover - jitted
    """``out[m] = sum_{a, b} wc[a, b] * buf[o + m + a*dh*Wp + b*dw]``, m < M:
    the sums of a zero-padded plane (rows of ``Wp``) from flat offset ``o``.
    A 3x3 kernel is one pass of nine multiply-adds (each output written
    once); others one pass per kernel row."""
    K0, K1 = wc.shape
    if K0 == 3 and K1 == 3 and dh == 1 and dw == 1:
        w00, w01, w02 = wc[0, 0], wc[0, 1], wc[0, 2]
        w10, w11, w12 = wc[1, 0], wc[1, 1], wc[1, 2]
        w20, w21, w22 = wc[2, 0], wc[2, 1], wc[2, 2]
        p0 = buf[o:o + M + 2]
        p1 = buf[o + Wp:o + Wp + M + 2]
        p2 = buf[o + 2 * Wp:o + 2 * Wp + M + 2]
        for m in range(M):
            out[m] = (w00 * p0[m] + w01 * p0[m + 1] + w02 * p0[m + 2]
                      + w10 * p1[m] + w11 * p1[m + 1] + w12 * p1[m + 2]
                      + w20 * p2[m] + w21 * p2[m + 1] + w22 * p2[m + 2])
        return
    for a in range(K0):
        b0 = o + a * dh * Wp
        s = buf[b0:b0 + M + (K1 - 1) * dw]
        if dw == 1:
            _taps_row(s, out, M, wc, a, a == 0)
        else:
            _taps_dilated(s, out, M, wc, a, a == 0, dw)


@jit(inline=True)
def _into_rows(xp, buf, Wp, ph, pw, r0, r1, q0, q1):  # pragma: no cover - jitted
    """Rows ``r0 .. r1`` (columns ``q0 .. q1``) of the plane ``xp`` into the
    padded buffer ``buf`` (rows of ``Wp``, offset by ``ph`` rows and ``pw``
    columns)."""
    for r in range(r0, r1):
        o = (r + ph) * Wp + pw
        b = buf[o + q0:o + q1]
        src = xp[r, q0:q1]
        for j in range(q1 - q0):
            b[j] = src[j]


@jit(parallel=True)
def depthwise2d(x, w, y, ph, pw, sh, sw, dh, dw):  # pragma: no cover - jitted
    """x (N, C, H, W), w (C, K0, K1), y (N, C, Ho, Wo): y[n, c, i, j] =
    sum_{a, b} w[c, a, b] * x[n, c, i*sh + a*dh - ph, j*sw + b*dw - pw] (zero
    outside).

    Each plane is copied into a zeroed buffer with its padding (the plane in
    cache; cheaper than bounds on every tap), as ``sw`` column phases when
    the column stride is ``sw > 1`` (phase ``q`` holds padded columns
    ``q, q + sw, ...``, so every tap reads contiguous values), then every
    output row is written from the taps summed in registers: a 3x3 kernel
    in one pass (:func:`_plane_sums`), others one pass per kernel row (3, 5
    and 7 taps) or per tap; planes narrower than 32 columns (stride 1) over
    flattened blocks of buffer rows (long vector loops; the wrapped columns
    of each row dropped when copied out).  Only the outputs asked for are
    computed.  Measured, 8 x C x H x W float32, 3x3, 2 threads: 112^2 x 32
    2.8 -> 1.1 ms, 56^2 x 128 4.9 -> 1.1 ms, 14^2 x 512 1.0 -> 0.6 ms (a
    pass per tap with bounds before; torch 2.5 / 2.4 / 1.1 ms).  Memory: a
    padded plane and ``R`` buffer rows per running plane (the layer plan's
    estimate counts the whole padded input, which covers them)."""
    N, C, H, W = x.shape
    K0, K1 = w.shape[1], w.shape[2]
    Ho, Wo = y.shape[2], y.shape[3]
    Hp = (Ho - 1) * sh + dh * (K0 - 1) + 1     # padded rows and columns read
    Wp = (Wo - 1) * sw + dw * (K1 - 1) + 1
    Wq = (Wp + sw - 1) // sw                   # columns per phase
    R = min(Ho, max(1, 2048 // max(Wp, 1)))   # buffer rows per flattened block
    r0, r1 = max(0, -ph), min(H, Hp - ph)      # input rows inside the buffer
    q0, q1 = max(0, -pw), min(W, Wp - pw)      # input columns inside it
    if sh == 1 and sw == 1 and Wo < 32 and Hp * Wp <= STACK_FLOATS:
        # narrow planes: the images of one channel stacked in one buffer (a
        # plane's padded rows after another's), one flattened pass over up
        # to S planes at once; the K0 - 1 rows of each plane past its
        # outputs are computed over the next plane's rows and dropped
        S = max(1, min(N, STACK_FLOATS // (Hp * Wp)))
        for u in prange(C * ((N + S - 1) // S)):
            _depthwise_stack(x, w, y, u, S, Hp, Wp, r0, r1, q0, q1, ph, pw, dh, dw)
        return
    for u in prange(N * C):
        _depthwise_plane(x, w, y, u, R, Hp, Wp, Wq, r0, r1, q0, q1, ph, pw, sh, sw, dh, dw)


#: floats of the stacked buffer of narrow planes (one channel's images)
STACK_FLOATS = 8192


@jit(inline=True)
def _depthwise_stack(x, w, y, u, S, Hp, Wp, r0, r1, q0, q1, ph, pw, dh,
                     dw):  # pragma: no cover - jitted
    """Stride 1, narrow planes: channel ``u // nb``, images ``S * (u % nb)``
    .. (``nb`` stacks per channel) through one stacked buffer."""
    N = x.shape[0]
    Ho, Wo = y.shape[2], y.shape[3]
    nb = (N + S - 1) // S
    c = u // nb
    n0 = (u - c * nb) * S
    n1 = min(N, n0 + S)
    P = Hp * Wp
    buf = np.zeros((n1 - n0) * P + Wp, dtype=x.dtype)
    for n in range(n0, n1):
        _into_rows(x[n, c], buf[(n - n0) * P:], Wp, ph, pw, r0, r1, q0, q1)
    M = ((n1 - n0 - 1) * Hp + Ho - 1) * Wp + Wo
    wide = np.empty(M, dtype=x.dtype)
    _plane_sums(buf, 0, Wp, w[c], wide, M, dh, dw)
    for n in range(n0, n1):
        yp = y[n, c]
        for i in range(Ho):
            src = wide[((n - n0) * Hp + i) * Wp:((n - n0) * Hp + i) * Wp + Wo]
            yr = yp[i]
            for j in range(Wo):
                yr[j] = src[j]


@jit(inline=True)
def _depthwise_plane(x, w, y, u, R, Hp, Wp, Wq, r0, r1, q0, q1, ph, pw, sh, sw, dh,
                     dw):  # pragma: no cover - jitted
    """Plane ``u`` (image ``u // C``, channel ``u % C``) of :func:`depthwise2d`."""
    C = x.shape[1]
    Ho, Wo = y.shape[2], y.shape[3]
    K0, K1 = w.shape[1], w.shape[2]
    n = u // C
    c = u - n * C
    xp = x[n, c]
    yp = y[n, c]
    wc = w[c]
    buf = np.zeros(sw * Hp * Wq + Wq, dtype=x.dtype)
    if sw == 1:
        _into_rows(xp, buf, Wp, ph, pw, r0, r1, q0, q1)
    else:
        for r in range(r0, r1):
            src = xp[r]
            for e in range(sw):
                # phase e: padded column f*sw + e is input column f*sw + e - pw
                f0 = max(0, (q0 + pw - e + sw - 1) // sw)
                f1 = max(f0, (q1 + pw - e + sw - 1) // sw)
                b = buf[(e * Hp + r + ph) * Wq:(e * Hp + r + ph + 1) * Wq]
                for f in range(f0, f1):
                    b[f] = src[f * sw + e - pw]
    if sw > 1:
        for i in range(Ho):
            yr = yp[i]
            for a in range(K0):
                rr = i * sh + a * dh
                for b in range(K1):
                    t = b * dw
                    f = t // sw
                    o = ((t - f * sw) * Hp + rr) * Wq + f
                    v = wc[a, b]
                    src = buf[o:o + Wo]
                    if a == 0 and b == 0:
                        for j in range(Wo):
                            yr[j] = v * src[j]
                    else:
                        for j in range(Wo):
                            yr[j] += v * src[j]
        return
    if Wo >= 32 or sh > 1:
        for i in range(Ho):
            _plane_sums(buf, i * sh * Wp, Wp, wc, yp[i], Wo, dh, dw)
        return
    wide = np.empty(R * Wp, dtype=x.dtype)
    for i0 in range(0, Ho, R):
        r = min(R, Ho - i0)
        _plane_sums(buf, i0 * Wp, Wp, wc, wide, (r - 1) * Wp + Wo, dh, dw)
        for i in range(r):
            yr = yp[i0 + i]
            src = wide[i * Wp:i * Wp + Wo]
            for j in range(Wo):
                yr[j] = src[j]


#: blocks of rows summed into the partial sums before they are added up in
#: float64 (each lane then holds at most this many products)
FLUSH_BLOCKS = 16


@jit(inline=True)
def _flush(acc, tot):  # pragma: no cover - jitted
    for t in range(acc.shape[0]):
        s = 0.0
        for m in range(acc.shape[1]):
            s += acc[t, m]
            acc[t, m] = 0
        tot[t] += s


@jit(parallel=True)
def depthwise2d_wgrad(x, g, out, ph, pw, dh, dw):  # pragma: no cover - jitted
    """Weight gradient of a stride-1 depthwise layer: x (N, C, H, W), g (N,
    C, Ho, Wo), out (C, K0, K1) float64: out[c, a, b] = sum_{n, i, j}
    g[n, c, i, j] * x[n, c, i + a*dh - ph, j + b*dw - pw] (zero outside).

    One unit per channel.  Each plane goes into a zeroed padded buffer
    (rows of ``Wp``) and its gradient into a buffer of the same row length
    (zeros past ``Wo``), so every tap is one long elementwise multiply-add
    over flattened blocks of rows into a per-tap row of partial sums (no
    reduction in the inner loop: it vectorises); the partial sums are added
    up in float64 every :data:`FLUSH_BLOCKS` blocks and at the end."""
    N, C, H, W = x.shape
    Ho, Wo = g.shape[2], g.shape[3]
    K0, K1 = out.shape[1], out.shape[2]
    Hp = Ho + dh * (K0 - 1)
    Wp = Wo + dw * (K1 - 1)
    R = min(Ho, max(1, 1024 // max(Wp, 1)))   # rows per block: partial sums in L1
    T = K0 * K1
    r0, r1 = max(0, -ph), min(H, Hp - ph)
    q0, q1 = max(0, -pw), min(W, Wp - pw)
    for c in prange(C):
        buf = np.zeros(Hp * Wp + Wp, dtype=x.dtype)
        gw = np.zeros(Ho * Wp, dtype=x.dtype)
        acc = np.zeros((T, R * Wp), dtype=x.dtype)
        tot = np.zeros(T)
        held = 0                                # blocks summed into acc since its flush
        for n in range(N):
            xp = x[n, c]
            gp = g[n, c]
            _into_rows(xp, buf, Wp, ph, pw, r0, r1, q0, q1)
            for i in range(Ho):
                dst = gw[i * Wp:i * Wp + Wo]
                src = gp[i]
                for j in range(Wo):
                    dst[j] = src[j]
            for i0 in range(0, Ho, R):
                M = min(R, Ho - i0) * Wp
                gs = gw[i0 * Wp:i0 * Wp + M]
                for a in range(K0):
                    for b in range(K1):
                        s0 = (i0 + a * dh) * Wp + b * dw
                        xs = buf[s0:s0 + M]
                        at = acc[a * K1 + b]
                        for m in range(M):
                            at[m] += gs[m] * xs[m]
                held += 1
                if held == FLUSH_BLOCKS or (n == N - 1 and i0 + R >= Ho):
                    _flush(acc, tot)
                    held = 0
        for a in range(K0):
            for b in range(K1):
                out[c, a, b] = tot[a * K1 + b]


@jit(parallel=True)
def col2im_2d(cols, y, s0, s1, d0, d1):  # pragma: no cover - jitted
    """y[n, o, a*d0 + i*s0, b*d1 + j*s1] += cols[o, a, b, n, i, j]: the
    transposed convolution's scatter of its GEMM's columns, one (image,
    channel) plane per unit."""
    og, K0, K1, N, L0, L1 = cols.shape
    for u in prange(N * og):
        n = u // og
        o = u - n * og
        yp = y[n, o]
        for a in range(K0):
            for b in range(K1):
                c = cols[o, a, b, n]
                for i in range(L0):
                    r = a * d0 + i * s0
                    cr = c[i]
                    for j in range(L1):
                        yp[r, b * d1 + j * s1] += cr[j]


@jit
def _wino_cols(a, V, k, c, t0, tw):  # pragma: no cover - jitted
    """Column transform of one row-transformed row ``a`` into V[k..k+3]."""
    v0 = V[k, c, t0:t0 + tw]
    v1 = V[k + 1, c, t0:t0 + tw]
    v2 = V[k + 2, c, t0:t0 + tw]
    v3 = V[k + 3, c, t0:t0 + tw]
    for q in range(tw):
        j = 2 * q
        v0[q] = a[j] - a[j + 2]
        v1[q] = a[j + 1] + a[j + 2]
        v2[q] = a[j + 2] - a[j + 1]
        v3[q] = a[j + 1] - a[j + 3]


@jit(parallel=True)
def winograd_in(x, V, th, tw):  # pragma: no cover - jitted
    """Winograd F(2x2, 3x3) input tiles: V[4i+j, c, (n*th + p)*tw + q] =
    (B^T d B)[i, j] for the 4x4 tile d of x[n, c] at (2p, 2q) (x padded so
    that every tile is inside).  Row by row of tiles: the row transform on
    whole rows, then the column transform into 16 contiguous runs."""
    N, C, Hp, Wp = x.shape
    for u in prange(C * N):
        c = u // N
        n = u - c * N
        xp = x[n, c]
        a = np.empty((4, Wp), dtype=x.dtype)
        for p in range(th):
            r0 = xp[2 * p]
            r1 = xp[2 * p + 1]
            r2 = xp[2 * p + 2]
            r3 = xp[2 * p + 3]
            for j in range(Wp):
                a[0, j] = r0[j] - r2[j]
                a[1, j] = r1[j] + r2[j]
                a[2, j] = r2[j] - r1[j]
                a[3, j] = r1[j] - r3[j]
            t0 = (n * th + p) * tw
            for i in range(4):
                _wino_cols(a[i], V, 4 * i, c, t0, tw)


@jit(parallel=True)
def winograd_out(M, y, th, tw):  # pragma: no cover - jitted
    """Winograd F(2x2, 3x3) output: y[n, o, 2p:2p+2, 2q:2q+2] = A^T m A for
    m = M[:, o, tile (n, p, q)] (4x4), cropped to y's extent."""
    N, Co, H, W = y.shape
    for u in prange(Co * N):
        o = u // N
        n = u - o * N
        yp = y[n, o]
        base = n * th * tw
        for p in range(th):
            for q in range(tw):
                t = base + p * tw + q
                m0 = M[0, o, t] + M[4, o, t] + M[8, o, t]
                m1 = M[1, o, t] + M[5, o, t] + M[9, o, t]
                m2 = M[2, o, t] + M[6, o, t] + M[10, o, t]
                m3 = M[3, o, t] + M[7, o, t] + M[11, o, t]
                k0 = M[4, o, t] - M[8, o, t] - M[12, o, t]
                k1 = M[5, o, t] - M[9, o, t] - M[13, o, t]
                k2 = M[6, o, t] - M[10, o, t] - M[14, o, t]
                k3 = M[7, o, t] - M[11, o, t] - M[15, o, t]
                i = 2 * p
                j = 2 * q
                yp[i, j] = m0 + m1 + m2
                if j + 1 < W:
                    yp[i, j + 1] = m1 - m2 - m3
                if i + 1 < H:
                    yp[i + 1, j] = k0 + k1 + k2
                    if j + 1 < W:
                        yp[i + 1, j + 1] = k1 - k2 - k3


@jit
def _gy_cols(a, Gh, k, o, t0, tw):  # pragma: no cover - jitted
    """Column transform of one row-transformed row ``a``: each pair (x, y)
    -> (x, x + y, x - y, -y) into Gh[k..k+3, o, t0:t0+tw]."""
    v0 = Gh[k, o, t0:t0 + tw]
    v1 = Gh[k + 1, o, t0:t0 + tw]
    v2 = Gh[k + 2, o, t0:t0 + tw]
    v3 = Gh[k + 3, o, t0:t0 + tw]
    for q in range(tw):
        x = a[2 * q]
        y = a[2 * q + 1]
        v0[q] = x
        v1[q] = x + y
        v2[q] = x - y
        v3[q] = -y


@jit(parallel=True)
def winograd_gy(g, Gh, th, tw):  # pragma: no cover - jitted
    """The output gradient's side of the Winograd weight gradient:
    Gh[4i+j, o, (n*th + p)*tw + q] = (A g A^T)[i, j] for the 2x2 block g of
    g[n, o] at (2p, 2q) (g of even extent), A = [[1, 0], [1, 1], [1, -1],
    [0, -1]] (the transpose of F(2x2, 3x3)'s output transform).  Row pairs
    transformed whole, then the columns into 16 contiguous runs (as
    :func:`winograd_in`)."""
    N, Co, H, W = g.shape
    for u in prange(Co * N):
        o = u // N
        n = u - o * N
        gp = g[n, o]
        a = np.empty((4, W), dtype=g.dtype)
        for p in range(th):
            r0 = gp[2 * p]
            r1 = gp[2 * p + 1]
            for j in range(W):
                a[0, j] = r0[j]
                a[1, j] = r0[j] + r1[j]
                a[2, j] = r0[j] - r1[j]
                a[3, j] = -r1[j]
            t0 = (n * th + p) * tw
            for i in range(4):
                _gy_cols(a[i], Gh, 4 * i, o, t0, tw)


@jit
def _wino4_cols(a, V, k, c, t0, tw, two, four, five):  # pragma: no cover - jitted
    """F(4x4, 3x3)'s column transform (B^T on each 6 samples at a stride of
    4) of one row-transformed row ``a`` into V[k..k+5, c, t0:t0+tw]
    (the constants in the arrays' dtype: an integer literal would promote
    float32 arithmetic to float64)."""
    v0 = V[k, c, t0:t0 + tw]
    v1 = V[k + 1, c, t0:t0 + tw]
    v2 = V[k + 2, c, t0:t0 + tw]
    v3 = V[k + 3, c, t0:t0 + tw]
    v4 = V[k + 4, c, t0:t0 + tw]
    v5 = V[k + 5, c, t0:t0 + tw]
    for q in range(tw):
        j = 4 * q
        e1 = a[j + 1]
        e2 = a[j + 2]
        e3 = a[j + 3]
        e4 = a[j + 4]
        v0[q] = four * a[j] - five * e2 + e4
        v1[q] = e3 + e4 - four * (e1 + e2)
        v2[q] = e4 - e3 + four * (e1 - e2)
        v3[q] = e4 - e2 + two * (e3 - e1)
        v4[q] = e4 - e2 + two * (e1 - e3)
        v5[q] = four * e1 - five * e3 + a[j + 5]


@jit(parallel=True)
def winograd4_in(x, V, th, tw, cst):  # pragma: no cover - jitted
    """Winograd F(4x4, 3x3) input tiles: V[6i+j, c, (n*th + p)*tw + q] =
    (B^T d B)[i, j] for the 6x6 tile d of x[n, c] at (4p, 4q) (x padded so
    that every tile is inside), B^T the transform at the points 0, +-1,
    +-2 and infinity.  Row by row of tiles: the row transform on whole
    rows, then the column transform into 36 contiguous runs.  ``cst``:
    (2, 4, 5, 8) in x's dtype."""
    N, C, Hp, Wp = x.shape
    two, four, five = cst[0], cst[1], cst[2]
    for u in prange(C * N):
        c = u // N
        n = u - c * N
        xp = x[n, c]
        a = np.empty((6, Wp), dtype=x.dtype)
        for p in range(th):
            r0 = xp[4 * p]
            r1 = xp[4 * p + 1]
            r2 = xp[4 * p + 2]
            r3 = xp[4 * p + 3]
            r4 = xp[4 * p + 4]
            r5 = xp[4 * p + 5]
            for j in range(Wp):
                b1 = r1[j]
                b2 = r2[j]
                b3 = r3[j]
                b4 = r4[j]
                a[0, j] = four * r0[j] - five * b2 + b4
                a[1, j] = b3 + b4 - four * (b1 + b2)
                a[2, j] = b4 - b3 + four * (b1 - b2)
                a[3, j] = b4 - b2 + two * (b3 - b1)
                a[4, j] = b4 - b2 + two * (b1 - b3)
                a[5, j] = four * b1 - five * b3 + r5[j]
            t0 = (n * th + p) * tw
            for i in range(6):
                _wino4_cols(a[i], V, 6 * i, c, t0, tw, two, four, five)


@jit(parallel=True)
def winograd4_out(M, y, th, tw, cst):  # pragma: no cover - jitted
    """Winograd F(4x4, 3x3) output: y[n, o, 4p:4p+4, 4q:4q+4] = A^T m A for
    m = M[:, o, tile (n, p, q)] (6x6), cropped to y's extent; A^T's rows
    (1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0),
    (0, 1, -1, 8, -8, 1).  Per row of tiles on contiguous runs: the column
    sums of each of the 6 rows of m, then the row sums into y.  ``cst``:
    (2, 4, 5, 8) in y's dtype."""
    N, Co, H, W = y.shape
    two, four, eight = cst[0], cst[1], cst[3]
    for u in prange(Co * N):
        o = u // N
        n = u - o * N
        yp = y[n, o]
        base = n * th * tw
        b = np.empty((6, 4, tw), dtype=y.dtype)
        for p in range(th):
            t0 = base + p * tw
            for i in range(6):
                m0 = M[6 * i, o, t0:t0 + tw]
                m1 = M[6 * i + 1, o, t0:t0 + tw]
                m2 = M[6 * i + 2, o, t0:t0 + tw]
                m3 = M[6 * i + 3, o, t0:t0 + tw]
                m4 = M[6 * i + 4, o, t0:t0 + tw]
                m5 = M[6 * i + 5, o, t0:t0 + tw]
                bi = b[i]
                for q in range(tw):
                    s12 = m1[q] + m2[q]
                    d12 = m1[q] - m2[q]
                    s34 = m3[q] + m4[q]
                    d34 = m3[q] - m4[q]
                    bi[0, q] = m0[q] + s12 + s34
                    bi[1, q] = d12 + two * d34
                    bi[2, q] = s12 + four * s34
                    bi[3, q] = d12 + eight * d34 + m5[q]
            rows = min(4, H - 4 * p)
            for jj in range(4):
                cols = min(tw, (W - jj + 3) // 4)
                for q in range(cols):
                    c0 = b[0, jj, q]
                    c1 = b[1, jj, q]
                    c2 = b[2, jj, q]
                    c3 = b[3, jj, q]
                    c4 = b[4, jj, q]
                    c5 = b[5, jj, q]
                    s12 = c1 + c2
                    d12 = c1 - c2
                    s34 = c3 + c4
                    d34 = c3 - c4
                    j = 4 * q + jj
                    yp[4 * p, j] = c0 + s12 + s34
                    if rows > 1:
                        yp[4 * p + 1, j] = d12 + two * d34
                    if rows > 2:
                        yp[4 * p + 2, j] = s12 + four * s34
                    if rows > 3:
                        yp[4 * p + 3, j] = d12 + eight * d34 + c5
