"""PyTorch autograd for FFT convolutions: ``conv1d`` / ``conv2d`` with
torch.nn.functional's signature that take an FFT for long kernels (torch has
none: conv1d with long kernels is 20-40x slower than an FFT, pytorch#21462),
``long_conv`` (H3 / Hyena long convolutions), and ``Conv1d`` / ``Conv2d``
modules.  On CPU and CUDA tensors alike (torch.fft runs on the tensor's
device); gradients are checked by ``torch.autograd.gradcheck``.

The FFT functions save only their inputs and recompute the spectra in the
backward pass (the frequency-domain products of the forward are not kept).
Importing this module imports torch; ``import fastconv`` does not.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["Conv1d", "Conv2d", "conv1d", "conv2d", "long_conv"]

#: kernels with at least this many taps (product over the spatial axes) take
#: the FFT under method='auto'.  Measured on the 2-core AVX-512 CPU
#: (2026-12-05, float32, x (8, 64, 4096), w (64, 64, K), padding K//2; FFT /
#: torch.conv1d): K 32 3.5x, 64 2.1x, 128 1.06x, 512 0.26x, 2048 0.10x; the
#: channel mixing in the frequency domain costs a few complex multiply-adds per
#: bin, so the crossover in K hardly moves with the channel count
FFT_MIN_TAPS = 128


def _fast(n: int) -> int:
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _tuple(v, d, name):
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,) * d
    v = tuple(v)
    if len(v) != d or not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        raise ValueError(f"{name} must be an int or {d} ints, got {v!r}")
    return v


class _FFTConv(torch.autograd.Function):
    """Cross-correlation (torch's convolution) of x (N, C, *S) with w (O,
    C/groups, *K), zero padding ``pad`` per axis, stride 1, dilation 1, by
    transforms at fast lengths >= S + 2 pad."""

    @staticmethod
    def forward(ctx, x, w, pad, groups):
        ctx.save_for_backward(x, w)
        ctx.pad, ctx.groups = pad, groups
        y, _ = _fft_forward(x, w, pad, groups)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        pad, g = ctx.pad, ctx.groups
        dims, S, K, Lp, nfft, N, C, O, Cg, Og = _geometry(x, w, pad, g)
        G = torch.fft.rfftn(gy, s=nfft, dim=dims)
        Fs = G.shape[2:]
        P = math.prod(Fs)
        Gf = G.reshape(N, g, Og, P)
        gx = gw = None
        W = torch.fft.rfftn(w, s=nfft, dim=dims).reshape(g, Og, Cg, P)
        if ctx.needs_input_grad[0]:
            # grad of the padded input: the output gradient convolved with w
            GX = torch.einsum("ngop,gocp->ngcp", Gf, W).reshape((N, C) + tuple(Fs))
            gxp = torch.fft.irfftn(GX, s=nfft, dim=dims)
            gx = gxp[(Ellipsis,) + tuple(slice(p, p + s) for p, s in zip(pad, S))]
        if ctx.needs_input_grad[1]:
            # the padded input correlated with the output gradient
            xp = F.pad(x, [q for p in reversed(pad) for q in (p, p)])
            X = torch.fft.rfftn(xp, s=nfft, dim=dims).reshape(N, g, Cg, P)
            GW = torch.einsum("ngop,ngcp->gocp", Gf.conj(), X).reshape((O, Cg) + tuple(Fs))
            gw = torch.fft.irfftn(GW, s=nfft, dim=dims)[(Ellipsis,) + tuple(slice(0, k)
                                                                            for k in K)]
        return gx, gw, None, None


def _geometry(x, w, pad, g):
    """(transform dims, spatial shape, kernel shape, padded lengths, FFT
    lengths, N, C, O, C per group, O per group) of the FFT layer product."""
    dims = tuple(range(2, x.ndim))
    S = x.shape[2:]
    Lp = [s + 2 * p for s, p in zip(S, pad)]
    N, C = x.shape[:2]
    O = w.shape[0]
    return dims, S, w.shape[2:], Lp, [_fast(n) for n in Lp], N, C, O, C // g, O // g


def _fft_forward(x, w, pad, g):
    dims, S, K, Lp, nfft, N, C, O, Cg, Og = _geometry(x, w, pad, g)
    xp = F.pad(x, [q for p in reversed(pad) for q in (p, p)]) if any(pad) else x
    X = torch.fft.rfftn(xp, s=nfft, dim=dims)
    Fs = X.shape[2:]
    P = math.prod(Fs)
    W = torch.fft.rfftn(w, s=nfft, dim=dims)
    Y = torch.einsum("ngcp,gocp->ngop", X.reshape(N, g, Cg, P), W.reshape(g, Og, Cg, P).conj())
    y = torch.fft.irfftn(Y.reshape((N, O) + tuple(Fs)), s=nfft, dim=dims)
    Lo = [n - k + 1 for n, k in zip(Lp, K)]
    return y[(Ellipsis,) + tuple(slice(0, L) for L in Lo)].contiguous(), nfft


def _conv(d, input, weight, bias, stride, padding, dilation, groups, method):
    fn = (F.conv1d, F.conv2d)[d - 1]
    if method not in ("auto", "fft", "direct"):
        raise ValueError(f"method must be 'auto', 'fft' or 'direct', got {method!r}")
    unbatched = input.ndim == d + 1
    x = input.unsqueeze(0) if unbatched else input
    if x.ndim != d + 2:
        raise ValueError(f"input must be (N, C, {d} spatial axes) or (C, {d} spatial axes), "
                         f"got shape {tuple(input.shape)}")
    stride_t = _tuple(stride, d, "stride")
    dil = _tuple(dilation, d, "dilation")
    K = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0,) * d
        elif padding == "same":
            if any(s != 1 for s in stride_t):
                raise ValueError("padding='same' is not supported for strided convolutions "
                                 "(as torch)")
            if any((k - 1) % 2 for k in K):
                pad = None                    # asymmetric: torch's own path
            else:
                pad = tuple((k - 1) // 2 for k in K)
        else:
            raise ValueError(f"padding must be 'valid', 'same', an int or {d} ints, got "
                             f"{padding!r}")
    else:
        pad = _tuple(padding, d, "padding")
        if any(p < 0 for p in pad):
            raise ValueError(f"padding must be >= 0, got {padding!r}")
    C = x.shape[1]
    if C != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(f"weight {tuple(weight.shape)} and groups={groups} do not fit an "
                         f"input of {C} channels")
    fft_ok = pad is not None and all(s == 1 for s in stride_t) and all(v == 1 for v in dil) \
        and x.dtype in (torch.float32, torch.float64) and \
        all(s + 2 * p >= k for s, p, k in zip(x.shape[2:], pad, K))
    use_fft = method == "fft" or (method == "auto" and math.prod(K) >= FFT_MIN_TAPS)
    if use_fft and method == "auto" and not _finite(x, weight):
        use_fft = False            # a transform would spread one NaN over every output
    if use_fft and not fft_ok:
        if method == "fft":
            raise ValueError("method='fft' needs stride 1, dilation 1, symmetric padding and a "
                             "float32/float64 input no smaller than the kernel")
        use_fft = False
    if use_fft:
        y = _FFTConv.apply(x, weight, pad, groups)
        if bias is not None:
            y = y + bias.reshape((1, -1) + (1,) * d)
    else:
        y = fn(x, weight, bias, stride, padding, dilation, groups)
    return y.squeeze(0) if unbatched else y


def _finite(*ts) -> bool:
    """Whether the tensors hold no NaN or infinity (a device sync on CUDA)."""
    return all(bool(torch.isfinite(t).all()) for t in ts)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           method: str = "auto"):
    """torch.nn.functional.conv1d's semantics; an FFT for kernels of at least
    ``FFT_MIN_TAPS`` taps (stride 1, dilation 1), torch's own conv otherwise.
    ``method``: 'auto', 'fft' or 'direct' (torch's)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, method)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           method: str = "auto"):
    """torch.nn.functional.conv2d's semantics; an FFT for kernels of at least
    ``FFT_MIN_TAPS`` taps (stride 1, dilation 1), torch's own otherwise."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, method)


class _FFTForward:
    """The modules' forward: fastconv's conv (FFT for long kernels) for zero
    padding, torch's own for the other padding modes."""
    _fn = None

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return super()._conv_forward(input, weight, bias)
        return type(self)._fn(input, weight, bias, self.stride, self.padding, self.dilation,
                              self.groups)


class Conv1d(_FFTForward, torch.nn.Conv1d):
    """torch.nn.Conv1d whose forward is :func:`conv1d` (FFT for long kernels)."""
    _fn = staticmethod(conv1d)


class Conv2d(_FFTForward, torch.nn.Conv2d):
    """torch.nn.Conv2d whose forward is :func:`conv2d` (FFT for long kernels)."""
    _fn = staticmethod(conv2d)


class _LongConv(torch.autograd.Function):
    """y = causal (or circular) convolution of u (B, H, L) with k (H, Lk)
    plus u * skip; spectra recomputed in the backward pass."""

    @staticmethod
    def forward(ctx, u, k, skip, n, circular):
        L = u.shape[-1]
        ctx.save_for_backward(u, k, skip)
        ctx.n, ctx.circular = n, circular
        y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(k, n=n), n=n)[..., :L]
        if skip is not None:
            y = y + u * skip[:, None]
        return y

    @staticmethod
    def backward(ctx, gy):
        u, k, skip = ctx.saved_tensors
        n = ctx.n
        L, Lk = u.shape[-1], k.shape[-1]
        G = torch.fft.rfft(gy, n=n)
        gu = gk = gs = None
        if ctx.needs_input_grad[0]:
            gu = torch.fft.irfft(G * torch.fft.rfft(k, n=n).conj(), n=n)[..., :L]
            if skip is not None:
                gu = gu + gy * skip[:, None]
        if ctx.needs_input_grad[1]:
            gk = torch.fft.irfft((torch.fft.rfft(u, n=n).conj() * G).sum(0), n=n)[..., :Lk]
        if skip is not None and ctx.needs_input_grad[2]:
            gs = (gy * u).sum(dim=(0, 2))
        return gu, gk, gs, None, None


