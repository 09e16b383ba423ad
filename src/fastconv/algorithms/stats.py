"""Probability and statistics on the engine: distributions of sums by tilted
transforms or recursions, linear binning, rolling windows, the exponentially
weighted mean.  Validated float64 arrays come in (``fastconv.stats`` checks
them); the plans come from ``planning/stats.py``.

Sums of random variables (``tilted``): the distribution is computed as the
inverse DFT of a characteristic function at length ``N`` (the parts'
spectra multiplied, raised to a power, or put through a frequency
distribution's generating function).  One transform is accurate only
*absolutely*: its rounding is bounded in the 2-norm, ``||error||_2 <= c eps
log2 N ||g||_2`` (the FFT's normwise bound; c = 8 here, twice the radix-2
constant), which bounds every entry's error; ``||g||_2`` is far below the
mass of 1 for a spread-out distribution (0.016 for a compound Poisson of
standard deviation 1100), but a tail of 1e-12 would still carry a relative
error of 1e-4 or more.  Exponential tilting fixes
that: the Esscher transform ``p_j theta^j / P(theta)`` of every part is a
proper distribution whose sum is the tilted sum, so a pass at ``theta``
is accurate relative to ``g_s theta^s``; each pass is aimed (from the
slope of the log-probabilities already resolved) at the region just past
the resolved one, and every entry takes the pass whose error estimate at it
is smallest.  Aliasing of an unbounded sum (compound distributions) is
bounded by a Chernoff bound on the tilted tail beyond ``N``, which enters
the error estimate.  A compound pass whose tilted distribution is narrow
runs at a shorter length ``M`` (:func:`pass_window`): the transform at M
folds the result modulo M, and the entries of a window of M buckets around
the tilted peak each carry the tilted mass outside the window, bounded on
both sides by Chernoff bounds (compound Poisson on 2^16 buckets: 19.6 ->
12.9 ms, windows of 13k-117k buckets where every pass took 2^17).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _config

EPS = np.finfo(np.float64).eps
#: the largest log whose exp a tilt's normaliser may take (a severity of 2^15
#: buckets tilted by e^0.022 already has F(theta) = e^709: that tilt is no
#: pass, its bounds infinite)
EXP_MAX = 700.0


def rfft(a, n):
    import scipy.fft as sf

    return sf.rfft(a, n=n, workers=_config.get_threads())


def irfft(a, n):
    import scipy.fft as sf

    return sf.irfft(a, n=n, workers=_config.get_threads())


def log_tilt_sum(p, lt):
    """log sum_j p_j exp(j lt) (p >= 0, not all 0), without overflow."""
    j = np.arange(p.size)
    with np.errstate(divide="ignore"):
        e = np.log(p) + j * lt
    mx = e.max()
    return mx + math.log(np.exp(e - mx).sum())


def esscher(p, lt, n):
    """The tilted pmf ``p_j e^{j lt} / P(e^lt)`` and its rFFT at ``n``, plus
    the log normaliser.  A pmf longer than ``n`` is folded modulo ``n``
    first (the transform at ``n`` samples its generating function at the
    n-th roots of unity, where ``z^(j + n) = z^j``)."""
    if lt == 0.0:
        tot = float(p.sum())
        return rfft(_fold(p / tot, n), n), math.log(tot)
    j = np.arange(p.size)
    with np.errstate(divide="ignore"):
        e = np.log(p) + j * lt
    ls = log_tilt_sum(p, lt)
    q = np.exp(e - ls)
    return rfft(_fold(q, n), n), ls


def _fold(q, n):
    """``q`` summed modulo ``n`` (``q`` itself when it fits)."""
    if q.size <= n:
        return q
    out = np.zeros(n)
    for i in range(0, q.size, n):
        part = q[i:i + n]
        out[:part.size] += part
    return out


def tilted(spectrum, n_out, N, rtol, alias=None, max_passes=48, start=0.0, support=None,
           place=None):
    """Resolve ``g[0:n_out]`` from a characteristic function.

    ``spectrum(lt)`` returns (rFFT at N of the tilted result, log of its
    normaliser, absolute error of the result's entries from forming the
    spectrum) for tilt ``theta = e^lt``; ``alias(lt)`` (or None: the
    result's support fits in N) bounds the tilted mass beyond N.  Returns
    (g, info) with info: passes, tilts, clipped (negative mass dropped in
    the untilted pass), max_rel (largest estimated relative error among the
    non-zero entries), unresolved (entries above the estimate's floor that
    missed ``rtol``).  ``support`` (bool, n_out; optional): the entries
    known to be positive; those left at zero count as unresolved too (a
    relative error of 1), not as resolved zeros.

    ``place(lt)`` (optional): None, or ``(M, base, a)`` for a pass at a
    shorter length ``M < N`` whose entries ``base <= s < base + M`` are
    taken: the transform at M folds the tilted result modulo M, so each of
    those entries carries the tilted mass outside ``[base, base + M)``,
    bounded by ``a``, in place of the aliasing bound; the others are left
    to other passes.  ``spectrum(lt, M)`` is then asked for the spectrum at
    M."""
    from .._kernels.stats import tilt_update

    fft_err = 8 * EPS * max(math.log2(N), 1)        # error of one transform, per unit 2-norm
    if rtol is None:                                 # one pass: report against 1e-10
        rtol, max_passes = 1e-10, 1
    best = np.zeros(n_out)
    err = np.full(n_out, np.inf)                   # relative error estimates
    okm = np.zeros(n_out, np.bool_)
    _config.numba_threads(_config.get_threads(), n_out * 16)
    info = {"passes": 0, "tilts": [], "clipped": 0.0, "alias": 0.0}
    tried = set()
    lt = start
    window = math.log(rtol / fft_err) * 0.8       # log-range one pass resolves
    resolved, stalls = 0, 0
    for _ in range(max_passes):
        tried.add(round(lt, 9))
        win = place(lt) if place is not None else None
        got = spectrum(lt) if win is None else spectrum(lt, win[0])
        if got is not None:
            H, logc, spec_err = got
            if win is None:
                full = irfft(H, N)
                h = full[:n_out]
                a = alias(lt) if alias is not None else 0.0
            else:
                M, base, a = win
                full = irfft(H, M)
                h = _placed(full, base, n_out)
            # the transform's rounding bounded in the 2-norm (||error||_2 <=
            # c eps log2(N) ||result||_2, the FFT's normwise bound; every
            # entry's error is at most the 2-norm): for a spread-out
            # distribution ||h||_2 is far below its mass of 1
            # (einsum's own loop: BLAS's threads, woken by a dot, would
            # spin against numba's over the next kernels, 2-3 ms a pass)
            norm2 = math.sqrt(float(np.einsum("i,i->", full, full)))
            floor = fft_err * min(1.0, 1.01 * norm2) + spec_err
            if info["passes"] == 0:
                # (the report's aliasing: the first pass's mass beyond N)
                info["alias"] = a if win is None else alias(lt)
            info["passes"] += 1
            info["tilts"].append(math.exp(lt))
            if win is None and a > 10 * floor:
                # (a window's outside mass is its own choice: a longer
                # transform would not lower it)
                info["alias_limited"] = True
            # a value within its pass's rounding of zero is noise, whatever
            # the untilting makes of it: never taken
            neg = tilt_update(np.ascontiguousarray(h), floor, a, logc, lt, rtol, best, err,
                              okm)
            if info["passes"] == 1:
                info["clipped"] = neg
        ok = okm
        if ok.all() or not ok.any():
            break
        # a tail the tilts cannot reach (heavy: the tilted series diverges or
        # aliases) stops after two passes that resolve nothing new
        now = int(np.count_nonzero(ok))
        stalls = stalls + 1 if now <= resolved else 0
        resolved = max(resolved, now)
        if stalls >= 2:
            break
        prev = lt
        lt = _aim(best, ok, window, tried)
        if lt is None:
            break
        if alias is not None and alias(lt) > 10 * fft_err:
            # the aimed tilt folds back too much (a geometric or heavier
            # tail): the largest step toward it from the last pass that
            # does not
            base = prev if prev * lt > 0 else 0.0
            for k in range(1, 12):
                t = base + (lt - base) * 0.5 ** k
                if alias(t) <= 10 * fft_err:
                    lt = t
                    break
            if round(lt, 9) in tried:
                break
    best[~np.isfinite(best)] = 0.0
    # entries whose estimate is below the pass's absolute floor: their value
    # is known to be at most that, the report says how many such there are
    nz = best > 0
    info["max_rel"] = float(err[nz].max()) if nz.any() else 0.0
    info["unresolved"] = int(np.count_nonzero(err[nz] > rtol))
    if support is not None:
        lost = int(np.count_nonzero(support & ~nz))
        if lost:
            info["unresolved"] += lost
            info["max_rel"] = max(info["max_rel"], 1.0)
    info["abs_bound"] = float(np.max(np.where(nz, best * np.minimum(err, 1.0), 0.0), initial=0.0))
    return best, info


def _placed(hM, base, n_out):
    """Entries ``base .. base + M - 1`` of a result folded modulo ``M``
    (``hM``), at their places in an array of ``n_out`` (zeros elsewhere:
    no value, which :func:`tilt_update` never takes)."""
    M = hM.size
    h = np.zeros(n_out)
    s1 = min(base + M, n_out)
    if s1 <= base:
        return h
    r0 = base % M
    first = min(M - r0, s1 - base)
    h[base:base + first] = hM[r0:r0 + first]
    if base + first < s1:
        h[base + first:s1] = hM[:s1 - base - first]
    return h


def _aim(best, ok, window, tried):
    """The next tilt: flatten the distribution a little past an edge of the
    resolved region (the side with the larger probabilities still missing),
    from the log-probabilities' slope and curvature at that edge."""
    n = best.size
    idx = np.flatnonzero(ok)
    lo_i, hi_i = idx[0], idx[-1]
    cand = []
    for edge, side in ((hi_i, 1), (lo_i, -1)):
        rest = ~ok[edge + 1:] if side == 1 else ~ok[:edge]
        if not rest.any():
            continue
        d = max(1, min(8, (hi_i - lo_i) // 4))
        p1, p2 = edge - side * d, edge - 2 * side * d
        if not (0 <= p2 < n and ok[p1] and ok[p2]):
            continue
        L0, L1, L2 = (math.log(best[i]) for i in (edge, p1, p2))
        slope = (L0 - L1) / (side * d)                  # d log g / ds at the edge
        curv = (L0 - 2 * L1 + L2) / (d * d)
        if curv < 0:
            reach = 0.8 * math.sqrt(2 * window / -curv)
            target = slope + curv * side * reach
        else:
            target = slope * (1.15 if slope * side < 0 else 0.85)
        for t in (target, (target + slope) / 2, slope):
            lt = lt_clip(-t)
            if round(lt, 9) not in tried:
                cand.append((best[edge], lt))
                break
    if not cand:
        return None
    return max(cand)[1]


def lt_clip(lt):
    return float(min(max(lt, -50.0), 50.0))


# ------------------------------------------------------------ Panjer
def panjer(f, a, b, log_g0, n):
    """The (a, b, 0) recursion for ``n`` buckets with P(S=0) = exp(log_g0)
    (> the smallest normal float: the caller splits the frequency first)."""
    from .._kernels.stats import panjer as kern

    g = np.zeros(n)
    g[0] = math.exp(log_g0)
    kern(np.ascontiguousarray(f, np.float64), float(a), float(b), g)
    return g


# ------------------------------------------------------------ binning
def bin_linear(points, weights, lo, delta, shape):
    """Linear binning of ``points`` (n, d) onto a grid of ``shape`` whose
    cell centres are ``lo + i * delta`` (d <= 3); ``weights`` empty: 1
    each (1-D)."""
    from .._kernels.stats import bin_linear as kern

    n, d = points.shape
    if d == 1:
        from .._kernels.stats import bin_linear1

        T = max(1, min(4 * _config.get_threads(), n // 4096 + 1))
        rows = np.zeros((T, shape[0]))
        _config.numba_threads(_config.get_threads(), n * 8)
        bin_linear1(np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(weights, np.float64),
                    float(lo[0]), 1.0 / float(np.asarray(delta).ravel()[0]), rows)
        return rows.sum(axis=0)
    pts = np.zeros((n, 3))
    pts[:, :d] = points
    lo3 = np.zeros(3)
    inv = np.zeros(3)
    lo3[:d] = lo
    inv[:d] = 1.0 / np.asarray(delta, np.float64)
    shp = tuple(shape) + (1,) * (3 - d)
    out = np.zeros(shp)
    kern(pts, np.ascontiguousarray(weights, np.float64), lo3, inv, out)
    return out.reshape(shape)


# ------------------------------------------------------------ rolling windows
SEGMENT = 1 << 16       # outputs per parallel task of a rolling mean


def rolling_mean(x2, window, offset, min_periods, omit):
    from .._kernels.stats import rolling_mean as kern

    R, L = x2.shape
    out = np.empty((R, L))
    seg = max(SEGMENT, window)
    _config.numba_threads(_config.get_threads(), x2.size * 4)
    ovf = kern(x2, int(window), int(offset), int(min_periods), bool(omit), int(seg), out)
    return out, int(ovf)


def finite_scan(x2):
    """(a bound on every finite |value|, any NaN, any infinity) of ``x2``
    (rows, L): one vectorised parallel pass (the sums of the values and of
    their magnitudes: finite sums prove finite data, and the second bounds
    them; 1e7 float64 about 6 ms, where max, min and a sum took 18);
    otherwise masks find the NaN and infinities and the bound is the
    largest finite |value|."""
    from .._kernels.stats import finite_scan as kern

    R, L = x2.shape
    seg = max(SEGMENT, -(-L // 64))
    out = np.zeros((R * -(-L // seg), 2))
    _config.numba_threads(_config.get_threads(), x2.size)
    kern(x2, int(seg), out)
    with np.errstate(over="ignore", invalid="ignore"):
        mags = out[:, 1].sum()
        if np.isfinite(mags) and np.isfinite(out[:, 0].sum()):
            return float(mags), False, False
    nan = np.isnan(x2)
    fin = np.isfinite(x2)
    top = float(np.abs(x2[fin]).max(initial=0.0))
    return top, bool(nan.any()), bool((~fin & ~nan).any())


def edge_weights(w, L, off):
    """(lo, hi, wt): the outputs ``t < lo`` and ``t >= hi`` of a row of
    ``L`` see a partial window (``off``: the window's offset, see
    moving_average), ``wt`` the weights in range for each of them, in that
    order (``wt[:lo]``, then ``t = hi .. L-1``), and the taps in range.
    Each is summed over its own taps (a difference of prefix sums loses
    the small tails: a Gaussian window's edge weights of 1e-8 to
    cancellation), at most ``2 * len(w)`` sums."""
    W = w.size
    lo = min(L, max(0, W - 1 - off))
    hi = max(lo, L - off)
    t = np.r_[np.arange(lo), np.arange(hi, L)]
    first = t + off - W + 1
    j0 = np.clip(-first, 0, W)
    j1 = np.clip(L - first, 0, W)
    # suffixes summed from the end (j1 = W), prefixes from the start (j0 = 0)
    pre = np.r_[0.0, np.cumsum(w)]
    suf = np.r_[np.cumsum(w[::-1])[::-1], 0.0]
    wt = np.where(j0 == 0, pre[j1], suf[j0] - suf[np.minimum(j1, W)])
    both = (j0 > 0) & (j1 < W)             # data shorter than the window
    for i in np.flatnonzero(both):
        wt[i] = w[j0[i]:j1[i]].sum()
    return lo, hi, np.where(j1 > j0, wt, 0.0), j1 - j0


def weighted_edges(num, w, off, min_periods):
    """Divide the partial windows' sums of a row-wise weighted correlation
    ``num`` (R, L) (weights ``w`` scaled to sum 1, so the full windows'
    sums are their means already) by the weights in range; NaN where fewer
    than ``min_periods`` taps are in range or no weight is."""
    L = num.shape[1]
    lo, hi, wt, cnt = edge_weights(w, L, off)
    if wt.size:
        t = np.r_[np.arange(lo), np.arange(hi, L)]
        ok = (cnt >= max(min_periods, 1)) & (wt > 0)
        num[:, t] = np.where(ok, num[:, t] / np.where(ok, wt, 1.0), np.nan)
    return num


def weighted_finish(x2, num, den, w, off, min_periods, omit, out=None):
    """num / den of a weighted window with its NaN and min_periods rules,
    into ``out`` (may be ``num``: each quotient replaces its own sum)."""
    from .._kernels.stats import weighted_finish as kern

    if out is None:
        out = np.empty(x2.shape)
    lo, hi, wt, _ = edge_weights(w, x2.shape[1], off)
    d = den if den is not None else np.zeros((0, 0))
    _config.numba_threads(_config.get_threads(), x2.size * 4)
    kern(x2, num, d, float(w.sum()), wt, int(lo), int(hi), int(w.size), int(off),
         int(min_periods), bool(omit), max(SEGMENT, w.size), out)
    return out


def ewm_mean(x2, decay, adjust, ignore_na, min_periods):
    from .._kernels.stats import ewm_mean as kern

    out = np.empty(x2.shape)
    _config.numba_threads(_config.get_threads(), x2.size * 4)
    ovf = kern(x2, float(decay), bool(adjust), bool(ignore_na), int(min_periods), out)
    return out, int(ovf)


# ------------------------------------------------------------ sums of variables
def sum_tilted(parts, N, rtol):
    """The distribution of a sum of independent variables (pmfs ``parts``,
    supports starting at 0) by tilted transforms at N."""
    n_out = sum(p.size - 1 for p in parts) + 1

    def spectrum(lt):
        H, logc = None, 0.0
        for p in parts:
            P, ls = esscher(p, lt, N)
            H = P if H is None else H * P
            logc += ls
        return H, logc, EPS * len(parts) * 2 * float(np.abs(H).mean())

    return tilted(spectrum, n_out, N, rtol, support=_support(parts))


def _support(parts):
    """The entries of the sum's pmf that are positive: where a product of
    the parts' positive entries lands (0/1 convolutions, exact counts)."""
    from scipy.signal import fftconvolve

    m = (parts[0] > 0).astype(np.float64)
    for p in parts[1:]:
        m = np.round(fftconvolve(m, (p > 0).astype(np.float64))).clip(0, None)
        m = (m > 0.5).astype(np.float64)
    return m > 0.5


def power_tilted(p, n, N, rtol):
    """The n-fold sum of ``p`` by ``P(w)^n`` at N (tilted)."""
    n_out = n * (p.size - 1) + 1

    def spectrum(lt):
        P, ls = esscher(p, lt, N)
        H = P ** n
        return H, n * ls, EPS * (n + 1) * 2 * float(np.abs(H).mean())

    return tilted(spectrum, n_out, N, rtol)


# frequency distributions: ('poisson', lam) | ('nbinom', r, p) (scipy's
# parameters: failures before the r-th success) | ('binom', m, q) |
# ('pmf', array)
def log_pgf(freq, z):
    """log G(z) of the frequency distribution, for real z > 0 (inf where the
    series diverges)."""
    fam, par = freq[0], freq[1:]
    if fam == "poisson":
        return par[0] * (z - 1.0)
    if fam == "nbinom":
        r, p = par
        d = 1.0 - (1.0 - p) * z
        return r * (math.log(p) - math.log(d)) if d > 0 else math.inf
    if fam == "binom":
        m, q = par
        return m * math.log1p(q * (z - 1.0))
    pk = par[0]
    return log_tilt_sum(pk, math.log(z))


def _blocks(f):
    """(log mass, first index, last index) of ``f`` in blocks of up to 64
    points: ``sum_j f_j e^{jx}`` is at most the blocks' masses at their last
    index (x > 0) or first index (x < 0), an upper bound at 1/64 the cost."""
    m = f.size
    B = max(1, -(-m // 1024))
    starts = np.arange(0, m, B)
    mass = np.add.reduceat(f, starts)
    keep = mass > 0
    with np.errstate(divide="ignore"):
        lm = np.log(mass[keep])
    first = starts[keep].astype(np.float64)
    last = np.minimum(starts[keep] + B - 1, m - 1).astype(np.float64)
    return lm, first, last


def _log_F_upper(blk, x):
    """Upper bounds of log sum_j f_j e^{j x} for the values ``x`` (array)."""
    lm, first, last = blk
    x = np.asarray(x, np.float64)[:, None]
    e = lm[None, :] + np.where(x > 0, last[None, :], first[None, :]) * x
    mx = e.max(axis=1)
    return mx + np.log(np.exp(e - mx[:, None]).sum(axis=1))


LR_GRID = np.geomspace(1e-7, 4.0, 32)


def tilted_log_mgf(f, freq, lt, ys, blk):
    """Upper bounds of ``log E[e^{y S}]`` for each ``y`` of ``ys``, S the
    compound sum tilted by ``e^lt`` (the severity's transform bounded above
    blockwise, :func:`_blocks`), or None when the tilted severity's
    transform leaves float range or the tilted frequency's series diverges
    (no bound: every tail bound is then infinite)."""
    ls = log_tilt_sum(f, lt)
    if ls > EXP_MAX:
        return None
    base = log_pgf(freq, math.exp(ls))
    if not math.isfinite(base):       # the tilted frequency's series diverges
        return None
    lf = _log_F_upper(blk, lt + np.asarray(ys, np.float64))
    return np.array([log_pgf(freq, math.exp(min(v, 700.0))) for v in lf]) - base


def tail_log_bound(f, freq, lt, N, blk=None):
    """log of a Chernoff bound on the mass at or beyond N of the compound
    sum tilted by e^lt: min over r > 1 of log H(r) - N log r, H the tilted
    sum's generating function (:func:`tilted_log_mgf`)."""
    blk = _blocks(f) if blk is None else blk
    lm = tilted_log_mgf(f, freq, lt, LR_GRID, blk)
    if lm is None:
        return math.inf
    return float(np.min(lm - N * LR_GRID))


def alias_safe_tilt(alias, target, N):
    """0, or the mildest downward tilt whose aliasing bound is below
    ``target`` (a heavy tail's wrap-around damped by theta^N)."""
    if alias(0.0) <= target:
        return 0.0
    k = 1.0
    while k < 2048:
        lt = -math.log(10.0) * k / N
        if alias(lt) <= target:
            return lt
        k *= 2
    return lt_clip(-math.log(10.0) * k / N)


def compound_tilted(f, freq, n_out, N, rtol):
    """The compound distribution (severity pmf ``f``, frequency ``freq``) on
    ``n_out`` buckets by ``G(F(w))`` at N, tilted."""
    fam, par = freq[0], freq[1:]

    def spectrum(lt, M=N):
        with np.errstate(over="ignore", invalid="ignore"):
            return _spectrum(lt, M)

    def _spectrum(lt, M):
        F, ls = esscher(f, lt, M)
        if ls > EXP_MAX:                      # F(theta) beyond float range: no pass
            return None
        c = math.exp(ls)                      # F(theta)
        if fam == "poisson":
            from .._kernels.stats import poisson_spectrum

            lam = par[0] * c
            H = np.empty_like(F)
            _config.numba_threads(_config.get_threads(), F.size * 64)
            habs = poisson_spectrum(F, float(lam), H) / F.size
            logc = log_pgf(freq, c)
            return H, logc, EPS * (lam + 1) * 2 * habs
        elif fam == "nbinom":
            r, p = par
            q = (1.0 - p) * c
            if q >= 1.0:                      # the tilted series diverges
                return None
            H = np.exp(r * (np.log(1.0 - q) - np.log(1.0 - q * F)))
            cond = r * q / (1.0 - q)
        elif fam == "binom":
            m, qq = par
            # the tilted binomial: success probability q c / (1 - q + q c)
            t = qq * c / (1.0 - qq + qq * c)
            H = (1.0 - t + t * F) ** m
            cond = m * t
        else:
            pk = par[0]
            # the frequency tilted by F(theta): pk_k c^k / G(c)
            with np.errstate(divide="ignore"):
                w = np.exp(np.log(pk) + np.arange(pk.size) * ls - log_tilt_sum(pk, ls))
            H = np.zeros_like(F)
            for k in range(pk.size - 1, -1, -1):   # Horner in the spectrum
                H = H * F + w[k]
            cond = float(pk.size)
        if not np.isfinite(H).all():
            return None
        logc = log_pgf(freq, c)
        return H, logc, EPS * (cond + 1) * 2 * float(np.abs(H).mean())

    blk = _blocks(f)
    seen = {}

    def alias(lt):
        if lt not in seen:
            lb = tail_log_bound(f, freq, lt, N, blk)
            seen[lt] = math.exp(lb) if lb < 700 else math.inf
        return seen[lt]

    if fam == "pmf" and (par[0].size - 1) * (f.size - 1) < N:
        # a finite frequency: the sum's support fits, nothing folds back
        return tilted(spectrum, n_out, N, rtol)

    def window(lt):
        return pass_window(f, freq, lt, n_out, N, blk, 0.1 * EPS)

    g, info = tilted(spectrum, n_out, N, rtol, alias=alias,
                     start=alias_safe_tilt(alias, 0.1 * EPS, N),
                     place=window if rtol is not None else None)
    return g, info


#: the exponents of the Chernoff bounds that place a pass's window
WINDOW_GRID = np.geomspace(1e-6, 2.0, 24)


def pass_window(f, freq, lt, n_out, N, blk, target):
    """``(M, base, a)`` for a pass of the compound sum tilted by ``e^lt`` at
    a length ``M`` shorter than ``N`` (see :func:`tilted`), or None when the
    window would not be shorter: the tilted mass below ``base`` and at or
    beyond ``base + M`` bounded by Chernoff bounds, ``a`` <= ``target``.
    Measured (compound Poisson, lambda 100, a log-normal severity on 4096
    buckets, 2^16 buckets at N = 2^17): windows of 24k, 12.8k and 37k
    buckets where the passes took 2^17."""
    from ..planning.stats import fast_len

    Y = WINDOW_GRID
    up = tilted_log_mgf(f, freq, lt, Y, blk)
    if up is None:
        return None
    down = tilted_log_mgf(f, freq, lt, -Y, blk)
    with np.errstate(over="ignore", invalid="ignore"):
        L = math.log(target / 2)
        # P(S >= b) <= exp(up - b y), P(S < b) <= exp(down + b y), for every y
        b_hi = float(np.min((up - L) / Y))
        b_lo = float(np.max((L - down) / Y))
    if not (math.isfinite(b_hi) and math.isfinite(b_lo)):
        return None
    lo = max(0, int(math.floor(b_lo)))
    if lo >= n_out:
        return None
    M = fast_len(max(int(math.ceil(b_hi)) - lo, 1))
    if M >= N:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        a = float(np.exp(np.min(up - (lo + M) * Y))) + (
            float(np.exp(np.min(down + lo * Y))) if lo > 0 else 0.0)
    if not a <= target:
        return None
    return M, lo, a


def compound_adaptive(f, freq, n_out, N, rtol, N_max):
    """:func:`compound_tilted`, again at twice the length while entries stay
    unresolved because the tilts aimed at the tail fold back too much mass
    (geometric tails: negative binomial frequencies, heavy severities)."""
    g, info = compound_tilted(f, freq, n_out, N, rtol)
    passes = info["passes"]
    while rtol is not None and info["unresolved"] and info.get("alias_limited") and 2 * N <= N_max:
        from ..planning.stats import fast_len

        N = fast_len(2 * N)
        g2, info2 = compound_tilted(f, freq, n_out, N, rtol)
        passes += info2["passes"]
        if info2["unresolved"] >= info["unresolved"]:
            break
        g, info = g2, info2
    info["passes"], info["N"] = passes, N
    return g, info


def panjer_ab(freq):
    """(a, b, log P(N=0) as a function of f0) of an (a, b, 0) frequency."""
    fam, par = freq[0], freq[1:]
    if fam == "poisson":
        lam = par[0]
        return 0.0, lam, lambda f0: lam * (f0 - 1.0)
    if fam == "nbinom":
        r, p = par
        return 1.0 - p, (r - 1.0) * (1.0 - p), \
            lambda f0: r * (math.log(p) - math.log1p(-(1.0 - p) * f0))
    m, q = par
    return -q / (1.0 - q), (m + 1.0) * q / (1.0 - q), lambda f0: m * math.log1p(q * (f0 - 1.0))


def split_frequency(freq, k):
    """The frequency of which 2^k independent copies sum to ``freq``."""
    fam, par = freq[0], freq[1:]
    if fam == "poisson":
        return ("poisson", par[0] / 2 ** k)
    if fam == "nbinom":
        return ("nbinom", par[0] / 2 ** k, par[1])
    return ("binom", par[0] // 2 ** k, par[1])
