"""Image filters: a kernel library and ``filter`` for 2-D and N-D images.

``filter(image, kernel)`` *correlates* the image with the kernel (the
kernel is laid on the image as written, as in cv2.filter2D and
scipy.ndimage.correlate; the kernel's centre is at ``shape // 2``), with
scipy.ndimage's boundary modes:

============  =====================================  =====================
mode          extension of ``a b c d``                OpenCV border
============  =====================================  =====================
'reflect'     ``b a | a b c d | d c``                 BORDER_REFLECT
'mirror'      ``c b | a b c d | c b``                 BORDER_REFLECT_101
'nearest'     ``a a | a b c d | d d``                 BORDER_REPLICATE
'wrap'        ``c d | a b c d | a b``                 BORDER_WRAP
'constant'    ``k k | a b c d | k k`` (k = cval)      BORDER_CONSTANT
============  =====================================  =====================

Data types: floating images keep their dtype (float16 is computed in
float32).  Integer and boolean images are computed in floating point
(float32 for 8-bit data, float64 for wider integers, so every sum of a
16-bit image is exact to well below one grey level) and the result is
**rounded to the nearest integer (ties to even, like OpenCV's
saturate_cast) and saturated** to the input dtype's range; bool images give
float32 (a filtered mask is not a mask).  ``channel_axis`` marks an axis of
colour channels that is not filtered: every channel gets the same kernel.

The work goes through fastconv's planner, so a separable (rank-1) kernel
such as a Gaussian or a box runs as 1-D passes and a large kernel by FFT.

Kernel constructors return float64 arrays in correlation orientation (a
positive ``sobel_kernel('x')`` response means intensity grows with x, the
column index).  :func:`kernel` parses the short specs used by the command
line (``"gaussian:2"``, ``"box:5"``, ``"sobel-x"``).
"""
from __future__ import annotations

import math
import operator
from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from . import backends

__all__ = ["filter", "gaussian", "edges", "kernel",
           "box_kernel", "gaussian_kernel", "sobel_kernel", "scharr_kernel",
           "prewitt_kernel", "laplacian_kernel", "log_kernel", "dog_kernel",
           "sharpen_kernel", "unsharp_kernel", "emboss_kernel", "motion_kernel",
           "disk_kernel"]

_MODES = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
          "wrap": "wrap", "constant": "constant"}


def _check_mode(mode):
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
    return _MODES[mode]


def _check_ndim(ndim):
    """A kernel's number of dimensions: an int from 1 to 32 (numpy's limit is 64)."""
    if isinstance(ndim, bool):
        raise TypeError(f"ndim must be an int, got {ndim!r}")
    try:
        n = operator.index(ndim)
    except TypeError:
        raise TypeError(f"ndim must be an int, got {ndim!r}") from None
    if not 1 <= n <= 32:
        raise ValueError(f"ndim must be between 1 and 32, got {ndim!r}")
    return n


def _spatial_axes(ndim, channel_axis):
    if ndim == 0:
        raise ValueError("image must have at least one dimension, got a 0-d array")
    if channel_axis is None:
        return tuple(range(ndim))
    try:
        c = operator.index(channel_axis)
    except TypeError:
        raise TypeError(f"channel_axis must be an int or None, got {channel_axis!r}") from None
    if not -ndim <= c < ndim:
        raise ValueError(f"channel_axis={channel_axis} is out of range for a "
                         f"{ndim}-d image")
    c %= ndim
    if ndim < 2:
        raise ValueError("an image with a channel axis needs at least 2 dimensions")
    return tuple(d for d in range(ndim) if d != c)


def _compute_dtype(dt):
    if dt.kind == "c":
        return dt
    if dt.kind == "f":
        return np.dtype(np.float64) if dt.itemsize > 4 else np.dtype(np.float32)
    if dt.kind == "b" or dt.itemsize == 1:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _ns_checks(nan_policy, mask, preserve_nan, *arrays):
    """The namespace of ``arrays`` (real floating, or TypeError) for the
    filters that serve any namespace, which take none of the NaN options."""
    from .backends import namespace as ns

    if nan_policy != "propagate" or mask is not None or preserve_nan:
        raise TypeError("nan_policy / mask / preserve_nan are available for NumPy arrays only")
    xp = ns.namespace(*arrays)
    if any(ns.np_dtype(xp, a.dtype).kind != "f" for a in arrays):
        raise TypeError(f"fastconv.filters on {ns.backend_name(xp)} arrays takes real floating "
                        f"images and kernels; pass NumPy arrays for the others")
    return xp


