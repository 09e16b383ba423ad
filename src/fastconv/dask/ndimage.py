"""scipy.ndimage's convolution filters on dask arrays: a drop-in for
dask_image.ndfilters' ``convolve``, ``correlate`` and ``gaussian_filter``
(same signatures), plus ``convolve1d`` / ``correlate1d``.

Each result equals :mod:`fastconv.ndimage` (and so scipy.ndimage) on the
computed array: the same validation and errors, dtypes (an integer image
stays integer, truncated as scipy casts), origins and boundary modes; where
dask_image raises another error type than scipy (weights of another rank or
with an empty axis: ValueError; an origin of the wrong shape: RuntimeError)
``convolve``/``correlate`` raise dask_image's, as its own tests ask
(``make test`` runs them from its sdist, ``tests/originals/sdist_tests.py``).
Unlike dask_image (``map_overlap``), a kernel deeper than a chunk needs no
rechunking, and each block's method is chosen by the planner (FFT or
overlap-save for large kernels, separable for Gaussians).

``gaussian_filter`` filters one axis after the other, as scipy does (each
pass cast to the output dtype, so integer images give scipy's numbers);
``order`` selects derivatives of the Gaussian per axis.
"""
from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import ndimage as _ndi
from . import _blocks

__all__ = ["convolve", "correlate", "convolve1d", "correlate1d", "gaussian_filter"]


def _dask_image_checks(ndim, w, origin):
    """The errors dask_image.ndfilters raises where scipy.ndimage raises
    others (its own tests ask for them): weights of another rank than the
    image, or with an empty axis, are a ValueError; an origin of more than
    one dimension, or of another length than the weights' rank, a
    RuntimeError."""
    w = np.asarray(w)
    if w.ndim != ndim:
        raise ValueError(f"weights has {w.ndim} dimensions, the image {ndim}")
    if w.size == 0:
        raise ValueError(f"weights has an empty axis: shape {w.shape}")
    o = np.asarray(origin, dtype=object)
    if o.ndim > 1:
        raise RuntimeError("origin must have only one dimension")
    if o.ndim == 1 and len(o) != w.ndim:
        raise RuntimeError(f"origin must have one value per weights axis ({w.ndim}), "
                           f"got {len(o)}")


def _filter(image, weights, mode, cval, origin, axes, convolution):
    x = _blocks.as_dask(image, "input")
    w = weights.compute() if _blocks.is_dask(weights) else weights
    if axes is None:
        _dask_image_checks(x.ndim, w, origin)
    # scipy's validation and dtype decisions, on a stand-in without data
    meta = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    _, job = _ndi._setup(meta, w, None, mode, cval, origin, axes, convolution)
    if x.size == 0:
        return x.astype(job.out_dt)
    xc = x.astype(job.cd)
    fill = np.asarray(cval).astype(job.cd) if job.pad_mode == "constant" else None
    reach = [0] * x.ndim
    for d in job.ax:
        lo, hi = job.pads[d]
        xc = _blocks.extend(xc, d, lo, hi, job.pad_mode, fill)
        reach[d] = lo + hi
    return _blocks.blocked(xc, reach, x.chunks, lambda piece: _ndi._valid(piece, job),
                           job.out_dt)


def correlate(image: Any, weights: ArrayLike, mode: str = "reflect", cval: float = 0.0,
              origin: Any = 0, *, axes: Any = None) -> Any:
    """Multidimensional correlation (scipy.ndimage.correlate) of a dask array.

    Examples
    --------
    >>> import dask.array as da
    >>> from fastconv.dask import ndimage
    >>> ndimage.correlate(da.arange(5.0, chunks=2), [1, 2, 3]).compute()
    array([ 3.,  8., 14., 20., 23.])
    """
    return _filter(image, weights, mode, cval, origin, axes, False)


def convolve(image: Any, weights: ArrayLike, mode: str = "reflect", cval: float = 0.0,
             origin: Any = 0, *, axes: Any = None) -> Any:
    """Multidimensional convolution (scipy.ndimage.convolve) of a dask array."""
    return _filter(image, weights, mode, cval, origin, axes, True)


def _one_d(image, weights, axis, mode, cval, origin, convolution):
    x = _blocks.as_dask(image, "input")
    w = np.asarray(weights)
    # scipy's checks, as fastconv.ndimage makes them (on a stand-in without data)
    ax = _ndi._one_d_axis(np.broadcast_to(np.zeros((), x.dtype), x.shape), w, axis, cval)
    return _filter(x, w, mode, cval, origin, ax, convolution)


