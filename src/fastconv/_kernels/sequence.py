"""Kernels of the sequence-model convolutions (``fastconv.nn.long_conv``,
``causal_conv1d``): short depthwise filters along rows, their weight
gradient, and the frequency-domain multiply-accumulate of the partitioned
long convolution.  No validation here (see ``algorithms/sequence.py``)."""
import numpy as np
from numba import prange

from . import jit
from .simd import _rows1, block_cols


@jit(parallel=True)
def taps_rows(x, w, y, sign, wrap, acc):  # pragma: no cover - jitted
    """Depthwise filter of the rows of ``x`` (R, L), row ``r`` with the taps
    ``w[r % H]`` (H, K): ``y[r, t] (+)= sum_j w[h, j] x[r, t - sign*j]``
    (``acc``: added to ``y``'s values), indices outside ``[0, L)`` skipped
    or, with ``wrap``, taken mod L.  A row is summed in a buffer (one pass
    per tap) then stored.  Serves the circular and anti-causal taps and the
    input gradient; the causal filter has faster kernels
    (:func:`causal_simd`, :func:`causal_rows`)."""
    R, L = x.shape
    H, K = w.shape
    for r in prange(R):
        h = r % H
        buf = np.empty(L, y.dtype)
        for t in range(L):
            buf[t] = y[r, t] if acc else 0
        xr = x[r]
        for j in range(K):
            c = w[h, j]
            s = sign * j
            if wrap:
                s = s % L
                # t - s mod L: t >= s reads t - s, t < s reads t - s + L
                for t in range(s, L):
                    buf[t] += c * xr[t - s]
                for t in range(0, s):
                    buf[t] += c * xr[t - s + L]
            elif s >= 0:
                for t in range(s, L):
                    buf[t] += c * xr[t - s]
            else:
                for t in range(0, L + s):
                    buf[t] += c * xr[t - s]
        for t in range(L):
            y[r, t] = buf[t]


#: outputs per block of :func:`causal_rows`
BLOCK = 16
_LOG2E = 1.4426950408889634


@jit(inline=True)
def _silu_store(acc, n, out, o0, e, ki):  # pragma: no cover - jitted
    """``out[o0 + i] = z * sigmoid(z)`` for the block's sums ``z = acc[i]``
    (``e``, ``ki``: scratch of the block's length): :func:`_silu_span`."""
    _silu_span(acc, 0, n, acc.dtype.type(0), out, o0, e, ki)


@jit(inline=True)
def _silu_span(z, z0, n, b0, out, o0, e, ki):  # pragma: no cover - jitted
    """``out[o0 + i] = s * sigmoid(s)``, ``s = z[z0 + i] + b0``, i < n (``e``,
    ``ki``: scratch of at least ``n``; ``out`` may be ``z`` itself).
    float32: ``exp(-s)`` as ``2^k e^r`` (k integer, |r| <= ln2 / 2; relative
    error of the result within 1e-6, a few float32 steps; scaling a base-2
    fraction instead lost 5 bits to the rounding of s log2(e) near
    s = -86), in plain loops over the span that the compiler turns into
    vector code (per block of 16, with a view of the scratch per block, it
    ran at 3 cycles an element: (8, 1024, 4096) K=4 24.5 ms against 5.6 ms
    without SiLU; now 19.3 ms, of which the count of far entries costs ~4:
    numba's reductions stay scalar); where ``2^k`` would leave the float32
    range (s < -87.3, results of 1e-36 and less, and -inf) the span
    is finished by a scalar loop in float64 (s exp(s): the denormal float32
    result; NaN for -inf, as torch's x * sigmoid(x)).  float64: math's exp."""
    if out.itemsize == 4:
        sc = ki[:n].view(np.float32)
        far = 0
        for i in range(n):
            # exp(a), a = -s clamped to +-88: a = k ln2 + r, |r| <= ln2 / 2
            # (ln2 in two parts, the first exact times any k), e^r by its
            # Taylor series to r^7 (truncation below 6e-9), 2^k from bits
            a = -(z[z0 + i] + b0)
            far += np.int32(a > np.float32(87.0))
            a = min(max(a, np.float32(-88.0)), np.float32(88.0))
            # round to nearest by truncating a positive number
            j = np.int32(a * np.float32(_LOG2E) + np.float32(128.5)) - np.int32(128)
            kf = np.float32(j)
            r = (a - kf * np.float32(0.693359375)) + kf * np.float32(2.1219444005469057e-4)
            p = np.float32(1.0 / 5040.0)
            p = p * r + np.float32(1.0 / 720.0)
            p = p * r + np.float32(1.0 / 120.0)
            p = p * r + np.float32(1.0 / 24.0)
            p = p * r + np.float32(1.0 / 6.0)
            p = p * r + np.float32(0.5)
            p = p * r + np.float32(1.0)
            e[i] = p * r + np.float32(1.0)
            ki[i] = (j + 127) << 23
        if far == 0:
            for i in range(n):
                out[o0 + i] = (z[z0 + i] + b0) / (np.float32(1) + e[i] * sc[i])
        else:
            for i in range(n):
                v = z[z0 + i] + b0
                if v < np.float32(-87.0):
                    w = np.float64(v)
                    out[o0 + i] = w * np.exp(w)
                else:
                    out[o0 + i] = v / (np.float32(1) + e[i] * sc[i])
    else:
        for i in range(n):
            v = z[z0 + i] + b0
            out[o0 + i] = v / (1 + np.exp(-v))


