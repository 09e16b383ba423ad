"""Distributions of sums of independent discrete random variables."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core

#: a pmf may differ from total mass 1 by this much (relative) unless
#: ``normalize=True`` rescales it
MASS_TOL = 1e-9


@dataclass
class SumReport:
    """What a distribution-of-sums call did and what it lost.

    Attributes
    ----------
    method : str
        'direct' (exact convolutions, every entry to rounding),
        'exact-integer' (counts), 'panjer' (the recursion) or 'fft' (tilted
        transforms).
    truncated : float
        Mass beyond the returned buckets (compound sums; 0 for finite sums).
    aliasing : float
        Bound on the mass folded back by the transform's wrap-around.
    clipped : float
        Negative mass set to 0 (rounding of the untilted transform).
    max_rel_error : float
        Largest estimated relative error of a non-zero entry.
    unresolved : int
        Non-zero entries whose estimate missed ``rtol`` (deep valleys between
        large probabilities, tails that fold back: tilting reaches monotone
        tails only).
    abs_error : float
        Bound on the absolute error of any entry (estimate).
    passes, tilts :
        The transforms run and their exponential tilts.
    """
    method: str
    truncated: float = 0.0
    aliasing: float = 0.0
    clipped: float = 0.0
    max_rel_error: float = 0.0
    unresolved: int = 0
    abs_error: float = 0.0
    passes: int = 0
    tilts: list = field(default_factory=list)
    plan: Any = None

    def explain(self) -> str:
        s = (f"method {self.method}; truncated {self.truncated:.3g}, aliasing <= "
             f"{self.aliasing:.3g}, clipped {self.clipped:.3g}; max relative error "
             f"{self.max_rel_error:.3g} ({self.unresolved} unresolved)")
        if self.plan is not None:
            s += "\n" + self.plan.explain()
        return s


def _pmf(p, name, normalize, allow_int=True):
    """A validated 1-D pmf: float64 (mass 1 within MASS_TOL, or rescaled) or,
    with ``allow_int``, int64 counts."""
    if isinstance(p, (str, bytes)) or p is None:
        raise TypeError(f"{name} must be a 1-D array of probabilities, got {type(p).__name__}")
    a = np.asarray(p)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array of probabilities, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if a.dtype.kind in "biu":
        if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name}: counts above 2^63 - 1 are not supported")
        if (a < 0).any():
            raise ValueError(f"{name} has negative entries")
        if not a.any():
            raise ValueError(f"{name} has no mass (all zero)")
        if allow_int:
            return a.astype(np.int64)
        a = a.astype(np.float64)
        return a / a.sum()
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has NaN or infinite entries")
    if (a < 0).any():
        raise ValueError(f"{name} has negative entries (min {a.min()!r})")
    tot = math.fsum(a)
    if tot <= 0:
        raise ValueError(f"{name} has no mass (all zero)")
    if normalize:
        return a / tot
    if abs(tot - 1.0) > MASS_TOL:
        raise ValueError(f"{name} sums to {tot!r}, not 1; pass normalize=True to rescale")
    return a


def _trim(p):
    """(leading zeros, trailing-trimmed p from its first non-zero)."""
    nz = np.flatnonzero(p)
    return int(nz[0]), p[nz[0]:nz[-1] + 1]


def _finish(g, info, full_output, truncated=0.0, finite=False):
    if g.dtype.kind == "f":
        g = np.where(np.isfinite(g) & (g > 0), g, 0.0)
        if finite and info["method"] == "fft":
            # a finite sum has mass 1: the transforms' rounding of the total
            # (about 1e-16 per entry) is taken out, each entry keeps its
            # relative accuracy
            g /= float(np.sum(g))
    if not full_output:
        return g
    rep = SumReport(info["method"], truncated=truncated, aliasing=info.get("alias", 0.0),
                    clipped=info.get("clipped", 0.0), max_rel_error=info.get("max_rel", 0.0),
                    unresolved=info.get("unresolved", 0), abs_error=info.get("abs_bound", 0.0),
                    passes=info.get("passes", 0),
                    tilts=info.get("tilts", []), plan=info.get("plan"))
    return g, rep


def _check_common(method, rtol):
    if not isinstance(method, str) or method not in ("auto", "direct", "fft", "panjer"):
        raise ValueError(f"method must be 'auto', 'direct', 'fft' or 'panjer', got {method!r}")
    if rtol is None:
        return
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 < rtol < 1:
        raise ValueError(f"rtol must be a number in (0, 1) or None, got {rtol!r}")


def pmf_convolve(*pmfs, method: str = "auto", rtol: float = 1e-10, normalize: bool = False,
                 full_output: bool = False):
    """The distribution of the sum of independent discrete random variables.

    Parameters
    ----------
    *pmfs : 1-D arrays
        ``pmfs[i][k] = P(X_i = k)`` (supports start at 0), non-negative and
        summing to 1 (``normalize=True`` rescales them), or all integer
        counts (frequency tables): the result is then the exact integer
        table of the sum (int64; a ValueError if it would overflow).
    method : {'auto', 'direct', 'fft'}
        'direct': the convolutions themselves (every entry correct to
        rounding, all terms non-negative); 'fft': tilted transforms (see
        Notes); 'auto': the planner's cheaper choice.
    rtol : float or None
        Target relative error of every entry (the fft method adds tilted
        passes until it is met or the entries lie below what float64 holds).
        None: one transform only (every entry to about ``1e-16 log2 N``
        absolutely, the cost of a plain FFT convolution); the report still
        says which entries that resolves.
    normalize : bool
        Rescale each pmf to mass 1 instead of raising when it differs.
    full_output : bool
        Also return a :class:`SumReport`.

    Returns
    -------
    pmf : ndarray, shape (sum(len(p) - 1) + 1,)
        Never negative, never NaN; mass 1 to rounding.

    Notes
    -----
    One FFT of the whole support is accurate only to about ``1e-16 log2 N``
    absolutely: a tail probability of 1e-12 would carry a relative error of
    1e-4, and small entries come out negative (tsakim/poibin#3).  The fft
    method computes the Esscher-tilted distributions ``p_k theta^k /
    P(theta)``, whose convolution is the tilted sum, at several tilts aimed
    from the resolved region's log-slope at the unresolved tails, and keeps
    each entry from the pass with the smallest error estimate.

    Examples
    --------
    >>> import numpy as np, fastconv.stats as fs
    >>> die = np.r_[0, np.full(6, 1 / 6)]
    >>> round(float(fs.pmf_convolve(die, die)[7]), 12)       # P(two dice show 7)
    0.166666666667
    """
    if not pmfs:
        raise ValueError("pmf_convolve needs at least one pmf")
    _check_common(method, rtol)
    if method == "panjer":
        raise ValueError("method='panjer' applies to compound(); choose 'auto', 'direct' or 'fft'")
    allint = all(np.asarray(p).dtype.kind in "biu" for p in pmfs)
    parts = [_pmf(p, f"pmfs[{i}]", normalize, allow_int=allint) for i, p in enumerate(pmfs)]
    if allint:
        tot = 1
        for p in parts:
            tot *= int(p.sum())
        if tot > np.iinfo(np.int64).max:
            raise ValueError("pmfs: the product of the count totals exceeds 2^63 - 1; pass "
                             "probabilities (floats) instead of counts")
    shift, trimmed = 0, []
    for p in parts:
        s, t = _trim(p)
        shift += s
        trimmed.append(t)
    total = sum(p.size - 1 for p in parts) + 1
    if len(trimmed) == 1:
        g, info = trimmed[0].copy(), {"method": "direct"}
    else:
        g, info = _core.pmf_sum(trimmed, method, rtol)
    out = np.zeros(total, g.dtype)
    out[shift:shift + g.size] = g[:total - shift]
    return _finish(out, info, full_output, finite=True)


def pmf_power(p, n: int, *, method: str = "auto", rtol: float = 1e-10,
              normalize: bool = False, full_output: bool = False):
    """The distribution of the sum of ``n`` independent copies of ``p``.

    Powers in the frequency domain (``P(w)^n``, tilted as in
    :func:`pmf_convolve`) or, where cheaper, direct convolutions by repeated
    squaring.  ``n = 0`` gives the point mass at 0.  Integer counts give the
    exact count table (ValueError on int64 overflow).

    Returns
    -------
    pmf : ndarray, shape (n * (len(p) - 1) + 1,)

    Examples
    --------
    >>> import numpy as np, fastconv.stats as fs
    >>> coin = np.array([0.5, 0.5])
    >>> fs.pmf_power(coin, 3)
    array([0.125, 0.375, 0.375, 0.125])
    """
    _check_common(method, rtol)
    if method == "panjer":
        raise ValueError("method='panjer' applies to compound(); choose 'auto', 'direct' or 'fft'")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    q = _pmf(p, "p", normalize)
    if q.dtype.kind == "i" and n and float(q.sum()) ** n > np.iinfo(np.int64).max:
        raise ValueError(f"p: the count total ({int(q.sum())})^{n} exceeds 2^63 - 1; pass "
                         f"probabilities (floats) instead of counts")
    total = n * (q.size - 1) + 1
    if n == 0:
        one = np.ones(1, q.dtype)
        return _finish(one, {"method": "direct"}, full_output)
    s, t = _trim(q)
    if t.size == 1:
        g, info = t ** n, {"method": "direct"}
    else:
        g, info = _core.pmf_power(t, int(n), method, rtol)
    out = np.zeros(total, g.dtype)
    out[n * s:n * s + g.size] = g
    return _finish(out, info, full_output, finite=g.dtype.kind == "f")


def poisson_binomial(p, *, method: str = "auto", full_output: bool = False):
    """The distribution of the number of successes in independent trials
    with success probabilities ``p`` (the Poisson-binomial distribution).

    The product of the trials' ``(1 - p_i, p_i)`` pmfs, pairwise in a tree
    (direct convolutions while short, tilted transforms beyond), so the
    result is never negative and keeps its tails (tsakim/poibin#3 returns
    pmf(0) = -4.99e-15).

    Examples
    --------
    >>> import fastconv.stats as fs
    >>> fs.poisson_binomial([0.5, 0.5])
    array([0.25, 0.5 , 0.25])
    """
    a = np.asarray(p)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"p must be real probabilities, got dtype {a.dtype}")
    a = a.astype(np.float64).ravel()
    if a.size == 0:
        return _finish(np.ones(1), {"method": "direct"}, full_output)
    if not np.isfinite(a).all() or (a < 0).any() or (a > 1).any():
        raise ValueError("p must hold probabilities in [0, 1] (no NaN)")
    _check_common(method, 1e-10)
    parts = [np.array([1.0 - x, x]) for x in a]
    info = {"method": "direct"}
    while len(parts) > 1:
        nxt = []
        for i in range(0, len(parts) - 1, 2):
            g, info = _core.pmf_sum([parts[i], parts[i + 1]], method, 1e-10)
            nxt.append(np.where(g > 0, g, 0.0))
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return _finish(parts[0], info, full_output, finite=True)


_FAMILIES = {"poisson": 1, "nbinom": 2, "binom": 2}


def _frequency(frequency):
    """('poisson', lam) | ('nbinom', r, p) | ('binom', m, q) | ('pmf', array)
    from a frozen scipy.stats distribution, a tuple, or a pmf array."""
    dist = getattr(frequency, "dist", None)
    if dist is not None and hasattr(frequency, "args"):
        name = getattr(dist, "name", "")
        if name not in _FAMILIES:
            raise ValueError(f"frequency: scipy.stats.{name} is not supported; use poisson, "
                             f"nbinom, binom or give the frequency's pmf as an array")
        shapes, loc, *_ = dist._parse_args(*frequency.args, **frequency.kwds)
        if loc != 0:
            raise ValueError(f"frequency: loc must be 0, got {loc!r}")
        freq = (name,) + tuple(float(s) for s in shapes)
    elif isinstance(frequency, tuple) and frequency and isinstance(frequency[0], str):
        name = frequency[0]
        if name not in _FAMILIES or len(frequency) != _FAMILIES[name] + 1:
            raise ValueError(f"frequency must be ('poisson', mu), ('nbinom', n, p) or "
                             f"('binom', n, p), got {frequency!r}")
        freq = (name,) + tuple(float(s) for s in frequency[1:])
    else:
        pk = _pmf(frequency, "frequency", False, allow_int=False)
        return ("pmf", pk)
    name, par = freq[0], freq[1:]
    if not all(math.isfinite(v) for v in par):
        raise ValueError(f"frequency parameters must be finite, got {par!r}")
    if name == "poisson" and not par[0] >= 0:
        raise ValueError(f"frequency: the Poisson mean must be >= 0, got {par[0]!r}")
    if name == "nbinom" and not (par[0] > 0 and 0 < par[1] <= 1):
        raise ValueError(f"frequency: nbinom needs n > 0 and 0 < p <= 1, got {par!r}")
    if name == "binom":
        if not (par[0] >= 0 and par[0] == int(par[0]) and 0 <= par[1] <= 1):
            raise ValueError(f"frequency: binom needs an integer n >= 0 and 0 <= p <= 1, "
                             f"got {par!r}")
        freq = ("binom", int(par[0]), par[1])
    return freq


def _degenerate(freq):
    """The frequency as a pmf array when it is a point mass or nearly (the
    generating-function formulas divide by p or 1 - q)."""
    name, par = freq[0], freq[1:]
    if name == "poisson" and par[0] == 0:
        return ("pmf", np.ones(1))
    if name == "nbinom" and par[1] == 1:
        return ("pmf", np.ones(1))
    if name == "binom" and (par[1] in (0.0, 1.0) or par[0] == 0):
        k = 0 if par[1] == 0 or par[0] == 0 else par[0]
        return ("pmf", np.r_[np.zeros(k), 1.0])
    return freq


def compound(severity, frequency, *, n: int | None = None, tail: float = 1e-14,
             method: str = "auto", rtol: float = 1e-10, normalize: bool = False,
             full_output: bool = False):
    """The distribution of a random sum ``S = X_1 + ... + X_N`` (aggregate
    loss): ``N`` from ``frequency``, the ``X_i`` independent with pmf
    ``severity`` on a grid of equal buckets.

    Parameters
    ----------
    severity : 1-D array
        ``severity[k] = P(X = k)`` (k in buckets), mass 1.
    frequency : scipy.stats frozen distribution, tuple or 1-D array
        ``scipy.stats.poisson(mu)``, ``nbinom(n, p)``, ``binom(n, p)`` (or the
        tuples ``('poisson', mu)``, ``('nbinom', n, p)``, ``('binom', n, p)``),
        or the pmf of N as an array.
    n : int, optional
        Buckets to return.  Default: from a Chernoff bound, the first n with
        ``P(S >= n) <= tail``.
    tail : float
        The mass allowed beyond the default ``n``.
    method : {'auto', 'panjer', 'fft'}
        'panjer': the (a, b, 0) recursion, O(n * len(severity)), every entry
        to rounding (Poisson and negative binomial: all terms positive);
        when P(S=0) would underflow (a large expected count) the frequency is
        split into 2^k copies whose P(S=0) is representable and the result
        squared k times.  'fft': the generating function ``G(F(w))`` on a
        transform padded from a Chernoff bound of the aliased tail, with
        exponential tilts for the tails (as in :func:`pmf_convolve`).
    rtol, normalize, full_output :
        As in :func:`pmf_convolve`; the report gives the mass beyond ``n``
        (``truncated``) and the aliasing bound.

    Returns
    -------
    pmf : ndarray, shape (n,)
        ``P(S = k)``, k < n; sums to ``1 - truncated``.

    Examples
    --------
    >>> import numpy as np, scipy.stats as st, fastconv.stats as fs
    >>> sev = np.array([0.0, 0.5, 0.5])             # a claim is 1 or 2
    >>> g = fs.compound(sev, st.poisson(2.0), n=4)
    >>> bool(np.isclose(g[0], np.exp(-2)))
    True
    """
    _check_common(method, rtol)
    if method == "direct":
        raise ValueError("method='direct' applies to pmf_convolve(); choose 'auto', 'panjer' "
                         "or 'fft'")
    if isinstance(tail, bool) or not isinstance(tail, numbers.Real) or not 0 < tail < 1:
        raise ValueError(f"tail must be a number in (0, 1), got {tail!r}")
    f = _pmf(severity, "severity", normalize, allow_int=False)
    freq = _degenerate(_frequency(frequency))
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be an integer, got {n!r}")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        n = int(n)
    if freq[0] == "pmf":
        # a finite frequency: the exact mixture sum_k P(N=k) f^{*k}, which is
        # a finite support; its transform needs no tail bound
        pk = freq[1]
        total = (pk.size - 1) * (f.size - 1) + 1
        n_out = total if n is None else n
        N = _core_fast_len(max(total, n_out))
        if method == "panjer":
            raise ValueError("method='panjer' needs a Poisson, negative binomial or binomial "
                             "frequency")
        g, info = _core.compound(f, freq, min(n_out, total), N, "fft", rtol)
        out = np.zeros(n_out)
        out[:g.size] = g
        trunc = max(0.0, 1.0 - float(np.sum(out))) if n_out < total else 0.0
        return _finish(out, info, full_output, truncated=trunc)
    if n is None:
        n = _tail_length(f, freq, math.log(tail))
    # padding: twice the buckets, so that the tilts aimed at the right tail
    # fold back little (their Chernoff bound enters each pass's error; one
    # pass, rtol=None, starts from the buckets themselves), and more while
    # the untilted pass's folded mass is above its rounding
    N = _core_fast_len(2 * n if rtol is not None else n)
    while _core.compound_tail(f, freq, 0.0, N) > math.log(1e-18) and N < 8 * n:
        N = _core_fast_len(N + N // 2)
    g, info = _core.compound(f, freq, n, N, method, rtol)
    lb = _core.compound_tail(f, freq, 0.0, n)
    trunc = max(0.0, 1.0 - float(np.sum(g)))
    if info["method"] == "fft":
        info["alias"] = info.get("alias", 0.0)
    trunc = min(trunc, math.exp(lb)) if lb < 0 else trunc
    return _finish(g, info, full_output, truncated=trunc)


def _core_fast_len(n):
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _tail_length(f, freq, log_tail):
    """The first n with the Chernoff bound on P(S >= n) below exp(log_tail)."""
    lo, hi = 1, max(2, f.size)
    while _core.compound_tail(f, freq, 0.0, hi) > log_tail:
        lo, hi = hi, hi * 2
        if hi > 1 << 34:
            raise ValueError("frequency/severity: the sum's tail is too heavy to bound; "
                             "pass n (the buckets to return)")
    while hi - lo > max(1, hi // 64):
        mid = (lo + hi) // 2
        if _core.compound_tail(f, freq, 0.0, mid) > log_tail:
            lo = mid
        else:
            hi = mid
    return hi
