"""Kernels of the probability and statistics front end
(``fastconv.stats``): the Panjer recursion, linear
binning, rolling window sums carried in double-double arithmetic, and the
exponentially weighted mean's recurrence.  No validation here (see
``algorithms/stats.py``)."""
import math

import numpy as np
from numba import prange

from . import jit


@jit()
def panjer(f, a, b, g):  # pragma: no cover - jitted
    """The (a, b, 0) recursion: ``g[0]`` set by the caller, then
    ``g[s] = sum_{j=1..min(s, m-1)} (a + b j / s) f[j] g[s-j] / (1 - a f[0])``
    for s = 1 .. len(g)-1.  Every term is non-negative when a >= 0
    (Poisson, negative binomial), so the result carries only rounding
    relative to each entry."""
    m = f.shape[0]
    c = 1.0 / (1.0 - a * f[0])
    jf = np.empty(m)
    for j in range(m):
        jf[j] = j * f[j]
    for s in range(1, g.shape[0]):
        top = min(s, m - 1)
        s1 = 0.0
        s2 = 0.0
        for j in range(1, top + 1):
            gj = g[s - j]
            s1 += f[j] * gj
            s2 += jf[j] * gj
        g[s] = (a * s1 + b * s2 / s) * c


@jit()
def bin_linear(pts, wts, lo, inv, out):  # pragma: no cover - jitted
    """Linear binning of ``pts`` (n, 3) with weights ``wts`` (n,) onto
    ``out`` (n0, n1, n2), cell centres at ``lo + i / inv`` per axis (unused
    axes: lo 0, inv 0, size 1).  Each point's weight is split among the
    2^d corners of its cell in proportion to the opposite volumes; corners
    outside the grid are dropped (the caller's grid covers the kernel's
    reach around the data it bins)."""
    n0, n1, n2 = out.shape
    for p in range(pts.shape[0]):
        w = wts[p]
        u0 = (pts[p, 0] - lo[0]) * inv[0]
        u1 = (pts[p, 1] - lo[1]) * inv[1]
        u2 = (pts[p, 2] - lo[2]) * inv[2]
        if not (u0 > -1.0 and u0 < n0 and u1 > -1.0 and u1 < n1 and u2 > -1.0 and u2 < n2):
            continue
        i0 = int(math.floor(u0))
        i1 = int(math.floor(u1))
        i2 = int(math.floor(u2))
        f0 = u0 - i0
        f1 = u1 - i1
        f2 = u2 - i2
        for d0 in range(2):
            j0 = i0 + d0
            if j0 < 0 or j0 >= n0:
                continue
            w0 = w * (f0 if d0 else 1.0 - f0)
            for d1 in range(2):
                j1 = i1 + d1
                if j1 < 0 or j1 >= n1:
                    continue
                w1 = w0 * (f1 if d1 else 1.0 - f1)
                for d2 in range(2):
                    j2 = i2 + d2
                    if j2 < 0 or j2 >= n2:
                        continue
                    out[j0, j1, j2] += w1 * (f2 if d2 else 1.0 - f2)


@jit()
def _two_sum(a, b):  # pragma: no cover - jitted
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@jit()
def _window_dd(x, i0, i1):  # pragma: no cover - jitted
    """The double-double sum of the finite values of x[i0:i1] and whether it
    is exact (no low-order bits were lost)."""
    hi = 0.0
    lo = 0.0
    exact = True
    for i in range(i0, i1):
        v = x[i]
        if math.isfinite(v):
            hi, e = _two_sum(hi, v)
            lo, e2 = _two_sum(lo, e)
            if e2 != 0.0:
                exact = False
    return hi, lo, exact