def _ns_filter(image, kernel, *, mode="reflect", cval=0.0, channel_axis=None,
               nan_policy="propagate", mask=None, preserve_nan=False):
    """:func:`filter` for real floating arrays of any namespace (the
    namespace engine's 'same' correlation with the mode's boundary)."""
    xp = _ns_checks(nan_policy, mask, preserve_nan, image, kernel)
    axes = _spatial_axes(image.ndim, channel_axis)
    if kernel.ndim != len(axes):
        raise ValueError(f"kernel must have one dimension per spatial axis of the image "
                         f"({len(axes)}), got a {kernel.ndim}-d kernel")
    shape = [1] * image.ndim
    for d, L in zip(axes, kernel.shape):
        shape[d] = L
    y = backends.convolve(image, xp.reshape(kernel, tuple(shape)), "same", "auto", None,
                          _check_mode(mode), cval, "correlate")
    return xp.astype(y, image.dtype)


def _ns_gaussian(image, sigma, *, truncate=4.0, mode="reflect", cval=0.0, channel_axis=None,
                 nan_policy="propagate", mask=None, preserve_nan=False):
    """:func:`gaussian` for real floating arrays of any namespace: one 1-D
    pass of the namespace engine per spatial axis (the kernel is the outer
    product of its axes' kernels, and the boundary rules are index maps per
    axis, so the passes give the N-D correlation's values; the constant
    border stays ``cval`` through a normalised pass).  Each pass is planned
    along its own axis (1-D FFT / overlap-save / direct): 2 x 65 multiply-adds
    per pixel for sigma 8 instead of 65^2 for a direct 2-D kernel (the
    point on a GPU, where direct wins; not measured: no GPU here).  torch
    CPU tensors, 2048^2 float32, 2 threads (the namespace engine forced; by
    default they take the NumPy engine): sigma 2 and 8, 81 / 75 ms as two
    passes, 84 / 73 ms as the 2-D kernel through torch.fft."""
    from .backends import namespace as ns

    xp = _ns_checks(nan_policy, mask, preserve_nan, image)
    axes = _spatial_axes(image.ndim, channel_axis)
    gaussian_kernel(sigma, truncate=truncate, ndim=len(axes))       # validation
    sig = (sigma,) * len(axes) if np.ndim(sigma) == 0 else tuple(sigma)
    y = image
    for d, sg in zip(axes, sig):
        k = _gauss1d(float(sg), float(truncate))
        shape = [1] * image.ndim
        shape[d] = k.size
        kx = xp.asarray(np.reshape(k, shape), dtype=image.dtype, device=ns._dev(image))
        y = backends.convolve(y, kx, "same", "auto", (d,), _check_mode(mode), cval,
                              "correlate")
    return xp.astype(y, image.dtype)


