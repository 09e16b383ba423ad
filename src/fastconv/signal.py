"""Drop-in replacements for scipy.signal's convolution functions.

Same signatures, defaults, result dtypes and shapes as scipy.signal; the work
goes through fastconv's planner (all cores, overlap-add/save considered,
exact integers).  Differences, all deliberate:

* empty inputs raise ``ValueError`` (scipy raises assorted errors, or returns
  an empty array for fftconvolve/oaconvolve, which fastconv keeps);
* integer results are exact (scipy's FFT path may round them wrongly for
  large values);
* ``fftconvolve``/``oaconvolve`` may use the direct method when it is
  faster; for finite data the numbers agree to floating-point tolerance.
  With NaN/Inf they stay local instead of spreading.
* ``choose_conv_method`` answers with fastconv's planner and maps its blocked
  FFT methods to ``'fft'``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from . import backends
from ._core import convolve_impl, plan_impl

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "lfilter",
           "deconvolve",
           "correlate2d", "choose_conv_method", "correlation_lags"]

_MODE_MSG = "Acceptable mode flags are 'valid', 'same', or 'full'."
_METHOD_MSG = "Acceptable method flags are 'auto', 'direct', or 'fft'."


def _check_mode(mode):
    if mode not in V.MODES:
        raise ValueError(f"{_MODE_MSG} Got mode={mode!r}")
    return mode


def _direct_dtypes(a, b):
    """scipy.signal.convolve's result dtype; integer results computed in a
    64-bit accumulator (exact, or wrapping like the original where it
    overflows); integers whose common type is float (uint64 with a signed
    type) computed in that float type, as scipy does."""
    rd = np.result_type(a, b)
    if rd.kind in "biu":
        return V.dtype_policy(a.dtype, b.dtype)[0], rd
    # an integer operand is lifted to float64 first, as scipy's FFT path
    # computes it (uint8 x complex64: complex128 sums, a complex64 result)
    return _fft_dtypes(a, b)[0], rd


def _fft_dtypes(a, b):
    """fftconvolve's dtype: ints/bools -> float64, float16 -> float32."""
    def lift(dt):
        if dt.kind in "biu":
            return np.dtype(np.float64)
        if dt == np.float16:
            return np.dtype(np.float32)
        return dt
    rd = np.result_type(lift(a.dtype), lift(b.dtype))
    return V.dtype_policy(rd, rd)[0], rd


def _arrays(in1, in2):
    a = V.as_array(in1, "in1")
    b = V.as_array(in2, "in2")
    return a, b


def _generic(in1, in2, mode, method, op):
    a, b = _arrays(in1, in2)
    _check_mode(mode)
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"{_METHOD_MSG} Got method={method!r}")
    if a.ndim == b.ndim == 0:
        return a * (np.conj(b) if op == "correlate" else b)
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    return convolve_impl(a, b, mode, method, None, "constant", 0, None, "default",
                         op, dtypes=_direct_dtypes(a, b))


def _ns_convolve(in1, in2, mode="full", method="auto"):
    from . import backends

    return backends.convolve(in1, in2, mode, {"fft": "fft", "direct": "direct"}.get(
        method, "auto"), None, "constant", 0, "convolve")


def _ns_correlate(in1, in2, mode="full", method="auto"):
    from . import backends

    return backends.convolve(in1, in2, mode, {"fft": "fft", "direct": "direct"}.get(
        method, "auto"), None, "constant", 0, "correlate")


def _ns_fft(in1, in2, mode="full", axes=None):
    from . import backends

    return backends.convolve(in1, in2, mode, "fft", axes, "constant", 0, "convolve")


@backends.accepts_arrays(via=_ns_convolve)
def convolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
             method: str = "auto") -> np.ndarray:
    """Convolve two N-D arrays (scipy.signal.convolve, same semantics).

    Examples
    --------
    >>> from fastconv import signal
    >>> signal.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _generic(in1, in2, mode, method, "convolve")


@backends.accepts_arrays(via=_ns_correlate)
def correlate(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
              method: str = "auto") -> np.ndarray:
    """Cross-correlate two N-D arrays (scipy.signal.correlate, same semantics).

    ``z[k] = sum_l in1[l] * conj(in2[l - k + N - 1])`` as in scipy.

    Examples
    --------
    >>> from fastconv import signal
    >>> signal.correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _generic(in1, in2, mode, method, "correlate")


