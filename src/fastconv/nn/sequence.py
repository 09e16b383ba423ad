"""Convolutions of sequence models (H3, Hyena, Mamba-style short filters).

* :func:`long_conv`: depthwise convolution of (B, H, L) sequences with a
  kernel per channel as long as the sequence (FFT or a partitioned FFT,
  direct for short kernels: the planner chooses), in an explicit mode:
  'causal' ``y[t] = sum_{j<=t} k[j] u[t-j]`` (a true convolution, what an
  rFFT product at 2L computes), 'bidirectional' (a second kernel for the
  anti-causal part, ``+ sum_j k2[j] u[t+j]``; ``k2[0]`` multiplies
  ``u[t]`` too), 'circular' (``t - j`` mod L).  Any L.
* :class:`LongConvKernel`: a kernel's spectra made once for a sequence
  length, reused by every call (they are reused across the batch anyway).
* :func:`causal_conv1d` / :func:`causal_conv1d_update`: the short causal
  depthwise filter (torch's conv1d with K-1 zeros of left padding and
  groups=D), bias and SiLU fused, and its token-by-token form.
* :class:`LongConvDecoder`: autoregressive generation, one token (or a
  chunk) at a time, the same outputs as :func:`long_conv` over the whole
  sequence, on :class:`fastconv.stream.Convolver`'s partitioned convolution.

Gradients: :func:`fastconv.nn.grad.long_conv`, :func:`fastconv.nn.grad.causal_conv1d`.
Arrays are float32 or float64 (float16 computed in float32, integers in
float64); inputs are never modified.
"""
from __future__ import annotations

import operator
from typing import Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .. import backends

__all__ = ["long_conv", "LongConvKernel", "explain_long_conv", "causal_conv1d",
           "causal_conv1d_update", "LongConvDecoder"]

MODES = ("causal", "bidirectional", "circular")
LAYOUTS = ("BHL", "BLH")
ACTIVATIONS = (None, "silu", "swish")


def _dtype(*arrays):
    dt = np.result_type(*[a.dtype for a in arrays])
    if dt.kind == "c":
        raise TypeError("complex inputs are not supported; convolve real and imaginary "
                        "parts separately")
    if dt.kind not in "biuf":
        raise TypeError(f"expected real numbers, got {dt}")
    return np.dtype(np.float32) if dt in (np.float16, np.float32) else np.dtype(np.float64)


