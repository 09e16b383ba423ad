"""Deconvolution of images: Wiener, unsupervised Wiener, Richardson-Lucy.

Drop-ins for ``skimage.restoration.wiener``, ``unsupervised_wiener`` and
``richardson_lucy``: same signatures, same results (to floating-point
round-off; ``unsupervised_wiener`` draws the same random numbers from the
same ``rng``, so it returns the same sample chain), computed with all cores.
The PSF's transfer function is computed once per call (and cached for the
same PSF, image shape and dtype); Richardson-Lucy's two convolutions per
iteration go through fastconv plans made once.

Conventions kept from scikit-image: the PSF is centred at ``shape // 2``
and the Wiener filters treat the image as periodic (circular convolution);
``clip=True`` clips the result to [-1, 1]; float32 (and float16) images are
computed in float32, everything else in float64.

Extra: ``richardson_lucy(..., accelerate=True)`` uses Biggs & Andrews'
vector extrapolation (Applied Optics 36, 1997): each step extrapolates along
the last update, typically reaching the plain algorithm's result in a
fraction of the iterations.  Without it the result is scikit-image's.

Limits: deconvolution amplifies noise at frequencies the PSF suppresses;
Wiener's ``balance`` (or the unsupervised estimate of it) and
Richardson-Lucy's iteration count are the regularisation.  Richardson-Lucy
assumes non-negative data and PSF (Poisson statistics).
"""
from __future__ import annotations

import functools
from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from . import backends

__all__ = ["wiener", "unsupervised_wiener", "richardson_lucy"]


def _float_type(dt):
    dt = np.dtype(dt)
    return np.dtype(np.float32) if dt in (np.float32, np.float16) else np.dtype(np.float64)


def _workers():
    from ._config import get_threads

    return get_threads()


