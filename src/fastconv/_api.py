"""Top-level functions: convolve, correlate, plan."""
from __future__ import annotations

from typing import Literal, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .planning.plan import Plan

Mode = Literal["full", "same", "valid"]
Boundary = Literal["constant", "edge", "symmetric", "reflect", "wrap"]
Axes = Union[int, Sequence[int], None]

from . import _validate as V
from . import backends
from ._core import convolve_impl, plan_impl

_COMMON_DOC = """
    Parameters
    ----------
    in1 : array_like
        First input (the signal, image or volume).  Boundary extension applies
        to it.
    in2 : array_like
        Second input (the kernel), with the same number of dimensions as
        `in1`.
    mode : {'full', 'same', 'valid'}, optional
        Output size along the convolution axes: the full linear result
        (``N + K - 1``), the size of `in1` centred like scipy.signal, or only
        the outputs computed without boundary extension (``N - K + 1``; the
        inputs are swapped when `in2` is the larger on every axis).
    method : {'auto', 'direct', 'fft', 'overlap-add', 'overlap-save'}, optional
        Algorithm; 'auto' lets the planner choose (see :func:`fastconv.plan`).
    axes : int or sequence of int, optional
        Convolution axes (default: all).  The other axes are batch axes:
        they must be equal or 1 in one of the inputs and are broadcast.
    boundary : {'constant', 'edge', 'symmetric', 'reflect', 'wrap'}, optional
        How `in1` is extended beyond its edges (numpy.pad's names) for the
        outputs of 'full' and 'same' that need it.  Every method gives the
        same answer for every boundary.
    cval : scalar, optional
        Value outside `in1` for ``boundary='constant'`` (default 0).
    out : ndarray, optional
        Array to write the result into (right shape; the result is cast to
        its dtype with same-kind casting).
    accuracy : {'default', 'high'}, optional
        'high' restricts the planner to the direct method, whose error is
        bounded per output (relative to the sum of ``|x||k|`` over that
        output's window) instead of relative to the norm of the whole input
        as for the FFT methods.  Use it for data with a wide dynamic range.
    nan_policy : {'propagate', 'interpolate', 'fill'}, optional
        Treatment of NaN (and masked) samples of `in1`, with
        astropy.convolution's semantics: 'propagate' (plain convolution),
        'interpolate' (each output is the kernel-weighted mean of the valid
        samples in its window; NaN where there are none) or 'fill' (invalid
        samples replaced by `cval`).  Same answer from every method and mode.
    mask : array_like of bool, optional
        True marks invalid samples of `in1` (treated as NaN); broadcasts to
        `in1`'s shape.
    normalize_kernel : bool, optional
        Divide the kernel by its sum first (an error if it sums to ~0).
    preserve_nan : bool, optional
        Put NaN back at the invalid input positions (``mode='same'`` only).

    Returns
    -------
    ndarray
        Integer and bool inputs give exact int64 results (uint64 when both
        inputs are unsigned); float16 is computed in float32 and returned as
        float16; other dtypes follow numpy's promotion (float32 stays
        float32).

    Raises
    ------
    ValueError
        Bad mode, boundary, method, axes, shapes that do not broadcast, an
        empty convolution axis, or a problem whose memory estimate exceeds
        ``FASTCONV_MAX_MEMORY``.
    TypeError
        Non-numeric inputs, a non-scalar `cval`, an `out` of the wrong type.
"""


def convolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: str = "auto",
             axes: Axes = None, *, boundary: Boundary = "constant", cval: complex = 0,
             out: np.ndarray | None = None, accuracy: Literal["default", "high"] = "default",
             nan_policy: Literal["propagate", "interpolate", "fill"] = "propagate",
             mask: ArrayLike | None = None, normalize_kernel: bool = False,
             preserve_nan: bool = False) -> np.ndarray:
    """N-D convolution along any axes, with boundary modes and a planner.
    {common}
    See Also
    --------
    correlate, plan, fastconv.signal.convolve

    Notes
    -----
    NaN and Inf: with ``method='auto'`` non-finite data take the direct
    method so they only affect the outputs whose window contains them.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> fastconv.convolve([1, 2, 3], [1, 1], mode='same', boundary='edge')
    array([2, 3, 5])
    """
    if backends.any_foreign(in1, in2):         # torch, cupy, jax, array-api arrays
        return _foreign(convolve, in1, in2, mode, method, axes, boundary, cval, out, accuracy,
                        nan_policy, mask, normalize_kernel, preserve_nan)
    if nan_policy != "propagate" or mask is not None or normalize_kernel or preserve_nan:
        return _masked(in1, in2, mode, method, axes, boundary, cval, out, accuracy, "convolve",
                       nan_policy, mask, normalize_kernel, preserve_nan)
    return convolve_impl(in1, in2, mode, method, axes, boundary, cval, out,
                         accuracy, "convolve")