_FFT_MODE_MSG = "acceptable mode flags are 'valid', 'same', or 'full'"


def _freq_axes(a, b, mode, axes):
    """scipy's axis handling for fftconvolve/oaconvolve (same checks, same
    messages): axes where either input has extent 1 are broadcast, not
    convolved; the other axes must then match or be 1."""
    if axes is None:
        ax = list(range(a.ndim))
    else:
        arr = np.asarray(axes)
        if arr.ndim > 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError("axes must be a scalar or iterable of integers")
        ax = [int(v) for v in np.atleast_1d(arr)]
        if any(v < -a.ndim or v >= a.ndim for v in ax):
            raise ValueError("axes exceeds dimensionality of input")
        ax = [v % a.ndim for v in ax]
        if len(set(ax)) != len(ax):
            raise ValueError("all axes must be unique")
        if not ax:
            raise ValueError("when provided, axes cannot be empty")
    s1, s2 = a.shape, b.shape
    ax = sorted(d for d in ax if s1[d] != 1 and s2[d] != 1)
    if not all(s1[d] == s2[d] or s1[d] == 1 or s2[d] == 1
               for d in range(a.ndim) if d not in ax):
        raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    if mode == "valid" and ax and not all(s1[d] >= s2[d] for d in ax) \
            and not all(s2[d] >= s1[d] for d in ax):
        raise ValueError("For 'valid' mode, one must be at least as large as the "
                         "other in every dimension")
    return ax


def _centered(y, shape):
    start = [(c - n) // 2 for c, n in zip(y.shape, shape)]
    return y[tuple(slice(s, s + n) for s, n in zip(start, shape))]


def _fft_family(in1, in2, mode, axes, method):
    a, b = _arrays(in1, in2)
    if mode not in V.MODES:
        raise ValueError(_FFT_MODE_MSG)
    if a.ndim == b.ndim == 0:
        return a * b
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a.size == 0 or b.size == 0:
        return np.array([])
    ax = _freq_axes(a, b, mode, axes)
    if not ax:                        # nothing to convolve: scipy multiplies
        y = a * b
    else:
        y = convolve_impl(a, b, mode, method, tuple(ax), "constant", 0, None, "default",
                          "convolve", dtypes=_fft_dtypes(a, b))
    if mode == "same":
        # scipy crops every axis to in1's extent, broadcast axes included
        y = np.ascontiguousarray(_centered(y, a.shape))
    elif mode == "valid" and not ax:
        y = _centered(y, [max(p, q) if p == 1 or q == 1 else p - q + 1
                          for p, q in zip(a.shape, b.shape)])
    return y


@backends.accepts_arrays(via=_ns_fft)
def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
                axes: Union[int, Sequence[int], None] = None) -> np.ndarray:
    """Convolve two N-D arrays using FFT (scipy.signal.fftconvolve semantics).

    fastconv's planner may pick the direct or a blocked FFT method when it is
    faster; results agree to floating-point tolerance for finite data.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> np.round(signal.fftconvolve([1., 2, 3], [1., 1]), 12)
    array([1., 3., 5., 3.])
    """
    return _fft_family(in1, in2, mode, axes, "auto")


@backends.accepts_arrays(via=_ns_fft)
def oaconvolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
               axes: Union[int, Sequence[int], None] = None) -> np.ndarray:
    """Convolve two N-D arrays using overlap-add (scipy.signal.oaconvolve).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> np.round(signal.oaconvolve([1., 2, 3], [1., 1]), 12)
    array([1., 3., 5., 3.])
    """
    return _fft_family(in1, in2, mode, axes, "auto")


_BOUNDARY2D = {"fill": "constant", "pad": "constant", "wrap": "wrap",
               "circular": "wrap", "symm": "symmetric", "symmetric": "symmetric"}


def _two_d_checks(a, b, mode, boundary, name):
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays")
    _check_mode(mode)
    if boundary not in _BOUNDARY2D:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' "
                         f"(or 'wrap'), and 'symmetric' (or 'symm'). Got {boundary!r}")


def _two_d_swap(a, b, mode):
    """(in1, in2, swapped): scipy's 'valid' takes the larger as in1."""
    swapped = mode == "valid" and not (a.shape[0] >= b.shape[0] and a.shape[1] >= b.shape[1])
    if swapped:
        if not (b.shape[0] >= a.shape[0] and b.shape[1] >= a.shape[1]):
            raise ValueError("For 'valid' mode, one must be at least as large "
                             "as the other in every dimension")
        a, b = b, a
    return a, b, swapped


