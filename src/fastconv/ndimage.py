"""Drop-in replacements for scipy.ndimage's convolution filters.

``convolve``, ``correlate``, ``convolve1d`` and ``correlate1d`` with
scipy.ndimage's signatures, every mode ('reflect', 'constant', 'nearest',
'mirror', 'wrap', 'grid-constant', 'grid-mirror', 'grid-wrap'), ``cval``,
``origin``, ``output`` and ``axes``.  The output has the input's shape; the
work goes through fastconv's planner.

Precision: float32 (and float16) input with real weights is computed in
float32; everything else in float64 (complex128 for complex data), as scipy
does; integer input with integer weights is summed exactly in int64.
Integer outputs use the direct method (no FFT round-off before the
truncation toward zero that scipy's C cast does) and wrap like it.
"""
from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from . import backends
from ._core import convolve_impl

__all__ = ["convolve", "correlate", "convolve1d", "correlate1d"]

# ndimage mode -> numpy.pad mode (for these filters the grid-* modes coincide)
_MODES = {
    "reflect": "symmetric", "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap", "grid-wrap": "wrap",
    "constant": "constant", "grid-constant": "constant",
}


def _check_mode(mode):
    if not isinstance(mode, str):
        raise RuntimeError("A sequence of modes is not supported")
    if mode not in _MODES:
        raise RuntimeError(f"boundary mode not supported: {mode!r}; expected one "
                           f"of {sorted(_MODES)}")
    return _MODES[mode]


def _output_dtype(output, input, complex_out):
    """Result dtype from ``output`` (None, a dtype or an array), with scipy's
    rules: a dtype object or class is promoted to complex (with a warning)
    when the result is complex; a dtype string or an array must be complex
    already (RuntimeError)."""
    if output is None:
        dt = input.dtype
        return np.promote_types(dt, np.complex64) if complex_out else dt
    if isinstance(output, np.ndarray):
        dt = output.dtype
    elif isinstance(output, (type, np.dtype)):
        try:
            dt = np.dtype(output)
        except TypeError as exc:
            raise TypeError(f"output must be None, a dtype or an ndarray, got "
                            f"{output!r}") from exc
        if complex_out and dt.kind != "c":
            warnings.warn("promoting specified output dtype to complex", UserWarning,
                          stacklevel=4)
            dt = np.promote_types(dt, np.complex64)
    else:
        try:
            dt = np.dtype(output)
        except TypeError as exc:
            raise TypeError(f"output must be None, a dtype or an ndarray, got "
                            f"{output!r}") from exc
        if dt.kind not in "biufc":
            raise RuntimeError("output must have numeric dtype")
    if complex_out and dt.kind != "c":
        raise RuntimeError("output must have complex dtype")
    return dt


class _Job:
    """A validated ndimage filter: what ``_filter`` computes, in pieces that
    a blocked front end (``fastconv.dask.ndimage``) reuses per block."""

    __slots__ = ("ax", "origins", "pad_mode", "cval", "out_dt", "cd", "wf", "accuracy",
                 "pads")


