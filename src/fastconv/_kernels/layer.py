"""Depthwise 2-D correlation (one channel per group), direct, zero padding
applied virtually, any stride and dilation (only the outputs asked for are
computed).  One unit of parallel work per (image, channel) plane; each output
row sums K0 x K1 scaled input rows over the column range where the tap lies
inside the input (no per-element bounds test), which the compiler vectorises
for stride 1."""
import numpy as np
from numba import prange

from . import jit


@jit(parallel=True)
def depthwise2d(x, w, y, ph, pw, sh, sw, dh, dw):  # pragma: no cover - jitted
    """x (N, C, H, W), w (C, K0, K1), y (N, C, Ho, Wo): y[n, c, i, j] =
    sum_{a, b} w[c, a, b] * x[n, c, i*sh + a*dh - ph, j*sw + b*dw - pw] (zero
    outside)."""
    N, C, H, W = x.shape
    K0, K1 = w.shape[1], w.shape[2]
    Ho, Wo = y.shape[2], y.shape[3]
    if sh == 1 and sw == 1 and Wo < 32:
        # narrow planes, stride 1: the plane zero-padded into a small buffer,
        # then each tap one long multiply-add over blocks of flattened "wide"
        # rows (row length Wp; the Wp - Wo extra columns are dropped): long
        # vector loops instead of K0*K1 short ones per output row (measured,
        # 8x512x14x14 3x3: 4.0 -> 1.4-1.6 ms; on 112-wide planes the padded
        # copy made it slower than the row loops below: 3.4 -> 4.4 ms)
        Hp = Ho + dh * (K0 - 1)
        Wp = Wo + dw * (K1 - 1)
        for u in prange(N * C):
            n = u // C
            c = u - n * C
            xp = x[n, c]
            yp = y[n, c]
            buf = np.zeros((Hp + 1) * Wp, dtype=x.dtype)
            for r in range(max(ph, 0), min(H + ph, Hp)):
                src = xp[r - ph]
                row = buf[r * Wp:(r + 1) * Wp]
                for j in range(max(pw, 0), min(W + pw, Wp)):
                    row[j] = src[j - pw]
            # blocks of R output rows (about 1024 sums, in L1)
            R = max(1, 1024 // Wp)
            wide = np.empty(R * Wp, dtype=x.dtype)
            for i0 in range(0, Ho, R):
                r = min(R, Ho - i0)
                Mc = r * Wp
                for m in range(Mc):
                    wide[m] = 0
                for a in range(K0):
                    for b in range(K1):
                        wv = w[c, a, b]
                        s0 = (i0 + a * dh) * Wp + b * dw
                        xs = buf[s0:s0 + Mc]
                        for m in range(Mc):
                            wide[m] += wv * xs[m]
                for i in range(r):
                    yr = yp[i0 + i]
                    wr = wide[i * Wp:i * Wp + Wo]
                    for j in range(Wo):
                        yr[j] = wr[j]
        return
    for u in prange(N * C):
        n = u // C
        c = u - n * C
        xp = x[n, c]
        yp = y[n, c]
        for i in range(Ho):
            yr = yp[i]
            for j in range(Wo):
                yr[j] = 0
            for a in range(K0):
                r = i * sh + a * dh - ph
                if r < 0 or r >= H:
                    continue
                xr = xp[r]
                for b in range(K1):
                    wv = w[c, a, b]
                    off = b * dw - pw
                    # columns j with 0 <= j*sw + off < W
                    j0 = 0 if off >= 0 else (-off + sw - 1) // sw
                    j1 = min(Wo, (W - 1 - off) // sw + 1) if W - 1 - off >= 0 else 0
                    if sw == 1:
                        if j1 > j0:
                            ys = yr[j0:j1]
                            xs = xr[j0 + off:j1 + off]
                            for j in range(j1 - j0):
                                ys[j] += wv * xs[j]
                    else:
                        for j in range(j0, j1):
                            yr[j] += wv * xr[j * sw + off]


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
