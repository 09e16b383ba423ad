"""Convolution layers' functions with torch.nn.functional's semantics, on numpy arrays.

``conv1d/2d/3d(input, weight, bias=None, stride=1, padding=0, dilation=1,
groups=1)`` and ``conv_transpose1d/2d/3d(input, weight, bias=None, stride=1,
padding=0, output_padding=0, groups=1, dilation=1)``: torch's positional
order, defaults, output shapes and result dtype; batched (N, C, *spatial) or
unbatched (C, *spatial) input; float32 and float64 (float16 computed in
float32 and returned as float16); any memory layout; inputs never modified.
Where torch raises, these raise ``ValueError`` (bad values) or ``TypeError``
(bad types) naming the parameter.

Beyond torch, keyword-only:

* ``padding_mode``: 'zeros' (default), 'reflect', 'replicate', 'circular'
  on every spatial dim (torch's nn.Conv* option; torch's rules: reflect
  needs a padding smaller than the input, circular at most the input);
* ``padding='same_upper'``: TensorFlow/Keras' 'same' (ONNX's SAME_UPPER):
  ``ceil(n / stride)`` outputs for any stride, the odd padding at the end.
  Plain 'same' keeps torch's rule (stride 1 only);
* ``data_format='channels_last'``: (N, *spatial, C) arrays in and out;
* ``method``: 'auto' (the planner: ``explain_conv`` shows its estimates),
  'taps-gemm', 'im2col', 'winograd' (F(2x2, 3x3)), 'winograd4' (F(4x4,
  3x3)), 'depthwise', 'fft' (forward) or 'col2im' (transposed);
* ``accuracy``: 'default', or 'high' to leave out Winograd's transforms.
  F(2x2, 3x3)'s error is at most ``8 eps sum_c ||w[o, c]||_1 max |x[n, c]|``
  per output (measured at most 1.09 of that unit; see
  ``fastconv.algorithms.layer.WINOGRAD_ERROR``), F(4x4, 3x3)'s at most 128
  of that unit (measured 18.9; ``WINOGRAD4_ERROR``): the planner takes
  F(4x4) where it is the cheapest (stride-1 3x3 layers with many tiles per
  image, e.g. ResNet's 56x56x64 and 28x28x128), a relative error of about
  1e-4 in float32 against 1e-6 for the direct sums.
"""
from __future__ import annotations

import numbers
from typing import Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .. import backends