def correlate1d(image: Any, weights: ArrayLike, axis: int = -1, mode: str = "reflect",
                cval: float = 0.0, origin: int = 0) -> Any:
    """1-D correlation along ``axis`` (scipy.ndimage.correlate1d) of a dask array."""
    return _one_d(image, weights, axis, mode, cval, origin, False)


def convolve1d(image: Any, weights: ArrayLike, axis: int = -1, mode: str = "reflect",
               cval: float = 0.0, origin: int = 0) -> Any:
    """1-D convolution along ``axis`` (scipy.ndimage.convolve1d) of a dask array."""
    return _one_d(image, weights, axis, mode, cval, origin, True)


def gaussian_kernel1d(sigma: float, order: int, radius: int) -> np.ndarray:
    """Samples ``-radius..radius`` of the normalised Gaussian, or of its
    ``order``-th derivative (scipy.ndimage's discrete kernel).

    The derivative of ``g(t) = exp(-t^2 / (2 sigma^2))`` is ``p(t) g(t)``
    with polynomials ``p_0 = 1``, ``p_{n+1} = p_n' - t p_n / sigma^2``; the
    Gaussian is normalised to sum 1 on the samples before the polynomial
    is applied.
    """
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    if order == 0:
        return g
    p = np.polynomial.Polynomial([1.0])
    tpoly = np.polynomial.Polynomial([0.0, 1.0 / (sigma * sigma)])
    for _ in range(order):
        p = p.deriv() - tpoly * p
    return p(t) * g


def gaussian_filter(image: Any, sigma: Any, order: Any = 0, mode: Any = "reflect",
                    cval: float = 0.0, truncate: float = 4.0, *,
                    radius: Any = None, axes: Any = None) -> Any:
    """Gaussian filter (scipy.ndimage.gaussian_filter) of a dask array.

    ``sigma``, ``order``, ``mode``, ``radius``: one value or one per axis;
    the kernel reaches ``int(truncate * sigma + 0.5)`` samples (or
    ``radius``) each side; axes with ``sigma`` <= 1e-15 are not filtered.
    """
    x = _blocks.as_dask(image, "input")
    ax = tuple(range(x.ndim)) if axes is None else \
        tuple(operator.index(a) % x.ndim for a in ((axes,) if np.isscalar(axes) else axes))
    if len(set(ax)) != len(ax):
        raise ValueError("axes must be unique")
    n = len(ax)

    def per_axis(v, name):
        vals = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * n
        if len(vals) != n:
            raise RuntimeError("sequence argument must have length equal to input rank")
        return vals

    sigmas = [float(s) for s in per_axis(sigma, "sigma")]
    orders = [operator.index(o) for o in per_axis(order, "order")]
    modes = per_axis(mode, "mode")
    radii = per_axis(radius, "radius")
    if not math.isfinite(truncate):
        raise ValueError(f"truncate must be finite, got {truncate!r}")
    passes = []
    for d, s, o, m, r in zip(ax, sigmas, orders, modes, radii):
        if s <= 1e-15:
            continue
        if not math.isfinite(s):
            raise ValueError(f"sigma must be finite, got {s!r}")
        rad = int(truncate * s + 0.5) if r is None else operator.index(r)
        if rad < 0:
            raise ValueError("radius must be a nonnegative integer")
        passes.append((d, gaussian_kernel1d(s, o, rad)[::-1], m))
    if not passes:
        return x
    if x.dtype.kind in "fc" and len({m for _, _, m in passes}) == 1:
        # a float image: one blocked pass with the whole (rank-1) kernel, so
        # each block is gathered once and the planner runs it separably;
        # the same numbers as scipy's axis-by-axis passes up to rounding
        # (integer images keep scipy's passes: each one truncates)
        w = np.ones([1] * x.ndim)
        for d, k1, _ in passes:
            shape = [1] * x.ndim
            shape[d] = k1.size
            w = w * k1.reshape(shape)
        return correlate(x, w, mode=passes[0][2], cval=cval)
    out = x
    for d, k1, m in passes:
        out = correlate1d(out, k1, axis=d, mode=m, cval=cval)
    return out

