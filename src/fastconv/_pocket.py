"""One-axis FFTs written into a given array (scipy.fft has no ``out=``).

scipy's pocketfft binding takes ``out`` and strided inputs, so a transform
can read a window of a larger buffer and write a window of another without
temporaries.  Without that binding (another scipy) the public ``scipy.fft``
functions give the same numbers with one copy more.  All transforms are
unnormalised in both directions (the caller folds the ``1/n`` into the
kernel's spectrum).
"""
from __future__ import annotations

try:
    from scipy.fft._pocketfft import pypocketfft as _pf
except ImportError:  # pragma: no cover - a scipy without it: the public API
    _pf = None


def r2c(x, axis, out, workers):
    """``out[...] = rfft(x, axis=axis)``."""
    if _pf is not None:
        _pf.r2c(x, (axis % x.ndim,), True, 0, out, workers)
    else:
        import scipy.fft as sfft

        out[...] = sfft.rfft(x, axis=axis, workers=workers)


def c2c(X, axis, forward, out, workers):
    """``out[...] = fft(X, axis=axis)`` or the unnormalised inverse (may be in place)."""
    if _pf is not None:
        _pf.c2c(X, (axis % X.ndim,), forward, 0, out, workers)
    else:
        import scipy.fft as sfft

        f = sfft.fft if forward else sfft.ifft
        out[...] = f(X, axis=axis, norm="backward" if forward else "forward",
                     workers=workers)


def c2r(X, axis, n, out, workers):
    """``out[...] = irfft(X, n, axis=axis)`` unnormalised."""
    if _pf is not None:
        _pf.c2r(X, (axis % X.ndim,), n, False, 0, out, workers)
    else:
        import scipy.fft as sfft

        out[...] = sfft.irfft(X, n=n, axis=axis, norm="forward", workers=workers)
