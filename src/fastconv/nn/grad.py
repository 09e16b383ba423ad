"""Gradients of the convolution layers, with torch.nn.grad's names and signatures.

``conv{1,2,3}d_input(input_size, weight, grad_output, stride=1, padding=0,
dilation=1, groups=1)`` and ``conv{1,2,3}d_weight(input, weight_size,
grad_output, stride=1, padding=0, dilation=1, groups=1)`` as in torch;
``bias(grad_output)``; and the transposed convolutions' gradients,
``conv_transpose{1,2,3}d_input(input_size, weight, grad_output, stride=1,
padding=0, output_padding=0, groups=1, dilation=1)`` and
``conv_transpose{1,2,3}d_weight(input, weight_size, grad_output, ...)``.
Sizes include the batch and channel dims (torch's rule); unbatched arrays
are accepted with a size without the batch dim.  ``padding_mode`` (keyword)
folds the padded border's gradient back onto the input for the forward
convolutions' non-zero padding modes.  All run on the same algorithms as the
forward products (the input gradient is the transposed convolution, the
transposed convolution's input gradient a forward convolution).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from . import functional as F

IntOrTuple = Union[int, Sequence[int]]


def _size(size, name, D):
    try:
        t = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of ints, got {size!r}") from None
    if len(t) not in (D + 1, D + 2) or any(s < 0 for s in t):
        raise ValueError(f"{name} must have {D + 2} (or {D + 1}, unbatched) non-negative "
                         f"entries, got {size!r}")
    return t


def _grad_output(grad_output, dt, want, D, fname, of):
    """``grad_output`` checked against the dtype and (batched) shape the
    product gives; returned batched."""
    g = np.asarray(grad_output)
    if g.dtype != dt:
        raise TypeError(f"{fname}: grad_output ({g.dtype}) must have the {of}'s dtype ({dt})")
    if g.ndim == D + 1:
        g = g[None]
    if g.shape != tuple(want):
        raise ValueError(f"{fname}: grad_output must have shape {tuple(want)}, got {g.shape}")
    return g


def _forward_out(x, k, stride, dilation, pads):
    return tuple((n + lo + hi - d * (kk - 1) - 1) // s + 1 for n, kk, s, d, (lo, hi)
                 in zip(x.shape[2:], k, stride, dilation, pads))


def _input_grad(D, input_size, weight, grad_output, stride, padding, dilation, groups,
                padding_mode, accuracy="default"):
    fname = f"conv{D}d_input"
    size = _size(input_size, "input_size", D)
    dummy = np.empty(size, dtype=np.asarray(weight).dtype)
    x, w, _, dt, cd, unb, stride, dilation, pads = F._forward_problem(
        dummy, weight, None, stride, padding, dilation, groups, D, fname, padding_mode,
        "channels_first")
    g = _grad_output(grad_output, dt, (x.shape[0], w.shape[0]) +
                     _forward_out(x, w.shape[2:], stride, dilation, pads), D, fname, "weight")
    if g.size == 0 or x.size == 0:
        gi = np.zeros(x.shape, dtype=dt)
        return gi[0] if unb else gi
    gi = _core.layer_input_grad(np.ascontiguousarray(g, dtype=cd),
                                np.ascontiguousarray(w, dtype=cd), x.shape[2:], stride,
                                dilation, groups, pads, padding_mode,
                                accuracy=F.check_accuracy(accuracy))
    gi = gi.astype(dt, copy=False)
    return gi[0] if unb else gi


def _weight_grad(D, input, weight_size, grad_output, stride, padding, dilation, groups,
                 padding_mode):
    fname = f"conv{D}d_weight"
    size = _size(weight_size, "weight_size", D)
    if len(size) != D + 2:
        raise ValueError(f"{fname}: weight_size must have {D + 2} entries, got {weight_size!r}")
    dummy = np.empty(size, dtype=np.asarray(input).dtype)
    x, w, _, dt, cd, unb, stride, dilation, pads = F._forward_problem(
        input, dummy, None, stride, padding, dilation, groups, D, fname, padding_mode,
        "channels_first")
    g = _grad_output(grad_output, dt, (x.shape[0], size[0]) +
                     _forward_out(x, size[2:], stride, dilation, pads), D, fname, "input")
    if g.size == 0 or x.size == 0:
        return np.zeros(size, dtype=dt)
    gw = _core.layer_weight_grad(np.ascontiguousarray(x, dtype=cd),
                                 np.ascontiguousarray(g, dtype=cd), size[2:], stride, dilation,
                                 groups, pads, padding_mode)
    return gw.astype(dt, copy=False)


def bias(grad_output: ArrayLike, ndim: Optional[int] = None) -> np.ndarray:
    """The bias gradient: ``grad_output`` summed over the batch and spatial
    dims (channels on axis 1; an unbatched array of ``ndim`` spatial dims
    has them on axis 0)."""
    g = np.asarray(grad_output)
    if g.ndim < 2:
        raise ValueError(f"grad_output must have a channel dim, got shape {g.shape}")
    if ndim is not None and g.ndim == ndim + 1:
        g = g[None]
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def _t_input_grad(D, input_size, weight, grad_output, stride, padding, output_padding, groups,
                  dilation):
    """d/d(input) of conv_transpose (``_core.layer_transpose_input_grad``)."""
    fname = f"conv_transpose{D}d_input"
    size = _size(input_size, "input_size", D)
    dummy = np.empty(size, dtype=np.asarray(weight).dtype)
    x, w, _, dt, cd, unb, stride, dilation, padding, out = F._transpose_problem(
        dummy, weight, None, stride, padding, output_padding, groups, dilation, D, fname,
        "channels_first")
    g = _grad_output(grad_output, dt, (x.shape[0], w.shape[1] * groups) + out, D, fname,
                     "weight")
    if g.size == 0 or x.size == 0:
        gi = np.zeros(x.shape, dtype=dt)
        return gi[0] if unb else gi
    gi = _core.layer_transpose_input_grad(np.ascontiguousarray(g, dtype=cd),
                                          np.ascontiguousarray(w, dtype=cd), x.shape[2:],
                                          stride, dilation, groups, padding)
    gi = gi.astype(dt, copy=False)
    return gi[0] if unb else gi


def _t_weight_grad(D, input, weight_size, grad_output, stride, padding, output_padding, groups,
                   dilation):
    """d/d(weight) of conv_transpose (``_core.layer_transpose_weight_grad``)."""
    fname = f"conv_transpose{D}d_weight"
    size = _size(weight_size, "weight_size", D)
    if len(size) != D + 2:
        raise ValueError(f"{fname}: weight_size must have {D + 2} entries, got {weight_size!r}")
    dummy = np.empty(size, dtype=np.asarray(input).dtype)
    x, w, _, dt, cd, unb, stride, dilation, padding, out = F._transpose_problem(
        input, dummy, None, stride, padding, output_padding, groups, dilation, D, fname,
        "channels_first")
    g = _grad_output(grad_output, dt, (x.shape[0], size[1] * groups) + out, D, fname, "input")
    if g.size == 0 or x.size == 0:
        return np.zeros(size, dtype=dt)
    gw = _core.layer_transpose_weight_grad(np.ascontiguousarray(x, dtype=cd),
                                           np.ascontiguousarray(g, dtype=cd), size[2:], stride,
                                           dilation, groups, padding)
    return gw.astype(dt, copy=False)


def _make(D):
    def conv_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                   *, padding_mode="zeros", accuracy="default"):
        return _input_grad(D, input_size, weight, grad_output, stride, padding, dilation,
                           groups, padding_mode, accuracy)

    def conv_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1,
                    groups=1, *, padding_mode="zeros"):
        return _weight_grad(D, input, weight_size, grad_output, stride, padding, dilation,
                            groups, padding_mode)

    def t_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0,
                groups=1, dilation=1):
        return _t_input_grad(D, input_size, weight, grad_output, stride, padding,
                             output_padding, groups, dilation)

    def t_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0,
                 groups=1, dilation=1):
        return _t_weight_grad(D, input, weight_size, grad_output, stride, padding,
                              output_padding, groups, dilation)

    for f, name, what in ((conv_input, f"conv{D}d_input", "input"),
                          (conv_weight, f"conv{D}d_weight", "weight"),
                          (t_input, f"conv_transpose{D}d_input", "input"),
                          (t_weight, f"conv_transpose{D}d_weight", "weight")):
        f.__name__ = f.__qualname__ = name
        f.__doc__ = (f"Gradient of ``{name.rsplit('_', 1)[0]}`` with respect to its {what} "
                     f"(torch.nn.grad's signature; see module doc).")
    return conv_input, conv_weight, t_input, t_weight


conv1d_input, conv1d_weight, conv_transpose1d_input, conv_transpose1d_weight = _make(1)
conv2d_input, conv2d_weight, conv_transpose2d_input, conv_transpose2d_weight = _make(2)
conv3d_input, conv3d_weight, conv_transpose3d_input, conv_transpose3d_weight = _make(3)



def long_conv(grad_y: ArrayLike, u: ArrayLike, k: ArrayLike, *, mode: str = "causal",
              skip: Optional[ArrayLike] = None, layout: str = "BHL") -> tuple:
    """Gradients of :func:`fastconv.nn.long_conv`: ``(grad_u, grad_k,
    grad_skip)`` shaped like ``u``, ``k`` (a pair / (2, ...) for
    'bidirectional': both kernels' gradients stacked, or a tuple when ``k``
    was a tuple) and ``skip`` (None without one).  ``grad_u`` is the
    adjoint (a correlation with the kernel), ``grad_k`` the correlation of
    ``grad_y`` with ``u`` summed over the batch (and the channels for a
    shared kernel), both as products of spectra at the forward's FFT length."""
    from . import sequence as S

    S._check_mode(mode)
    u3, unbatched = S._sequence(S._as(u, "u"), layout)
    g3, g_unb = S._sequence(S._as(grad_y, "grad_y"), layout)
    if g3.shape != u3.shape:
        raise ValueError(f"grad_y has shape {np.shape(grad_y)}, the output has "
                         f"{np.shape(u)}")
    B, H, L = u3.shape
    k1, k2 = S._kernels(k, mode, H, L)
    dt = S._dtype(u3, g3, k1) if k2 is None else S._dtype(u3, g3, k1, k2)
    s = S._skip(skip, H, dt)
    c = (lambda a: np.ascontiguousarray(a, dtype=dt))
    gu, gk1, gk2, gs = _core.long_conv_grads(c(g3), c(u3), c(k1), None if k2 is None else c(k2),
                                             mode, s)
    gu = S._out(gu, unbatched, layout)
    if gs is not None and np.ndim(skip) == 0:
        gs = gs.sum(dtype=np.float64).astype(dt)
    if k2 is None:
        return gu, gk1.reshape(np.shape(k)), gs
    if isinstance(k, (tuple, list)):
        return gu, (gk1.reshape(np.shape(k[0])), gk2.reshape(np.shape(k[1]))), gs
    return gu, np.stack([gk1, gk2]).reshape(np.shape(k)), gs


def causal_conv1d(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike,
                  bias: Optional[ArrayLike] = None, activation: Optional[str] = None) -> tuple:
    """Gradients of :func:`fastconv.nn.causal_conv1d`: ``(grad_x,
    grad_weight, grad_bias)`` (grad_bias None without a bias)."""
    from . import sequence as S

    x3, w, b, unbatched, dt = S._short(x, weight, bias)
    g = S._as(grad_y, "grad_y")
    g3 = g[None] if g.ndim == 2 else g
    if g3.shape != x3.shape:
        raise ValueError(f"grad_y has shape {g.shape}, the output has {np.shape(x)}")
    act = S._act(activation)
    gx, gw, gb = _core.causal_conv1d_grads(np.ascontiguousarray(g3, dtype=dt), x3,
                                           np.ascontiguousarray(w[:, ::-1]), b, act)
    return (gx[0] if unbatched else gx), np.ascontiguousarray(gw[:, ::-1]), gb


__all__ = ["bias", "long_conv", "causal_conv1d"] + [
    f"conv{t}{d}d_{w}" for d in (1, 2, 3) for t in ("", "_transpose") for w in ("input", "weight")]