def long_conv(u, k, skip=None, *, mode: str = "causal"):
    """The long depthwise convolution of H3 / Hyena with autograd:
    ``y[b, h, t] = sum_{j <= t} k[h, j] u[b, h, t - j] (+ skip[h] u[b, h, t])``
    for ``mode='causal'`` (an rFFT product at a fast length >= L + Lk - 1),
    indices mod L for ``'circular'``.  ``u`` (B, H, L), ``k`` (H, Lk) or
    (Lk,) shared, Lk <= L; float32 or float64 on any device."""
    if mode not in ("causal", "circular"):
        raise ValueError(f"mode must be 'causal' or 'circular', got {mode!r}")
    if u.ndim != 3:
        raise ValueError(f"u must be (B, H, L), got shape {tuple(u.shape)}")
    if k.ndim == 1:
        k = k.unsqueeze(0).expand(u.shape[1], -1)
    if k.ndim != 2 or k.shape[0] != u.shape[1] or k.shape[1] > u.shape[2]:
        raise ValueError(f"k must be (H, Lk) with H = {u.shape[1]} and Lk <= L = {u.shape[2]}, "
                         f"got shape {tuple(k.shape)}")
    if skip is not None and tuple(skip.shape) != (u.shape[1],):
        raise ValueError(f"skip must have shape ({u.shape[1]},), got {tuple(skip.shape)}")
    L = u.shape[-1]
    n = L if mode == "circular" else _fast(L + k.shape[1] - 1)
    if _finite(u, k):
        return _LongConv.apply(u, k, skip, n, mode == "circular")
    # NaN / infinity: the products of the definition, not one NaN spread by
    # the transforms over every output (backends.namespace.nonfinite_guard)
    import array_api_compat

    from .backends.namespace import nonfinite_guard

    y = nonfinite_guard(array_api_compat.array_namespace(u), u, k,
                        lambda a, b: _LongConv.apply(a, b, None, n, mode == "circular"),
                        "torch", "u/k", stack=False)
    return y if skip is None else y + u * skip[:, None]