@jit(parallel=True)
def rolling_mean(x, w, off, minp, omit, seg, out):  # pragma: no cover - jitted
    """Mean of the window ``[t + off - w + 1, t + off]`` (clipped to the row)
    for every ``t`` of every row of ``x`` (R, L) into ``out`` (float64).

    Finite values are summed in double-double arithmetic (error-free
    transformations): adding a value and taking it away again leaves the sum
    exactly as it was, so a window of equal values gives that value and a
    window of zeros gives 0.  Whenever the low word itself had to round, the
    window's sum is recomputed from its values.  NaN and the infinities are
    counted, not summed: with ``omit`` NaN is skipped (pandas), otherwise a
    NaN in the window gives NaN; +inf and -inf together give NaN.  Fewer than
    ``minp`` non-NaN values give NaN.  Rows are cut into segments of ``seg``
    outputs that run in parallel, each starting from its window's own sum.
    Returns how many outputs of finite values overflowed (the caller scales
    and runs again)."""
    R, L = x.shape
    nseg = (L + seg - 1) // seg
    ovf = 0
    for task in prange(R * nseg):
        r = task // nseg
        t0 = (task % nseg) * seg
        t1 = min(L, t0 + seg)
        xr = x[r]
        # the window for t0, then slide
        a = max(0, t0 + off - w + 1)           # first index in the window
        b = min(L, t0 + off + 1)               # one past the last
        if b < a:
            b = a
        hi, lo, exact = _window_dd(xr, a, b)
        nan = 0
        pinf = 0
        ninf = 0
        for i in range(a, b):
            v = xr[i]
            if v != v:
                nan += 1
            elif v == np.inf:
                pinf += 1
            elif v == -np.inf:
                ninf += 1
        inv_w = 1.0 / w
        for t in range(t0, t1):
            na = max(0, t + off - w + 1)
            nb = min(L, t + off + 1)
            if nb < na:
                nb = na
            if na == a + 1 and nb == b + 1 and nan == 0 and pinf == 0 and ninf == 0 \
                    and exact and b - a == w:
                # the interior: one value in, one out, both finite (else the
                # general path below); the difference enters as an exact
                # pair, so the running sum has one add on its critical path
                vi = xr[b]
                vo = xr[a]
                if vi - vi == 0.0 and vo - vo == 0.0:
                    d, e = _two_sum(vi, -vo)
                    hi, e1 = _two_sum(hi, d)
                    f, g = _two_sum(e, e1)
                    lo, h = _two_sum(lo, f)
                    if g != 0.0 or h != 0.0:
                        exact = False
                    a += 1
                    b += 1
                    if exact:
                        q = (hi + lo) * inv_w
                        rem = (hi - q * w) + lo
                        out[r, t] = q + rem * inv_w
                        continue
            while b < nb:
                v = xr[b]
                if v != v:
                    nan += 1
                elif v == np.inf:
                    pinf += 1
                elif v == -np.inf:
                    ninf += 1
                else:
                    hi, e = _two_sum(hi, v)
                    lo, e2 = _two_sum(lo, e)
                    if e2 != 0.0:
                        exact = False
                b += 1
            while a < na:
                v = xr[a]
                if v != v:
                    nan -= 1
                elif v == np.inf:
                    pinf -= 1
                elif v == -np.inf:
                    ninf -= 1
                else:
                    hi, e = _two_sum(hi, -v)
                    lo, e2 = _two_sum(lo, e)
                    if e2 != 0.0:
                        exact = False
                a += 1
            if not exact:
                hi, lo, exact = _window_dd(xr, a, b)
            cnt = (b - a) - nan
            if cnt < minp or cnt <= 0 or (nan > 0 and not omit):
                out[r, t] = np.nan
            elif pinf > 0 and ninf > 0:
                out[r, t] = np.nan
            elif pinf > 0:
                out[r, t] = np.inf
            elif ninf > 0:
                out[r, t] = -np.inf
            else:
                # (hi + lo) / cnt, corrected once so that an exact quotient
                # (a window of equal values) comes out exactly
                s = hi + lo
                q = s / cnt
                rem = (hi - q * cnt) + lo
                v = q + rem / cnt
                if not (v - v == 0.0):
                    ovf += 1               # finite values whose sum overflowed
                out[r, t] = v
    return ovf


