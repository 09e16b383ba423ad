"""NaN-aware and masked convolution (astropy.convolution semantics).

Invalid samples are NaN (and, for complex data, NaN in either part) or
where ``mask`` is true.  Policies:

* ``'propagate'``: plain convolution (masked samples become NaN); NaN
  reaches the outputs whose window contains it (the planner keeps such
  data on the direct method);
* ``'fill'``: invalid samples are replaced by ``cval`` first;
* ``'interpolate'``: each output is the kernel-weighted mean of the *valid*
  samples of its window, ``sum(k * x * v) / sum(k * v)`` (``v`` = 1 where
  valid), times ``sum(k)`` unless ``normalize_kernel`` (then the result is
  the normalised-kernel convolution with the invalid samples interpolated).
  The boundary rule extends ``v`` like the data: ``boundary='constant'``
  with a finite ``cval`` counts the outside as valid samples equal to
  ``cval``; ``cval=nan`` makes the outside invalid (ignored).  An output
  whose window holds no valid sample - or whose valid weights sum to less
  than ``1000 * eps * sum(|k|)``, where round-off would decide the value -
  is NaN.

Both sums come from one engine call on the stacked pair (same plan, one
kernel transform), so every method and output mode gives the same answer
up to its own round-off.  ``preserve_nan=True`` puts NaN back at the
invalid input positions (``mode='same'`` only).
"""
from __future__ import annotations

import numpy as np

from . import _validate as V

POLICIES = ("propagate", "interpolate", "fill")
#: relative weight below which an interpolated output is declared empty
MIN_WEIGHT = 1000.0


def check_policy(nan_policy):
    if nan_policy not in POLICIES:
        raise ValueError(f"nan_policy must be one of {POLICIES}, got {nan_policy!r}")
    return nan_policy


def invalid_of(x, mask):
    """Boolean array of invalid samples (NaN in data or true in mask)."""
    if x.dtype.kind in "fc":
        bad = np.isnan(x)
    else:
        bad = np.zeros(x.shape, dtype=bool)
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype == object:
            raise TypeError("mask must be a boolean or numeric array")
        try:
            m = np.broadcast_to(m.astype(bool), x.shape)
        except ValueError:
            raise ValueError(f"mask of shape {m.shape} does not broadcast to in1's "
                             f"shape {x.shape}") from None
        bad = bad | m
    return bad


def float_dtype(*dts):
    dt = np.result_type(*dts)
    if dt.kind == "c":
        return np.dtype(np.complex128) if dt.itemsize > 8 else np.dtype(np.complex64)
    if dt.kind == "f" and dt.itemsize <= 4 and all(np.dtype(d).kind == "f" for d in dts):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def kernel_sums(k, conv_axes):
    """Sum and sum of |k| over the convolution axes (keepdims)."""
    return (np.sum(k, axis=conv_axes, keepdims=True),
            np.sum(np.abs(k), axis=conv_axes, keepdims=True))


def masked_convolve(x, k, *, mode, method, axes, boundary, cval, accuracy, op,
                    nan_policy, mask, normalize_kernel, preserve_nan, dtype=None,
                    weights=False):
    """The NaN-aware convolution; see the module docstring.

    Returns the result, or ``(result, weight)`` with ``weights=True`` (the
    sum of the valid kernel weights per output, None when every sample is
    valid), which the astropy front end needs for its own thresholds.
    """
    from ._core import convolve_impl

    x = V.as_array(x, "in1")
    k = V.as_array(k, "in2")
    check_policy(nan_policy)
    if not isinstance(normalize_kernel, bool):
        raise TypeError(f"normalize_kernel must be a bool, got {normalize_kernel!r}")
    if not isinstance(preserve_nan, bool):
        raise TypeError(f"preserve_nan must be a bool, got {preserve_nan!r}")
    V.check_operands(x, k)
    ax = V.check_axes(axes, x.ndim)
    cd = np.dtype(dtype) if dtype is not None else float_dtype(x.dtype, k.dtype)
    cval = V.check_cval(cval)
    if preserve_nan and V.check_mode(mode) != "same":
        raise ValueError("preserve_nan=True needs mode='same' (output positions must "
                         "match input positions)")
    bad = invalid_of(x, mask)
    xf = x.astype(cd, copy=False)
    kf = k.astype(cd, copy=False)
    if op == "correlate":
        # correlate = convolve with the kernel reversed (and conjugated)
        kf = np.conj(kf[tuple(slice(None, None, -1) if d in ax else slice(None)
                             for d in range(kf.ndim))])
    ksum, kabs = kernel_sums(kf, ax)
    any_bad = bool(bad.any())
    cval_nan = boundary == "constant" and np.isnan(complex(cval))
    interpolate = nan_policy == "interpolate" and (any_bad or cval_nan)
    if normalize_kernel or interpolate:
        if np.any(np.abs(ksum) <= 1e-8 * np.maximum(kabs, np.finfo(float).tiny)):
            raise ValueError(
                "the kernel sums to (nearly) zero: it cannot be normalized"
                + (" nor used to interpolate NaN (use nan_policy='fill')"
                   if interpolate else " (use normalize_kernel=False)"))
    scale = None if normalize_kernel else ksum
    if not interpolate:
        if any_bad:
            fill = cval if nan_policy == "fill" else np.nan
            xf = np.where(bad, np.asarray(fill).astype(cd), xf)
        y = convolve_impl(xf, kf / ksum if normalize_kernel else kf, mode, method, ax,
                          boundary, cval, None, accuracy, "convolve", dtypes=(cd, cd))
        w = None
    else:
        kn = kf / ksum                    # normalised: weights sum to 1 inside
        valid = (~bad).astype(cd)
        num_in = np.where(bad, np.zeros((), cd), xf)
        if boundary == "constant" and not cval_nan:
            # outside: valid samples equal to cval.  Shift so the engine's
            # zero padding is exact: sum_in k (x - c) + c, sum_in k (v - 1) + 1
            c = np.asarray(cval).astype(cd)
            num_in = num_in - c
            den_in = valid - 1
            shift = (c, 1)
        else:
            den_in = valid
            shift = (0, 0)
        stack = np.stack([num_in, den_in])
        kk = kn[None]
        b = "constant" if boundary == "constant" else boundary
        r = convolve_impl(stack, kk, mode, method, tuple(d + 1 for d in ax), b, 0, None,
                          accuracy, "convolve", dtypes=(cd, cd))
        num = r[0] + shift[0]
        den = (r[1] + shift[1]).real if cd.kind == "c" else r[1] + shift[1]
        tol = MIN_WEIGHT * np.finfo(cd).eps * (kabs / np.abs(ksum)).real
        empty = np.abs(den) <= tol
        with np.errstate(divide="ignore", invalid="ignore"):
            y = num / den
        y[np.broadcast_to(empty, y.shape)] = np.nan
        if scale is not None:
            y = y * scale
        w = den
    if preserve_nan and any_bad:
        y = np.array(y, copy=True) if not y.flags.writeable else y
        y[np.broadcast_to(bad, y.shape)] = np.nan
    return (y, w) if weights else y