def _setup(input, weights, output, mode, cval, origin, axes, convolution):
    """Validate (scipy's errors) and decide dtypes, weights and padding."""
    x = V.as_array(input, "input")
    w = V.as_array(weights, "weights")
    pad_mode = _check_mode(mode)
    V.check_cval(cval)
    if x.dtype.kind != "c" and complex(cval).imag != 0:
        raise ValueError(f"cval={cval!r} is complex but input is real (scipy refuses "
                         f"a complex cval with a real image)")
    ax = V.check_axes(axes, x.ndim) if x.ndim else ()
    # the axes in the order given: origins follow it (the weights' dimensions
    # follow the array's axis order, as in scipy)
    given = ax if axes is None or np.isscalar(axes) else \
        tuple(operator.index(a) % x.ndim for a in axes)
    perm = sorted(range(len(given)), key=lambda i: given[i])
    complex_out = x.dtype.kind == "c" or w.dtype.kind == "c"
    out_dt = _output_dtype(output, x, complex_out)
    # weights may carry size-1 axes for the non-filtered dimensions
    if w.ndim == x.ndim and len(ax) < x.ndim:
        if any(w.shape[d] != 1 for d in range(x.ndim) if d not in ax):
            raise RuntimeError(f"weights.ndim ({w.ndim}) must match len(axes) ({len(ax)})")
        w = w.reshape([w.shape[d] for d in ax])
    if w.ndim != len(ax):
        raise RuntimeError(f"weights.ndim ({w.ndim}) must match len(axes) ({len(ax)})")
    if w.size == 0:
        raise RuntimeError("no filter weights given")
    if np.ndim(origin) == 0:
        origins = [operator.index(origin)] * len(ax)
    else:
        origins = [operator.index(o) for o in origin]
        if len(origins) != len(ax):
            raise RuntimeError("sequence argument must have length equal to input rank")
        origins = [origins[i] for i in perm]
    if convolution:
        w = w[(slice(None, None, -1),) * w.ndim]
        origins = [-o - (1 - (L & 1)) for o, L in zip(origins, w.shape)]
        if w.dtype.kind == "c":   # correlate below conjugates; undo it
            w = np.conj(w)
    for o, L in zip(origins, w.shape):
        if o < -(L // 2) or o > (L - 1) // 2:
            raise ValueError("Invalid origin; origin must satisfy "
                             "-(weights.shape[k] // 2) <= origin[k] <= "
                             "(weights.shape[k]-1) // 2")
    if x.dtype.kind in "biu" and w.dtype.kind in "biu":
        cd = np.dtype(np.int64)     # exact; wraps on output like scipy's cast
    elif complex_out:
        cd = np.dtype(np.complex128)
    elif x.dtype in (np.float32, np.float16) and w.dtype.kind != "c":
        cd = np.dtype(np.float32)
    else:
        cd = np.dtype(np.float64)
    job = _Job()
    job.ax, job.origins, job.pad_mode, job.cval = ax, origins, pad_mode, cval
    job.out_dt, job.cd = out_dt, cd
    # expand weights to full rank for the engine (size-1 on non-filtered axes)
    wshape = [1] * x.ndim
    for d, L in zip(ax, w.shape):
        wshape[d] = L
    job.wf = w.astype(cd, copy=False).reshape(wshape)
    # integer outputs truncate: keep sums exact-as-direct (no FFT round-off)
    job.accuracy = "high" if out_dt.kind in "biu" else "default"
    job.pads = [(0, 0)] * x.ndim
    for d, o, L in zip(ax, origins, w.shape):
        before = L // 2 + o
        job.pads[d] = (before, L - 1 - before)
    return x, job


def _valid(xp, job):
    """The filter's result from the input already extended by ``job.pads``."""
    y = convolve_impl(xp.astype(job.cd, copy=False), job.wf, "valid", "auto", job.ax,
                      "constant", 0, None, job.accuracy, "correlate",
                      dtypes=(job.cd, job.cd))
    return _deliver(y, None, job.out_dt)


def _filter(input, weights, output, mode, cval, origin, axes, convolution):
    x, job = _setup(input, weights, output, mode, cval, origin, axes, convolution)
    cd, out_dt, pad_mode = job.cd, job.out_dt, job.pad_mode
    if x.size == 0:
        return _deliver(np.zeros(x.shape, out_dt), output)
    xc = x.astype(cd, copy=False)
    if all(o == 0 for o in job.origins):
        # the engine's correlate 'same' centres a length-L kernel at L // 2,
        # as ndimage does with origin 0: the boundary rule is applied by the
        # engine (virtually where the method can)
        y = convolve_impl(xc, job.wf, "same", "auto", job.ax, pad_mode, cval, None,
                          job.accuracy, "correlate", dtypes=(cd, cd))
        return _deliver(y, output, out_dt)
    if pad_mode == "constant":
        xp = np.pad(xc, job.pads, mode="constant", constant_values=np.asarray(cval).astype(cd))
    else:
        xp = np.pad(xc, job.pads, mode=pad_mode)
    return _deliver(_valid(xp, job), output, out_dt)


def _deliver(y, output, out_dt=None):
    if isinstance(output, np.ndarray):
        if output.shape != y.shape:
            raise RuntimeError("output shape not correct")
        output[...] = y.astype(output.dtype, copy=False) if output.dtype.kind in "iu" \
            else y
        return output
    if out_dt is not None and y.dtype != out_dt:
        if out_dt.kind in "iu" and y.dtype.kind == "c":
            y = y.real
        return y.astype(out_dt)
    return y


def _ns_filter(flip):
    """The namespace engine's ndimage.correlate / convolve (real floats)."""
    def via(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
        from .backends import namespace

        if output is not None:
            raise TypeError("output= is not available for arrays other than NumPy's; use the "
                            "returned array")
        return namespace.ndimage_correlate(input, weights, _check_mode(mode), cval, origin,
                                           axes, flip)
    return via


@backends.accepts_arrays(via=_ns_filter(False))
def correlate(input: ArrayLike, weights: ArrayLike, output: Any = None, mode: Any = "reflect",
              cval: complex = 0.0, origin: Any = 0, *, axes: Any = None) -> np.ndarray:
    """Multidimensional correlation (scipy.ndimage.correlate semantics).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.correlate(np.arange(5.), [1, 2, 3])
    array([ 3.,  8., 14., 20., 23.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, False)


@backends.accepts_arrays(via=_ns_filter(True))
def convolve(input: ArrayLike, weights: ArrayLike, output: Any = None, mode: Any = "reflect",
             cval: complex = 0.0, origin: Any = 0, *, axes: Any = None) -> np.ndarray:
    """Multidimensional convolution (scipy.ndimage.convolve semantics).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.convolve(np.arange(5.), [1, 2, 3])
    array([ 1.,  4., 10., 16., 21.])
    """
    return _filter(input, weights, output, mode, cval, origin, axes, True)


def _one_d(input, weights, axis, output, mode, cval, origin, convolution):
    x = V.as_array(input, "input")
    w = V.as_array(weights, "weights")
    ax = _one_d_axis(x, w, axis, cval)
    return _filter(x, w, output, mode, cval, origin, ax, convolution)


def _one_d_axis(x, w, axis, cval):
    """scipy's checks of a 1-D filter's arguments; the axis, normalised."""
    V.check_cval(cval)
    if x.dtype.kind != "c" and complex(cval).imag != 0:
        raise ValueError(f"cval={cval!r} is complex but input is real (scipy refuses "
                         f"a complex cval with a real image)")
    if w.ndim != 1:
        raise RuntimeError("no filter weights given" if w.size == 0
                           else "weights must be one-dimensional")
    if w.size == 0:
        raise RuntimeError("no filter weights given")
    if x.ndim == 0:
        raise ValueError("input must have at least one dimension")
    return V.check_axes(axis, x.ndim, "axis")


def _ns_one_d(flip):
    """The namespace engine's ndimage.correlate1d / convolve1d (real floats)."""
    def via(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
        from .backends import layers as NL
        from .backends import namespace

        if output is not None:
            raise TypeError("output= is not available for arrays other than NumPy's; use the "
                            "returned array")
        xp = namespace.namespace(input, weights)
        name = "convolve1d" if flip else "correlate1d"
        ax = _one_d_axis(NL.shadow(xp, input, "input", name),
                         NL.shadow(xp, weights, "weights", name), axis, cval)
        return namespace.ndimage_correlate(input, weights, _check_mode(mode), cval,
                                           [operator.index(origin)], ax, flip)
    return via


@backends.accepts_arrays(via=_ns_one_d(False))
def correlate1d(input: ArrayLike, weights: ArrayLike, axis: int = -1, output: Any = None,
                mode: str = "reflect", cval: complex = 0.0, origin: int = 0) -> np.ndarray:
    """1-D correlation along one axis (scipy.ndimage.correlate1d semantics).

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    return _one_d(input, weights, axis, output, mode, cval, origin, False)


@backends.accepts_arrays(via=_ns_one_d(True))
def convolve1d(input: ArrayLike, weights: ArrayLike, axis: int = -1, output: Any = None,
               mode: str = "reflect", cval: complex = 0.0, origin: int = 0) -> np.ndarray:
    """1-D convolution along one axis (scipy.ndimage.convolve1d semantics).

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    return _one_d(input, weights, axis, output, mode, cval, origin, True)
