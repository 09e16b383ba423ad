"""Drop-in replacements for astropy.convolution's ``convolve`` and ``convolve_fft``.

Same signatures and results as astropy (which is not needed to use them),
computed by fastconv's engine: any method, all cores, N-D arrays.  Both
functions are true convolutions with the kernel centred at ``shape // 2``
and share the NaN treatment of :mod:`fastconv._nan`.

Where astropy's two functions disagree, each drop-in matches its own
original (astropy#16497 and related):

=============================  ============================  ==============================
behaviour                      ``convolve``                  ``convolve_fft``
=============================  ============================  ==============================
kernel sizes                   odd only (else KernelSizeError) any (even: centre at K//2)
boundary                       None, 'fill', 'extend', 'wrap'  'fill', 'wrap' (None = 'fill'
                                                             with a warning)
Inf in the array               data (spreads as Inf)         treated like NaN
window without valid samples   NaN (and a warning)           0.0 (``min_wt=0``), or NaN
                                                             below ``min_wt``
NaN in the kernel              propagates                    replaced by 0
result dtype                   input's float dtype, else      float64
                               float64
=============================  ============================  ==============================

Not supported: astropy ``Kernel`` objects are accepted through their
``.array`` (no Kernel is returned), quantities/NDData are not; the
``convolve_fft`` options that only tune astropy's own FFT (``fft_pad``,
``psf_pad``, ``fftn``, ``ifftn``, ``complex_dtype``, ``dealias``,
``allow_huge``, ``return_fft``) are accepted and ignored except that
``return_fft=True`` raises.  Arrays of any dimension work (astropy: 1-3).
"""
from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

from ._nan import masked_convolve

__all__ = ["convolve", "convolve_fft", "KernelSizeError"]

MAX_NORMALIZATION = 100


class KernelSizeError(ValueError):
    """A kernel with an even axis given to ``convolve`` (astropy's error)."""


try:                                   # astropy's own warning class, when it is there
    from astropy.utils.exceptions import AstropyUserWarning as _WarningBase
except ImportError:                    # pragma: no cover - astropy not installed
    _WarningBase = UserWarning


class ConvolutionWarning(_WarningBase):
    """NaN left in an interpolated result (an AstropyUserWarning, as astropy's)."""


def _with_unit(func):
    """astropy Quantity in, Quantity out: the array's unit rides on the result
    (as astropy's functions do); the computation sees plain values."""
    import functools

    @functools.wraps(func)
    def call(array, kernel, *args, **kwargs):
        unit = getattr(array, "unit", None)
        if unit is None:
            return func(array, kernel, *args, **kwargs)
        y = func(getattr(array, "value", array), kernel, *args, **kwargs)
        return y << unit
    return call


_BOUNDARIES = {"fill": "constant", "extend": "edge", "wrap": "wrap"}


def _array_and_mask(array, mask):
    if np.ma.isMaskedArray(array):
        m = np.ma.getmaskarray(array)
        data = np.ma.getdata(array)
        mask = m if mask is None else (np.asarray(mask, dtype=bool) | m)
        return np.asarray(data), mask
    return np.asarray(array), mask


def _kernel(kernel):
    if np.ma.is_masked(kernel):
        raise ValueError("The kernel is a masked array with masked values. Use "
                         "kernel.filled(fill_value) to fill masked values before "
                         "passing to convolve.")
    if hasattr(kernel, "array") and not isinstance(kernel, np.ndarray):
        kernel = kernel.array           # astropy Kernel objects
    return np.asarray(np.ma.getdata(kernel), dtype=np.float64)


def _check_normalizable(k, tol, interpolate):
    s = k.sum()
    if s < 1.0 / MAX_NORMALIZATION or np.isclose(s, 0, atol=tol):
        if interpolate:
            raise ValueError("Setting nan_treatment='interpolate' requires the kernel to "
                             "be normalized, but the input kernel has a sum close to "
                             "zero. For a zero-sum kernel and data with NaNs, set "
                             "nan_treatment='fill'.")
        raise ValueError("The kernel can't be normalized, because its sum is close to "
                         f"zero. The sum of the given kernel is < {1.0 / MAX_NORMALIZATION:.2f}. "
                         "For a zero-sum kernel, set normalize_kernel=False or pass a "
                         "custom normalization function to normalize_kernel.")