@backends.accepts_arrays(via=_ns_filter)
def filter(image: ArrayLike, kernel: ArrayLike, *, mode: str = "reflect", cval: complex = 0.0,
           channel_axis: Optional[int] = None, nan_policy: str = "propagate",
           mask: Optional[ArrayLike] = None, preserve_nan: bool = False) -> np.ndarray:
    """Correlate an image with a kernel (cv2.filter2D / ndimage.correlate).

    Parameters
    ----------
    image : array_like
        2-D or N-D image; with ``channel_axis``, one axis of channels.
    kernel : array_like
        Real kernel with one dimension per spatial axis of ``image``.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        Boundary extension (scipy.ndimage names; see the module docstring).
    cval : float
        Value outside the image for ``mode='constant'``.
    channel_axis : int or None
        Axis of colour channels, not filtered.
    nan_policy : {'propagate', 'interpolate', 'fill'}
        NaN (and masked) pixels: spread, interpolated from the valid pixels
        of each window (astropy.convolution semantics, see
        :func:`fastconv.convolve`), or replaced by `cval`.
    mask : array_like of bool, optional
        True marks invalid pixels (treated as NaN).
    preserve_nan : bool
        Keep invalid pixels NaN in the result (float images).

    Returns
    -------
    ndarray
        Same shape as ``image``; the dtype rules are in the module docstring
        (integers rounded and saturated).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import filters
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 90
    >>> filters.filter(img, filters.box_kernel(3))[1:4, 1:4]
    array([[10, 10, 10],
           [10, 10, 10],
           [10, 10, 10]], dtype=uint8)
    """
    from ._core import convolve_impl, saturate

    x = V.as_array(image, "image")
    k = V.as_array(kernel, "kernel")
    boundary = _check_mode(mode)
    cval = V.check_cval(cval)
    axes = _spatial_axes(x.ndim, channel_axis)
    if k.dtype.kind == "c" and x.dtype.kind != "c":
        raise TypeError("kernel is complex but image is real; filter the real and "
                        "imaginary parts separately or pass a complex image")
    if k.ndim != len(axes):
        raise ValueError(f"kernel must have one dimension per spatial axis of the "
                         f"image ({len(axes)}), got a {k.ndim}-d kernel")
    if k.size == 0:
        raise ValueError("kernel is empty")
    if x.dtype.kind in "biu":
        # NaN/Inf in an integer image's result has no integer to become
        if boundary == "constant" and not np.isfinite(complex(cval)):
            raise ValueError(f"cval={cval!r} cannot border an integer image "
                             f"({x.dtype}); pass a finite cval or a float image")
        if not np.isfinite(k).all():
            raise ValueError(f"kernel holds NaN or Inf, which an integer image "
                             f"({x.dtype}) cannot store; pass a float image")
    cd = _compute_dtype(x.dtype)
    if k.dtype.kind == "c":
        cd = np.promote_types(cd, np.complex64)
    if x.size == 0:
        return saturate(np.zeros(x.shape, cd), x.dtype)
    shape = [1] * x.ndim
    for d, L in zip(axes, k.shape):
        shape[d] = L
    kf = k.reshape(shape)      # cast by the engine (the fused filter reads it as given)
    if nan_policy != "propagate" or mask is not None or preserve_nan:
        from ._nan import masked_convolve

        y = masked_convolve(x, kf, mode="same", method="auto",
                            axes=axes, boundary=boundary, cval=cval, accuracy="default",
                            op="correlate", nan_policy=nan_policy, mask=mask,
                            normalize_kernel=False, preserve_nan=preserve_nan, dtype=cd)
        if x.dtype.kind in "iu" and np.isnan(y).any():
            raise ValueError("NaN in the filtered result cannot be stored in the integer "
                             "image's dtype (an invalid region larger than the kernel?); "
                             "pass a float image")
    else:
        # 8/16-bit images come back rounded and saturated to their own dtype
        # (the planner may choose the fused filter that reads and writes it)
        ints = x.dtype.kind in "iu"
        rd = cd if x.dtype.kind == "b" or cd.kind == "c" else x.dtype
        return convolve_impl(x, kf, "same", "auto", axes, boundary, cval, None, "default",
                             "correlate", dtypes=(cd, rd), saturate=ints)
    return saturate(y, x.dtype)


@backends.accepts_arrays(via=_ns_gaussian)
def gaussian(image: ArrayLike, sigma: Any, *, truncate: float = 4.0, mode: str = "reflect",
             cval: complex = 0.0, channel_axis: Optional[int] = None,
             nan_policy: str = "propagate", mask: Optional[ArrayLike] = None,
             preserve_nan: bool = False) -> np.ndarray:
    """Gaussian blur (scipy.ndimage.gaussian_filter's kernel, applied separably).

    ``sigma`` is a number or one per spatial axis; the kernel extends
    ``int(truncate * sigma + 0.5)`` samples each side, as in scipy.
    """
    x = V.as_array(image, "image")
    nd = len(_spatial_axes(x.ndim, channel_axis))
    return filter(x, gaussian_kernel(sigma, truncate=truncate, ndim=nd), mode=mode,
                  cval=cval, channel_axis=channel_axis, nan_policy=nan_policy, mask=mask,
                  preserve_nan=preserve_nan)


_GRADIENTS = {"sobel": (np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])),
              "scharr": (np.array([3.0, 10.0, 3.0]), np.array([-1.0, 0.0, 1.0])),
              "prewitt": (np.array([1.0, 1.0, 1.0]), np.array([-1.0, 0.0, 1.0]))}


def _edges_checks(image, operator, direction, channel_axis):
    if direction not in ("x", "y", "magnitude"):
        raise ValueError(f"direction must be 'x', 'y' or 'magnitude', got {direction!r}")
    if operator not in _GRADIENTS:
        raise ValueError(f"operator must be one of {sorted(_GRADIENTS)}, got {operator!r}")
    if len(_spatial_axes(image.ndim, channel_axis)) != 2:
        raise ValueError("edges() needs a 2-D image (plus an optional channel_axis)")