@jit(parallel=True)
def ewm_mean(x, decay, adjust, ignore_na, minp, out):  # pragma: no cover - jitted
    """Exponentially weighted mean along the rows of ``x`` (R, L) with the
    old weight multiplied by ``decay`` = 1 - alpha per step (pandas'
    ``ewm(...).mean()`` recurrence: ``adjust`` weights (1-alpha)^i over the
    observations, else the recursive form; NaN keeps decaying the old weight
    unless ``ignore_na``; an observation equal to the running mean leaves it
    unchanged, so a run of equal values gives that value exactly).  Returns
    how many steps of finite values overflowed (the caller scales, again)."""
    R, L = x.shape
    alpha = 1.0 - decay
    new_w = 1.0 if adjust else alpha
    ovf = 0
    for r in prange(R):
        xr = x[r]
        mean = xr[0]
        nobs = 1 if mean == mean else 0
        out[r, 0] = mean if nobs >= minp and nobs > 0 else np.nan
        old_w = 1.0
        for t in range(1, L):
            v = xr[t]
            obs = v == v
            if obs:
                nobs += 1
            if mean == mean:
                if obs or not ignore_na:
                    old_w *= decay
                    if obs:
                        if mean != v:
                            mean = (old_w * mean + new_w * v) / (old_w + new_w)
                            if not (mean - mean == 0.0) and v - v == 0.0:
                                ovf += 1       # finite values, overflowed product
                        if adjust:
                            old_w += new_w
                        else:
                            old_w = 1.0
            elif obs:
                mean = v
            out[r, t] = mean if nobs >= minp and nobs > 0 else np.nan
    return ovf


@jit(parallel=True)
def weighted_finish(x, num, den, wsum, wt, lo, hi, w, off, minp, omit, seg,
                    out):  # pragma: no cover
    """``out = num / den`` of a weighted window (``w`` taps summing to
    ``wsum``), NaN where the window has fewer than ``minp`` non-NaN values,
    a NaN when not ``omit``, or no weight.  ``den`` (R, L): the weights of
    the non-NaN values, when the data have NaN; empty: the weights in range,
    ``wsum`` for the full windows ``lo <= t < hi`` and ``wt`` for the
    partial ones (``t < lo``, then ``t >= hi``; algorithms.stats.edge_weights)."""
    R, L = x.shape
    nseg = (L + seg - 1) // seg
    have_den = den.shape[0] > 0
    for task in prange(R * nseg):
        r = task // nseg
        t0 = (task % nseg) * seg
        t1 = min(L, t0 + seg)
        if not have_den:
            # no NaN in the data: the count and the weights follow from the
            # window's place alone; the interior is one division per value
            lo_t = min(t1, max(t0, lo))                # first full window
            hi_t = max(lo_t, min(t1, hi))              # one past the last
            numr = num[r]
            outr = out[r]
            for t in range(lo_t, hi_t):
                outr[t] = numr[t] / wsum if w >= minp else np.nan
            for t in list(range(t0, lo_t)) + list(range(hi_t, t1)):
                first = t + off - w + 1
                j0 = min(max(-first, 0), w)
                j1 = min(max(L - first, 0), w)
                d = wt[t] if t < lo else wt[lo + t - hi]
                cnt = j1 - j0
                outr[t] = numr[t] / d if cnt >= minp and cnt > 0 and d > 0 else np.nan
            continue
        xr = x[r]
        a = max(0, t0 + off - w + 1)
        b = min(L, t0 + off + 1)
        if b < a:
            b = a
        nan = 0
        for i in range(a, b):
            if xr[i] != xr[i]:
                nan += 1
        for t in range(t0, t1):
            first = t + off - w + 1
            na = max(0, first)
            nb = min(L, t + off + 1)
            if nb < na:
                nb = na
            while b < nb:
                if xr[b] != xr[b]:
                    nan += 1
                b += 1
            while a < na:
                if xr[a] != xr[a]:
                    nan -= 1
                a += 1
            cnt = (b - a) - nan
            d = den[r, t]
            if cnt < minp or cnt <= 0 or (nan > 0 and not omit) or not d > 0:
                out[r, t] = np.nan
            else:
                out[r, t] = num[r, t] / d