@_with_unit
def convolve(array: ArrayLike, kernel: Any, boundary: Optional[str] = "fill",
             fill_value: float = 0.0, nan_treatment: str = "interpolate",
             normalize_kernel: Any = True, mask: Optional[ArrayLike] = None,
             preserve_nan: bool = False, normalization_zero_tol: float = 1e-8) -> Any:
    """astropy.convolution.convolve, on fastconv's engine.

    Examples
    --------
    >>> from fastconv.astropy import convolve
    >>> convolve([1, float('nan'), 3], [1, 1, 1])          # outside: valid zeros
    array([0.5, 2. , 1.5])
    >>> convolve([1, float('nan'), 3], [1, 1, 1], boundary='extend')
    array([1., 2., 3.])
    """
    if boundary not in (None, "fill", "extend", "wrap"):
        raise ValueError("Invalid boundary option: must be one of "
                         "[None, 'fill', 'wrap', 'extend']")
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    data, mask = _array_and_mask(array, mask)
    in_dtype = data.dtype
    if data.dtype.kind not in "biuf":
        raise TypeError(f"array must be real numeric, got dtype {data.dtype}")
    x = data.astype(np.float64)
    k = _kernel(kernel)
    if x.ndim == 0:
        raise ValueError("cannot convolve 0-dimensional arrays")
    if x.ndim > 3:
        # astropy's convolve stops at 3-D (drop-in parity; fastconv.convolve
        # with nan_policy='interpolate' handles any number of dimensions)
        raise NotImplementedError("convolve only supports 1, 2, and 3-dimensional "
                                  "arrays at this time")
    if x.ndim != k.ndim:
        raise ValueError("array and kernel have differing number of dimensions.")
    if x.size == 0:
        raise ValueError("cannot convolve empty array")
    if any(s % 2 == 0 for s in k.shape):
        raise KernelSizeError("Kernel size must be odd in all axes.")
    half = [s // 2 for s in k.shape]
    if boundary is None and not all(n > 2 * h for n, h in zip(x.shape, half)):
        raise KernelSizeError("for boundary=None all kernel axes must be smaller than "
                              "array's - use boundary in ['fill', 'extend', 'wrap'] instead.")
    bad = np.isnan(x) if mask is None else (np.isnan(x) | np.asarray(mask, dtype=bool))
    fill_nan = boundary == "fill" and np.isnan(fill_value)
    interpolate = nan_treatment == "interpolate" and (fill_nan or bool(bad.any()))
    if normalize_kernel or interpolate:
        _check_normalizable(k, normalization_zero_tol, interpolate)
    policy = "interpolate" if nan_treatment == "interpolate" else "fill"
    common = dict(method="auto", axes=None, accuracy="default", op="convolve",
                  nan_policy=policy, mask=mask, normalize_kernel=bool(normalize_kernel),
                  preserve_nan=False, dtype=np.float64)
    if policy == "fill":
        # NaNs become fill_value; the boundary has its own rule
        x = np.where(bad, fill_value, x)
        common["mask"] = None
    if boundary is None:
        core = masked_convolve(x, k, mode="valid", boundary="constant", cval=0, **common)
        y = np.zeros(x.shape)
        y[tuple(slice(h, n - h) for h, n in zip(half, x.shape))] = core
    else:
        y = masked_convolve(x, k, mode="same", boundary=_BOUNDARIES[boundary],
                            cval=fill_value if boundary == "fill" else 0, **common)
    if interpolate and not preserve_nan and np.isnan(y.sum()):
        warnings.warn("nan_treatment='interpolate', however, NaN values detected post "
                      "convolution. A contiguous region of NaN values, larger than the "
                      "kernel size, are present in the input array. Increase the kernel "
                      "size to avoid this.", ConvolutionWarning, stacklevel=2)
    if preserve_nan:
        y[bad] = np.nan
    return y.astype(in_dtype, copy=False) if in_dtype.kind == "f" else y


@_with_unit
def convolve_fft(array: ArrayLike, kernel: Any, boundary: Optional[str] = "fill",
                 fill_value: float = 0.0, nan_treatment: str = "interpolate",
                 normalize_kernel: Any = True, normalization_zero_tol: float = 1e-8,
                 preserve_nan: bool = False, mask: Optional[ArrayLike] = None,
                 crop: bool = True, return_fft: bool = False, fft_pad: Optional[bool] = None,
                 psf_pad: Optional[bool] = None, min_wt: float = 0.0,
                 allow_huge: bool = False, fftn: Any = None, ifftn: Any = None,
                 complex_dtype: Any = complex, dealias: bool = False) -> Any:
    """astropy.convolution.convolve_fft, on fastconv's engine (any method).

    ``crop=False`` is not supported (it exposes astropy's padded FFT grid).

    Examples
    --------
    >>> from fastconv.astropy import convolve_fft
    >>> convolve_fft([1, float('nan'), 3], [1, 1, 1])
    array([0.5, 2. , 1.5])
    """
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    if return_fft:
        raise ValueError("return_fft=True is not supported: fastconv does not expose "
                         "its transforms")
    if not crop:
        raise ValueError("crop=False is not supported (astropy's padded FFT grid)")
    if boundary == "extend":
        # astropy.convolution.convolve_fft raises this same error type: drop-in parity
        raise NotImplementedError("The 'extend' option is not implemented for fft-based "
                                  "convolution")
    if boundary not in (None, "fill", "wrap"):
        raise ValueError(f"boundary must be None, 'fill' or 'wrap', got {boundary!r}")
    if boundary is None:
        warnings.warn("The convolve_fft version of boundary=None is equivalent to the "
                      "convolve boundary='fill'.  There is no FFT equivalent to "
                      "convolve's zero-if-kernel-leaves-boundary", ConvolutionWarning,
                      stacklevel=2)
        boundary = "fill"
    if boundary == "wrap":
        for name, val in (("psf_pad", psf_pad), ("fft_pad", fft_pad), ("dealias", dealias)):
            if val:
                raise ValueError(f"With boundary='wrap', {name} cannot be enabled.")
        # (fill_value still fills NaNs under nan_treatment='fill'; the border wraps)
    elif np.isnan(fill_value) and nan_treatment == "fill":
        # astropy's FFT grid counts a NaN border as zeros with full weight
        # (its weights are re-set to 1 outside the image)
        fill_value = 0
    data, mask = _array_and_mask(array, mask)
    if data.dtype.kind not in "biufc":
        raise TypeError(f"array must be numeric, got dtype {data.dtype}")
    x = data.astype(np.complex128 if data.dtype.kind == "c" else np.float64)
    k = np.nan_to_num(_kernel(kernel), nan=0.0, posinf=0.0, neginf=0.0)
    size = int(np.prod(x.shape, dtype=np.int64)) * np.dtype(complex_dtype).itemsize
    if size > 10**9 and not allow_huge:        # astropy's guard, its message
        raise ValueError(f"Size Error: Arrays will be {size / 1e9:.1f}G.  Use "
                         f"allow_huge=True to override this exception.")
    if x.ndim != k.ndim:
        raise ValueError("Image and kernel must have same number of dimensions")
    bad = ~np.isfinite(x)
    if mask is not None:
        bad = bad | np.asarray(mask, dtype=bool)
    ksum = k.sum()
    if normalize_kernel is True:
        if ksum < 1.0 / MAX_NORMALIZATION:
            raise ValueError("The kernel can't be normalized, because its sum is close to "
                             f"zero. The sum of the given kernel is < {1.0 / MAX_NORMALIZATION:.2f}. "
                             "For a zero-sum kernel, set normalize_kernel=False or pass a "
                             "custom normalization function to normalize_kernel.")
        scale, kn = 1.0, k / ksum
    elif normalize_kernel:
        scale = normalize_kernel(k)
        kn = k / scale
    else:
        if abs(ksum) < normalization_zero_tol:
            if nan_treatment == "interpolate":
                raise ValueError("Cannot interpolate NaNs with an unnormalizable kernel")
            scale, kn = 1.0, k
        else:
            scale, kn = ksum, k / ksum
    if nan_treatment == "fill":
        x = np.where(bad, fill_value, x)
        bad_in = None
    else:
        # astropy divides by the weights convolved with kernel / scale and
        # multiplies by scale: the sum-normalised kernel's mean, times scale
        bad_in = bad
        kn = k / ksum
    # astropy centres the kernel at K // 2 (also for even sizes): full, then crop
    full = masked_convolve(np.where(bad, 0, x) if bad_in is not None else x, kn,
                           mode="full", method="auto", axes=None,
                           boundary="wrap" if boundary == "wrap" else "constant",
                           cval=fill_value if boundary == "fill" else 0, accuracy="default",
                           op="convolve",
                           nan_policy="interpolate" if bad_in is not None else "propagate",
                           mask=bad_in, normalize_kernel=False, preserve_nan=False,
                           dtype=x.dtype, weights=True)
    y, w = full
    crop_sl = tuple(slice(K // 2, K // 2 + N) for K, N in zip(k.shape, x.shape))
    y = y[crop_sl]
    if w is not None:
        w = np.broadcast_to(w, full[0].shape)[crop_sl]
        if min_wt > 0.0:
            y = np.where(w < min_wt, np.nan, y)
        else:
            y = np.where((w < 10 * np.finfo(np.float64).eps) | np.isnan(y), 0.0, y)
    y = y * scale
    if preserve_nan:
        y = np.array(y, copy=True)
        y[bad] = np.nan
    return np.real(y).astype(np.float64, copy=False) if np.iscomplexobj(y) else \
        np.asarray(y, dtype=np.float64)