def _ns_edges(image, operator="sobel", direction="magnitude", *, mode="reflect", cval=0.0,
              channel_axis=None):
    """:func:`edges` for real floating images of any namespace (two
    :func:`_ns_filter` passes and their magnitude)."""
    from .backends import namespace as ns

    xp = _ns_checks("propagate", None, False, image)
    _edges_checks(image, operator, direction, channel_axis)
    out = {}
    for d in (("x", "y") if direction == "magnitude" else (direction,)):
        k = xp.asarray(_gradient_kernel(operator, d), dtype=image.dtype, device=ns._dev(image))
        out[d] = _ns_filter(image, k, mode=mode, cval=cval, channel_axis=channel_axis)
    if direction != "magnitude":
        return out[direction]
    if hasattr(xp, "hypot"):            # (no overflow of the squares)
        return xp.hypot(out["x"], out["y"])
    m = xp.maximum(xp.abs(out["x"]), xp.abs(out["y"]))
    s = xp.where(m > 0, m, xp.ones_like(m))
    return m * xp.sqrt((out["x"] / s) ** 2 + (out["y"] / s) ** 2)


@backends.accepts_arrays(via=_ns_edges)
def edges(image: ArrayLike, operator: str = "sobel", direction: str = "magnitude", *,
          mode: str = "reflect", cval: complex = 0.0,
          channel_axis: Optional[int] = None) -> np.ndarray:
    """Gradient of a 2-D image: x or y derivative, or the magnitude.

    ``operator`` is 'sobel', 'scharr' or 'prewitt' (unnormalised, as
    cv2.Sobel / cv2.Scharr / scipy.ndimage.sobel); ``direction`` is 'x'
    (along columns), 'y' (along rows) or 'magnitude' (``hypot(gx, gy)``).
    Derivatives are signed, so the result is floating point whatever the
    input dtype (float32 for 8- and 16-bit images and float32, float64
    otherwise).
    """
    x = V.as_array(image, "image")
    _edges_checks(x, operator, direction, channel_axis)
    fdt = np.float64 if x.dtype == np.float64 or (x.dtype.kind in "iu" and x.dtype.itemsize > 2) \
        else np.float32
    xf = x.astype(fdt, copy=False)
    out = {}
    for d in (("x", "y") if direction == "magnitude" else (direction,)):
        out[d] = filter(xf, _gradient_kernel(operator, d), mode=mode, cval=cval,
                        channel_axis=channel_axis)
    if direction != "magnitude":
        return out[direction]
    return np.hypot(out["x"], out["y"])


# ------------------------------------------------------------------ kernels
def _size(size, ndim, name="size"):
    sizes = (size,) * ndim if np.ndim(size) == 0 else tuple(size)
    try:
        sizes = tuple(operator.index(s) for s in sizes)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {size!r}") from None
    if len(sizes) != ndim or any(s < 1 for s in sizes):
        raise ValueError(f"{name} must be {ndim} positive ints, got {size!r}")
    return sizes


def _check_kernel_shape(shape, name):
    """A kernel of this shape (float64) must fit FASTCONV_MAX_MEMORY."""
    from ._config import max_memory

    size = math.prod(int(s) for s in shape)
    # the builders hold about three kernel-sized arrays at once (an outer
    # product, a normalised copy, the caller's float conversion)
    if 3 * size * 8 > max_memory():
        raise ValueError(f"{name} gives a kernel of shape {tuple(shape)} "
                         f"({size * 8 / 2**30:.3g} GiB), more than FASTCONV_MAX_MEMORY "
                         f"({max_memory() / 2**30:.3g} GiB)")
    return shape


def _outer(vectors, name="sigma"):
    _check_kernel_shape([len(v) for v in vectors], name)
    k = np.asarray(vectors[0], dtype=np.float64)
    for v in vectors[1:]:
        k = np.multiply.outer(k, v)
    return k


_positive = V.check_positive


def box_kernel(size: Any, ndim: int = 2) -> np.ndarray:
    """Mean filter: ones / count, ``size`` per axis (int or tuple)."""
    sizes = _check_kernel_shape(_size(size, _check_ndim(ndim)), "size")
    return np.full(sizes, 1.0 / math.prod(sizes))


def _gauss1d(sigma, truncate, order=0):
    r = int(truncate * sigma + 0.5)
    _check_kernel_shape((2 * r + 1,), "sigma")
    t = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    if order == 2:
        g = g * (t * t / sigma ** 4 - 1.0 / sigma ** 2)
    return g


