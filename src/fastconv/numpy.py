"""numpy.convolve / numpy.correlate drop-ins on fastconv's planner.

Same signatures, defaults, result dtypes and shapes as numpy's (``'same'``
has ``max(len(a), len(v))`` samples; integer results wrap at the result
dtype like numpy's, computed exactly in a 64-bit accumulator first), and
numpy's errors for empty and multi-dimensional inputs.  The work goes
through :func:`fastconv.convolve`'s engine, so long inputs take an FFT or
overlap-add path where numpy would take O(N x K) time.

Examples
--------
>>> from fastconv import numpy as fnp
>>> fnp.convolve([1, 2, 3], [0, 1, 0.5])
array([0. , 1. , 2.5, 4. , 1.5])
>>> fnp.correlate([1, 2, 3], [0, 1, 0.5])
array([3.5])
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from . import backends
from ._core import convolve_impl

__all__ = ["convolve", "correlate"]

_MODES = {"valid": 0, "same": 1, "full": 2}


def _mode(mode):
    if isinstance(mode, (int, np.integer)) and not isinstance(mode, bool):
        if mode in (0, 1, 2):
            return int(mode)
    elif not isinstance(mode, str):
        raise TypeError(f"mode must be a str ('valid', 'same' or 'full') or 0/1/2, "
                        f"got {mode!r}")
    elif mode in _MODES:
        return _MODES[mode]
    raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")


def _operands(a, v):
    a = np.array(a, ndmin=1, copy=None)
    v = np.array(v, ndmin=1, copy=None)
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("object too deep for desired array")
    if a.size == 0:
        raise ValueError("a cannot be empty")
    if v.size == 0:
        raise ValueError("v cannot be empty")
    if a.dtype.kind != "O" and v.dtype.kind != "O":
        V.as_array(a, "a")
        V.as_array(v, "v")
    return a, v


def _object_full(a, v):
    """Object arrays (Fractions, Decimals, ...): exact shifted sums in the
    elements' own arithmetic, as numpy does for them."""
    y = np.empty(a.size + v.size - 1, dtype=object)
    y[...] = 0
    for j in range(v.size):
        y[j:j + a.size] = y[j:j + a.size] + v[j] * a
    return y


def _run(a, v, mode):
    if a.dtype.kind == "O" or v.dtype.kind == "O":
        full = _object_full(a.astype(object), v.astype(object))
        n, L = min(a.size, v.size), max(a.size, v.size)
        return full if mode == 2 else full[(n - 1) // 2:(n - 1) // 2 + L] if mode == 1 \
            else full[n - 1:L]
    rd = np.result_type(a, v)
    cd = V.dtype_policy(a.dtype, v.dtype)[0] if rd.kind in "biu" else V.dtype_policy(rd, rd)[0]
    full = convolve_impl(a, v, "full", "auto", None, "constant", 0, None, "default",
                         "convolve", dtypes=(cd, rd))
    n, L = min(a.size, v.size), max(a.size, v.size)
    if mode == 2:
        return full
    if mode == 1:
        s = (n - 1) // 2
        return full[s:s + L]
    return full[n - 1:L]


def _ns_operands(a, v):
    from .backends.namespace import namespace

    xp = namespace(a, v)
    a = xp.reshape(a, (-1,)) if a.ndim == 0 else a
    v = xp.reshape(v, (-1,)) if v.ndim == 0 else v
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("object too deep for desired array")
    if a.shape[0] == 0:
        raise ValueError("a cannot be empty")
    if v.shape[0] == 0:
        raise ValueError("v cannot be empty")
    return xp, a, v


def _ns_run(a, v, mode, op="convolve"):
    """numpy's slicing of the full result, on the namespace engine (its
    dtype rules: float32 stays float32, integers exact in int64)."""
    from . import backends

    full = backends.convolve(a, v, "full", "auto", None, "constant", 0, op)
    n, L = min(a.shape[0], v.shape[0]), max(a.shape[0], v.shape[0])
    if mode == 2:
        return full
    s = (n - 1) // 2 if mode == 1 else n - 1
    return full[s:s + L] if mode == 1 else full[s:L]


def _ns_convolve(a, v, mode="full"):
    _, a, v = _ns_operands(a, v)
    return _ns_run(a, v, _mode(mode))


def _ns_correlate(a, v, mode="valid"):
    xp, a, v = _ns_operands(a, v)
    m = _mode(mode)
    if m == 1 and v.shape[0] > a.shape[0]:
        # numpy centres 'same' on the longer input: swap, then mirror
        r = xp.flip(_ns_run(v, a, 1, "correlate"), axis=0)
        return xp.conj(r) if xp.isdtype(r.dtype, "complex floating") else r
    return _ns_run(a, v, m, "correlate")


@backends.accepts_arrays(via=_ns_convolve)
def convolve(a: ArrayLike, v: ArrayLike, mode: str | int = "full") -> np.ndarray:
    """Discrete linear convolution of two 1-D sequences (numpy.convolve)."""
    a, v = _operands(a, v)
    return _run(a, v, _mode(mode))


@backends.accepts_arrays(via=_ns_correlate)
def correlate(a: ArrayLike, v: ArrayLike, mode: str | int = "valid") -> np.ndarray:
    """Cross-correlation of two 1-D sequences (numpy.correlate):
    ``c[k] = sum_n a[n + k] * conj(v[n])``."""
    a, v = _operands(a, v)
    m = _mode(mode)
    w = v[::-1]
    if w.dtype.kind in "cO":
        w = np.conj(w)
    if m == 1 and v.size > a.size:
        # numpy centres 'same' on the longer input: swap, then mirror
        w2 = a[::-1]
        r = _run(v, np.conj(w2) if w2.dtype.kind == "c" else w2, 1)[::-1]
        return np.conj(r) if r.dtype.kind == "c" else r
    return _run(a, w, m)
