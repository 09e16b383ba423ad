"""Kernels of the streaming convolver: spectral multiply-accumulate over a
frequency-domain delay line, ring-buffer accumulation, short direct FIR."""
from numba import prange

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
    """acc[:, (start + i) % A] += y[:, i] (two contiguous runs, vectorised)."""
    C, A = acc.shape
    n = y.shape[1]
    p = start % A
    first = min(n, A - p)
    for c in range(C):
        a = acc[c]
        b = y[c]
        for i in range(first):
            a[p + i] += b[i]
        for i in range(first, n):
            a[i - first] += b[i]


@jit
def ring_take(acc, start, out):  # pragma: no cover - jitted
    """out[:, i] = acc[:, (start + i) % A]; those cells are zeroed."""
    C, A = acc.shape
    n = out.shape[1]
    p = start % A
    first = min(n, A - p)
    for c in range(C):
        a = acc[c]
        o = out[c]
        for i in range(first):
            o[i] = a[p + i]
            a[p + i] = 0
        for i in range(first, n):
            o[i] = a[i - first]
            a[i - first] = 0


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


@jit(parallel=True)
def fdl_mac_parallel(X, H, slot, Y, chunk):  # pragma: no cover - jitted
    """fdl_mac with (channel, frequency chunk) units in parallel (long blocks)."""
    m, C, F = X.shape
    Ch = H.shape[1]
    nch = (F + chunk - 1) // chunk
    for u in prange(C * nch):
        c = u // nch
        f0 = (u - c * nch) * chunk
        f1 = min(f0 + chunk, F)
        ch = c if Ch > 1 else 0
        yc = Y[c]
        for f in range(f0, f1):
            yc[f] = 0
        for j in range(m):
            s = slot - j
            if s < 0:
                s += m
            xs = X[s, c]
            hs = H[j, ch]
            for f in range(f0, f1):
                yc[f] += xs[f] * hs[f]


@jit
def fdl_mac_chan(X, H, slot, zslot, Y, c):  # pragma: no cover - jitted
    """Y[c] = sum over live slots s of X[s, c] * H[(slot - s) % m, c or 0];
    slots with ``zslot[s]`` (silence) are skipped.  Returns the live count."""
    m, C, F = X.shape
    ch = c if H.shape[1] > 1 else 0
    yc = Y[c]
    live = 0
    for j in range(m):
        s = slot - j
        if s < 0:
            s += m
        if zslot[s]:
            continue
        xs = X[s, c]
        hs = H[j, ch]
        if live == 0:
            for f in range(F):
                yc[f] = xs[f] * hs[f]
        else:
            for f in range(F):
                yc[f] += xs[f] * hs[f]
        live += 1
    return live
