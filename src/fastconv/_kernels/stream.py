"""Kernels of the streaming convolver: spectral multiply-accumulate over a
frequency-domain delay line, ring-buffer accumulation, short direct FIR."""
from . import jit


@jit
def fdl_mac(X, H, slot, Y):  # pragma: no cover - jitted
    """Y[c] = sum_j X[(slot - j) % m, c] * H[j, c or 0] (complex, per bin)."""
    m, C, F = X.shape
    Ch = H.shape[1]
    for c in range(C):
        ch = c if Ch > 1 else 0
        yc = Y[c]
        for f in range(F):
            yc[f] = 0
        for j in range(m):
            s = slot - j
            if s < 0:
                s += m
            xs = X[s, c]
            hs = H[j, ch]
            for f in range(F):
                yc[f] += xs[f] * hs[f]


@jit
def ring_add(acc, start, y):  # pragma: no cover - jitted
    """acc[:, (start + i) % A] += y[:, i]."""
    C, A = acc.shape
    n = y.shape[1]
    for c in range(C):
        p = start % A
        for i in range(n):
            acc[c, p] += y[c, i]
            p += 1
            if p == A:
                p = 0


@jit
def ring_take(acc, start, out):  # pragma: no cover - jitted
    """out[:, i] = acc[:, (start + i) % A]; those cells are zeroed."""
    C, A = acc.shape
    n = out.shape[1]
    for c in range(C):
        p = start % A
        for i in range(n):
            out[c, i] = acc[c, p]
            acc[c, p] = 0
            p += 1
            if p == A:
                p = 0


@jit
def fir_block(hist, h, out):  # pragma: no cover - jitted
    """out[c, i] = sum_j h[c or 0, j] * hist[c, i + K - 1 - j] (a 'valid' FIR)."""
    C, n = out.shape
    Ch, K = h.shape
    for c in range(C):
        hc = h[c if Ch > 1 else 0]
        xc = hist[c]
        oc = out[c]
        for i in range(n):
            acc = 0.0
            for j in range(K):
                acc += hc[j] * xc[i + K - 1 - j]
            oc[i] = acc


@jit
def ring_write(buf, start, x):  # pragma: no cover - jitted
    """buf[:, (start + i) % R] = x[:, i]."""
    C, R = buf.shape
    n = x.shape[1]
    for c in range(C):
        p = start % R
        for i in range(n):
            buf[c, p] = x[c, i]
            p += 1
            if p == R:
                p = 0


@jit
def ring_read(buf, start, out):  # pragma: no cover - jitted
    C, R = buf.shape
    n = out.shape[1]
    for c in range(C):
        p = start % R
        if p < 0:
            p += R
        for i in range(n):
            out[c, i] = buf[c, p]
            p += 1
            if p == R:
                p = 0

