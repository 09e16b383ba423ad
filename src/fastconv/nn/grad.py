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
convolutions' non-zero padding modes; ``accuracy`` (keyword, the forward
functions' option) of ``conv{1,2,3}d_input`` and ``_weight``: 'high' leaves
out Winograd's transforms (the input gradient of a stride-1 3x3 layer is a
3x3 forward product, its weight gradient runs on F(2x2, 3x3)'s adjoint; see
``fastconv.algorithms.layer.WINOGRAD_WGRAD_ERROR``).  All run on the same algorithms as the
forward products (the input gradient is the transposed convolution, the
transposed convolution's input gradient a forward convolution).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .. import backends
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
                 padding_mode, accuracy="default"):
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
                                 groups, pads, padding_mode,
                                 accuracy=F.check_accuracy(accuracy))
    return gw.astype(dt, copy=False)


def _ns_bias(grad_output, ndim=None):
    from ..backends import layers as NL
    from ..backends.namespace import namespace

    xp = namespace(grad_output)
    if grad_output.ndim < 2:
        raise ValueError(f"grad_output must have a channel dim, got shape "
                         f"{tuple(grad_output.shape)}")
    if ndim is not None and grad_output.ndim == ndim + 1:
        grad_output = xp.expand_dims(grad_output, axis=0)
    return NL.bias_grad(grad_output)


@backends.accepts_arrays(via=_ns_bias)
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


def _ns_grad_output(xp, grad_output, dt, want, D, fname, of):
    """The namespace twin of :func:`_grad_output`: checked on a stand-in,
    returned batched in the compute dtype."""
    from ..backends import layers as NL

    sg = NL.shadow(xp, grad_output, "grad_output", fname)
    _grad_output(sg, dt, want, D, fname, of)
    return xp.expand_dims(grad_output, axis=0) if grad_output.ndim == D + 1 else grad_output


def _ns_problem(kind, D, fname, arr, arr_name, size, size_name, grad_output, opts):
    """Namespace, checked geometry and stand-in of the given array for the
    gradients of foreign arrays (the NumPy path's checks on stand-ins)."""
    from ..backends import layers as NL
    from ..backends.namespace import namespace

    xp = namespace(arr, grad_output)
    given = size
    size = _size(size, size_name, D)
    if size_name == "weight_size" and len(size) != D + 2:
        raise ValueError(f"{fname}: weight_size must have {D + 2} entries, got {given!r}")
    sa = NL.shadow(xp, arr, arr_name, fname)
    dummy = np.broadcast_to(np.zeros((), sa.dtype), size)
    pair = (dummy, sa) if arr_name == "weight" else (sa, dummy)
    if kind == "forward":
        got = F._forward_problem(*pair, None, opts["stride"], opts["padding"],
                                 opts["dilation"], opts["groups"], D, fname,
                                 opts.get("padding_mode", "zeros"), "channels_first")
    else:
        got = F._transpose_problem(*pair, None, opts["stride"], opts["padding"],
                                   opts["output_padding"], opts["groups"], opts["dilation"],
                                   D, fname, "channels_first")
    return xp, size, got