def _two_d(in1, in2, mode, boundary, fillvalue, op, name):
    a, b = _arrays(in1, in2)
    _two_d_checks(a, b, mode, boundary, name)
    cd, rd = _direct_dtypes(a, b)
    fv = np.asarray(fillvalue)
    if fv.size != 1:
        raise ValueError("`fillvalue` must be scalar or an array with one element.")
    if fv.dtype.kind not in "biufc":
        raise TypeError(f"fillvalue must be a number, got {fillvalue!r}")
    fillvalue = fv.reshape(()).item()
    # scipy truncates a float fillvalue for integer outputs, and refuses one
    # that the output type cannot hold (complex for real outputs, out of range)
    bad = rd.kind != "c" and fv.dtype.kind == "c"
    if rd.kind in "biu" and fv.dtype.kind in "fc":
        bad = bad or not np.isfinite(np.real(fillvalue))
    if not bad and rd.kind in "iu":
        bad = not np.iinfo(rd).min <= int(np.real(fillvalue)) <= np.iinfo(rd).max
    if bad:
        raise ValueError("could not cast `fillvalue` directly to the output type")
    a, b, swapped = _two_d_swap(a, b, mode)
    fill = fillvalue
    if cd.kind in "iu":
        fill = np.asarray(np.real(fillvalue)).astype(rd).item()  # scipy casts it too
    if cd.kind != "c":
        fill = np.real(fill)
    # scipy's correlate2d centres 'same' on K // 2 (convolve2d on (K - 1) // 2);
    # for even kernels that is one sample further, so take it from 'full'.
    shift = op == "correlate" and mode == "same" and any(K % 2 == 0 for K in b.shape)
    y = convolve_impl(a, b, "full" if shift else mode, "auto", None,
                      _BOUNDARY2D[boundary], fill, None, "default", op, dtypes=(cd, rd))
    if shift:
        y = y[tuple(slice(K // 2, K // 2 + N) for N, K in zip(a.shape, b.shape))]
    if swapped and op == "correlate":
        y = y[::-1, ::-1]
    return y


def _ns_two_d(op, name):
    """convolve2d / correlate2d for arrays of any namespace (the engine's
    dtype rules: float32 stays float32, integers exact in int64)."""
    def via(in1, in2, mode="full", boundary="fill", fillvalue=0):
        from .backends.namespace import namespace

        xp = namespace(in1, in2)
        _two_d_checks(in1, in2, mode, boundary, name)
        fv = np.asarray(fillvalue)
        if fv.size != 1 or fv.dtype.kind not in "biufc":
            raise ValueError("`fillvalue` must be scalar or an array with one element.")
        a, b, swapped = _two_d_swap(in1, in2, mode)
        shift = op == "correlate" and mode == "same" and any(K % 2 == 0 for K in b.shape)
        y = backends.convolve(a, b, "full" if shift else mode, "auto", None,
                              _BOUNDARY2D[boundary], fv.reshape(()).item(), op)
        if shift:
            y = y[tuple(slice(K // 2, K // 2 + N) for N, K in zip(a.shape, b.shape))]
        if swapped and op == "correlate":
            y = xp.flip(y, axis=(0, 1))
        return y
    return via


@backends.accepts_arrays(via=_ns_two_d("convolve", "convolve2d"))
def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: str = "full", boundary: str = "fill",
               fillvalue: complex = 0) -> np.ndarray:
    """Convolve two 2-D arrays (scipy.signal.convolve2d semantics).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.convolve2d(np.eye(2), np.ones((2, 2)), boundary='wrap', mode='same')
    array([[2., 2.],
           [2., 2.]])
    """
    return _two_d(in1, in2, mode, boundary, fillvalue, "convolve", "convolve2d")


@backends.accepts_arrays(via=_ns_two_d("correlate", "correlate2d"))
def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: str = "full", boundary: str = "fill",
                fillvalue: complex = 0) -> np.ndarray:
    """Cross-correlate two 2-D arrays (scipy.signal.correlate2d semantics).

    Like scipy, when 'valid' needs the inputs swapped the result is flipped
    but not conjugated.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.correlate2d(np.arange(4.).reshape(2, 2), np.ones((1, 1)))
    array([[0., 1.],
           [2., 3.]])
    """
    return _two_d(in1, in2, mode, boundary, fillvalue, "correlate", "correlate2d")


def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
                       measure: bool = False) -> Union[str, Tuple[str, dict]]:
    """Return 'direct' or 'fft' as fastconv's planner would choose.

    With ``measure=True`` returns ``(method, times)`` where ``times`` maps
    'direct' and 'fft' to seconds (fastconv's direct and best FFT method).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.choose_conv_method(np.ones(100), np.ones(3))
    'direct'
    """
    a, b = _arrays(in1, in2)
    _check_mode(mode)
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a.size == 0 or b.size == 0 or a.ndim == 0:
        return ("direct", {"direct": 0.0, "fft": 0.0}) if measure else "direct"
    p = plan_impl(a, b, mode, "auto", None, "constant", 0, "convolve", "default",
                  bool(measure), dtypes=_direct_dtypes(a, b))
    method = "direct" if p.method == "direct" else "fft"
    if not measure:
        return method
    times = {"direct": None, "fft": None}
    for c in p.candidates:
        t = c.get("measured")
        if t is None:
            continue
        key = "direct" if c["method"] == "direct" else "fft"
        times[key] = t if times[key] is None else min(times[key], t)
    return method, {k: (np.inf if v is None else v) for k, v in times.items()}


def correlation_lags(in1_len: int, in2_len: int, mode: str = "full") -> np.ndarray:
    """Lag of each output of a 1-D :func:`correlate` (scipy semantics).

    Output ``i`` of the full correlation is lag ``i - (in2_len - 1)``; 'same'
    and 'valid' keep the outputs their mode keeps.

    Examples
    --------
    >>> from fastconv import signal
    >>> signal.correlation_lags(3, 2)
    array([-1,  0,  1,  2])
    """
    if mode not in V.MODES:
        raise ValueError(f"Mode {mode} is invalid")
    n1, n2 = int(in1_len), int(in2_len)
    full = np.arange(-n2 + 1, n1)
    if mode == "full":
        return full
    if mode == "same":
        start = (full.size - n1 + 1) // 2 if n1 % 2 else (full.size - n1) // 2
        return full[start:start + n1]
    if n1 >= n2:
        return np.arange(n1 - n2 + 1)
    return np.arange(n1 - n2, 1)


def _scipy_lfilter():
    """scipy's own lfilter (from its implementation module, so that a test
    harness that reroutes ``scipy.signal.lfilter`` to this module's does not
    send the IIR case back here)."""
    try:
        from scipy.signal._signaltools import lfilter as f
    except ImportError:          # pragma: no cover - another scipy layout
        from scipy.signal import lfilter as f
    return f


@backends.accepts_arrays()
def lfilter(b: ArrayLike, a: ArrayLike, x: ArrayLike, axis: int = -1,
            zi: Optional[ArrayLike] = None) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """scipy.signal.lfilter; FIR filters (``a`` = ``[a0]`` or ``[a0, 0, ...]``)
    go through fastconv's planner (FFT/overlap-save for long filters, all
    cores), IIR filters are passed to scipy.

    ``zi``/``zf`` follow scipy's transposed direct form II convention: for an
    FIR filter the state is the not-yet-emitted tail of the convolution, so
    chunks filtered in turn with ``zi = zf`` of the previous chunk give the
    same output as the whole signal at once.

    Examples
    --------
    >>> from fastconv import signal
    >>> y, zf = signal.lfilter([1, 1], [1], [1.0, 2.0, 3.0], zi=[0.5])
    >>> y, zf
    (array([1.5, 3. , 5. ]), array([3.]))
    """
    from ._core import convolve_impl

    b = np.atleast_1d(V.as_array(b, "b"))
    a = np.atleast_1d(V.as_array(a, "a"))
    if b.ndim != 1 or b.size == 0:
        raise ValueError(f"Parameter b is not a non-empty 1d array, since {b.shape=}!")
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"Parameter a is not a non-empty 1d array, since {a.shape=}!")
    if a[0] == 0:
        raise ValueError("a[0] must be nonzero (it normalises the filter)")
    if np.any(a[1:] != 0):
        return _scipy_lfilter()(b, a, x, axis=axis, zi=zi)     # IIR: scipy's recursion
    x = V.as_array(x, "x")
    if zi is not None:
        zi = V.as_array(zi, "zi")
    if x.ndim == 0:
        raise ValueError("x must be at least 1-D")
    ax = V.check_axes(axis, x.ndim, "axis")[0]
    K = max(b.size, a.size)
    if zi is not None:             # scipy's checks and messages
        if zi.ndim != x.ndim:
            raise ValueError(f"Dimensions of parameters x and zi must match, but "
                             f"x.ndim={x.ndim}, zi.ndim={zi.ndim}!")
        want = list(x.shape)
        want[ax] = K - 1
        if any(z != w and not (d != ax and z == 1)
               for d, (z, w) in enumerate(zip(zi.shape, want))):
            raise ValueError(f"Unexpected shape for parameter zi: expected "
                             f"{tuple(want)}, found {zi.shape}.")
    dt = np.result_type(b.dtype, a.dtype, x.dtype, *(() if zi is None else (zi.dtype,)))
    if dt.char not in "fdgFDG":
        # scipy's own error type and text for integer-only FIR filters
        # (drop-in parity: its test_lfilter_notimplemented_input expects it)
        raise NotImplementedError(f"Parameter's dtypes produced result type '{dt}', "
                                  f"which is not supported!")
    bb = np.zeros(K, dtype=np.result_type(b.dtype, a.dtype, np.float32))
    bb[:b.size] = b / a[0]
    N = x.shape[ax]
    if N == 0:
        y = np.zeros(x.shape, dt)
        if zi is None:
            return y
        return y, np.asarray(zi, dtype=dt).copy()
    shape = [1] * x.ndim
    shape[ax] = K
    full = convolve_impl(x.astype(dt, copy=False), bb.astype(dt).reshape(shape), "full",
                         "auto", ax, "constant", 0, None, "default", "convolve",
                         dtypes=(V.dtype_policy(dt, dt)[0], dt))
    full = np.moveaxis(full, ax, -1)
    if zi is not None:
        z = np.asarray(zi)
        want = list(x.shape)
        want[ax] = K - 1
        try:
            z = np.broadcast_to(np.moveaxis(np.broadcast_to(z, tuple(want)), ax, -1),
                                full.shape[:-1] + (K - 1,))
        except ValueError:
            raise ValueError(f"zi must have shape {tuple(want)} (x's shape with "
                             f"axis {ax} of length max(len(a), len(b)) - 1), got "
                             f"{np.shape(zi)}") from None
        full = full.astype(np.result_type(full.dtype, z.dtype), copy=False)
        full[..., :K - 1] += z
    y = np.moveaxis(full[..., :N], -1, ax)
    if zi is None:
        return y
    zf = np.zeros(full.shape[:-1] + (K - 1,), full.dtype)
    tail = full[..., N:N + K - 1]
    zf[..., :tail.shape[-1]] = tail
    return y, np.moveaxis(zf, -1, ax)


@backends.accepts_arrays()
def deconvolve(signal: ArrayLike, divisor: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """scipy.signal.deconvolve: polynomial division ``signal = divisor * quot + rem``.

    Same algorithm and results as scipy (the quotient by running the
    division as an IIR filter); the remainder is computed with fastconv's
    exact-for-integers convolution.

    Examples
    --------
    >>> from fastconv import signal
    >>> signal.deconvolve([0, 1, 0.5, 0.5], [1, 0.5])
    (array([0., 1., 0.]), array([0. , 0. , 0. , 0.5]))
    """

    num = np.atleast_1d(V.as_array(signal, "signal"))
    den = np.atleast_1d(V.as_array(divisor, "divisor"))
    if not (num.ndim == 1 and num.size > 0):
        raise ValueError(f"Parameter signal must be non-empty 1d array, but its shape "
                         f"is {num.shape}!")
    if not (den.ndim == 1 and den.size > 0):
        raise ValueError(f"Parameter divisor must be non-empty 1d array, but its shape "
                         f"is {den.shape}!")
    N, D = len(num), len(den)
    if D > N:                     # scipy: no quotient, the signal is the remainder
        return np.array([]), num
    if den[0] == 0:
        raise ValueError("divisor[0] must be nonzero (leading coefficient)")
    impulse = np.zeros(N - D + 1, float)
    impulse[0] = 1
    quot = _scipy_lfilter()(num, den, impulse)
    rem = num - convolve(den, quot, mode="full")
    return quot, rem