def gaussian_kernel(sigma: Any, truncate: float = 4.0, ndim: int = 2) -> np.ndarray:
    """Sampled, normalised Gaussian (as scipy.ndimage.gaussian_filter's).

    ``sigma`` per axis or one for all; radius ``int(truncate * sigma + 0.5)``.
    """
    ndim = _check_ndim(ndim)
    sig = (sigma,) * ndim if np.ndim(sigma) == 0 else tuple(sigma)
    if len(sig) != ndim:
        raise ValueError(f"sigma must be a number or {ndim} numbers, got {sigma!r}")
    truncate = _positive(truncate, "truncate")
    return _outer([_gauss1d(_positive(s, "sigma"), truncate) for s in sig])


def _axis_name(axis):
    if axis in ("x", -1, 1):
        return "x"
    if axis in ("y", 0, -2):
        return "y"
    raise ValueError(f"axis must be 'x' (columns) or 'y' (rows), got {axis!r}")


def _gradient_kernel(op, axis):
    smooth, diff = _GRADIENTS[op]
    return np.outer(smooth, diff) if _axis_name(axis) == "x" else np.outer(diff, smooth)


def sobel_kernel(axis: str = "x") -> np.ndarray:
    """3x3 Sobel derivative along 'x' (columns) or 'y' (rows), as cv2.Sobel."""
    return _gradient_kernel("sobel", axis)


def scharr_kernel(axis: str = "x") -> np.ndarray:
    """3x3 Scharr derivative (weights 3, 10, 3), as cv2.Scharr."""
    return _gradient_kernel("scharr", axis)


def prewitt_kernel(axis: str = "x") -> np.ndarray:
    """3x3 Prewitt derivative, as scipy.ndimage.prewitt."""
    return _gradient_kernel("prewitt", axis)


def laplacian_kernel(ndim: int = 2) -> np.ndarray:
    """Discrete Laplacian (the 5-point stencil in 2-D; cv2.Laplacian ksize=1)."""
    ndim = _check_ndim(ndim)
    _check_kernel_shape((3,) * ndim, "ndim")
    k = np.zeros((3,) * ndim)
    c = (1,) * ndim
    k[c] = -2.0 * ndim
    for d in range(ndim):
        for s in (0, 2):
            idx = list(c)
            idx[d] = s
            k[tuple(idx)] = 1.0
    return k


def log_kernel(sigma: Any, truncate: float = 4.0, ndim: int = 2) -> np.ndarray:
    """Laplacian of Gaussian, as scipy.ndimage.gaussian_laplace builds it.

    The sum over axes of (second-derivative Gaussian on that axis) x
    (Gaussian on the others), each 1-D factor as scipy samples it.
    """
    ndim = _check_ndim(ndim)
    s = _positive(sigma, "sigma")
    truncate = _positive(truncate, "truncate")
    g = _gauss1d(s, truncate)
    g2 = _gauss1d(s, truncate, order=2)
    k = 0
    for d in range(ndim):
        k = k + _outer([g2 if e == d else g for e in range(ndim)])
    return k


def dog_kernel(sigma_low: Any, sigma_high: Any, truncate: float = 4.0,
               ndim: int = 2) -> np.ndarray:
    """Difference of Gaussians ``G(sigma_low) - G(sigma_high)`` (band-pass)."""
    lo = gaussian_kernel(sigma_low, truncate, ndim)
    hi = gaussian_kernel(sigma_high, truncate, ndim)
    out = np.zeros(tuple(max(a, b) for a, b in zip(lo.shape, hi.shape)))
    for k, sign in ((lo, 1.0), (hi, -1.0)):
        sl = tuple(slice((S - s) // 2, (S - s) // 2 + s) for S, s in zip(out.shape, k.shape))
        out[sl] += sign * k
    return out


def sharpen_kernel() -> np.ndarray:
    """3x3 sharpening: 5 at the centre, -1 at the four neighbours."""
    return np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])