def _ns_grads(D):
    """The four gradients for arrays of any namespace (``backends.layers``)."""
    from ..backends import layers as NL
    from ..backends.namespace import xp_dtype

    def conv_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1,
                   groups=1, *, padding_mode="zeros", accuracy="default"):
        fname = f"conv{D}d_input"
        F.check_accuracy(accuracy)
        xp, size, (x, w, _, dt, cd, unb, stride, dilation, pads) = _ns_problem(
            "forward", D, fname, weight, "weight", input_size, "input_size", grad_output,
            dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                 padding_mode=padding_mode))
        if padding_mode != "zeros":
            raise TypeError(f"{fname}: padding_mode={padding_mode!r} is available for NumPy "
                            f"arrays and CPU tensors only (the {NL.backend_name(xp)} backend "
                            f"folds no border gradients)")
        g = _ns_grad_output(xp, grad_output, dt, (x.shape[0], w.shape[0]) +
                            _forward_out(x, w.shape[2:], stride, dilation, pads), D, fname,
                            "weight")
        c = xp_dtype(xp, cd)
        gi = NL.input_grad(xp.astype(g, c), xp.astype(weight, c), x.shape[2:], stride,
                           dilation, groups, pads)
        gi = xp.astype(gi, xp_dtype(xp, dt))
        return gi[0, ...] if unb else gi

    def conv_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1,
                    groups=1, *, padding_mode="zeros", accuracy="default"):
        fname = f"conv{D}d_weight"
        F.check_accuracy(accuracy)
        xp, size, (x, w, _, dt, cd, unb, stride, dilation, pads) = _ns_problem(
            "forward", D, fname, input, "input", weight_size, "weight_size", grad_output,
            dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                 padding_mode=padding_mode))
        g = _ns_grad_output(xp, grad_output, dt, (x.shape[0], size[0]) +
                            _forward_out(x, size[2:], stride, dilation, pads), D, fname,
                            "input")
        c = xp_dtype(xp, cd)
        xb = xp.expand_dims(input, axis=0) if unb else input
        gw = NL.weight_grad(xp.astype(xb, c), xp.astype(g, c), size[2:], stride, dilation,
                            groups, pads, padding_mode)
        return xp.astype(gw, xp_dtype(xp, dt))

    def t_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0,
                groups=1, dilation=1):
        fname = f"conv_transpose{D}d_input"
        xp, size, (x, w, _, dt, cd, unb, stride, dilation, padding, out) = _ns_problem(
            "transpose", D, fname, weight, "weight", input_size, "input_size", grad_output,
            dict(stride=stride, padding=padding, output_padding=output_padding,
                 groups=groups, dilation=dilation))
        g = _ns_grad_output(xp, grad_output, dt, (x.shape[0], w.shape[1] * groups) + out, D,
                            fname, "weight")
        c = xp_dtype(xp, cd)
        # the forward convolution of the output gradient, cropped to the input
        gi = NL.conv(xp.astype(g, c), xp.astype(weight, c), stride, dilation, groups,
                     [(p, p) for p in padding])
        gi = gi[(slice(None), slice(None)) + tuple(slice(0, n) for n in x.shape[2:])]
        gi = xp.astype(gi, xp_dtype(xp, dt))
        return gi[0, ...] if unb else gi

    def t_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0,
                 groups=1, dilation=1):
        fname = f"conv_transpose{D}d_weight"
        xp, size, (x, w, _, dt, cd, unb, stride, dilation, padding, out) = _ns_problem(
            "transpose", D, fname, input, "input", weight_size, "weight_size", grad_output,
            dict(stride=stride, padding=padding, output_padding=output_padding,
                 groups=groups, dilation=dilation))
        g = _ns_grad_output(xp, grad_output, dt, (x.shape[0], size[1] * groups) + out, D,
                            fname, "input")
        c = xp_dtype(xp, cd)
        xb = xp.expand_dims(input, axis=0) if unb else input
        # the transposed convolution maps x through the adjoint of a forward
        # convolution of its output: that forward's weight gradient, with
        # the output gradient as its input and x as its output gradient
        gw = NL.weight_grad(xp.astype(g, c), xp.astype(xb, c), size[2:], stride, dilation,
                            groups, [(p, p) for p in padding])
        return xp.astype(gw, xp_dtype(xp, dt))

    return conv_input, conv_weight, t_input, t_weight


def _make(D):
    def conv_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1,
                   *, padding_mode="zeros", accuracy="default"):
        return _input_grad(D, input_size, weight, grad_output, stride, padding, dilation,
                           groups, padding_mode, accuracy)

    def conv_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1,
                    groups=1, *, padding_mode="zeros", accuracy="default"):
        return _weight_grad(D, input, weight_size, grad_output, stride, padding, dilation,
                            groups, padding_mode, accuracy)

    def t_input(input_size, weight, grad_output, stride=1, padding=0, output_padding=0,
                groups=1, dilation=1):
        return _t_input_grad(D, input_size, weight, grad_output, stride, padding,
                             output_padding, groups, dilation)

    def t_weight(input, weight_size, grad_output, stride=1, padding=0, output_padding=0,
                 groups=1, dilation=1):
        return _t_weight_grad(D, input, weight_size, grad_output, stride, padding,
                              output_padding, groups, dilation)

    out = []
    for f, via, name, what in zip((conv_input, conv_weight, t_input, t_weight), _ns_grads(D),
                                  (f"conv{D}d_input", f"conv{D}d_weight",
                                   f"conv_transpose{D}d_input", f"conv_transpose{D}d_weight"),
                                  ("input", "weight", "input", "weight")):
        for g in (f, via):
            g.__name__ = g.__qualname__ = name
        f.__doc__ = (f"Gradient of ``{name.rsplit('_', 1)[0]}`` with respect to its {what} "
                     f"(torch.nn.grad's signature; see module doc).")
        out.append(backends.accepts_arrays(via=via)(f))
    return tuple(out)


