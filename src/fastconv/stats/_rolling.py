"""Moving averages and exponentially weighted means along any axis."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _api, _core

#: weighted windows up to this many taps run the engine's direct method
#: (every window's sum formed from its own values: a window of zeros gives
#: exactly 0); longer ones go to the planner (FFT methods, rounding relative
#: to the largest value)
DIRECT_TAPS = 512


def _array(x):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"x must be an array, got {type(x).__name__}")
    a = np.asarray(x)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"x must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError("x must have at least one dimension")
    return a


def _axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimensions")
    return axis % ndim


def _rows(a, axis):
    """(float64 (R, L) C-contiguous rows, the moved shape)."""
    m = np.moveaxis(a, axis, -1)
    shp = m.shape
    R = int(np.prod(shp[:-1]))
    return np.ascontiguousarray(m, dtype=np.float64).reshape(R, shp[-1]), shp


def _back(y2, shp, axis, dtype):
    y = np.moveaxis(y2.reshape(shp), -1, axis)
    out_dt = np.float32 if dtype in (np.float32, np.float16) else np.float64
    return np.ascontiguousarray(y).astype(out_dt, copy=False)


def _headroom(x2, factor, top=None):
    """(x2 scaled by a power of two, the factor to undo it) so that sums of
    up to ``factor`` times the largest finite value (``top``, found here
    when not given) cannot overflow (a window of 1e308s averages to 1e308,
    not inf or NaN).  Powers of two scale exactly (values below about
    1e-280 in the same array then lose bits to the subnormal range)."""
    if x2.size == 0:
        return x2, 1.0
    if top is None:
        top = max(abs(float(x2.max())), abs(float(x2.min())))     # two passes, no copy
    if not math.isfinite(top):                  # NaN or inf in the data: mask them
        with np.errstate(invalid="ignore"):
            fin = np.abs(x2[np.isfinite(x2)])
        top = float(fin.max()) if fin.size else 0.0
    if top * factor < 2.0 ** 1000:
        return x2, 1.0
    k = int(math.ceil(math.log2(top) + math.log2(factor))) - 1000
    return x2 * 2.0 ** -k, 2.0 ** k


def _weights(weights, window):
    if isinstance(weights, (str, tuple)):
        from scipy.signal import get_window

        try:
            w = get_window(weights, window, fftbins=False)
        except (ValueError, TypeError) as e:
            raise ValueError(f"weights={weights!r} is not a scipy window: {e}") from None
    else:
        w = np.asarray(weights)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"weights must be real numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if w.shape != (window,):
            raise ValueError(f"weights must have shape ({window},) (one per window position), "
                             f"got {w.shape}")
    if isinstance(weights, (str, tuple)):
        # scipy's windows end in rounding-level negatives (blackman: -1e-17)
        w = np.where(np.abs(w) <= 1e-14 * max(1.0, np.abs(w).max(initial=0.0)), 0.0, w)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and >= 0")
    if not w.sum() > 0:
        raise ValueError(f"weights sum to 0 (a window of {window} points of {weights!r}?)")
    return np.asarray(w, np.float64)


def moving_average(x, window: int, *, weights=None, center: bool = False,
                   min_periods: int | None = None, nan_policy: str = "propagate",
                   axis: int = -1) -> np.ndarray:
    """Moving (rolling) mean along ``axis``, plain or weighted.

    Parameters
    ----------
    x : array_like
        Real data, any number of dimensions.
    window : int
        Values per window (>= 1).  A window longer than the data is allowed
        (pandas' rule): outputs with fewer than ``min_periods`` values are NaN.
    weights : None, 1-D array of ``window`` weights, scipy window name or tuple
        None: the plain mean.  An array: ``weights[0]`` applies to the oldest
        value of the window.  A name (``'triang'``, ``'hann'``, ...) or tuple
        (``('gaussian', 2.0)``): :func:`scipy.signal.get_window` with
        ``fftbins=False``, as pandas' ``rolling(win_type=...)``.  The mean is
        ``sum(w x) / sum(w)`` over the window's non-NaN values.
    center : bool
        Label each window at its centre (pandas: the window for t is
        ``[t - window//2, t + (window-1)//2]`` when ``window`` is even... as
        ``rolling(center=True)``) instead of its last value.
    min_periods : int, optional
        Fewest non-NaN values a window needs (default ``window``; pandas).
    nan_policy : 'propagate' or 'omit'
        'propagate': a NaN in the window gives NaN.  'omit': NaN values are
        skipped (pandas' rolling mean).
    axis : int

    Returns
    -------
    ndarray, same shape as ``x``; float32 for float32/float16 input, else
    float64.

    Notes
    -----
    Plain windows are running sums carried in double-double arithmetic
    (error-free transformations) and recomputed from the window whenever a
    low-order bit would be lost, so values that leave the window leave no
    trace: a window of equal values gives exactly that value, and
    ``[1.927..., 0, 0, 0]`` with window 3 ends in exactly 0 (bottleneck#377
    gives 7.4e-17), a mean of non-negative values is never negative
    (bottleneck#332).  O(1) per output, parallel over rows and segments.
    Weighted windows go through the engine (direct up to
    ``DIRECT_TAPS`` taps), the non-NaN weight through the same correlation.

    Examples
    --------
    >>> import fastconv.stats as fs
    >>> fs.moving_average([1.9272201201869577, 0.0, 0.0, 0.0], 3)
    array([       nan,        nan, 0.64240671, 0.        ])
    """
    a = _array(x)
    ax = _axis(axis, a.ndim)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral):
        raise TypeError(f"window must be an integer, got {window!r}")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    window = int(window)
    if min_periods is None:
        min_periods = window
    if isinstance(min_periods, bool) or not isinstance(min_periods, numbers.Integral):
        raise TypeError(f"min_periods must be an integer, got {min_periods!r}")
    if not 0 <= min_periods <= window:
        raise ValueError(f"min_periods must be in [0, window={window}], got {min_periods}")
    if nan_policy not in ("propagate", "omit"):
        raise ValueError(f"nan_policy must be 'propagate' or 'omit', got {nan_policy!r}")
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be a bool, got {center!r}")
    w = None if weights is None else _weights(weights, window)
    x2, shp = _rows(a, ax)
    off = (window - 1) // 2 if center else 0
    if x2.size == 0:
        return _back(x2, shp, ax, a.dtype.type)
    omit = nan_policy == "omit"
    if w is None:
        y, overflowed = _core.rolling_mean(x2, window, off, min_periods, omit)
        if overflowed:               # sums past the float64 maximum: scale, again
            xs, undo = _headroom(x2, window)
            y, _ = _core.rolling_mean(xs, window, off, min_periods, omit)
            y *= undo
        return _back(y, shp, ax, a.dtype.type)
    if not omit and window <= DIRECT_TAPS:
        y = _weighted_direct(x2, w, off, min_periods)
        if y is not None:
            return _back(y, shp, ax, a.dtype.type)
    # one pass: the largest finite |value| (for the headroom), NaN, infinities
    top, has_nan, has_inf = _core.finite_scan(x2)
    factor = float(w.sum()) / float(w.max()) + 1
    # (the scan's bound settles the common case; near the top of the range
    # the exact maximum decides)
    x2, undo = _headroom(x2, factor, top if top * factor < 2.0 ** 1000 else None)
    isnan = np.isnan(x2) if has_nan else None
    xz = np.where(isnan, 0.0, x2) if has_nan else x2
    method = "direct" if window <= DIRECT_TAPS or has_inf else "auto"
    num = _corr_rows(xz, w, off, method)
    den = _corr_rows((~isnan).astype(np.float64), w, off, method) if has_nan else None
    # the quotients written over the sums when they are one contiguous block
    # (no second output array and its page faults)
    y = _core.weighted_finish(x2, num, den, w, off, max(min_periods, 1), omit,
                              num if num.flags.c_contiguous else None)
    if undo != 1.0:
        y *= undo
    return _back(y, shp, ax, a.dtype.type)


def _weighted_direct(x2, w, off, min_periods):
    """The propagating weighted mean in one direct correlation, or None.

    The weights are scaled to sum to 1, so an interior output is its sum
    as it stands (no division pass over the data) and no partial sum can
    overflow (each is at most max|x| in magnitude, up to rounding); only the
    partial windows at the ends are divided by their weights.  Direct sums
    keep a NaN or an infinity within the windows that hold it, which is
    'propagate' exactly.  One pass over the sums proves them finite: a
    non-finite sum (NaN or infinity in the data, or values within rounding
    of the float64 maximum) sends the call back to the careful path (the
    scan, the headroom, the NaN weights), which repeats the correlation.
    1e7 float64, window 100: 61 -> 47 ms, 26-30 ms on the 1-D vector block
    (``_kernels.simd._block1d``): 0.76x the plain running mean."""
    v = w / w.sum()
    num = _corr_rows(x2, v, off, "direct")
    _, has_nan, has_inf = _core.finite_scan(num)
    if has_nan or has_inf:
        return None
    return _core.weighted_edges(num, v, off, min_periods)


def _corr_rows(x2, w, off, method):
    """sum_j w[j] x[t + off - len(w) + 1 + j] for every t of every row."""
    L = x2.shape[1]
    # (R, L) against (1, w): the kernel's unit axis is a batch axis to the
    # engine (rows of 1-D problems, on the register blocks when long)
    c = _api.correlate(x2, w[None, :], mode="full", method=method)
    return c[:, off:off + L]           # rows contiguous; the kernel takes the view


def ewma(x, alpha: float | None = None, *, com: float | None = None,
         span: float | None = None, halflife: float | None = None, adjust: bool = True,
         ignore_na: bool = False, min_periods: int = 0, axis: int = -1) -> np.ndarray:
    """Exponentially weighted moving average along ``axis``: pandas'
    ``ewm(...).mean()``.

    Exactly one of ``alpha`` (smoothing factor, 0 < alpha <= 1), ``com``
    (alpha = 1/(1+com)), ``span`` (alpha = 2/(span+1), span >= 1) or
    ``halflife`` (alpha = 1 - exp(-ln 2 / halflife)).  ``adjust=True``: the
    weights (1-alpha)^i normalised over the observations so far; False: the
    recursion y_t = (1-alpha) y_{t-1} + alpha x_t.  NaN: skipped, the old
    weights still decaying unless ``ignore_na``.  Outputs with fewer than
    ``min_periods`` observations are NaN.  A run of equal values gives that
    value exactly.  An IIR convolution with the kernel alpha (1-alpha)^i,
    run as its recursion (O(1) per output, rows in parallel).

    Examples
    --------
    >>> import fastconv.stats as fs
    >>> fs.ewma([1.0, 2.0, 3.0], alpha=0.5)
    array([1.        , 1.66666667, 2.42857143])
    """
    a = _array(x)
    ax = _axis(axis, a.ndim)
    given = {k: v for k, v in (("alpha", alpha), ("com", com), ("span", span),
                               ("halflife", halflife)) if v is not None}
    if len(given) != 1:
        raise ValueError(f"give exactly one of alpha, com, span, halflife; got "
                         f"{sorted(given) or 'none'}")
    (name, val), = given.items()
    if isinstance(val, bool) or not isinstance(val, numbers.Real) or not math.isfinite(val):
        raise ValueError(f"{name} must be a finite number, got {val!r}")
    if name == "alpha":
        if not 0 < val <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {val!r}")
        al = float(val)
    elif name == "com":
        if val < 0:
            raise ValueError(f"com must be >= 0, got {val!r}")
        al = 1 / (1 + val)
    elif name == "span":
        if val < 1:
            raise ValueError(f"span must be >= 1, got {val!r}")
        al = 2 / (val + 1)
    else:
        if val <= 0:
            raise ValueError(f"halflife must be > 0, got {val!r}")
        al = 1 - math.exp(-math.log(2) / val)
    if isinstance(min_periods, bool) or not isinstance(min_periods, numbers.Integral) \
            or min_periods < 0:
        raise ValueError(f"min_periods must be an integer >= 0, got {min_periods!r}")
    x2, shp = _rows(a, ax)
    if x2.size == 0:
        return _back(x2, shp, ax, a.dtype.type)
    args = (1.0 - al, bool(adjust), bool(ignore_na), max(int(min_periods), 1))
    y, overflowed = _core.ewm_mean(x2, *args)
    if overflowed:                   # weights x values past the float64 maximum
        xs, undo = _headroom(x2, 2.0 / al + 2)
        y, _ = _core.ewm_mean(xs, *args)
        y *= undo
    return _back(y, shp, ax, a.dtype.type)
