"""Convolution layers and sequence convolutions for arrays of any namespace
(JAX, CuPy, array-api-strict, PyTorch tensors where torch's own op does not
serve the call): ``fastconv.nn``'s functions written once against the array
API, the results the same type on the same device.

Everything is a forward layer convolution (:func:`conv`), computed one of
two ways, chosen by ``planning.namespace.choose_layer``:

* ``taps``: per kernel tap, a strided view of the padded input and one
  batched matrix product over the input channels of each group
  (``(G, Og, Cg) @ (G, Cg, N * outputs)``);
* ``fft``: the channels' spectra at a fast length of the padded input, the
  channel sum as a batched matrix product per frequency, one inverse, the
  strided outputs kept (long kernels: conv1d with K = 1024).

The rest is expressed through it: the transposed convolution is the
convolution of the input with zeros inserted (stride) by the flipped kernel
with its channel axes swapped; the input gradient is that transposed
convolution; the weight gradient is a convolution of the padded input (batch
as channels) by the output gradient (stride and dilation exchanged).  No item
assignment and no loops over data, so JAX traces and differentiates them.
``long_conv`` is a product of spectra at the causal length (or L, circular);
``causal_conv1d`` sums K shifted views.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .namespace import _dev, _extend, backend_name, device_kind, namespace, nonfinite_guard

#: torch's padding modes as numpy.pad's names (the namespace engine's extension)
PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

_FLOATS = ("float16", "float32", "float64")


def float_dtype(xp, dt, name, fname) -> np.dtype:
    """The NumPy float dtype of the namespace dtype ``dt`` (TypeError naming
    ``name`` otherwise)."""
    for n in _FLOATS:
        if hasattr(xp, n) and dt == getattr(xp, n):
            return np.dtype(n)
    for n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"):
        if hasattr(xp, n) and dt == getattr(xp, n):
            return np.dtype(n)
    raise TypeError(f"{fname}: {name} has dtype {dt}, which the {backend_name(xp)} backend "
                    f"path does not take (use float32 or float64)")


def shadow(xp, a, name, fname):
    """A NumPy stand-in with ``a``'s shape and dtype and no memory (stride
    0): the NumPy front end's checks run on it unchanged, so both paths
    raise the same errors."""
    if a is None:
        return None
    return np.broadcast_to(np.zeros((), float_dtype(xp, a.dtype, name, fname)),
                           tuple(int(s) for s in a.shape))


def _pad_or_crop(xp, x, axis, lo, hi, rule="constant"):
    """``x`` extended by ``lo`` / ``hi`` along ``axis`` (negative: cropped)."""
    n = x.shape[axis]
    a, b = max(0, -lo), n - max(0, -hi)
    if a or b != n:
        sl = [slice(None)] * x.ndim
        sl[axis] = slice(a, b)
        x = x[tuple(sl)]
    return _extend(xp, x, axis, max(lo, 0), max(hi, 0), rule, 0)


def _zeros_between(xp, x, axis, s):
    """``s - 1`` zeros inserted between the samples along ``axis``."""
    if s == 1:
        return x
    n = x.shape[axis]
    z = xp.zeros(x.shape, dtype=x.dtype, device=_dev(x))
    st = xp.stack([x] + [z] * (s - 1), axis=axis + 1)
    shape = x.shape[:axis] + (n * s,) + x.shape[axis + 1:]
    y = xp.reshape(st, shape)
    sl = [slice(None)] * x.ndim
    sl[axis] = slice(0, (n - 1) * s + 1)
    return y[tuple(sl)]


def _perm(xp, x, order):
    return xp.permute_dims(x, tuple(order))


def _padded(xp, x, pads, padding_mode, O, G):
    """(x padded by the mode, N, C, O, G, C / G, O / G)."""
    for i, (lo, hi) in enumerate(pads):
        x = _pad_or_crop(xp, x, 2 + i, lo, hi, PAD[padding_mode])
    N, C = x.shape[:2]
    return x, N, C, O, G, C // G, O // G


def _guarded(fn):
    """``fn(x, w, ...)`` with NaN and infinity in ``x`` or ``w`` giving the
    products of the definition (``namespace.nonfinite_guard``): a padded
    zero or a zero inserted between samples (stride of a transposed layer)
    is no sample and makes no product, as in the NumPy engine."""
    import functools

    @functools.wraps(fn)
    def wrapper(x, w, *args, **kwargs):
        return _guard(namespace(x, w), x, w, lambda a, b: fn(a, b, *args, **kwargs),
                      "input/weight")
    return wrapper


@_guarded
def conv(x, w, stride, dilation, groups, pads, padding_mode="zeros", method="auto"):
    """torch's ``conv{D}d`` of (N, C, *S) by (O, C / groups, *K): ``pads``
    ((lo, hi) per spatial dim; negative crops) by ``padding_mode``."""
    xp = namespace(x, w)
    D = x.ndim - 2
    x, N, C, O, G, Cg, Og = _padded(xp, x, pads, padding_mode, w.shape[0], groups)
    n, k = tuple(x.shape[2:]), tuple(w.shape[2:])
    out = tuple((nn - d * (kk - 1) - 1) // s + 1 for nn, kk, s, d in zip(n, k, stride, dilation))
    if N == 0 or O == 0 or Cg == 0 or 0 in out:
        return xp.zeros((N, O) + out, dtype=x.dtype, device=_dev(x))
    from ..planning.namespace import choose_layer

    plan = choose_layer(N, C, O, G, n, k, out, device_kind(x), method)
    sp = tuple(range(3, 3 + D))
    xg = xp.reshape(x, (N, G, Cg) + n)
    wg = xp.reshape(w, (G, Og, Cg) + k)
    if plan.method == "fft":
        L = plan.frames
        kd = tuple(d * (kk - 1) + 1 for kk, d in zip(k, dilation))
        for i, d in enumerate(dilation):
            wg = _zeros_between(xp, wg, 3 + i, d)
        wg = xp.flip(wg, axis=sp)              # the correlation as a convolution
        X = xp.fft.rfftn(xg, s=L, axes=sp)                       # (N, G, Cg, *F)
        W = xp.fft.rfftn(wg, s=L, axes=sp)                       # (G, Og, Cg, *F)
        fd = tuple(range(3, 3 + D))
        X = _perm(xp, X, fd + (1, 0, 2))                         # (*F, G, N, Cg)
        W = _perm(xp, W, fd + (0, 2, 1))                         # (*F, G, Cg, Og)
        Y = xp.matmul(X, W)                                      # (*F, G, N, Og)
        Y = _perm(xp, Y, (D + 1, D, D + 2) + tuple(range(D)))    # (N, G, Og, *F)
        y = xp.fft.irfftn(Y, s=L, axes=sp)
        sl = (slice(None),) * 3 + tuple(slice(q - 1, q - 1 + (o - 1) * s + 1, s)
                                        for q, o, s in zip(kd, out, stride))
        y = y[sl]
        return xp.astype(xp.reshape(y, (N, O) + out), x.dtype)
    P = N * math.prod(out)
    xt = _perm(xp, xg, (1, 2, 0) + sp)                           # (G, Cg, N, *n)
    acc = None
    for j in itertools.product(*[range(kk) for kk in k]):
        sl = (slice(None),) * 3 + tuple(slice(jj * d, jj * d + (o - 1) * s + 1, s)
                                        for jj, d, o, s in zip(j, dilation, out, stride))
        xs = xp.reshape(xt[sl], (G, Cg, P))
        t = xp.matmul(wg[(slice(None),) * 3 + j], xs)            # (G, Og, P)
        acc = t if acc is None else acc + t
    y = _perm(xp, xp.reshape(acc, (G, Og, N) + out), (2, 0, 1) + sp)
    return xp.reshape(y, (N, O) + out)


@_guarded
def transposed(x, w, stride, dilation, groups, crop, out):
    """The transposed convolution of (N, Cin, *n) by (Cin, Og, *K): of its
    full result ((n - 1) s + d (K - 1) + 1 per dim, zeros beyond), the
    ``out`` samples from ``crop`` on (torch's ``padding`` p: crop p)."""
    xp = namespace(x, w)
    D = x.ndim - 2
    G = groups
    Cin = w.shape[0]
    Cg, Og = Cin // G, w.shape[1]
    k = tuple(w.shape[2:])
    for i, s in enumerate(stride):
        x = _zeros_between(xp, x, 2 + i, s)
    wt = xp.reshape(w, (G, Cg, Og) + k)
    wt = _perm(xp, wt, (0, 2, 1) + tuple(range(3, 3 + D)))
    wt = xp.flip(xp.reshape(wt, (G * Og, Cg) + k), axis=tuple(range(2, 2 + D)))
    pads = []
    for nn, kk, d, c, o in zip(x.shape[2:], k, dilation, crop, out):
        full = nn + d * (kk - 1)
        pads.append((d * (kk - 1) - c, d * (kk - 1) - (full - c - o)))
    return conv(x, wt, (1,) * D, dilation, G, pads)


def input_grad(g, w, n, stride, dilation, groups, pads):
    """d/d(input) of :func:`conv` with zero padding (input spatial size ``n``)."""
    return transposed(g, w, stride, dilation, groups, tuple(lo for lo, _ in pads), n)


@_guarded
def weight_grad(x, g, k, stride, dilation, groups, pads, padding_mode="zeros"):
    """d/d(weight) of :func:`conv`: (O, C / groups, *k)."""
    xp = namespace(x, g)
    D = x.ndim - 2
    x, N, C, O, G, Cg, Og = _padded(xp, x, pads, padding_mode, g.shape[1], groups)
    sp = tuple(range(3, 3 + D))
    xb = _perm(xp, xp.reshape(x, (N, G, Cg) + tuple(x.shape[2:])), (2, 1, 0) + sp)
    xb = xp.reshape(xb, (Cg, G * N) + tuple(x.shape[2:]))
    gb = _perm(xp, xp.reshape(g, (N, G, Og) + tuple(g.shape[2:])), (1, 2, 0) + sp)
    gb = xp.reshape(gb, (G * Og, N) + tuple(g.shape[2:]))
    r = conv(xb, gb, dilation, stride, G, [(0, 0)] * D)          # (Cg, O, *L)
    r = r[(slice(None), slice(None)) + tuple(slice(0, kk) for kk in k)]
    return _perm(xp, r, (1, 0) + tuple(range(2, 2 + D)))


def bias_grad(g):
    xp = namespace(g)
    return xp.sum(g, axis=(0,) + tuple(range(2, g.ndim)))


# ------------------------------------------------------------ sequences
def _next_fast(n):
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _spectral(xp, a, b, n, keep, anti, red=None):
    """``irfft(rfft(a) * rfft(b))`` at ``n`` (``anti``: times the conjugate,
    a correlation), summed over the axes ``red`` of the product, the first
    ``keep`` samples, in ``a``'s dtype: the causal (anti-causal) sums of
    products of ``a`` and ``b`` (indices mod n)."""
    Bf = xp.fft.rfft(b, n=n, axis=-1)
    P = xp.fft.rfft(a, n=n, axis=-1) * (xp.conj(Bf) if anti else Bf)
    if red is not None:
        P = xp.sum(P, axis=red)
    return xp.astype(xp.fft.irfft(P, n=n, axis=-1)[..., :keep], a.dtype)


def _guard(xp, a, b, run, what):
    return nonfinite_guard(xp, a, b, run, backend_name(xp), what, stack=False)


def long_conv(u, k1, k2, mode, skip):
    """(B, H, L) by (Hk, Lk) kernels (``k2``: the anti-causal one).  NaN and
    infinity: each kernel's products of the definition (the two parts'
    infinities of both signs meet as NaN)."""
    xp = namespace(u, k1)
    L = u.shape[2]
    n = L if mode == "circular" else _next_fast(L + k1.shape[1] - 1)
    if k2 is not None and _finite_now(xp, u, k1, k2):
        K = xp.fft.rfft(k1, n=n, axis=-1) + xp.conj(xp.fft.rfft(k2, n=n, axis=-1))
        y = xp.fft.irfft(xp.fft.rfft(u, n=n, axis=-1) * K, n=n, axis=-1)[..., :L]
        y = xp.astype(y, u.dtype)
    else:
        y = _guard(xp, u, k1, lambda a, b: _spectral(xp, a, b, n, L, False), "u/k")
        if k2 is not None:
            y = y + _guard(xp, u, k2, lambda a, b: _spectral(xp, a, b, n, L, True), "u/k2")
    if skip is not None:
        y = y + u * xp.reshape(skip, (1, -1, 1))
    return y


def _finite_now(xp, *arrays) -> bool:
    """True when every array is concrete (not a JAX tracer) and finite."""
    from .namespace import _traced

    if any(_traced(a) for a in arrays):
        return False
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays)