def _as(a, name):
    try:
        return np.asarray(a)
    except Exception:
        raise TypeError(f"{name} must be array_like, got {type(a).__name__}") from None


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def _sequence(u, layout):
    """u as (B, H, L) (a view when possible), whether it was unbatched."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be 'BHL' or 'BLH', got {layout!r}")
    if u.ndim not in (2, 3):
        raise ValueError(f"u must be (B, H, L) or (H, L) (layout={layout!r}), got {u.ndim} "
                         f"dimensions")
    unbatched = u.ndim == 2
    if unbatched:
        u = u[None]
    if layout == "BLH":
        u = np.swapaxes(u, 1, 2)
    if u.shape[2] == 0:
        raise ValueError("u has an empty sequence axis (L = 0)")
    return u, unbatched


def _out(y, unbatched, layout):
    if layout == "BLH":
        y = np.ascontiguousarray(np.swapaxes(y, 1, 2))
    return y[0] if unbatched else y


def _kernels(k, mode, H, L):
    """(k1, k2 or None) as (Hk, Lk) arrays (Hk = H, or 1 for a shared kernel)."""
    if mode == "bidirectional":
        if isinstance(k, (tuple, list)) and len(k) == 2 and not np.isscalar(k[0]):
            k1, k2 = _as(k[0], "k"), _as(k[1], "k")
        else:
            kk = _as(k, "k")
            if kk.ndim not in (2, 3) or kk.shape[0] != 2:
                raise ValueError(f"k for mode='bidirectional' must be a pair (k_causal, "
                                 f"k_anticausal) or an array (2, H, Lk) / (2, Lk), got "
                                 f"shape {kk.shape}")
            k1, k2 = kk[0], kk[1]
        if k1.shape != k2.shape:
            raise ValueError(f"the two kernels of k differ in shape: {k1.shape} and {k2.shape}")
    else:
        k1, k2 = _as(k, "k"), None
    out = []
    for kk in (k1, k2):
        if kk is None:
            out.append(None)
            continue
        if kk.ndim == 1:
            kk = kk[None]
        if kk.ndim != 2:
            raise ValueError(f"k must be (H, Lk) or (Lk,) (one kernel for all channels), got "
                             f"{kk.ndim} dimensions")
        if kk.shape[0] not in (1, H):
            raise ValueError(f"k has {kk.shape[0]} channels, u has H={H}")
        if kk.shape[1] == 0:
            raise ValueError("k has no taps (Lk = 0)")
        if kk.shape[1] > L:
            raise ValueError(f"k has {kk.shape[1]} taps, longer than the sequence (L={L})")
        out.append(kk)
    return out


def _skip(skip, H, dt):
    if skip is None:
        return None
    s = _as(skip, "skip")
    if s.ndim == 0:
        s = np.full(H, s)
    if s.shape != (H,):
        raise ValueError(f"skip must be a scalar or (H,) = ({H},), got shape {s.shape}")
    return np.ascontiguousarray(s, dtype=dt)


class LongConvKernel:
    """A long-convolution kernel with its spectra made once for sequences
    of ``length`` (reused by every :func:`long_conv` call that passes it).

    Parameters
    ----------
    k : array_like
        (H, Lk) or (Lk,); for ``mode='bidirectional'`` a pair or (2, ...).
    length : int
        The sequence length L the spectra are for.
    mode : {'causal', 'bidirectional', 'circular'}
    dtype : float32 or float64
        The compute dtype (float32 default).
    method : {'auto', 'fft', 'partitioned', 'direct'}
    channels : int, optional
        H, when ``k`` is one kernel shared by all channels (its plan depends
        on H); default: ``k``'s channels.
    batch : int
        The batch size the plan is made for (default 1; any batch works).
    """

    def __init__(self, k: ArrayLike, length: int, *, mode: str = "causal",
                 dtype: ArrayLike = np.float32, method: str = "auto",
                 channels: Optional[int] = None, batch: int = 1) -> None:
        _check_mode(mode)
        try:
            L = operator.index(length)
        except TypeError:
            raise TypeError(f"length must be an int, got {length!r}") from None
        if L < 1:
            raise ValueError(f"length must be >= 1, got {L}")
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dt}")
        first = k[0] if mode == "bidirectional" and isinstance(k, (tuple, list)) else \
            (_as(k, "k")[0] if mode == "bidirectional" else _as(k, "k"))
        first = np.asarray(first)
        H = channels if channels is not None else (first.shape[0] if first.ndim == 2 else 1)
        k1, k2 = _kernels(k, mode, H, L)
        self.k1 = np.array(k1, dtype=dt)          # copies: later changes to k do not leak in
        self.k2 = None if k2 is None else np.array(k2, dtype=dt)
        self.mode, self.length, self.dtype, self.channels = mode, L, dt, H
        probe = np.broadcast_to(np.zeros((), dt), (max(1, int(batch)), H, L))
        plan = _core.long_conv_plan(probe, self.k1.shape[1], mode, method)
        self.method, self.params = plan.method, plan.params
        self.spectra = _core.long_conv_spectra(self.k1, self.k2, mode, plan.method, plan.params)

    def __repr__(self) -> str:
        return (f"LongConvKernel(channels={self.k1.shape[0]}, taps={self.k1.shape[1]}, "
                f"length={self.length}, mode={self.mode!r}, method={self.method!r})")


def _roots(*arrays):
    return {type(a).__module__.split(".")[0] for a in arrays if hasattr(a, "shape")}


def _ns_kernels(xp, k, mode, H, L, fname):
    """(k1, k2 or None) of foreign kernels as (Hk, Lk) arrays, checked as
    :func:`_kernels` checks (on stand-ins)."""
    from ..backends import layers as NL

    if isinstance(k, LongConvKernel):
        raise TypeError(f"{fname}: a LongConvKernel holds NumPy spectra; with "
                        f"{NL.backend_name(xp)} arrays pass the kernel array itself")
    pair = mode == "bidirectional" and isinstance(k, (tuple, list))
    parts = list(k) if pair else [k]
    _kernels(tuple(NL.shadow(xp, a, "k", fname) for a in parts) if pair
             else NL.shadow(xp, k, "k", fname), mode, H, L)
    if mode == "bidirectional" and not pair:
        parts = [k[0, ...], k[1, ...]]
    out = [xp.reshape(a, (1, -1)) if a.ndim == 1 else a for a in parts]
    return out[0], (out[1] if len(out) > 1 else None)


def _ns_skip(xp, skip, H, like, fname):
    from ..backends import layers as NL

    if skip is None:
        return None
    if not hasattr(skip, "shape") or skip.ndim == 0:
        return xp.full((H,), float(skip), dtype=like.dtype, device=NL._dev(like))
    _skip(NL.shadow(xp, skip, "skip", fname), H, np.float64)
    return xp.astype(skip, like.dtype)


def _ns_sequence(xp, u, layout, fname, what="u"):
    """Foreign (B, H, L) (or unbatched / BLH) as batched BHL; stand-in checks."""
    from ..backends import layers as NL

    s3, unb = _sequence(NL.shadow(xp, u, what, fname), layout)
    if unb:
        u = xp.expand_dims(u, axis=0)
    if layout == "BLH":
        u = xp.permute_dims(u, (0, 2, 1))
    return u, s3, unb


def _ns_back(xp, y, unb, layout):
    if layout == "BLH":
        y = xp.permute_dims(y, (0, 2, 1))
    return y[0, ...] if unb else y


def _ns_long_conv(u, k, *, mode="causal", skip=None, layout="BHL", method="auto"):
    """long_conv for foreign arrays: PyTorch tensors in the causal or
    circular BHL form through fastconv.torch.long_conv (autograd); the rest
    (JAX, CuPy, array-api-strict, and torch's other forms) as one product of
    spectra in the array's own namespace (``backends.layers.long_conv``)."""
    from ..backends import layers as NL
    from ..backends.namespace import namespace, xp_dtype

    fname = "fastconv.nn.long_conv"
    _check_mode(mode)
    kparts = list(k) if isinstance(k, (tuple, list)) else [k]
    skips = [skip] if hasattr(skip, "shape") else []
    if (_roots(u, *kparts, *skips) == {"torch"} and layout == "BHL"
            and mode in ("causal", "circular") and not isinstance(k, (tuple, list))):
        from .. import torch as ft

        return ft.long_conv(u, k, skip, mode=mode)
    if method not in ("auto", "fft"):
        raise ValueError(f"{fname}: method={method!r} is not available for "
                         f"{sorted(_roots(u))[0]} arrays (the namespace engine multiplies "
                         f"spectra: 'auto' or 'fft')")
    xp = namespace(u, *[a for a in kparts if hasattr(a, "shape")], *skips)
    u3, s3, unb = _ns_sequence(xp, u, layout, fname)
    B, H, L = s3.shape
    k1, k2 = _ns_kernels(xp, k, mode, H, L, fname)
    dt = _dtype(s3, np.empty(0, NL.float_dtype(xp, k1.dtype, "k", fname)))
    c = xp_dtype(xp, dt)
    u3 = xp.astype(u3, c)
    y = NL.long_conv(u3, xp.astype(k1, c), None if k2 is None else xp.astype(k2, c), mode,
                     _ns_skip(xp, skip, H, u3, fname))
    return _ns_back(xp, y, unb, layout)


@backends.accepts_arrays(via=_ns_long_conv)
def long_conv(u: ArrayLike, k: Union[ArrayLike, LongConvKernel], *, mode: str = "causal",
              skip: Optional[ArrayLike] = None, layout: str = "BHL",
              method: str = "auto") -> np.ndarray:
    """Depthwise long convolution of sequences (see the module docstring).

    Parameters
    ----------
    u : array_like
        (B, H, L) or unbatched (H, L); with ``layout='BLH'`` (B, L, H) / (L, H).
    k : array_like or LongConvKernel
        (H, Lk) with Lk <= L, or (Lk,) shared by all channels; for
        'bidirectional' a pair (k_causal, k_anticausal) or (2, H, Lk).
    mode : {'causal', 'bidirectional', 'circular'}
    skip : array_like, optional
        The D term: ``y += u * skip`` per channel (H,) or a scalar.
    layout : {'BHL', 'BLH'}
    method : {'auto', 'fft', 'partitioned', 'direct'}
        'auto': the planner's choice (:func:`explain_long_conv`).  With a
        :class:`LongConvKernel` its method, and its dtype as compute dtype.

    Returns
    -------
    ndarray
        Same shape and layout as ``u``; float32 for float32/float16 inputs,
        else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.nn import long_conv
    >>> long_conv(np.ones((1, 1, 4)), np.array([[1.0, 2.0]]))
    array([[[1., 3., 3., 3.]]])
    """
    _check_mode(mode)
    u = _as(u, "u")
    u3, unbatched = _sequence(u, layout)
    B, H, L = u3.shape
    prepared = None
    if isinstance(k, LongConvKernel):
        if k.mode != mode:
            raise ValueError(f"k was prepared for mode={k.mode!r}, the call asks for {mode!r}")
        if k.length != L:
            raise ValueError(f"k was prepared for length {k.length}, u has L={L}")
        if k.k1.shape[0] not in (1, H):
            raise ValueError(f"k has {k.k1.shape[0]} channels, u has H={H}")
        _dtype(u)
        dt = k.dtype                       # the prepared kernel's dtype is the compute dtype
        k1, k2 = k.k1, k.k2
        prepared = (k.method, k.params, k.spectra)
    else:
        k1, k2 = _kernels(k, mode, H, L)
        dt = _dtype(u, k1) if k2 is None else _dtype(u, k1, k2)
        k1 = np.ascontiguousarray(k1, dtype=dt)
        k2 = None if k2 is None else np.ascontiguousarray(k2, dtype=dt)
    s = _skip(skip, H, dt)
    uc = np.ascontiguousarray(u3, dtype=dt)
    y = _core.long_conv(uc, k1, k2, mode, s, method, prepared)
    if y is None:                 # NaN / infinity: the products of the definition
        from ..backends import layers as NL

        y = NL.long_conv(uc, k1, k2, mode, s)
    return _out(y, unbatched, layout)


def explain_long_conv(u: ArrayLike, k: ArrayLike, *, mode: str = "causal",
                      layout: str = "BHL") -> str:
    """The planner's estimates for :func:`long_conv` on these shapes."""
    _check_mode(mode)
    u3, _ = _sequence(_as(u, "u"), layout)
    k1, k2 = _kernels(k, mode, u3.shape[1], u3.shape[2])
    probe = np.broadcast_to(np.zeros((), _dtype(u3, k1)), u3.shape)
    return _core.long_conv_plan(probe, k1.shape[1], mode).explain()


def _act(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be None or 'silu', got {activation!r}")
    return 0 if activation is None else 1


def _short_checks(x, weight, bias, fname="causal_conv1d"):
    x = _as(x, "x")
    w = _as(weight, "weight")
    if x.ndim not in (2, 3):
        raise ValueError(f"{fname}: x must be (B, D, L) or (D, L), got {x.ndim} dimensions")
    unbatched = x.ndim == 2
    x3 = x[None] if unbatched else x
    if w.ndim != 2:
        raise ValueError(f"{fname}: weight must be (D, K), got {w.ndim} dimensions")
    D = x3.shape[1]
    if w.shape[0] != D:
        raise ValueError(f"{fname}: weight has {w.shape[0]} channels, x has D={D}")
    if w.shape[1] < 1:
        raise ValueError(f"{fname}: weight has no taps (K = 0)")
    arrays = [x3, w]
    b = None
    if bias is not None:
        b = _as(bias, "bias")
        if b.shape != (D,):
            raise ValueError(f"{fname}: bias must be (D,) = ({D},), got shape {b.shape}")
        arrays.append(b)
    dt = _dtype(*arrays)
    return x3, w, b, unbatched, dt


def _short(x, weight, bias, fname="causal_conv1d"):
    x3, w, b, unbatched, dt = _short_checks(x, weight, bias, fname)
    return (np.ascontiguousarray(x3, dtype=dt), np.ascontiguousarray(w, dtype=dt),
            None if b is None else np.ascontiguousarray(b, dtype=dt), unbatched, dt)


def _ns_short(x, weight, bias, fname):
    """(namespace, x (B, D, L), w, bias in the compute dtype, unbatched) of
    foreign arguments, checked as the NumPy path checks (stand-ins)."""
    from ..backends import layers as NL
    from ..backends.namespace import namespace, xp_dtype

    xp = namespace(*[a for a in (x, weight, bias) if a is not None])
    _, _, _, unb, dt = _short_checks(*[NL.shadow(xp, a, n, fname) for a, n in
                                       ((x, "x"), (weight, "weight"), (bias, "bias"))], fname)
    c = xp_dtype(xp, dt)
    x3 = xp.expand_dims(x, axis=0) if unb else x
    return (xp, xp.astype(x3, c), xp.astype(weight, c),
            None if bias is None else xp.astype(bias, c), unb)


def _ns_causal_conv1d(x, weight, bias=None, activation=None):
    """causal_conv1d for foreign arrays (any namespace; torch tensors that
    need a gradient or live on a GPU too): K shifted views summed."""
    from ..backends import layers as NL

    xp, x3, w, b, unb = _ns_short(x, weight, bias, "causal_conv1d")
    if x3.shape[2] == 0:
        raise ValueError("causal_conv1d: x has an empty sequence axis")
    y = NL.causal_conv1d(x3, w, b, _act(activation))
    return y[0, ...] if unb else y


def _ns_causal_conv1d_update(x, state, weight, bias=None, activation=None):
    """causal_conv1d_update for foreign arrays: the state updated in place
    where the library allows it (PyTorch, CuPy, array-api-strict); JAX's
    arrays are immutable: a TypeError naming ``state``."""
    from ..backends import layers as NL

    fname = "causal_conv1d_update"
    if x.ndim != 2:
        raise ValueError(f"{fname}: x must be (B, D), got {x.ndim} dimensions")
    xp, x3, w, b, _ = _ns_short(x[:, :, None], weight, bias, fname)
    B, D = x.shape
    K = w.shape[1]
    if not hasattr(state, "shape") or tuple(state.shape) != (B, D, K - 1):
        raise ValueError(f"{fname}: state must be an array (B, D, K-1) = ({B}, {D}, {K - 1}), "
                         f"got {getattr(state, 'shape', type(state).__name__)}")
    full = xp.concat([xp.astype(state, x3.dtype), x3], axis=2)       # (B, D, K)
    y = xp.sum(full * xp.reshape(w, (1, D, K)), axis=2)
    if b is not None:
        y = y + xp.reshape(b, (1, D))
    if _act(activation):
        y = y / (1 + xp.exp(-y))
    if K > 1:
        try:
            state[...] = xp.astype(full[:, :, 1:], state.dtype)
        except TypeError as e:
            raise TypeError(f"{fname}: state cannot be updated in place on the "
                            f"{NL.backend_name(xp)} backend ({e}); use causal_conv1d over "
                            f"the window") from None
    return y


@backends.accepts_arrays(via=_ns_causal_conv1d)
def causal_conv1d(x: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
                  activation: Optional[str] = None) -> np.ndarray:
    """Causal depthwise filter ``y[b, d, t] = act(bias[d] + sum_{j<K} w[d, K-1-j]
    x[b, d, t-j])``: torch's ``conv1d(F.pad(x, (K-1, 0)), w[:, None], bias,
    groups=D)`` (weight in torch's order: the last tap multiplies the current
    input), as Mamba's causal-conv1d computes it; ``activation='silu'``
    applies SiLU.  x (B, D, L) or (D, L), weight (D, K), bias (D,)."""
    x3, w, b, unbatched, dt = _short(x, weight, bias)
    if x3.shape[2] == 0:
        raise ValueError("causal_conv1d: x has an empty sequence axis")
    y = _core.causal_conv1d(x3, np.ascontiguousarray(w[:, ::-1]), b, _act(activation))
    return y[0] if unbatched else y


@backends.accepts_arrays(via=_ns_causal_conv1d_update)
def causal_conv1d_update(x: ArrayLike, state: np.ndarray, weight: ArrayLike,
                         bias: Optional[ArrayLike] = None,
                         activation: Optional[str] = None) -> np.ndarray:
    """One decoding step of :func:`causal_conv1d`: ``x`` (B, D) the new
    token, ``state`` (B, D, K-1) the last K-1 inputs (oldest first; zeros
    at the start), updated in place; returns the output (B, D), the same
    as :func:`causal_conv1d` over the whole sequence at this position."""
    xx = _as(x, "x")
    if xx.ndim != 2:
        raise ValueError(f"causal_conv1d_update: x must be (B, D), got {xx.ndim} dimensions")
    x3, w, b, _, dt = _short(xx[:, :, None], weight, bias, "causal_conv1d_update")
    B, D = xx.shape
    K = w.shape[1]
    if not isinstance(state, np.ndarray) or state.shape != (B, D, K - 1):
        raise ValueError(f"causal_conv1d_update: state must be a numpy array (B, D, K-1) = "
                         f"({B}, {D}, {K - 1}), got "
                         f"{getattr(state, 'shape', type(state).__name__)}")
    if not state.flags.writeable:
        raise ValueError("causal_conv1d_update: state must be writeable (updated in place)")
    return _core.causal_conv1d_step(x3[:, :, 0], state, w, b, _act(activation))


class LongConvDecoder:
    """Causal long convolution one token (or chunk) at a time, for
    autoregressive generation: the outputs equal :func:`long_conv`'s
    (mode='causal') over everything fed so far, at a per-token cost of the
    partitioned stream convolution (:class:`fastconv.stream.Convolver`,
    block size 1) instead of recomputing the prefix.

    Parameters
    ----------
    k : array_like
        (H, Lk) or (Lk,).
    skip : array_like, optional
        The D term, (H,) or a scalar.
    dtype : float32 or float64
    """

    def __init__(self, k: ArrayLike, *, skip: Optional[ArrayLike] = None,
                 dtype: ArrayLike = np.float32) -> None:
        from ..stream import Convolver

        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dt}")
        kk = _as(k, "k")
        if kk.ndim == 1:
            kk = kk[None]
        if kk.ndim != 2 or kk.shape[1] == 0:
            raise ValueError(f"k must be (H, Lk) or (Lk,) with Lk >= 1, got shape "
                             f"{np.shape(k)}")
        self.k = np.array(kk, dtype=dt)
        self.H = self.k.shape[0]
        self.dtype = dt
        self.skip = None if skip is None else _skip(skip, self.H, dt)
        # y[t] = k[0] u[t] + sum_{j>=1} k[j] u[t-j]; the tail is the stream
        # convolution with k[1:] one sample late: exactly its latency of 1
        self._tail = (Convolver(self.k[:, 1:], block_size=1) if self.k.shape[1] > 1
                      else None)
        self.position = 0

    def process(self, chunk: ArrayLike) -> np.ndarray:
        """``chunk`` (B, H, T) (or (H, T)) -> the T outputs (same shape)."""
        c = np.asarray(_as(chunk, "chunk"), dtype=self.dtype)
        if c.ndim not in (2, 3) or c.shape[-2] not in (1, self.H) and self.H != 1:
            raise ValueError(f"chunk must be (B, H, T) or (H, T) with H={self.H}, got "
                             f"shape {c.shape}")
        y = c * self.k[:, :1]
        if self._tail is not None:
            y = y + self._tail.process(c)
        if self.skip is not None:
            y = y + c * self.skip[:, None]
        self.position += c.shape[-1]
        return y.astype(self.dtype, copy=False)

    def step(self, token: ArrayLike) -> np.ndarray:
        """One token (B, H) (or (H,)) -> its output (same shape)."""
        t = np.asarray(_as(token, "token"), dtype=self.dtype)
        return self.process(t[..., None])[..., 0]

    def reset(self) -> None:
        """Start a new sequence."""
        if self._tail is not None:
            self._tail.reset()
        self.position = 0