@jit(parallel=True)
def poisson_spectrum(F, lam, out):  # pragma: no cover - jitted
    """``out = exp(lam (F - 1))`` for complex ``F``; returns sum |out|."""
    n = F.shape[0]
    tot = 0.0
    for i in prange(n):
        a = lam * (F[i].real - 1.0)
        b = lam * F[i].imag
        e = math.exp(a)
        out[i] = complex(e * math.cos(b), e * math.sin(b))
        tot += e
    return tot


@jit(parallel=True)
def bin_linear1(x, wts, lo, inv, out):  # pragma: no cover - jitted
    """1-D linear binning of ``x`` (weights ``wts``, or 1 each when empty)
    onto ``out`` (T, n): task t bins its share of the points into row t
    (the caller sums the rows), cell centres at ``lo + i / inv``."""
    T, n = out.shape
    N = x.shape[0]
    unit = wts.shape[0] == 0
    step = (N + T - 1) // T
    for t in prange(T):
        row = out[t]
        for p in range(t * step, min(N, (t + 1) * step)):
            u = (x[p] - lo) * inv
            if not (u > -1.0 and u < n):
                continue
            i = int(math.floor(u))
            f = u - i
            w = 1.0 if unit else wts[p]
            if i >= 0:
                row[i] += w * (1.0 - f)
            if i + 1 < n:
                row[i + 1] += w * f


@jit(parallel=True)
def tilt_update(h, floor, a, logc, lt, rtol, best, err, ok):  # pragma: no cover
    """Merge one tilted pass ``h`` into (``best``, ``err``): an entry takes
    the pass's value ``h e^{logc - s lt}`` when the pass is above its own
    rounding there and its relative error estimate ``(floor + a) / h`` is
    the smallest so far; ``ok`` marks the entries within ``rtol``.  Returns
    the negative mass of the pass (rounding)."""
    n = h.shape[0]
    neg = 0.0
    for s in prange(n):
        v = h[s]
        if v < 0.0:
            neg -= v
        if v > floor:
            rel = (floor + a) / v
            if rel < err[s]:
                x = logc - s * lt
                if x < 700.0:
                    val = v * math.exp(x)
                else:
                    val = math.exp(math.log(v) + x)
                if val > 0.0 and val < np.inf:
                    best[s] = val
                    err[s] = rel
        ok[s] = err[s] <= rtol
    return neg


@jit(parallel=True)
def finite_scan(x, seg, out):  # pragma: no cover - jitted
    """One pass over ``x`` (rows, L) in segments of ``seg``: per segment the
    sum of the values and of their magnitudes in ``out[task, 0..1]`` (the
    caller reduces): not finite when a NaN or an infinity is there (or the
    magnitudes overflow), else the second bounds every |value|."""
    R, L = x.shape
    nseg = (L + seg - 1) // seg
    for task in prange(R * nseg):
        r = task // nseg
        t0 = (task % nseg) * seg
        t1 = min(L, t0 + seg)
        xr = x[r]
        # eight independent lanes (strict float order forbids the compiler
        # to split one sum into vector lanes itself)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = 0.0
        t = t0
        while t + 8 <= t1:
            v0, v1, v2, v3 = xr[t], xr[t + 1], xr[t + 2], xr[t + 3]
            v4, v5, v6, v7 = xr[t + 4], xr[t + 5], xr[t + 6], xr[t + 7]
            s0 += v0
            s1 += v1
            s2 += v2
            s3 += v3
            s4 += v4
            s5 += v5
            s6 += v6
            s7 += v7
            m0 += abs(v0)
            m1 += abs(v1)
            m2 += abs(v2)
            m3 += abs(v3)
            m4 += abs(v4)
            m5 += abs(v5)
            m6 += abs(v6)
            m7 += abs(v7)
            t += 8
        total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        mags = ((m0 + m1) + (m2 + m3)) + ((m4 + m5) + (m6 + m7))
        while t < t1:
            total += xr[t]
            mags += abs(xr[t])
            t += 1
        out[task, 0] = total
        out[task, 1] = mags