def long_conv_grads(g, u, k1, k2, mode, skip):
    """(grad_u, grad_k1, grad_k2 or None, grad_skip (H,) or None)."""
    xp = namespace(g, u, k1)
    B, H, L = u.shape
    Lk = k1.shape[1]
    n = L if mode == "circular" else _next_fast(L + Lk - 1)
    red = (0, 1) if k1.shape[0] == 1 else (0,)
    gu = _guard(xp, g, k1, lambda a, b: _spectral(xp, a, b, n, L, True), "grad_y/k")
    if k2 is not None:
        gu = gu + _guard(xp, g, k2, lambda a, b: _spectral(xp, a, b, n, L, False), "grad_y/k2")
    if skip is not None:
        gu = gu + g * xp.reshape(skip, (1, -1, 1))
    gk1 = _guard(xp, g, u, lambda a, b: _spectral(xp, a, b, n, Lk, True, red), "grad_y/u")
    gk1 = xp.reshape(gk1, k1.shape)
    gk2 = None
    if k2 is not None:
        gk2 = _guard(xp, u, g, lambda a, b: _spectral(xp, a, b, n, Lk, True, red), "u/grad_y")
        gk2 = xp.reshape(gk2, k1.shape)
    gs = None if skip is None else xp.sum(g * u, axis=(0, 2))
    return gu, gk1, gk2, gs