conv1d_input, conv1d_weight, conv_transpose1d_input, conv_transpose1d_weight = _make(1)
conv2d_input, conv2d_weight, conv_transpose2d_input, conv_transpose2d_weight = _make(2)
conv3d_input, conv3d_weight, conv_transpose3d_input, conv_transpose3d_weight = _make(3)



def _ns_long_conv(grad_y, u, k, *, mode="causal", skip=None, layout="BHL"):
    """The gradients of long_conv for foreign arrays (products of spectra in
    the array's namespace, ``backends.layers.long_conv_grads``)."""
    from ..backends import layers as NL
    from ..backends.namespace import namespace, xp_dtype
    from . import sequence as S

    fname = "fastconv.nn.grad.long_conv"
    S._check_mode(mode)
    kparts = list(k) if isinstance(k, (tuple, list)) else [k]
    skips = [skip] if hasattr(skip, "shape") else []
    xp = namespace(grad_y, u, *[a for a in kparts if hasattr(a, "shape")], *skips)
    u3, s3, unb = S._ns_sequence(xp, u, layout, fname)
    g3, sg, _ = S._ns_sequence(xp, grad_y, layout, fname, "grad_y")
    if sg.shape != s3.shape:
        raise ValueError(f"grad_y has shape {tuple(grad_y.shape)}, the output has "
                         f"{tuple(u.shape)}")
    B, H, L = s3.shape
    k1, k2 = S._ns_kernels(xp, k, mode, H, L, fname)
    dt = S._dtype(s3, sg, np.empty(0, NL.float_dtype(xp, k1.dtype, "k", fname)))
    c = xp_dtype(xp, dt)
    u3, g3 = xp.astype(u3, c), xp.astype(g3, c)
    sk = S._ns_skip(xp, skip, H, u3, fname)
    gu, gk1, gk2, gs = NL.long_conv_grads(g3, u3, xp.astype(k1, c),
                                          None if k2 is None else xp.astype(k2, c), mode, sk)
    gu = S._ns_back(xp, gu, unb, layout)
    if gs is not None and (not skips or skip.ndim == 0):
        gs = xp.sum(gs)
    if k2 is None:
        return gu, xp.reshape(gk1, tuple(k.shape)), gs
    if isinstance(k, (tuple, list)):
        return gu, (xp.reshape(gk1, tuple(k[0].shape)), xp.reshape(gk2, tuple(k[1].shape))), gs
    return gu, xp.reshape(xp.stack([gk1, gk2]), tuple(k.shape)), gs


def _ns_causal_conv1d(grad_y, x, weight, bias=None, activation=None):
    """The gradients of causal_conv1d for foreign arrays."""
    from ..backends import layers as NL
    from . import sequence as S

    xp, x3, w, b, unb = S._ns_short(x, weight, bias, "causal_conv1d")
    g3 = xp.expand_dims(grad_y, axis=0) if grad_y.ndim == 2 else grad_y
    if tuple(g3.shape) != tuple(x3.shape):
        raise ValueError(f"grad_y has shape {tuple(grad_y.shape)}, the output has "
                         f"{tuple(x.shape)}")
    gx, gw, gb = NL.causal_conv1d_grads(xp.astype(g3, x3.dtype), x3, w, b, S._act(activation))
    return (gx[0, ...] if unb else gx), gw, gb


@backends.accepts_arrays(via=_ns_long_conv)
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
    args = (c(g3), c(u3), c(k1), None if k2 is None else c(k2), mode, s)
    got = _core.long_conv_grads(*args)
    if got is None:               # NaN / infinity: the products of the definition
        from ..backends import layers as NL

        got = NL.long_conv_grads(*args)
    gu, gk1, gk2, gs = got
    gu = S._out(gu, unbatched, layout)
    if gs is not None and np.ndim(skip) == 0:
        gs = gs.sum(dtype=np.float64).astype(dt)
    if k2 is None:
        return gu, gk1.reshape(np.shape(k)), gs
    if isinstance(k, (tuple, list)):
        return gu, (gk1.reshape(np.shape(k[0])), gk2.reshape(np.shape(k[1]))), gs
    return gu, np.stack([gk1, gk2]).reshape(np.shape(k)), gs


@backends.accepts_arrays(via=_ns_causal_conv1d)
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