def _ir2tf(psf, shape, is_real, dim=None):
    """Transfer function of an impulse response centred at ``psf.shape // 2``."""
    import scipy.fft as sfft

    dim = dim or psf.ndim
    fdt = _float_type(psf.dtype)
    pad = np.zeros(shape, dtype=fdt)
    pad[tuple(slice(0, s) for s in psf.shape)] = psf
    axes = tuple(range(pad.ndim - dim, pad.ndim))
    shifts = [-(psf.shape[a] // 2) for a in axes]
    pad = np.roll(pad, shifts, axis=axes)
    func = sfft.rfftn if is_real else sfft.fftn
    out = func(pad, axes=axes, workers=_workers())
    return out.astype(np.promote_types(fdt, np.complex64), copy=False)


@functools.lru_cache(maxsize=8)
def _cached_tf(psf_bytes, psf_shape, psf_dtype, shape, is_real):
    psf = np.frombuffer(psf_bytes, dtype=psf_dtype).reshape(psf_shape)
    return _ir2tf(psf, shape, is_real)


def _tf(psf, shape, is_real):
    return _cached_tf(psf.tobytes(), psf.shape, psf.dtype.str, tuple(shape), is_real)


def _laplacian(ndim, shape, is_real):
    impr = np.zeros([3] * ndim)
    for d in range(ndim):
        idx = tuple([slice(1, 2)] * d + [slice(None)] + [slice(1, 2)] * (ndim - d - 1))
        impr[idx] = np.array([-1.0, 0.0, -1.0]).reshape([-1 if i == d else 1
                                                         for i in range(ndim)])
    impr[(slice(1, 2),) * ndim] = 2.0 * ndim
    return _tf(impr, shape, is_real), impr


def _prepare(image, psf, reg, is_real):
    x = V.as_array(image, "image")
    p = V.as_array(psf, "psf")
    if x.ndim == 0 or x.size == 0:
        raise ValueError("image must be a non-empty array")
    if p.ndim != x.ndim:
        raise ValueError(f"psf must have the image's number of dimensions ({x.ndim}), "
                         f"got {p.ndim}")
    if x.dtype.kind == "c":
        raise TypeError("image must be real")
    if reg is None:
        reg, _ = _laplacian(x.ndim, x.shape, is_real)
    reg = np.asarray(reg)
    if not np.iscomplexobj(reg):
        reg = _tf(reg.astype(np.float64, copy=False), x.shape, is_real)
    ft = _float_type(x.dtype)
    x = x.astype(ft, copy=False)
    p = p.real.astype(ft, copy=False)       # as scikit-image (a complex psf loses its imaginary part)
    reg = reg.real.astype(ft, copy=False)
    tf = _tf(p, x.shape, is_real) if p.shape != reg.shape else p
    return x, tf, reg, ft


def _clip(a, clip):
    if clip:
        np.clip(a, -1, 1, out=a)
    return a


def wiener(image: ArrayLike, psf: ArrayLike, balance: float, reg: Optional[ArrayLike] = None,
           is_real: bool = True, clip: bool = True) -> np.ndarray:
    """Wiener-Hunt deconvolution (skimage.restoration.wiener).

    ``balance`` weighs the regulariser ``reg`` (default: the discrete
    Laplacian, as an impulse response or a transfer function) against the
    data; ``psf`` is an impulse response, or a transfer function when it has
    ``reg``'s shape.
    """
    import scipy.fft as sfft

    x, tf, reg, ft = _prepare(image, psf, reg, is_real)
    w = _workers()
    filt = np.conj(tf) / (np.abs(tf) ** 2 + balance * np.abs(reg) ** 2)
    if is_real:
        spec = sfft.rfftn(x, workers=w)
        spec *= filt
        out = sfft.irfftn(spec, s=x.shape, workers=w, overwrite_x=True)
    else:
        spec = sfft.fftn(x, workers=w)
        spec *= filt
        out = sfft.ifftn(spec, workers=w, overwrite_x=True)
    return _clip(out, clip)


def unsupervised_wiener(image: ArrayLike, psf: ArrayLike, reg: Optional[ArrayLike] = None,
                        user_params: Optional[dict] = None, is_real: bool = True,
                        clip: bool = True, *, rng: Any = None) -> Tuple[np.ndarray, dict]:
    """Wiener-Hunt deconvolution with hyperparameters sampled by Gibbs MCMC.

    skimage.restoration.unsupervised_wiener: returns ``(image, chains)`` with
    ``chains = {'noise': [...], 'prior': [...]}``; ``user_params`` keys
    threshold, max_num_iter, min_num_iter, burnin, callback.
    """
    import scipy.fft as sfft

    params = {"threshold": 1e-4, "max_num_iter": 200, "min_num_iter": 30, "burnin": 15,
              "callback": None}
    params.update(user_params or {})
    x, tf, reg, ft = _prepare(image, psf, reg, is_real)
    w = _workers()
    axes = (-2, -1)            # scikit-image's sampler works on the last two axes
    size = x.size
    if is_real:
        data = sfft.rfftn(x, axes=axes, norm="ortho", workers=w)
    else:
        data = sfft.fftn(x, axes=axes, norm="ortho", workers=w)
    areg2 = np.abs(reg) ** 2
    atf2 = np.abs(tf) ** 2
    ctf = np.conj(tf)
    post = np.zeros(tf.shape, dtype=ft)
    prev = np.zeros(tf.shape, dtype=ft)
    delta = np.nan
    gn, gx = [1], [1]
    rng = np.random.default_rng(rng)
    half = data.shape[-1] != data.shape[-2]

    def quad_norm(a):
        sq = np.abs(a) ** 2
        if half:
            return 2 * np.sum(np.sum(sq, axis=-1), axis=-1) - np.sum(sq[..., 0], axis=-1)
        return np.sum(np.sum(sq, axis=-1), axis=-1)

    it = 0
    for it in range(params["max_num_iter"]):
        precision = gn[-1] * atf2 + gx[-1] * areg2
        r1 = rng.standard_normal(data.shape).astype(ft, copy=False)
        r2 = rng.standard_normal(data.shape).astype(ft, copy=False)
        sample = np.sqrt(0.5 / precision) * (r1 + 1j * r2)
        sample += (gn[-1] * ctf / precision) * data
        if params["callback"]:
            params["callback"](sample)
        gn.append(rng.gamma(size / 2, 2 / quad_norm(data - sample * tf)))
        gx.append(rng.gamma((size - 1) / 2, 2 / quad_norm(sample * reg)))
        if it > params["burnin"]:
            post = prev + sample
        if it > params["burnin"] + 1:
            current = post / (it - params["burnin"])
            previous = prev / (it - params["burnin"] - 1)
            delta = (np.sum(np.abs(current - previous)) / np.sum(np.abs(post))
                     / (it - params["burnin"]))
        prev = post
        if it > params["min_num_iter"] and delta < params["threshold"]:
            break
    post = post / (it - params["burnin"])
    if is_real:
        out = sfft.irfftn(post, s=x.shape[-2:], axes=axes, norm="ortho", workers=w)
    else:
        out = sfft.ifftn(post, axes=axes, norm="ortho", workers=w)
    return _clip(out, clip), {"noise": gn, "prior": gx}


def _rl_args(image, psf, num_iter):
    import operator

    n = operator.index(num_iter)
    if n < 0:
        raise ValueError(f"num_iter must be >= 0, got {num_iter}")
    if psf.ndim != image.ndim:
        raise ValueError(f"psf must have the image's number of dimensions "
                         f"({image.ndim}), got {psf.ndim}")
    return n


def _ns_richardson_lucy(image, psf, num_iter=50, clip=True, filter_epsilon=None, *,
                        accelerate=False):
    """:func:`richardson_lucy` for arrays of any namespace (CUDA tensors,
    CuPy, JAX, ...): the same iteration on the namespace engine, each
    convolution planned once ('same', the method the namespace planner
    chose for the image and PSF) and the elementwise steps in the array's
    own ops (no item assignment: JAX arrays work too); the result the
    input's type on its device."""
    import math

    from .backends import namespace as ns

    xp = ns.namespace(image, psf)
    n = _rl_args(image, psf, num_iter)
    if math.prod(image.shape) == 0 or math.prod(psf.shape) == 0:
        raise ValueError("image and psf must be non-empty")
    ft = ns.xp_dtype(xp, _float_type(ns.np_dtype(xp, image.dtype)))
    x = xp.astype(image, ft)
    p = xp.astype(psf, ft)
    mirror = xp.flip(p, axis=tuple(range(p.ndim)))
    est = xp.full(tuple(x.shape), 0.5, dtype=ft, device=ns._dev(x))
    blur = backends.plan(est, p, "same", "auto", None, "constant", 0, "convolve")
    back = backends.plan(est, mirror, "same", "auto", None, "constant", 0, "convolve")

    def step(e):
        conv = blur(e, p) + 1e-12
        rel = x / conv
        if filter_epsilon:
            rel = xp.where(conv < filter_epsilon, xp.zeros_like(rel), rel)
        return back(rel, mirror) * e

    prev = prev_g = None
    alpha = 0.0
    for _ in range(n):
        if not accelerate:
            est = step(est)
            continue
        y = est if prev_g is None else xp.maximum(est + alpha * (est - prev),
                                                 xp.zeros_like(est))
        new = step(y)
        g = new - y
        alpha = 0.0
        if prev_g is not None:
            den = float(xp.sum(prev_g * prev_g))
            if den > 0:
                alpha = min(max(float(xp.sum(g * prev_g)) / den, 0.0), 1.0)
        prev, prev_g, est = est, g, new
    return xp.clip(est, -1, 1) if clip else est


@backends.accepts_arrays(via=_ns_richardson_lucy)
def richardson_lucy(image: ArrayLike, psf: ArrayLike, num_iter: int = 50, clip: bool = True,
                    filter_epsilon: Optional[float] = None, *,
                    accelerate: bool = False) -> np.ndarray:
    """Richardson-Lucy deconvolution (skimage.restoration.richardson_lucy).

    Parameters
    ----------
    image, psf : array_like
        Non-negative data and point-spread function (same ndim).
    num_iter : int
        Iterations.
    clip : bool
        Clip the result to [-1, 1] (scikit-image's convention).
    filter_epsilon : float, optional
        Where the re-blurred estimate is below it, the correction is 0.
    accelerate : bool
        Biggs-Andrews acceleration (not in scikit-image; see module notes).
    """

    import fastconv

    x = V.as_array(image, "image")
    p = V.as_array(psf, "psf")
    n = _rl_args(x, p, num_iter)
    if x.size == 0 or p.size == 0:
        raise ValueError("image and psf must be non-empty")
    ft = _float_type(x.dtype)
    x = x.astype(ft, copy=False)
    p = p.astype(ft, copy=False)
    est = np.full(x.shape, 0.5, dtype=ft)
    mirror = np.ascontiguousarray(np.flip(p))
    blur = fastconv.plan(est, p, mode="same")
    back = fastconv.plan(est, mirror, mode="same")
    eps = ft.type(1e-12)
    prev = prev_g = None

    def step(e):
        conv = blur(e, p)
        conv += eps
        if filter_epsilon:
            rel = np.where(conv < filter_epsilon, 0, x / conv).astype(ft, copy=False)
        else:
            rel = np.divide(x, conv, out=conv)
        corr = back(rel, mirror)
        corr *= e
        return corr

    alpha = 0.0                       # extrapolation step (Biggs & Andrews)
    for _ in range(n):
        if not accelerate:
            est = step(est)
            continue
        # Biggs & Andrews: y = x_k + a (x_k - x_{k-1}); x_{k+1} = RL(y)
        if prev_g is not None:          # from the third iteration on
            y = est + alpha * (est - prev)
            np.maximum(y, 0, out=y)
        else:
            y = est
        new = step(y)
        g = new - y
        if prev_g is not None:
            den = float(np.vdot(prev_g, prev_g))
            alpha = min(max(float(np.vdot(g, prev_g)) / den, 0.0), 1.0) if den > 0 else 0.0
        else:
            alpha = 0.0
        prev, prev_g, est = est, g, new
    return _clip(est, clip)