def _silu(xp, a):
    return a / (1 + xp.exp(-a))


def _shifted_sum(xp, x, w, flip):
    """``sum_i w[:, i] x[t - (K-1-i)]`` (``flip``: ``x[t + (K-1-i)]``), the
    samples beyond ``x`` none (a zero there makes no product: NaN and
    infinity through :func:`namespace.nonfinite_guard`)."""
    B, D, L = x.shape
    K = w.shape[1]
    xpad = _extend(xp, x, 2, 0 if flip else K - 1, K - 1 if flip else 0, "constant", 0)
    y = None
    for i in range(K):
        j = K - 1 - i if flip else i
        t = xpad[:, :, j:j + L] * xp.reshape(w[:, i], (1, D, 1))
        y = t if y is None else y + t
    return y


def causal_conv1d(x, w, bias, act):
    """``act(bias + sum_i w[:, i] x[t - (K-1-i)])`` for (B, D, L) by (D, K)."""
    xp = namespace(x, w)
    y = _guard(xp, x, w, lambda a, b: _shifted_sum(xp, a, b, False), "x/weight")
    if bias is not None:
        y = y + xp.reshape(bias, (1, -1, 1))
    return _silu(xp, y) if act else y


def causal_conv1d_grads(g, x, w, bias, act):
    """(grad_x, grad_w, grad_bias or None) of :func:`causal_conv1d`."""
    xp = namespace(g, x, w)
    B, D, L = x.shape
    K = w.shape[1]
    if act:
        pre = causal_conv1d(x, w, bias, 0)
        sig = 1 / (1 + xp.exp(-pre))
        g = g * (sig * (1 + pre * (1 - sig)))
    gx = _guard(xp, g, w, lambda a, b: _shifted_sum(xp, a, b, True), "grad_y/weight")

    def wgrad(a, b):
        bpad = _extend(xp, b, 2, K - 1, 0, "constant", 0)
        return xp.stack([xp.sum(a * bpad[:, :, i:i + L], axis=(0, 2)) for i in range(K)],
                        axis=1)
    gw = _guard(xp, g, x, wgrad, "grad_y/x")
    gb = None if bias is None else xp.sum(g, axis=(0, 2))
    return gx, gw, gb
