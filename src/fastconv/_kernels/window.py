"""Window statistics for template matching: running sums and fused scores."""
import numpy as np
from numba import prange

from . import jit


@jit(parallel=True)
def box_sums_2d(x, K0, K1, s1, s2, chunk):  # pragma: no cover - jitted
    """s1/s2[i, j] = sum of x / x**2 over x[i:i+K0, j:j+K1] (float64).

    Each chunk of output rows starts from exact column sums of its first
    window and slides down (add the entering row, subtract the leaving
    one); every row then slides across.  Drift stays at a few ulps of the
    window's magnitude over a chunk.
    """
    L0, L1 = s1.shape
    N1 = x.shape[1]
    nchunks = (L0 + chunk - 1) // chunk
    for c in prange(nchunks):
        i0 = c * chunk
        i1 = min(i0 + chunk, L0)
        c1 = np.zeros(N1)
        c2 = np.zeros(N1)
        for r in range(i0, i0 + K0):
            for q in range(N1):
                v = np.float64(x[r, q])
                c1[q] += v
                c2[q] += v * v
        for i in range(i0, i1):
            a1 = 0.0
            a2 = 0.0
            for q in range(K1):
                a1 += c1[q]
                a2 += c2[q]
            s1[i, 0] = a1
            s2[i, 0] = a2
            for j in range(1, L1):
                a1 += c1[j + K1 - 1] - c1[j - 1]
                a2 += c2[j + K1 - 1] - c2[j - 1]
                s1[i, j] = a1
                s2[i, j] = a2
            if i + 1 < i1:
                for q in range(N1):
                    vin = np.float64(x[i + K0, q])
                    vout = np.float64(x[i, q])
                    c1[q] += vin - vout
                    c2[q] += vin * vin - vout * vout


@jit(parallel=True)
def scores(xc, s1, s2, n, t_ss, t_ssd, tol, zero_floor, method, out):  # pragma: no cover
    """Normalised scores from the correlation and window sums, in one pass.

    method: 1 sqdiff, 2 sqdiff_normed, 3 ccorr_normed, 5 ccoeff_normed.
    """
    L0, L1 = out.shape
    for i in prange(L0):
        for j in range(L1):
            c = np.float64(xc[i, j])
            q2 = s2[i, j]
            if method == 5:
                q1 = s1[i, j]
                w = q2 - q1 * q1 / n
                if w <= tol * q2 or t_ssd <= 0.0:
                    r = 0.0
                else:
                    r = c / np.sqrt(w * t_ssd)
                    r = min(max(r, -1.0), 1.0)
            elif method == 3:
                if q2 <= zero_floor or t_ss == 0.0:
                    r = 0.0
                else:
                    r = min(max(c / np.sqrt(q2 * t_ss), -1.0), 1.0)
            else:
                d = max(t_ss - 2.0 * c + q2, 0.0)
                if method == 1:
                    r = d
                elif q2 <= zero_floor or t_ss == 0.0:
                    r = 1.0
                else:
                    r = d / np.sqrt(q2 * t_ss)
            out[i, j] = r


@jit(parallel=True)
def to_int_saturated(y, lo, hi, out):  # pragma: no cover - jitted
    """out = clip(round_half_even(y), lo, hi) cast to out's integer dtype."""
    a = y.reshape(-1)
    b = out.reshape(-1)
    n = a.shape[0]
    chunk = 65536
    for c in prange((n + chunk - 1) // chunk):
        for i in range(c * chunk, min(c * chunk + chunk, n)):
            v = np.rint(a[i])
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            b[i] = v


@jit(parallel=True)
def to_float(x, out):  # pragma: no cover - jitted
    a = x.reshape(-1)
    b = out.reshape(-1)
    n = a.shape[0]
    chunk = 65536
    for c in prange((n + chunk - 1) // chunk):
        for i in range(c * chunk, min(c * chunk + chunk, n)):
            b[i] = a[i]