def unsharp_kernel(sigma: Any, amount: float = 1.0, truncate: float = 4.0,
                   ndim: int = 2) -> np.ndarray:
    """Unsharp mask ``(1 + amount) * delta - amount * G(sigma)``.

    ``filter(image, unsharp_kernel(r, a))`` equals
    ``image + a * (image - gaussian(image, r))``, which is scikit-image's
    ``unsharp_mask(image, r, a, preserve_range=True)``.
    """
    a = float(amount)
    if not math.isfinite(a):
        raise ValueError(f"amount must be a finite number, got {amount!r}")
    k = -a * gaussian_kernel(sigma, truncate, ndim)
    k[tuple(s // 2 for s in k.shape)] += 1.0 + a
    return k


def emboss_kernel() -> np.ndarray:
    """3x3 emboss (relief lit from the top left)."""
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def motion_kernel(length: int, angle: float = 0.0) -> np.ndarray:
    """Linear motion blur: a normalised line of ``length`` pixels at ``angle``.

    ``angle`` in degrees, counter-clockwise from the x axis (0: horizontal);
    ``length`` is the line's Euclidean length (as MATLAB's
    ``fspecial('motion')``), so a diagonal line covers fewer rows and
    columns; the kernel is ``length`` x ``length`` (made odd).
    """
    n = operator.index(length)
    if n < 1:
        raise ValueError(f"length must be >= 1, got {length!r}")
    if not math.isfinite(float(angle)):
        raise ValueError(f"angle must be a finite number of degrees, got {angle!r}")
    if n % 2 == 0:
        n += 1
    _check_kernel_shape((n, n), "length")
    c = n // 2
    k = np.zeros((n, n))
    th = math.radians(float(angle))
    t = np.linspace(-(n - 1) / 2, (n - 1) / 2, 8 * n)
    cols = np.rint(c + t * math.cos(th)).astype(int)
    rows = np.rint(c - t * math.sin(th)).astype(int)
    k[np.clip(rows, 0, n - 1), np.clip(cols, 0, n - 1)] = 1.0
    return k / k.sum()


def disk_kernel(radius: float) -> np.ndarray:
    """Normalised disk ``x**2 + y**2 <= radius**2`` (skimage.morphology.disk)."""
    r = operator.index(radius)
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {radius!r}")
    _check_kernel_shape((2 * r + 1, 2 * r + 1), "radius")
    t = np.arange(-r, r + 1)
    k = ((t[:, None] ** 2 + t[None, :] ** 2) <= r * r).astype(np.float64)
    return k / k.sum()


_SPECS = {
    "box": (box_kernel, 1, int), "gaussian": (gaussian_kernel, 1, float),
    "sobel": (lambda: sobel_kernel("x"), 0, None),
    "sobel-x": (lambda: sobel_kernel("x"), 0, None),
    "sobel-y": (lambda: sobel_kernel("y"), 0, None),
    "scharr-x": (lambda: scharr_kernel("x"), 0, None),
    "scharr-y": (lambda: scharr_kernel("y"), 0, None),
    "prewitt-x": (lambda: prewitt_kernel("x"), 0, None),
    "prewitt-y": (lambda: prewitt_kernel("y"), 0, None),
    "laplacian": (laplacian_kernel, 0, None), "log": (log_kernel, 1, float),
    "dog": (dog_kernel, 2, float), "sharpen": (sharpen_kernel, 0, None),
    "unsharp": (unsharp_kernel, 2, float), "emboss": (emboss_kernel, 0, None),
    "motion": (motion_kernel, 2, float), "disk": (disk_kernel, 1, int),
}


def kernel(spec: str) -> np.ndarray:
    """Kernel from a short spec: ``name`` or ``name:arg[,arg]``.

    Names: box:SIZE, gaussian:SIGMA, sobel (= sobel-x), sobel-y, scharr-x,
    scharr-y, prewitt-x, prewitt-y, laplacian, log:SIGMA, dog:S1,S2,
    sharpen, unsharp:SIGMA,AMOUNT, emboss, motion:LENGTH,ANGLE, disk:RADIUS.

    >>> kernel("box:3").shape
    (3, 3)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"kernel spec must be a non-empty string, got {spec!r}")
    name, _, args = spec.strip().partition(":")
    name = name.lower()
    if name not in _SPECS:
        raise ValueError(f"unknown kernel {name!r}; known: {', '.join(sorted(_SPECS))}")
    fn, nargs, conv = _SPECS[name]
    parts = [a for a in args.split(",") if a.strip()] if args else []
    if name == "motion" and len(parts) == 1:
        parts.append("0")
    if name == "unsharp" and len(parts) == 1:
        parts.append("1")
    if len(parts) != nargs:
        raise ValueError(f"kernel {name!r} takes {nargs} argument(s) "
                         f"(e.g. {name}:{','.join(['2'] * nargs)}), got {spec!r}")
    try:
        vals = [(int(float(p)) if name == "motion" and i == 0 else conv(p))
                for i, p in enumerate(parts)]
    except ValueError:
        raise ValueError(f"kernel spec {spec!r}: arguments must be numbers") from None
    return fn(*vals)
