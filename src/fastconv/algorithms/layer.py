"""Layer convolutions (channel contraction, stride, dilation, groups).

Three products, each on padded, contiguous arrays in the compute dtype:
``forward`` (N, C, *S) x (Co, C/g, *K) -> (N, Co, *O), ``transpose`` (its
adjoint: the transposed convolution and the input gradient) and
``weight_grad``.  Two algorithms:

* ``taps-gemm``: one BLAS GEMM per kernel tap, contracting the channels,
  on *views* of the input, never an im2col matrix.  The trick: flatten the
  spatial dims row-major; output position ``o`` of tap offset ``a`` reads flat
  input index ``ravel(o) + ravel(a)`` when the output is laid out with the
  input's row lengths ("wide" rows), so a tap's operand is one contiguous
  slice ``x[:, base : base + M]`` with BLAS's leading dimension the channel
  stride.  The wide rows' extra columns (``S - O`` per row: 2 of 58 for a
  56x56 3x3 layer) are computed and dropped.  A stride ``s`` splits the
  input into its ``prod(s)`` phases first (one copy of the input, no
  output computed and thrown away), and tap ``k`` reads phase
  ``k*d mod s`` at offset ``k*d // s``.  The transposed convolution is the
  same on the output's phases: output phase ``r`` gathers the taps with
  ``k*d mod s == r``.  Depthwise layers (one channel per group) take a
  broadcast multiply-add per tap instead of a GEMM of one channel.
* ``fft``: stride 1: the transforms of the inputs and weights, then per
  frequency a complex (N x C) @ (C x Co) product, then the inverse
  transforms; for long kernels (conv1d with hundreds of taps and more).
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def _row_strides(shape):
    st = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        st[i] = st[i + 1] * shape[i + 1]
    return st


def _phases(xp, stride):
    """``{r: (N, C, F) flat phase array}`` and the phase shape (with one
    slack row on the first dim, so that every wide slice stays inside)."""
    N, C = xp.shape[:2]
    Sp = xp.shape[2:]
    Sph = tuple(-(-n // s) for n, s in zip(Sp, stride))
    alloc = (Sph[0] + 1,) + Sph[1:]
    out = {}
    for r in itertools.product(*[range(s) for s in stride]):
        ph = np.zeros((N, C) + alloc, dtype=xp.dtype)
        src = xp[(slice(None), slice(None)) + tuple(slice(ri, None, s)
                                                    for ri, s in zip(r, stride))]
        ph[(slice(None), slice(None)) + tuple(slice(0, n) for n in src.shape[2:])] = src
        out[r] = ph.reshape(N, C, -1)
    return out, Sph, _row_strides(alloc)


def _gemm_taps(acc, pieces, groups, depthwise):
    """acc (N, Co, M) = sum over pieces (w_t (Co, Cg), xf (N, C, F), base)
    of w_t @ xf[:, group's channels, base:base+M], group by group."""
    N, Co, M = acc.shape
    og = Co // groups
    tmp = None
    first = True
    for w_t, xf, base in pieces:
        src = xf[:, :, base:base + M]
        if depthwise:
            # one channel per group: a broadcast multiply-add per tap
            if first:
                np.multiply(w_t[None, :, None], src, out=acc)
            else:
                if tmp is None:
                    tmp = np.empty_like(acc)
                np.multiply(w_t[None, :, None], src, out=tmp)
                acc += tmp
            first = False
            continue
        Cg = w_t.shape[1]
        for g in range(groups):
            o = slice(g * og, (g + 1) * og)
            s = src[:, g * Cg:(g + 1) * Cg]
            if first and groups == 1:
                np.matmul(w_t, s, out=acc)
            elif first:
                acc[:, o] = np.matmul(w_t[o], s)
            else:
                if tmp is None:
                    tmp = np.empty((N, og, M), dtype=acc.dtype)
                np.matmul(w_t[o], s, out=tmp)
                acc[:, o] += tmp
        first = False
    if first:
        acc[...] = 0


def _depthwise(w, groups):
    return w.shape[1] == 1 and w.shape[0] == groups


def forward(xp, w, stride, dilation, groups):
    """(N, C, *Sp) padded input, (Co, C/groups, *K) weights -> (N, Co, *O)."""
    N = xp.shape[0]
    Sp = xp.shape[2:]
    Co, K = w.shape[0], w.shape[2:]
    O = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(Sp, K, stride, dilation))
    phases, Sph, rs = _phases(xp, stride)
    dw = _depthwise(w, groups)
    pieces = []
    for k in itertools.product(*[range(n) for n in K]):
        pos = [ki * d for ki, d in zip(k, dilation)]
        r = tuple(p % s for p, s in zip(pos, stride))
        base = sum((p // s) * st for p, s, st in zip(pos, stride, rs))
        wt = w[(slice(None), 0) + k] if dw else np.ascontiguousarray(w[(Ellipsis,) + k])
        pieces.append((wt, phases[r], base))
    M = O[0] * math.prod(Sph[1:])
    acc = np.empty((N, Co, M), dtype=xp.dtype)
    _gemm_taps(acc, pieces, groups, dw)
    y = acc.reshape((N, Co, O[0]) + Sph[1:])
    return np.ascontiguousarray(y[(Ellipsis,) + tuple(slice(0, o) for o in O[1:])])


def transpose(x, w, stride, dilation, groups):
    """The adjoint of :func:`forward` without its padding: (N, Ci, *L) and
    weights (Ci, Co/groups, *K) -> the full output (N, Co, *(s*Q)), where
    ``Q = L + (d*(K-1))//s``; position ``j`` holds ``sum_k w_k^T x[(j - k*d)/s]``
    (covers every ``j < s*(L-1) + d*(K-1) + 1``)."""
    N, Ci = x.shape[:2]
    L = x.shape[2:]
    og, K = w.shape[1], w.shape[2:]
    Co = og * groups
    Cg = Ci // groups
    E = tuple((d * (k - 1)) // s for k, s, d in zip(K, stride, dilation))
    Q = tuple(n + e for n, e in zip(L, E))
    shape = (L[0] + 2 * E[0] + 1,) + tuple(n + 2 * e for n, e in zip(L[1:], E[1:]))
    xpad = np.zeros((N, Ci) + shape, dtype=x.dtype)
    xpad[(slice(None), slice(None)) + tuple(slice(e, e + n) for e, n in zip(E, L))] = x
    rs = _row_strides(shape)
    xf = xpad.reshape(N, Ci, -1)
    by_phase = {}
    for k in itertools.product(*[range(n) for n in K]):
        pos = [ki * d for ki, d in zip(k, dilation)]
        r = tuple(p % s for p, s in zip(pos, stride))
        base = sum((e - p // s) * st for e, p, s, st in zip(E, pos, stride, rs))
        by_phase.setdefault(r, []).append((k, base))
    dw = og == 1 and Cg == 1
    full = np.zeros((N, Co) + tuple(s * q for s, q in zip(stride, Q)), dtype=x.dtype)
    M = Q[0] * math.prod(shape[1:])
    acc = np.empty((N, Co, M), dtype=x.dtype)
    for r, taps in by_phase.items():
        pieces = []
        for k, base in taps:
            wk = w[(Ellipsis,) + k]                      # (Ci, og)
            if dw:
                pieces.append((wk[:, 0], xf, base))
            else:
                # (Co, Cg): group g's block is wk[g*Cg:(g+1)*Cg].T
                wt = np.concatenate([wk[g * Cg:(g + 1) * Cg].T for g in range(groups)], axis=0)
                pieces.append((np.ascontiguousarray(wt), xf, base))
        _gemm_taps(acc, pieces, groups, dw)
        ph = acc.reshape((N, Co, Q[0]) + shape[1:])
        ph = ph[(Ellipsis,) + tuple(slice(0, q) for q in Q[1:])]
        full[(slice(None), slice(None)) + tuple(slice(ri, None, s) for ri, s in zip(r, stride))] = ph
    return full


def weight_grad(xp, g, K, stride, dilation, groups):
    """d(loss)/d(weights) of :func:`forward`: (N, C, *Sp) padded input and
    (N, Co, *O) output gradient -> (Co, C/groups, *K)."""
    N, C = xp.shape[:2]
    Co = g.shape[1]
    O = g.shape[2:]
    og, Cg = Co // groups, C // groups
    phases, Sph, rs = _phases(xp, stride)
    M = O[0] * math.prod(Sph[1:])
    gw = np.zeros((N, Co, O[0]) + Sph[1:], dtype=xp.dtype)
    gw[(slice(None), slice(None), slice(None)) + tuple(slice(0, o) for o in O[1:])] = g
    gf = gw.reshape(N, Co, M)
    out = np.empty((Co, Cg) + tuple(K), dtype=xp.dtype)
    for k in itertools.product(*[range(n) for n in K]):
        pos = [ki * d for ki, d in zip(k, dilation)]
        r = tuple(p % s for p, s in zip(pos, stride))
        base = sum((p // s) * st for p, s, st in zip(pos, stride, rs))
        src = phases[r][:, :, base:base + M]
        for gi in range(groups):
            o = slice(gi * og, (gi + 1) * og)
            c = slice(gi * Cg, (gi + 1) * Cg)
            acc = gf[0, o] @ src[0, c].T
            for n in range(1, N):
                acc += gf[n, o] @ src[n, c].T
            out[(o, slice(None)) + k] = acc
    return out


def _dilated(w, dilation):
    K = w.shape[2:]
    Kd = tuple(d * (k - 1) + 1 for k, d in zip(K, dilation))
    wd = np.zeros(w.shape[:2] + Kd, dtype=w.dtype)
    wd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = w
    return wd


def _spectral_product(Xf, Wf, groups, conj):
    """Xf (N, C, *F), Wf (A, B, *F) -> (N, Co, *F): per frequency
    ``Y[n, o] = sum_c X[n, c] W'[c, o]`` within each group, where ``W'`` is
    ``conj(W[o, c])`` (forward: W is (Co, C/g)) or ``W[c, o]`` (transpose:
    W is (C, Co/g))."""
    N, C = Xf.shape[:2]
    F = Xf.shape[2:]
    nf = math.prod(F)
    xt = np.ascontiguousarray(Xf.reshape(N, C, nf).transpose(2, 0, 1))     # (nf, N, C)
    if conj:
        Co, Cg = Wf.shape[:2]
        wt = np.conj(Wf.reshape(Co, Cg, nf).transpose(2, 1, 0))              # (nf, Cg, Co)
    else:
        Cg, og = Wf.shape[0] // groups, Wf.shape[1]
        Co = og * groups
        wt = Wf.reshape(Wf.shape[0], og, nf).transpose(2, 0, 1)               # (nf, C, og)
    og = Co // groups
    y = np.empty((nf, N, Co), dtype=xt.dtype)
    for g in range(groups):
        xs = xt[:, :, g * Cg:(g + 1) * Cg]
        ws = wt[:, :, g * og:(g + 1) * og] if conj else wt[:, g * Cg:(g + 1) * Cg, :]
        y[:, :, g * og:(g + 1) * og] = np.matmul(xs, ws)
    return y.transpose(1, 2, 0).reshape((N, Co) + F)


def forward_fft(xp, w, dilation, groups, workers):
    """:func:`forward` with stride 1, by FFT (correlation)."""
    from scipy import fft

    Sp = xp.shape[2:]
    D = len(Sp)
    wd = _dilated(w, dilation)
    Kd = wd.shape[2:]
    O = tuple(n - k + 1 for n, k in zip(Sp, Kd))
    L = tuple(fft.next_fast_len(n, real=True) for n in Sp)
    axes = tuple(range(2, 2 + D))
    Xf = fft.rfftn(xp, L, axes=axes, workers=workers)
    Wf = fft.rfftn(wd, L, axes=axes, workers=workers)
    Y = _spectral_product(Xf, Wf, groups, conj=True)
    y = fft.irfftn(Y, L, axes=axes, workers=workers)
    return np.ascontiguousarray(y[(Ellipsis,) + tuple(slice(0, o) for o in O)])


def transpose_fft(x, w, dilation, groups, workers):
    """:func:`transpose` with stride 1, by FFT (full convolution); returns
    the full output (N, Co, *(L + d*(K-1)))."""
    from scipy import fft

    L = x.shape[2:]
    D = len(L)
    wd = _dilated(w, dilation)
    Kd = wd.shape[2:]
    full = tuple(n + k - 1 for n, k in zip(L, Kd))
    Lf = tuple(fft.next_fast_len(n, real=True) for n in full)
    axes = tuple(range(2, 2 + D))
    Xf = fft.rfftn(x, Lf, axes=axes, workers=workers)
    Wf = fft.rfftn(wd, Lf, axes=axes, workers=workers)
    Y = _spectral_product(Xf, Wf, groups, conj=False)
    y = fft.irfftn(Y, Lf, axes=axes, workers=workers)
    return np.ascontiguousarray(y[(Ellipsis,) + tuple(slice(0, n) for n in full)])


#: numpy.pad's names for the layers' padding modes
PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def pad(x, pads, mode):
    """``x`` (N, C, *S) padded by ``pads`` ((lo, hi) per spatial dim)."""
    if not any(lo or hi for lo, hi in pads):
        return np.ascontiguousarray(x)
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads], mode=PAD_MODES[mode])


def _source_index(n, lo, hi, mode):
    """For each of the ``lo + n + hi`` padded positions, its input index."""
    t = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(t, 0, n - 1)
    if mode == "circular":
        return t % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(t)
        u = t % (2 * n - 2)
        return np.where(u < n, u, 2 * n - 2 - u)
    raise ValueError(mode)


def pad_adjoint(gp, n, pads, mode):
    """The adjoint of :func:`pad`: the padded gradient ``gp`` folded back
    onto the input's positions (N, C, *n)."""
    g = gp
    for i, ((lo, hi), size) in enumerate(zip(pads, n)):
        ax = 2 + i
        if mode == "zeros":
            g = np.take(g, np.arange(lo, lo + size), axis=ax)
            continue
        src = _source_index(size, lo, hi, mode)
        shape = list(g.shape)
        shape[ax] = size
        out = np.zeros(shape, dtype=g.dtype)
        moved = np.moveaxis(out, ax, 0)
        np.add.at(moved, src, np.moveaxis(g, ax, 0))
        g = out
    return g