IntOrTuple = Union[int, Sequence[int]]

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "explain_conv"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ints(v, D, name, minimum):
    """``v`` as a D-tuple of ints >= ``minimum`` (an int or a sequence of D)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of {D} ints, got {v!r}")
    if isinstance(v, numbers.Integral):
        t = (int(v),) * D
    else:
        try:
            t = tuple(v)
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of {D} ints, got {v!r}") from None
        if len(t) == 1 and D > 1:
            t = t * D
        if len(t) != D or not all(isinstance(a, numbers.Integral) and
                                  not isinstance(a, (bool, np.bool_)) for a in t):
            raise ValueError(f"{name} must be an int or a tuple of {D} ints, got {v!r}")
        t = tuple(int(a) for a in t)
    if any(a < minimum for a in t):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return t


def _arrays(input, weight, bias, D, fname, data_format, transposed):
    """Validated (x (N, C, *S), w, bias, result dtype, compute dtype, unbatched)."""
    x = np.asarray(input)
    w = np.asarray(weight)
    for a, name in ((x, "input"), (w, "weight")):
        if a.dtype.kind != "f" or a.dtype.itemsize not in (2, 4, 8):
            raise TypeError(f"{fname}: {name} must be float16, float32 or float64, "
                            f"got {a.dtype}")
    if x.dtype != w.dtype:
        raise TypeError(f"{fname}: input ({x.dtype}) and weight ({w.dtype}) must have "
                        f"the same dtype")
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"data_format must be 'channels_first' or 'channels_last', "
                         f"got {data_format!r}")
    if x.ndim not in (D + 1, D + 2):
        raise ValueError(f"{fname}: expected {D + 1}-D (unbatched) or {D + 2}-D (batched) "
                         f"input, got input of shape {x.shape}")
    if w.ndim != D + 2:
        raise ValueError(f"{fname}: weight must be {D + 2}-D, got shape {w.shape}")
    unbatched = x.ndim == D + 1
    if unbatched:
        x = x[None]
    if data_format == "channels_last":
        x = np.moveaxis(x, -1, 1)
    b = None
    if bias is not None:
        b = np.asarray(bias)
        if b.dtype != x.dtype:
            raise TypeError(f"{fname}: bias ({b.dtype}) must have the input's dtype "
                            f"({x.dtype})")
        cout = w.shape[0] if not transposed else None
        if b.ndim != 1 or (cout is not None and b.shape[0] != cout):
            raise ValueError(f"{fname}: bias must have shape ({cout},), got {b.shape}"
                             if cout is not None else
                             f"{fname}: bias must be 1-D, got shape {b.shape}")
    cd = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype
    return x, w, b, x.dtype, cd, unbatched


def _finish(y, b, dtype, unbatched, data_format):
    if b is not None:
        y += b.astype(y.dtype).reshape((1, -1) + (1,) * (y.ndim - 2))
    if data_format == "channels_last":
        y = np.moveaxis(y, 1, -1)
    if unbatched:
        y = y[0]
    return np.ascontiguousarray(y.astype(dtype, copy=False))


def resolve_padding(padding, n, k, stride, dilation, D, fname):
    """Padding as ((lo, hi), ...) per spatial dim (torch's 'same' and
    'valid', 'same_upper', ints or tuples)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * D
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fname}: padding='same' is not supported for strided "
                                 f"convolutions (torch's rule); padding='same_upper' is "
                                 f"TensorFlow's 'same' for any stride")
            tot = [d * (kk - 1) for kk, d in zip(k, dilation)]
            return [(t // 2, t - t // 2) for t in tot]
        if padding == "same_upper":
            pads = []
            for nn_, kk, s, d in zip(n, k, stride, dilation):
                out = -(-nn_ // s)
                t = max((out - 1) * s + d * (kk - 1) + 1 - nn_, 0)
                pads.append((t // 2, t - t // 2))
            return pads
        raise ValueError(f"{fname}: padding must be 'valid', 'same', 'same_upper', an int "
                         f"or a tuple of {D} ints, got {padding!r}")
    p = _ints(padding, D, "padding", 0)
    return [(a, a) for a in p]


def _check_groups(groups, cin, wdim0, fname, transposed, w):
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"{fname}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{fname}: groups must be a positive integer, got {groups}")
    if transposed:
        if w.shape[0] != cin:
            raise ValueError(f"{fname}: weight of shape {w.shape} expects {w.shape[0]} input "
                             f"channels, got input with {cin} channels")
        if cin % groups:
            raise ValueError(f"{fname}: groups={groups} does not divide the {cin} input "
                             f"channels")
    else:
        if wdim0 % groups:
            raise ValueError(f"{fname}: groups={groups} does not divide the {wdim0} output "
                             f"channels of weight")
        if w.shape[1] * groups != cin:
            raise ValueError(f"{fname}: weight of shape {w.shape} with groups={groups} expects "
                             f"{w.shape[1] * groups} input channels, got input with {cin} "
                             f"channels")


def _check_padding_mode(padding_mode, pads, n, fname):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{fname}: padding_mode must be one of {PADDING_MODES}, got "
                         f"{padding_mode!r}")
    for (lo, hi), size in zip(pads, n):
        if padding_mode == "reflect" and max(lo, hi) >= size:
            raise ValueError(f"{fname}: padding ({lo}, {hi}) with padding_mode='reflect' must "
                             f"be smaller than the input's extent {size}")
        if padding_mode == "circular" and max(lo, hi) > size:
            raise ValueError(f"{fname}: padding ({lo}, {hi}) with padding_mode='circular' "
                             f"must be at most the input's extent {size}")


def _forward_problem(input, weight, bias, stride, padding, dilation, groups, D, fname,
                     padding_mode, data_format):
    x, w, b, dt, cd, unb = _arrays(input, weight, bias, D, fname, data_format, False)
    stride = _ints(stride, D, "stride", 1)
    dilation = _ints(dilation, D, "dilation", 1)
    _check_groups(groups, x.shape[1], w.shape[0], fname, False, w)
    n, k = x.shape[2:], w.shape[2:]
    pads = resolve_padding(padding, n, k, stride, dilation, D, fname)
    _check_padding_mode(padding_mode, pads, n, fname)
    for size, (lo, hi), kk, d in zip(n, pads, k, dilation):
        if size + lo + hi < d * (kk - 1) + 1:
            raise ValueError(f"{fname}: the kernel ({kk} taps, dilation {d}) is larger than "
                             f"the padded input ({size} + padding {lo + hi})")
    return x, w, b, dt, cd, unb, stride, dilation, pads


def check_accuracy(accuracy):
    if accuracy not in ("default", "high"):
        raise ValueError(f"accuracy must be 'default' or 'high', got {accuracy!r}")
    return accuracy


def _conv(D, fname, input, weight, bias, stride, padding, dilation, groups, padding_mode,
          data_format, method, accuracy):
    check_accuracy(accuracy)
    x, w, b, dt, cd, unb, stride, dilation, pads = _forward_problem(
        input, weight, bias, stride, padding, dilation, groups, D, fname, padding_mode,
        data_format)
    if x.shape[0] == 0 or x.shape[1] == 0 or w.shape[0] == 0:
        out = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, k, s, d, (lo, hi)
                    in zip(x.shape[2:], w.shape[2:], stride, dilation, pads))
        y = np.zeros((x.shape[0], w.shape[0]) + out, dtype=cd)
    else:
        y = _core.layer_forward(np.ascontiguousarray(x, dtype=cd),
                                np.ascontiguousarray(w, dtype=cd), stride, dilation, groups,
                                pads, padding_mode, method, accuracy=accuracy)
    return _finish(y, b, dt, unb, data_format)


def transpose_output(n, k, stride, padding, output_padding, dilation):
    return tuple((nn_ - 1) * s - 2 * p + d * (kk - 1) + op + 1 for nn_, kk, s, p, op, d
                 in zip(n, k, stride, padding, output_padding, dilation))


def _transpose_problem(input, weight, bias, stride, padding, output_padding, groups,
                       dilation, D, fname, data_format):
    x, w, b, dt, cd, unb = _arrays(input, weight, bias, D, fname, data_format, True)
    stride = _ints(stride, D, "stride", 1)
    dilation = _ints(dilation, D, "dilation", 1)
    if isinstance(padding, str):
        raise ValueError(f"{fname}: padding must be an int or a tuple of {D} ints "
                         f"(torch's transposed convolutions take no {padding!r})")
    padding = _ints(padding, D, "padding", 0)
    output_padding = _ints(output_padding, D, "output_padding", 0)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise ValueError(f"{fname}: output_padding must be smaller than either stride "
                             f"or dilation, got output_padding={output_padding}, "
                             f"stride={stride}, dilation={dilation}")
    _check_groups(groups, x.shape[1], None, fname, True, w)
    if b is not None and b.shape[0] != w.shape[1] * groups:
        raise ValueError(f"{fname}: bias must have shape ({w.shape[1] * groups},), got "
                         f"{b.shape}")
    out = transpose_output(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    if any(o <= 0 for o in out):
        # torch: "Output size is too small" (conv_transpose3d returns an empty
        # array instead; fastconv raises for every dimensionality)
        raise ValueError(f"{fname}: the output size {out} is not positive (padding "
                         f"{padding} too large for this input and kernel)")
    return x, w, b, dt, cd, unb, stride, dilation, padding, out


def _conv_t(D, fname, input, weight, bias, stride, padding, output_padding, groups, dilation,
            data_format, method, accuracy):
    check_accuracy(accuracy)
    x, w, b, dt, cd, unb, stride, dilation, padding, out = _transpose_problem(
        input, weight, bias, stride, padding, output_padding, groups, dilation, D, fname,
        data_format)
    cout = w.shape[1] * groups
    if x.shape[0] == 0 or x.shape[1] == 0 or cout == 0 or 0 in out:
        y = np.zeros((x.shape[0], cout) + out, dtype=cd)
    else:
        y = _core.layer_transpose(np.ascontiguousarray(x, dtype=cd),
                                  np.ascontiguousarray(w, dtype=cd), stride, dilation, groups,
                                  [(p, p) for p in padding], out, method, accuracy=accuracy)
    return _finish(y, b, dt, unb, data_format)


#: the NumPy engine's layer methods as the namespace engine's (the direct
#: methods are its per-tap products; the result is the same)
_NS_METHODS = {"auto": "auto", "fft": "fft", "taps-gemm": "taps", "im2col": "taps",
               "winograd": "taps", "winograd4": "taps", "depthwise": "taps",
               "col2im": "taps"}


def _ns_arrays(fname, input, weight, bias):
    """(namespace, stand-ins for the checks) of foreign layer arguments."""
    from ..backends import layers as NL
    from ..backends.namespace import namespace

    xp = namespace(*[a for a in (input, weight, bias) if a is not None])
    return xp, [NL.shadow(xp, a, name, fname) for a, name in
                ((input, "input"), (weight, "weight"), (bias, "bias"))]


def _ns_layout(xp, x, unb, data_format, forward):
    """Batched channels-first in (``forward``), or back to the caller's layout."""
    D = x.ndim - (1 if unb and forward else 2)
    if forward:
        if unb:
            x = xp.expand_dims(x, axis=0)
        if data_format == "channels_last":
            x = xp.permute_dims(x, (0, D + 1) + tuple(range(1, D + 1)))
        return x
    if data_format == "channels_last":
        x = xp.permute_dims(x, (0,) + tuple(range(2, D + 2)) + (1,))
    return x[0, ...] if unb else x


def _ns_finish(xp, y, bias, dt, unb, data_format):
    from ..backends.namespace import xp_dtype

    if bias is not None:
        y = y + xp.reshape(xp.astype(bias, y.dtype), (1, -1) + (1,) * (y.ndim - 2))
    return xp.astype(_ns_layout(xp, y, unb, data_format, False), xp_dtype(xp, dt))


def _ns_method(method, fname):
    if method not in _NS_METHODS:
        raise ValueError(f"{fname}: method must be one of {sorted(_NS_METHODS)}, got {method!r}")
    return _NS_METHODS[method]


def _ns_conv(D, fname, input, weight, bias, stride, padding, dilation, groups, padding_mode,
             data_format, method, accuracy):
    """conv{D}d for arrays of any namespace (``backends.layers``); the checks
    are the NumPy path's, run on stand-ins."""
    from ..backends import layers as NL
    from ..backends.namespace import xp_dtype

    check_accuracy(accuracy)
    xp, (sx, sw, sb) = _ns_arrays(fname, input, weight, bias)
    _, _, _, dt, cd, unb, stride, dilation, pads = _forward_problem(
        sx, sw, sb, stride, padding, dilation, groups, D, fname, padding_mode, data_format)
    x = xp.astype(_ns_layout(xp, input, unb, data_format, True), xp_dtype(xp, cd))
    y = NL.conv(x, xp.astype(weight, xp_dtype(xp, cd)), stride, dilation, groups, pads,
                padding_mode, _ns_method(method, fname))
    return _ns_finish(xp, y, bias, dt, unb, data_format)


def _ns_conv_t(D, fname, input, weight, bias, stride, padding, output_padding, groups,
               dilation, data_format, method, accuracy):
    """conv_transpose{D}d for arrays of any namespace (``backends.layers``)."""
    from ..backends import layers as NL
    from ..backends.namespace import xp_dtype

    check_accuracy(accuracy)
    xp, (sx, sw, sb) = _ns_arrays(fname, input, weight, bias)
    _, _, _, dt, cd, unb, stride, dilation, padding, out = _transpose_problem(
        sx, sw, sb, stride, padding, output_padding, groups, dilation, D, fname, data_format)
    _ns_method(method, fname)
    x = xp.astype(_ns_layout(xp, input, unb, data_format, True), xp_dtype(xp, cd))
    y = NL.transposed(x, xp.astype(weight, xp_dtype(xp, cd)), stride, dilation, groups,
                      padding, out)
    return _ns_finish(xp, y, bias, dt, unb, data_format)


def _layer_via(name):
    """The layer for foreign arrays: PyTorch tensors (on any device, zero
    padding, channels first) through fastconv.torch's conv1d / conv2d (FFT
    for long kernels, autograd) or torch.nn.functional's own; every other
    namespace (JAX, CuPy, array-api-strict), and torch tensors with the
    options torch lacks, through the namespace engine's layers."""
    D = int(name[-2])
    transposed = name.startswith("conv_transpose")
    fname = name

    def via(input, weight, bias=None, *args, padding_mode="zeros",
            data_format="channels_first", method="auto", accuracy="default", **kw):
        names = (("stride", "padding", "output_padding", "groups", "dilation") if transposed
                 else ("stride", "padding", "dilation", "groups"))
        if len(args) > len(names):
            raise TypeError(f"{fname}() takes at most {len(names) + 3} positional arguments")
        opts = dict(zip(names, args))
        for k in kw:
            if k not in names or k in opts:
                raise TypeError(f"{fname}() got an unexpected or repeated argument {k!r}")
        opts.update(kw)
        roots = {type(a).__module__.split(".")[0] for a in (input, weight, bias)
                 if a is not None}
        if roots == {"torch"} and padding_mode == "zeros" and data_format == "channels_first":
            if name in ("conv1d", "conv2d"):
                from .. import torch as ft

                return getattr(ft, name)(input, weight, bias, method="fft" if method == "fft"
                                         else "auto", **opts)
            import torch.nn.functional as TF

            return getattr(TF, name)(input, weight, bias, **opts)
        full = {k: v for k, v in zip(names, (1, 0, 0, 1, 1) if transposed else (1, 0, 1, 1))}
        full.update(opts)
        if transposed:
            if padding_mode != "zeros":
                raise TypeError(f"{fname}() got an unexpected keyword argument 'padding_mode'")
            return _ns_conv_t(D, fname, input, weight, bias, full["stride"], full["padding"],
                              full["output_padding"], full["groups"], full["dilation"],
                              data_format, method, accuracy)
        return _ns_conv(D, fname, input, weight, bias, full["stride"], full["padding"],
                        full["dilation"], full["groups"], padding_mode, data_format, method,
                        accuracy)
    return via


@backends.accepts_arrays(via=_layer_via("conv1d"))
def conv1d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
           stride: IntOrTuple = 1, padding: Union[str, IntOrTuple] = 0,
           dilation: IntOrTuple = 1, groups: int = 1, *, padding_mode: str = "zeros",
           data_format: str = "channels_first", method: str = "auto",
           accuracy: str = "default") -> np.ndarray:
    """1-D convolution layer (torch.nn.functional.conv1d's semantics; see module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> nn.conv1d(x, np.ones((1, 1, 3)), padding=1)
    array([[[1., 3., 6., 9., 7.]]])
    """
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, data_format, method, accuracy)


@backends.accepts_arrays(via=_layer_via("conv2d"))
def conv2d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
           stride: IntOrTuple = 1, padding: Union[str, IntOrTuple] = 0,
           dilation: IntOrTuple = 1, groups: int = 1, *, padding_mode: str = "zeros",
           data_format: str = "channels_first", method: str = "auto",
           accuracy: str = "default") -> np.ndarray:
    """2-D convolution layer (torch.nn.functional.conv2d's semantics; see module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> nn.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, data_format, method, accuracy)


@backends.accepts_arrays(via=_layer_via("conv3d"))
def conv3d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
           stride: IntOrTuple = 1, padding: Union[str, IntOrTuple] = 0,
           dilation: IntOrTuple = 1, groups: int = 1, *, padding_mode: str = "zeros",
           data_format: str = "channels_first", method: str = "auto",
           accuracy: str = "default") -> np.ndarray:
    """3-D convolution layer (torch.nn.functional.conv3d's semantics; see module doc)."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups,
                 padding_mode, data_format, method, accuracy)


