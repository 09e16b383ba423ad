"""Linear time-invariant systems: impulse responses, sweeps, deconvolution, delays.

* :class:`LTISystem` - an FIR system from an impulse response, from an
  IIR ``(b, a)`` (impulse response truncated where its remaining energy
  falls below ``tol`` of the total), or measured; ``apply``, ``stream``,
  ``impulse_response``, ``step_response``, ``frequency_response``.
* :func:`exponential_sweep` - Farina's exponential sine sweep and its
  inverse filter; :func:`measure_impulse_response` recovers an impulse
  response from a recording of the sweep (inverse filtering, or a
  regularised spectral division for any excitation).
* :func:`regularized_deconvolve` - Tikhonov (Wiener-like) deconvolution of
  noisy 1-D data by a known response.
* :func:`estimate_delay` - delay between two signals by cross-correlation or
  GCC-PHAT, with parabolic sub-sample interpolation.

Limits of deconvolution: where the response (or the excitation) has little
energy, the noise there is amplified by ``1 / |H|``; the regularisation
``reg`` trades that noise against resolution, and a sweep only measures the
band ``[f0, f1]`` it covers.
"""
from __future__ import annotations

import math
import operator
from typing import Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from .stream import Convolver

__all__ = ["LTISystem", "exponential_sweep", "measure_impulse_response",
           "regularized_deconvolve", "estimate_delay", "synthetic_room"]


def _check_samples(n, name, per_sample=8):
    """``n`` samples (``per_sample`` bytes each, temporaries included) must fit
    FASTCONV_MAX_MEMORY: refused before anything is allocated."""
    from ._config import max_memory

    if n * per_sample > max_memory():
        raise ValueError(f"{name} asks for {n} samples ({n * per_sample / 2**30:.3g} GiB), "
                         f"more than FASTCONV_MAX_MEMORY ({max_memory() / 2**30:.3g} GiB)")
    return n


def _1d(a, name):
    a = V.as_array(a, name)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    if a.dtype.kind == "c":
        raise TypeError(f"{name} must be real")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return a.astype(np.float64, copy=False)


_positive = V.check_positive


