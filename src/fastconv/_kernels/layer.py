"""Depthwise 2-D correlation (one channel per group), direct, zero padding
applied virtually, any stride and dilation (only the outputs asked for are
computed).  One unit of parallel work per (image, channel) plane; each output
row sums K0 x K1 scaled input rows over the column range where the tap lies
inside the input (no per-element bounds test), which the compiler vectorises
for stride 1."""
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
