"""Normalisers: one clear error each, canonical values out.

Everything a public function accepts is checked here, once; the planner,
algorithms and kernels trust what they get.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

MODES = ("full", "same", "valid")
# numpy.pad's vocabulary
BOUNDARIES = ("constant", "edge", "symmetric", "reflect", "wrap")
METHODS = ("auto", "direct", "fft", "overlap-add", "overlap-save", "hybrid", "separable")
_METHOD_ALIASES = {"oa": "overlap-add", "oaconvolve": "overlap-add",
                   "os": "overlap-save", "overlap_add": "overlap-add",
                   "overlap_save": "overlap-save"}
ACCURACIES = ("default", "high")


def as_array(a, name: str) -> np.ndarray:
    """Return ``a`` as an ndarray of a numeric (or bool) dtype."""
    if hasattr(a, "__cuda_array_interface__"):
        raise TypeError(f"{name} is a GPU array; fastconv runs on the CPU and "
                        f"needs a NumPy array (use .get() or cupy.asnumpy)")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists etc.
        raise TypeError(f"{name} must be array-like, got {type(a).__name__}: "
                        f"{exc}") from exc
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must have a numeric or bool dtype, got "
                        f"dtype {arr.dtype!s}")
    return arr


def check_mode(mode) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def check_boundary(boundary) -> str:
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    return boundary


def check_method(method) -> str:
    if isinstance(method, str):
        method = _METHOD_ALIASES.get(method, method)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def check_accuracy(accuracy) -> str:
    if not isinstance(accuracy, str) or accuracy not in ACCURACIES:
        raise ValueError(f"accuracy must be one of {ACCURACIES}, got {accuracy!r}")
    return accuracy


def check_axes(axes, ndim: int, name: str = "axes") -> tuple:
    """Canonical sorted tuple of distinct non-negative axes (None = all)."""
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes) and not isinstance(axes, str):
        axes = (axes,)
    try:
        axes = tuple(operator.index(a) for a in axes)
    except TypeError as exc:
        raise TypeError(f"{name} must be an int or a sequence of ints, got "
                        f"{axes!r}") from exc
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name} contains {a}, out of range for arrays "
                             f"with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat an axis, got {axes!r}")
    if not out:
        raise ValueError(f"{name} must name at least one axis, got {axes!r}")
    return tuple(sorted(out))


def check_operands(a, b) -> None:
    """in1 and in2: the same number of dimensions, at least one."""
    if a.ndim != b.ndim:
        raise ValueError(f"in1 and in2 must have the same number of dimensions, "
                         f"got {a.ndim} and {b.ndim}")
    if a.ndim == 0:
        raise ValueError("in1 and in2 must have at least one dimension, got 0-d arrays")


def check_conv_lengths(arrays, axes) -> None:
    """Every (name, array) has a non-zero length along every convolution axis."""
    for name, arr in arrays:
        for d in axes:
            if arr.shape[d] == 0:
                raise ValueError(f"{name} has length 0 along convolution axis {d}; "
                                 f"convolution with an empty array is not defined")


def check_cval(cval, name: str = "cval"):
    if isinstance(cval, (str, bytes)) or np.ndim(cval) != 0:
        raise TypeError(f"{name} must be a scalar, got {cval!r}")
    try:
        complex(cval)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number, got {cval!r}") from exc
    return cval


def check_int_cval(cval, dtype, name="cval"):
    """A boundary value for integer data: an integer that ``dtype`` holds."""
    v = complex(cval)
    if v.imag != 0 or not np.isfinite(v.real) or v.real != int(v.real):
        raise ValueError(f"{name}={cval!r} is not an integer, but in1/in2 are "
                         f"integers (computed exactly as {np.dtype(dtype)}); pass float "
                         f"arrays")
    info = np.iinfo(dtype)
    if not info.min <= int(v.real) <= info.max:
        raise ValueError(f"{name}={cval!r} is out of range for the exact integer "
                         f"result dtype {np.dtype(dtype)} ({info.min}..{info.max})")
    return int(v.real)


# ---------------------------------------------------------------- dtype policy
@functools.lru_cache(maxsize=64)
def dtype_policy(dt1: np.dtype, dt2: np.dtype):
    """Return ``(compute_dtype, result_dtype)`` for the top-level API.

    * bool and integer inputs: accumulated exactly in 64 bits (int64, or
      uint64 when both inputs are unsigned) and returned in that dtype;
    * float16 is computed in float32 and returned as float16;
    * float32 stays float32, float64 stays float64 (numpy promotion rules
      decide mixed inputs), complex64/complex128 likewise.
    """
    kinds = {dt1.kind, dt2.kind}
    if kinds <= {"b", "i", "u"}:
        if kinds <= {"b", "u"} and "u" in kinds:
            dt = np.dtype(np.uint64)
        else:
            dt = np.dtype(np.int64)
        return dt, dt
    res = np.result_type(dt1, dt2)
    if res == np.float16:
        return np.dtype(np.float32), res
    if res.kind == "f" and res.itemsize > 8:  # longdouble: compute in float64
        return np.dtype(np.float64), res
    if res.kind == "c" and res.itemsize > 16:
        return np.dtype(np.complex128), res
    return res, res


def check_out(out, shape, dtype, name="out"):
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} has shape {out.shape}, expected {tuple(shape)}")
    if not np.can_cast(dtype, out.dtype, casting="same_kind"):
        raise TypeError(f"{name} has dtype {out.dtype}, cannot hold results of "
                        f"dtype {np.dtype(dtype)} (same_kind casting)")
    return out


def check_positive(value, name):
    """A positive, finite number as float (TypeError / ValueError naming it)."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v