class LTISystem:
    """A causal FIR system ``y = h * x`` (sample rate ``fs`` for frequencies).

    Examples
    --------
    >>> s = LTISystem.from_ba([1.0], [1.0, -0.5], tol=1e-12)
    >>> s.impulse_response(4)
    array([1.   , 0.5  , 0.25 , 0.125])
    >>> s.apply([1.0, 0.0, 0.0])
    array([1.  , 0.5 , 0.25])
    """

    def __init__(self, h: ArrayLike, fs: float = 1.0) -> None:
        self.h = _1d(h, "h")
        self.fs = _positive(fs, "fs")

    @classmethod
    def from_ba(cls, b: ArrayLike, a: ArrayLike, *, tol: float = 1e-10,
                max_length: int = 1 << 22, fs: float = 1.0) -> LTISystem:
        """FIR approximation of the IIR filter ``(b, a)``.

        The impulse response is computed until the energy after sample ``L``
        is below ``tol`` times the total; raises ValueError when it has not
        decayed within ``max_length`` samples (unstable or very slow poles).
        """
        import scipy.signal as ss

        b = _1d(b, "b")
        a = _1d(a, "a")
        if a[0] == 0:
            raise ValueError("a[0] must be nonzero")
        tol = _positive(tol, "tol")
        _check_samples(operator.index(max_length), "max_length", 32)
        n = 1024
        while True:
            imp = np.zeros(n)
            imp[0] = 1.0
            h = ss.lfilter(b, a, imp)
            if not np.isfinite(h).all():
                raise ValueError("the filter (b, a) is unstable: its impulse response "
                                 "overflows")
            e = np.cumsum(h[::-1] ** 2)[::-1]     # energy from sample i to the end
            total = e[0]
            if total == 0:
                return cls(np.zeros(1), fs)
            # tail beyond n is below the tail of the last quarter if decaying
            if e[3 * n // 4] <= tol * total:
                L = int(np.argmax(e <= tol * total))
                return cls(h[:max(L, 1)], fs)
            if n >= max_length:
                raise ValueError(f"the impulse response of (b, a) has not decayed to "
                                 f"tol={tol} of its energy within max_length={max_length} "
                                 "samples (unstable or very slow poles)")
            n = min(2 * n, max_length)

    @classmethod
    def measured(cls, excitation: ArrayLike, recording: ArrayLike, *,
                 length: Optional[int] = None, inverse: Optional[ArrayLike] = None,
                 reg: float = 1e-6, fs: float = 1.0) -> LTISystem:
        """System measured from an excitation and its recording
        (see :func:`measure_impulse_response`)."""
        return cls(measure_impulse_response(excitation, recording, length=length,
                                            inverse=inverse, reg=reg), fs)

    def __len__(self):
        return self.h.size

    def impulse_response(self, n: Optional[int] = None) -> np.ndarray:
        """The first ``n`` samples of the impulse response (zero-padded)."""
        if n is None:
            return self.h.copy()
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        out = np.zeros(_check_samples(n, "n", 16))
        out[:min(n, self.h.size)] = self.h[:n]
        return out

    def step_response(self, n: Optional[int] = None) -> np.ndarray:
        """Response to a unit step: the running sum of the impulse response."""
        return np.cumsum(self.impulse_response(n))

    def frequency_response(self, n: int = 512,
                           whole: bool = False) -> Tuple[np.ndarray, np.ndarray]:
        """``(frequencies, H)`` at ``n`` frequencies from 0 to fs/2 (or fs)."""
        import scipy.signal as ss

        n = operator.index(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return ss.freqz(self.h, worN=_check_samples(n, "n", 64), whole=whole, fs=self.fs)

    def apply(self, x: ArrayLike, axis: int = -1) -> np.ndarray:
        """Filter ``x`` along ``axis`` (causal; output as long as the input)."""
        from .signal import lfilter

        return lfilter(self.h, [1.0], x, axis=axis)

    def stream(self, block_size: int = 256) -> Convolver:
        """A :class:`fastconv.stream.Convolver` for this system."""
        return Convolver(self.h, block_size=block_size)


def exponential_sweep(f0: float, f1: float, duration: float, fs: float, *,
                      fade: float = 0.01) -> Tuple[np.ndarray, np.ndarray]:
    """Exponential sine sweep from ``f0`` to ``f1`` Hz and its inverse filter.

    ``s(t) = sin(2 pi f0 L (exp(t / L) - 1))`` with ``L = T / ln(f1 / f0)``
    (Farina 2000); the inverse filter is the time-reversed sweep with a
    -6 dB/octave envelope, scaled so that ``convolve(s, inverse)`` has unit
    gain in the swept band (the impulse sits at sample ``len(s) - 1``).
    ``fade`` seconds of raised-cosine fade at both ends limit the ripple.

    Returns
    -------
    sweep, inverse : ndarray
    """
    f0 = _positive(f0, "f0")
    f1 = _positive(f1, "f1")
    T = _positive(duration, "duration")
    fs = _positive(fs, "fs")
    if not f0 < f1 <= fs / 2:
        raise ValueError(f"need 0 < f0 < f1 <= fs / 2, got f0={f0}, f1={f1}, fs={fs}")
    n = int(round(T * fs))
    if n < 16:
        raise ValueError("the sweep is shorter than 16 samples")
    _check_samples(n, "duration x fs", 8 * 6)
    t = np.arange(n) / fs
    L = T / math.log(f1 / f0)
    s = np.sin(2 * np.pi * f0 * L * (np.exp(t / L) - 1.0))
    nf = min(int(fade * fs), n // 4)
    if nf > 1:
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(nf) / nf)
        s[:nf] *= w
        s[-nf:] *= w[::-1]
    inv = s[::-1] * np.exp(-t / L)
    # unit gain in the band: the mean magnitude of S * INV between f0 and f1
    import scipy.fft as sfft

    m = sfft.next_fast_len(2 * n)
    g = np.abs(sfft.rfft(s, m) * sfft.rfft(inv, m))
    f = np.arange(g.size) * fs / m
    band = (f >= 2 * f0) & (f <= f1 / 2)
    inv /= np.median(g[band]) if band.any() else g.max()
    return s, inv


def measure_impulse_response(excitation: ArrayLike, recording: ArrayLike, *,
                             length: Optional[int] = None,
                             inverse: Optional[ArrayLike] = None,
                             reg: float = 1e-6) -> np.ndarray:
    """Impulse response of a system from an excitation and its recording.

    With ``inverse`` (e.g. from :func:`exponential_sweep`): the recording is
    convolved with it and the response read from sample ``len(excitation) -
    1`` on.  Otherwise a regularised spectral division
    ``R conj(S) / (|S|**2 + reg * max|S|**2)`` (any excitation).
    ``length``: samples kept (default: ``len(recording) - len(excitation) + 1``).
    """
    import scipy.fft as sfft

    import fastconv

    s = _1d(excitation, "excitation")
    r = _1d(recording, "recording")
    if length is None:
        length = max(r.size - s.size + 1, 1)
    length = operator.index(length)
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    _check_samples(length, "length", 32)
    if inverse is not None:
        inv = _1d(inverse, "inverse")
        full = fastconv.convolve(r, inv)
        out = np.zeros(length)
        seg = full[s.size - 1:s.size - 1 + length]
        out[:seg.size] = seg
        return out
    reg = float(reg)
    if not reg >= 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    m = sfft.next_fast_len(max(r.size, s.size + length - 1))
    S = sfft.rfft(s, m)
    R = sfft.rfft(r, m)
    p = np.abs(S) ** 2
    H = R * np.conj(S) / (p + reg * p.max())
    return sfft.irfft(H, m)[:length]


def regularized_deconvolve(y: ArrayLike, h: ArrayLike, *, reg: float = 1e-3) -> np.ndarray:
    """Recover ``x`` from ``y = convolve(x, h) + noise`` (Tikhonov / Wiener).

    ``X = Y conj(H) / (|H|**2 + reg * max|H|**2)`` on a grid long enough
    for the full convolution; returns ``len(y) - len(h) + 1`` samples.
    ``reg = 0`` is plain spectral division (unstable with noise where
    ``|H|`` is small); larger ``reg`` suppresses noise and blurs.
    """
    import scipy.fft as sfft

    y = _1d(y, "y")
    h = _1d(h, "h")
    if h.size > y.size:
        raise ValueError("h is longer than y: y must be the full convolution of x with h")
    reg = float(reg)
    if not reg >= 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    m = sfft.next_fast_len(y.size)
    H = sfft.rfft(h, m)
    Y = sfft.rfft(y, m)
    p = np.abs(H) ** 2
    if reg == 0 and np.any(p == 0):
        raise ValueError("h has spectral zeros: plain division is undefined; use reg > 0")
    X = Y * np.conj(H) / (p + reg * p.max())
    return sfft.irfft(X, m)[:y.size - h.size + 1]


def estimate_delay(x: ArrayLike, y: ArrayLike, *, method: str = "xcorr",
                   max_delay: Optional[float] = None) -> float:
    """Delay of ``y`` relative to ``x`` in samples (``y[n] ~ x[n - d]``).

    ``method='xcorr'``: peak of the cross-correlation; ``'gcc-phat'``: peak
    of the phase transform (cross-spectrum divided by its magnitude), robust
    to reverberation and coloured signals.  The peak is refined by a parabola
    through it and its neighbours (sub-sample).  ``max_delay`` limits the
    search to ``|d| <= max_delay``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> round(estimate_delay(x, np.r_[np.zeros(7), x[:-7]]), 3)
    7.0
    """
    import scipy.fft as sfft

    x = _1d(x, "x")
    y = _1d(y, "y")
    if method not in ("xcorr", "gcc-phat"):
        raise ValueError(f"method must be 'xcorr' or 'gcc-phat', got {method!r}")
    n = sfft.next_fast_len(x.size + y.size - 1)
    X = sfft.rfft(x, n)
    Y = sfft.rfft(y, n)
    R = Y * np.conj(X)
    if method == "gcc-phat":
        mag = np.abs(R)
        R = R / np.maximum(mag, 1e-12 * max(mag.max(), 1e-300))
    r = sfft.irfft(R, n)
    lo, hi = -(x.size - 1), y.size - 1          # lags with any overlap
    if max_delay is not None:
        md = float(max_delay)
        if not md >= 0:
            raise ValueError(f"max_delay must be >= 0, got {max_delay!r}")
        lo, hi = max(lo, -int(math.floor(md))), min(hi, int(math.floor(md)))
    lags = np.arange(lo, hi + 1)
    vals = r[lags % n]
    i = int(np.argmax(vals))
    d = float(lags[i])
    if 0 < i < lags.size - 1:
        a, b, c = vals[i - 1], vals[i], vals[i + 1]
        den = a - 2 * b + c
        if den < 0:
            d += 0.5 * (a - c) / den
    return float(d)


def synthetic_room(fs: float, seconds: float, rt60: float, channels: int,
                   seed: int) -> np.ndarray:
    """A plausible room impulse response: direct sound, sparse early
    reflections, then exponentially decaying noise that darkens over time."""
    rng = np.random.default_rng(seed)
    n = max(int(seconds * fs), 16)
    _check_samples(n * int(channels), "seconds x fs x channels", 8 * 4)
    t = np.arange(n) / fs
    out = np.zeros((n, channels))
    for c in range(channels):
        h = np.zeros(n)
        h[0] = 1.0
        for _ in range(12):                                   # early reflections, 2-60 ms
            k = int(rng.uniform(0.002, 0.06) * fs)
            if k < n:
                h[k] += rng.uniform(-0.6, 0.6)
        tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)   # -60 dB at rt60
        a = np.exp(-2 * np.pi * 3000.0 / fs)                        # one-pole low-pass
        from scipy.signal import lfilter

        dark = lfilter([1 - a], [1, -a], tail)
        mixw = np.clip(t / max(rt60, 1e-3), 0, 1)                    # darker later
        tail = (1 - mixw) * tail + mixw * dark * 2
        onset = min(int(0.005 * fs), n)
        tail[:onset] *= np.linspace(0, 1, onset) if onset else 1
        h += 0.3 * tail
        out[:, c] = h
    return out / np.max(np.abs(out)) * 0.9