@jit(parallel=True)
def causal_rows(x, w, bias, y, act):  # pragma: no cover - jitted
    """:func:`taps_rows` for the causal case (``sign`` 1, no wrap), at memory
    speed: blocks of :data:`BLOCK` outputs whose sums stay in registers
    while the taps run (the interior without index checks), bias and SiLU
    applied before the block is stored.  Measured, (8, 1024, 4096) float32,
    K=4, 2 threads: 34.5 ms (a pass per tap over a row buffer: 57 ms; a copy
    of the array: 18.5 ms)."""
    R, L = x.shape
    H, K = w.shape
    for r in prange(R):
        h = r % H
        xr = x[r]
        yr = y[r]
        wr = w[h]
        b0 = bias[h] if bias.shape[0] > 0 else y.dtype.type(0)
        acc = np.empty(BLOCK, y.dtype)
        e = np.empty(BLOCK, y.dtype)
        ki = np.empty(BLOCK, np.int32)
        for t0 in range(0, L, BLOCK):
            n = min(BLOCK, L - t0)
            for i in range(BLOCK):
                acc[i] = b0
            if t0 >= K - 1 and n == BLOCK:
                for j in range(K):
                    c = wr[j]
                    s = t0 - j
                    for i in range(BLOCK):
                        acc[i] += c * xr[s + i]
            else:
                for j in range(K):
                    c = wr[j]
                    for i in range(n):
                        t = t0 + i - j
                        if t >= 0:
                            acc[i] += c * xr[t]
            if act == 1:
                _silu_store(acc, n, yr, t0, e, ki)
            else:
                for i in range(n):
                    yr[t0 + i] = acc[i]


@jit(parallel=True)
def tap_grads(x, g, H, K, sign, wrap):  # pragma: no cover - jitted
    """Weight gradient of :func:`taps_rows` (no activation): ``out[h, j] =
    sum over rows r with r % H == h of sum_t g[r, t] x[r, t - sign*j]``
    (skipped or wrapped as there), float64 sums per channel."""
    R, L = x.shape
    out = np.zeros((H, K), np.float64)
    for h in prange(H):
        for r in range(h, R, H):
            xr = x[r]
            gr = g[r]
            for j in range(K):
                s = sign * j
                acc = 0.0
                if wrap:
                    s = s % L
                    for t in range(s, L):
                        acc += gr[t] * xr[t - s]
                    for t in range(0, s):
                        acc += gr[t] * xr[t - s + L]
                elif s >= 0:
                    for t in range(s, L):
                        acc += gr[t] * xr[t - s]
                else:
                    for t in range(0, L + s):
                        acc += gr[t] * xr[t - s]
                out[h, j] += acc
    return out


@jit
def part_mac(U, Kr, Ki, Y, F0):  # pragma: no cover - jitted
    """The partitioned convolution's products: ``Y[r, j] = sum_{p <= j, p < P}
    U[r, j - p] * K[r, p]`` over ``F`` frequency bins, ``U`` and ``Y``
    interleaved complex as real views (R, nb, 2F), the kernel spectra split
    into real and imaginary parts (R, P, F).  Bins in chunks of ``F0``, the
    sums of a chunk in two local arrays (split real and imaginary parts,
    which LLVM vectorises: it cannot prove the output view apart from the
    inputs; 0.6 -> 2.4 complex multiply-adds per ns measured)."""
    R, nb, F2 = U.shape
    F = F2 // 2
    P = Kr.shape[1]
    yr = np.empty(F0, Y.dtype)
    yi = np.empty(F0, Y.dtype)
    for r in range(R):
        for f0 in range(0, F, F0):
            n = min(F, f0 + F0) - f0
            for j in range(nb):
                for f in range(n):
                    yr[f] = 0
                    yi[f] = 0
                for p in range(min(j + 1, P)):
                    u = U[r, j - p, 2 * f0:2 * (f0 + n)]
                    kr = Kr[r, p, f0:f0 + n]
                    ki = Ki[r, p, f0:f0 + n]
                    for f in range(n):
                        a = u[2 * f]
                        b = u[2 * f + 1]
                        yr[f] += a * kr[f] - b * ki[f]
                        yi[f] += a * ki[f] + b * kr[f]
                y = Y[r, j]
                for f in range(n):
                    y[2 * (f0 + f)] = yr[f]
                    y[2 * (f0 + f) + 1] = yi[f]