@backends.accepts_arrays(via=_layer_via("conv_transpose1d"))
def conv_transpose1d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1, *, data_format: str = "channels_first",
                     method: str = "auto", accuracy: str = "default") -> np.ndarray:
    """1-D transposed convolution (torch.nn.functional.conv_transpose1d's semantics).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import nn
    >>> nn.conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 2)), stride=2)
    array([[[1., 1., 1., 1., 1., 1.]]])
    """
    return _conv_t(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                   groups, dilation, data_format, method, accuracy)


@backends.accepts_arrays(via=_layer_via("conv_transpose2d"))
def conv_transpose2d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1, *, data_format: str = "channels_first",
                     method: str = "auto", accuracy: str = "default") -> np.ndarray:
    """2-D transposed convolution (torch.nn.functional.conv_transpose2d's semantics)."""
    return _conv_t(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                   groups, dilation, data_format, method, accuracy)


@backends.accepts_arrays(via=_layer_via("conv_transpose3d"))
def conv_transpose3d(input: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1, *, data_format: str = "channels_first",
                     method: str = "auto", accuracy: str = "default") -> np.ndarray:
    """3-D transposed convolution (torch.nn.functional.conv_transpose3d's semantics)."""
    return _conv_t(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding,
                   groups, dilation, data_format, method, accuracy)


def explain_conv(input: ArrayLike, weight: ArrayLike, stride: IntOrTuple = 1,
                 padding: Union[str, IntOrTuple] = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, *, accuracy: str = "default") -> str:
    """The planner's estimates for the forward convolution ``conv{D}d(input,
    weight, ...)`` (D from the weight) and the algorithm it picks."""
    w = np.asarray(weight)
    D = w.ndim - 2
    if D < 1:
        raise ValueError(f"weight must be at least 3-D, got shape {w.shape}")
    x, w, b, dt, cd, unb, stride, dilation, pads = _forward_problem(
        input, weight, None, stride, padding, dilation, groups, D, f"conv{D}d", "zeros",
        "channels_first")
    plan = _core.layer_forward(np.empty(x.shape, cd), np.empty(w.shape, cd), stride, dilation,
                               groups, pads, plan_only=True,
                               accuracy=check_accuracy(accuracy))
    return plan.explain()