def correlate(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: str = "auto",
              axes: Axes = None, *, boundary: Boundary = "constant", cval: complex = 0,
              out: np.ndarray | None = None, accuracy: Literal["default", "high"] = "default",
              nan_policy: Literal["propagate", "interpolate", "fill"] = "propagate",
              mask: ArrayLike | None = None, normalize_kernel: bool = False,
              preserve_nan: bool = False) -> np.ndarray:
    """N-D cross-correlation: convolution with `in2` reversed and conjugated.
    {common}
    See Also
    --------
    convolve, fastconv.signal.correlate

    Examples
    --------
    >>> import fastconv
    >>> fastconv.correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    if backends.any_foreign(in1, in2):         # torch, cupy, jax, array-api arrays
        return _foreign(correlate, in1, in2, mode, method, axes, boundary, cval, out, accuracy,
                        nan_policy, mask, normalize_kernel, preserve_nan)
    if nan_policy != "propagate" or mask is not None or normalize_kernel or preserve_nan:
        return _masked(in1, in2, mode, method, axes, boundary, cval, out, accuracy, "correlate",
                       nan_policy, mask, normalize_kernel, preserve_nan)
    return convolve_impl(in1, in2, mode, method, axes, boundary, cval, out,
                         accuracy, "correlate")


def _foreign(fn, in1, in2, mode, method, axes, boundary, cval, out, accuracy, nan_policy, mask,
             normalize_kernel, preserve_nan):
    """``fn`` (convolve or correlate) for arrays of other libraries: PyTorch
    CPU tensors through the NumPy engine on shared memory, the rest through
    the namespace engine (which names what it cannot do)."""
    views = backends.cpu_views(in1, in2, out)
    if views is not None:
        return backends.wrap(fn(*views, mode, method, axes, boundary=boundary, cval=cval,
                                accuracy=accuracy, nan_policy=nan_policy, mask=mask,
                                normalize_kernel=normalize_kernel, preserve_nan=preserve_nan))
    return backends.convolve(in1, in2, mode, method, axes, boundary, cval, fn.__name__,
                             out=out, nan_policy=nan_policy, mask=mask,
                             normalize_kernel=normalize_kernel, preserve_nan=preserve_nan,
                             accuracy=accuracy)


def _masked(in1, in2, mode, method, axes, boundary, cval, out, accuracy, op,
            nan_policy, mask, normalize_kernel, preserve_nan):
    from ._nan import masked_convolve

    method = V.check_method(method)
    accuracy = V.check_accuracy(accuracy)
    y = masked_convolve(in1, in2, mode=mode, method=method, axes=axes, boundary=boundary,
                        cval=cval, accuracy=accuracy, op=op, nan_policy=nan_policy,
                        mask=mask, normalize_kernel=normalize_kernel,
                        preserve_nan=preserve_nan)
    if out is not None:
        V.check_out(out, y.shape, y.dtype)
        np.copyto(out, y, casting="unsafe")
        return out
    return y


convolve.__doc__ = convolve.__doc__.replace("{common}", _COMMON_DOC)
correlate.__doc__ = correlate.__doc__.replace("{common}", _COMMON_DOC)


def plan(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: str = "auto",
         axes: Axes = None, *, boundary: Boundary = "constant", cval: complex = 0,
         op: Literal["convolve", "correlate"] = "convolve",
         accuracy: Literal["default", "high"] = "default", measure: bool = False) -> Plan:
    """Choose an algorithm for a problem and return a reusable Plan.

    Parameters
    ----------
    in1, in2, mode, method, axes, boundary, cval, accuracy
        As for :func:`convolve`.  The arrays' shapes and dtypes define the
        problem; for integer data their values decide whether an FFT path
        is provably exact.
    op : {'convolve', 'correlate'}, optional
    measure : bool, optional
        Time every admissible candidate on these arrays (a few runs each),
        choose the fastest and keep the choice as wisdom for problems of the
        same bucketed shape (see ``FASTCONV_WISDOM_DIR``).

    Returns
    -------
    Plan
        ``p.method``, ``p.explain()``, and ``p(in1, in2, out=None)``.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.random.default_rng(0).standard_normal(10_000)
    >>> p = fastconv.plan(x, np.ones(5))
    >>> p.method
    'direct'
    >>> np.allclose(p(x, np.ones(5)), np.convolve(x, np.ones(5)))
    True
    """
    if backends.any_foreign(in1, in2):          # the namespace engine's plan
        return backends.plan(in1, in2, mode, method, axes, boundary, cval, op)
    return plan_impl(in1, in2, mode, method, axes, boundary, cval, op, accuracy, measure)