@jit
def part_corr(G, U, Ar, Ai, F0):  # pragma: no cover - jitted
    """The partitioned correlation's products, accumulated: ``A[r, p] +=
    sum_{j >= p} G[r, j] * conj(U[r, j - p])`` for ``p <= P`` (``P + 1 =
    Ar.shape[1]``), ``G`` and ``U`` interleaved complex as real views (R, nb,
    2F), the sums split into real and imaginary parts (R, P + 1, F); chunks of
    ``F0`` bins summed in local arrays (see :func:`part_mac`)."""
    R, nb, F2 = G.shape
    F = F2 // 2
    P1 = Ar.shape[1]
    sr = np.empty(F0, Ar.dtype)
    si = np.empty(F0, Ar.dtype)
    for r in range(R):
        for f0 in range(0, F, F0):
            n = min(F, f0 + F0) - f0
            for p in range(min(P1, nb)):
                for f in range(n):
                    sr[f] = 0
                    si[f] = 0
                for j in range(p, nb):
                    g = G[r, j, 2 * f0:2 * (f0 + n)]
                    u = U[r, j - p, 2 * f0:2 * (f0 + n)]
                    for f in range(n):
                        gr = g[2 * f]
                        gi = g[2 * f + 1]
                        ur = u[2 * f]
                        ui = u[2 * f + 1]
                        sr[f] += gr * ur + gi * ui
                        si[f] += gi * ur - gr * ui
                a = Ar[r, p]
                b = Ai[r, p]
                for f in range(n):
                    a[f0 + f] += sr[f]
                    b[f0 + f] += si[f]


@jit
def part_adj(G, Kr, Ki, S, F0):  # pragma: no cover - jitted
    """The partitioned convolution's adjoint products: ``S[r, i] = sum_{p < P,
    i + p < nb} G[r, i + p] * conj(K[r, p])`` (interleaved complex views as
    in :func:`part_mac`; chunks of ``F0`` bins summed in local arrays)."""
    R, nb, F2 = G.shape
    F = F2 // 2
    P = Kr.shape[1]
    sr = np.empty(F0, S.dtype)
    si = np.empty(F0, S.dtype)
    for r in range(R):
        for f0 in range(0, F, F0):
            n = min(F, f0 + F0) - f0
            for i in range(nb):
                for f in range(n):
                    sr[f] = 0
                    si[f] = 0
                for p in range(min(P, nb - i)):
                    g = G[r, i + p, 2 * f0:2 * (f0 + n)]
                    kr = Kr[r, p, f0:f0 + n]
                    ki = Ki[r, p, f0:f0 + n]
                    for f in range(n):
                        gr = g[2 * f]
                        gi = g[2 * f + 1]
                        sr[f] += gr * kr[f] + gi * ki[f]
                        si[f] += gi * kr[f] - gr * ki[f]
                s = S[r, i]
                for f in range(n):
                    s[2 * (f0 + f)] = sr[f]
                    s[2 * (f0 + f) + 1] = si[f]


@jit(parallel=True)
def causal_simd(x, wr, bias, y, act, vec):  # pragma: no cover - jitted
    """:func:`causal_rows` on the register blocks of ``_kernels.simd`` (one
    row, ``U`` vectors of outputs, the taps looped inside in vector IR): the
    causal filter as a correlation with the reversed taps ``wr`` (H, K),
    ``y[t] = sum_k wr[k] x[t - (K-1) + k]``; outputs whose window starts
    before the row are summed as scalars, the row's last outputs by a block
    shifted left (the same sums again); then bias and SiLU over the row
    while it is in cache.  float32/float64 (``vec``: the vector width)."""
    R, L = x.shape
    H, K = wr.shape
    W = block_cols(vec, wr)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    wf = wr.reshape(-1)
    for r in prange(R):
        h = r % H
        base = r * L
        head = min(K - 1, L)
        for t in range(head):                  # windows that start before the row
            acc = y.dtype.type(0)
            for k in range(K - 1 - t, K):
                acc += wr[h, k] * x[r, t - (K - 1) + k]
            y[r, t] = acc
        n = L - head                           # outputs with full windows
        if n >= W:
            t0 = head
            while t0 + W <= L:
                _rows1(vec, xf, base + t0 - (K - 1), L, wf, h * K, 1, K, yf, base + t0, L)
                t0 += W
            if t0 < L:                         # the rest: a block shifted left
                _rows1(vec, xf, base + L - W - (K - 1), L, wf, h * K, 1, K, yf, base + L - W, L)
        else:
            for t in range(head, L):
                acc = y.dtype.type(0)
                for k in range(K):
                    acc += wr[h, k] * x[r, t - (K - 1) + k]
                y[r, t] = acc
        if bias.shape[0] > 0 or act == 1:
            b0 = bias[h] if bias.shape[0] > 0 else y.dtype.type(0)
            if act == 1:
                e = np.empty(L, y.dtype)
                ki = np.empty(L, np.int32)
                yr = y[r]
                _silu_span(yr, 0, L, b0, yr, 0, e, ki)
            else:
                for t in range(L):
                    y[r, t] += b0
