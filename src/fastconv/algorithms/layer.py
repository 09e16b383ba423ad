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

from ._common import TaskQueue, result


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


#: bytes between the writes that :func:`touched` makes (the base page size)
PAGE = 4096


def touched(shape, dtype):
    """``np.empty(shape, dtype)`` with every page written once, serially,
    before a multi-threaded BLAS call fills it.  Measured here (2 cores, a
    VM): a GEMM writing a fresh 26 MB output took 26-38 ms instead of 6-10
    when it ran right after another library's call had freed its memory,
    the page faults of two BLAS threads contending; faulted serially first,
    10 ms.  (The pages are faulted anyway: no extra memory.)"""
    y = result(shape, dtype)
    if y.nbytes >= 1 << 20:
        y.reshape(-1)[::max(1, PAGE // y.itemsize)] = 0
    return y


def _depthwise(w, groups):
    return w.shape[1] == 1 and w.shape[0] == groups


def forward(xp, w, stride, dilation, groups):
    """(N, C, *Sp) padded input, (Co, C/groups, *K) weights -> (N, Co, *O)."""
    N = xp.shape[0]
    Sp = xp.shape[2:]
    Co, K = w.shape[0], w.shape[2:]
    O = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(Sp, K, stride, dilation))
    if all(k == 1 for k in K) and not _depthwise(w, groups):
        # 1x1: a GEMM over channels on the (strided) positions, no copy at stride 1
        xs = xp[(slice(None), slice(None)) + tuple(slice(0, s * (o - 1) + 1, s)
                                                   for s, o in zip(stride, O))]
        xs = np.ascontiguousarray(xs).reshape(N, groups, -1, math.prod(O))
        wm = w.reshape(groups, Co // groups, -1)
        y = touched((N, groups, Co // groups, math.prod(O)), xp.dtype)
        for g in range(groups):
            np.matmul(wm[g], xs[:, g], out=y[:, g])
        return y.reshape((N, Co) + O)
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
    acc = touched((N, Co, M), xp.dtype)
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
    acc = touched((N, Co, M), x.dtype)
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
        if og == 1 and Cg == 1:
            # depthwise: every channel its own dot product, all at once
            out[(slice(None), 0) + k] = np.einsum("ncm,ncm->c", gf, src)
            continue
        for gi in range(groups):
            o = slice(gi * og, (gi + 1) * og)
            c = slice(gi * Cg, (gi + 1) * Cg)
            acc = gf[0, o] @ src[0, c].T
            for n in range(1, N):
                acc += gf[n, o] @ src[n, c].T
            out[(o, slice(None)) + k] = acc
    return out


def _valid_taps(n, O, K, stride, dilation, pads):
    """For each tap (multi-index), the output block whose input samples for
    that tap lie inside the unpadded input, and those samples' slices:
    ``(tap, out slices, in slices)``, taps meeting no sample left out."""
    out = []
    for k in itertools.product(*[range(m) for m in K]):
        osl, isl = [], []
        for kd, N_, O_, s, d, (lo, _) in zip(k, n, O, stride, dilation, pads):
            off = kd * d - lo                         # input index = o * s + off
            o0 = max(0, -(-(-off) // s))
            o1 = min(O_, (N_ - 1 - off) // s + 1) if N_ - 1 - off >= 0 else 0
            if o1 <= o0:
                break
            osl.append(slice(o0, o1))
            isl.append(slice(o0 * s + off, (o1 - 1) * s + off + 1, s))
        else:
            out.append((k, tuple(osl), tuple(isl)))
    return out


def forward_valid(x, w, stride, dilation, groups, pads, O):
    """:func:`forward` with zero padding as torch's direct sums treat it: a
    product for each tap and each input sample inside ``x`` only (no
    product with a padded zero, so an infinite weight or sample meets no
    zero: ``inf * 0 = NaN`` never arises from the padding).  A GEMM per tap
    and group over the tap's output block; for data holding NaN or
    infinities where they meet the padding (``_core._padded_products``)."""
    N, Co = x.shape[0], w.shape[0]
    y = np.zeros((N, Co) + tuple(O), dtype=x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        _forward_valid(x, w, y, stride, dilation, groups, pads)
    return y


def _forward_valid(x, w, y, stride, dilation, groups, pads):
    Co, C, K, O = w.shape[0], x.shape[1], w.shape[2:], y.shape[2:]
    og, cg = Co // groups, C // groups
    for k, osl, isl in _valid_taps(x.shape[2:], O, K, stride, dilation, pads):
        for g in range(groups):
            xs = x[(slice(None), slice(g * cg, (g + 1) * cg)) + isl]      # (N, cg, *R)
            part = np.tensordot(w[(slice(g * og, (g + 1) * og), slice(None)) + k], xs,
                                axes=([1], [1]))                        # (og, N, *R)
            y[(slice(None), slice(g * og, (g + 1) * og)) + osl] += np.moveaxis(part, 0, 1)


def weight_grad_valid(x, g, K, stride, dilation, groups, pads):
    """:func:`weight_grad` with the products of :func:`forward_valid` only
    (an infinite output gradient meets no padded zero)."""
    N, C = x.shape[:2]
    Co = g.shape[1]
    og, cg = Co // groups, C // groups
    out = np.zeros((Co, cg) + tuple(K), dtype=x.dtype)
    axes = [0] + list(range(2, x.ndim))
    for k, osl, isl in _valid_taps(x.shape[2:], g.shape[2:], K, stride, dilation, pads):
        for gi in range(groups):
            gs = g[(slice(None), slice(gi * og, (gi + 1) * og)) + osl]
            xs = x[(slice(None), slice(gi * cg, (gi + 1) * cg)) + isl]
            with np.errstate(invalid="ignore", over="ignore"):
                out[(slice(gi * og, (gi + 1) * og), slice(None)) + k] = np.tensordot(
                    gs, xs, axes=(axes, axes))
    return out


def _dilated(w, dilation):
    K = w.shape[2:]
    Kd = tuple(d * (k - 1) + 1 for k, d in zip(K, dilation))
    wd = np.zeros(w.shape[:2] + Kd, dtype=w.dtype)
    wd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = w
    return wd


def _spectral(x, wd, Lf, groups, forward, workers):
    """The channel-contracting product of ``x`` (N, C, *S) and the (dilated)
    weights ``wd`` by transforms of size ``Lf``, frequencies first, so that
    each frequency's (N x C) @ (C x Co) product reads contiguous blocks and
    the weight spectrum is never copied: ``forward`` correlates (weights
    (Co, C/g, *K): ``sum_c X conj(W)``, computed as the conjugate of
    ``conj(X) @ W^T``), else convolves (weights (C, Co/g, *K)).  Returns the
    circular result (N, Co, *Lf)."""
    from scipy import fft

    D = x.ndim - 2
    axes = tuple(range(D))
    Xf = fft.rfftn(np.moveaxis(x, (0, 1), (-2, -1)), Lf, axes=axes, workers=workers)
    Wf = fft.rfftn(np.moveaxis(wd, (0, 1), (-2, -1)), Lf, axes=axes, workers=workers)
    N, C = x.shape[:2]
    if forward:
        Co = wd.shape[0]
        np.conj(Xf, out=Xf)
    else:
        Co = wd.shape[1] * groups
    cg, og = C // groups, Co // groups
    Y = touched(Xf.shape[:-1] + (Co,), Xf.dtype)
    for g in range(groups):
        xs = Xf[..., g * cg:(g + 1) * cg]
        if forward:
            ws = np.swapaxes(Wf[..., g * og:(g + 1) * og, :], -1, -2)      # (*F, cg, og)
        else:
            ws = Wf[..., g * cg:(g + 1) * cg, :]                            # (*F, cg, og)
        np.matmul(xs, ws, out=Y[..., g * og:(g + 1) * og])
    del Xf, Wf
    if forward:
        np.conj(Y, out=Y)
    y = fft.irfftn(Y, Lf, axes=axes, workers=workers)                       # (*Lf, N, Co)
    return np.moveaxis(y, (-2, -1), (0, 1))


def fft_frame(n, kd):
    """Transform length of the blocked (overlap-save) 1-D layer FFT, or 0
    for one transform over the whole input: blocks of about 4 kernel
    lengths once the input is 8 kernel lengths or longer (the kernels'
    transforms and spectrum shrink by n / 4kd; the product stays the same)."""
    from scipy import fft

    return fft.next_fast_len(4 * kd, real=True) if n >= 8 * kd else 0


def forward_fft(xp, w, dilation, groups, workers):
    """:func:`forward` with stride 1, by FFT (correlation); 1-D inputs much
    longer than the kernel in overlap-save frames (:func:`fft_frame`)."""
    from scipy import fft

    Sp = xp.shape[2:]
    wd = _dilated(w, dilation)
    O = tuple(n - k + 1 for n, k in zip(Sp, wd.shape[2:]))
    F = fft_frame(Sp[0], wd.shape[2]) if len(Sp) == 1 else 0
    if F:
        # frames of F samples every H = F - kd + 1: the first H outputs of a
        # frame's circular correlation are the layer's (no wrap-around)
        N, C = xp.shape[:2]
        H = F - wd.shape[2] + 1
        nb = -(-O[0] // H)
        need = (nb - 1) * H + F
        if need > Sp[0]:
            xp = np.pad(xp, [(0, 0), (0, 0), (0, need - Sp[0])])
        s = xp.strides
        frames = np.lib.stride_tricks.as_strided(xp, (N, nb, C, F), (s[0], H * s[2], s[1], s[2]),
                                                 writeable=False)
        y = _spectral(np.ascontiguousarray(frames).reshape(N * nb, C, F), wd, (F,), groups,
                      True, workers)
        y = y[:, :, :H].reshape(N, nb, -1, H).transpose(0, 2, 1, 3).reshape(N, -1, nb * H)
        return np.ascontiguousarray(y[:, :, :O[0]])
    L = tuple(fft.next_fast_len(n, real=True) for n in Sp)
    y = _spectral(xp, wd, L, groups, True, workers)
    return np.ascontiguousarray(y[(Ellipsis,) + tuple(slice(0, o) for o in O)])


def transpose_fft(x, w, dilation, groups, workers):
    """:func:`transpose` with stride 1, by FFT (full convolution); returns
    the full output (N, Co, *(L + d*(K-1)))."""
    from scipy import fft

    wd = _dilated(w, dilation)
    full = tuple(n + k - 1 for n, k in zip(x.shape[2:], wd.shape[2:]))
    Lf = tuple(fft.next_fast_len(n, real=True) for n in full)
    y = _spectral(x, wd, Lf, groups, False, workers)
    return np.ascontiguousarray(y[(Ellipsis,) + tuple(slice(0, n) for n in full)])


#: numpy.pad's names for the layers' padding modes
PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def pad(x, pads, mode):
    """``x`` (N, C, *S) padded by ``pads`` ((lo, hi) per spatial dim)."""
    if not any(lo or hi for lo, hi in pads):
        return np.ascontiguousarray(x)
    if mode == "zeros":
        # zeroed pages and one copy (np.pad: 1.07 -> 0.82 ms for 8 x 64 x 56^2)
        y = np.zeros(x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)),
                     dtype=x.dtype)
        y[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], pads))] = x
        return y
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


#: bytes of patch matrix one GEMM of ``forward_im2col`` takes in (a block of
#: output rows at a time: the copy stays in cache and its memory bounded)
IM2COL_BLOCK = 4 << 20


def forward_im2col(xp, w, stride, dilation, groups, nthreads=1):
    """:func:`forward` as one GEMM per block of output rows over a patch
    matrix (channels x taps, positions) gathered from strided windows of the
    input (no output computed and thrown away); measured best where the
    channels are few and the taps many (a 7x7 stem on 3 channels), where a
    GEMM per tap would contract over 3 channels only.

    Large images on several threads: each thread gathers blocks of output
    rows whose patch matrix stays within ``IM2COL_THREAD_BLOCK`` (L2) and
    multiplies them with a one-thread GEMM (threadpoolctl), as the Winograd
    blocks do: the 8 x 3 x 224^2 stem 17.7 -> 11.6 ms (the gather had run on
    one thread, then a threaded GEMM)."""
    N, C = xp.shape[:2]
    Co, K = w.shape[0], w.shape[2:]
    D = len(K)
    view, O = _patches(xp, K, stride, dilation)
    cg, og = C // groups, Co // groups
    taps = math.prod(K)
    rest = math.prod(O[1:])
    per_image = C * taps * math.prod(O) * xp.itemsize
    wm = w.reshape(groups, og, cg * taps)
    y = touched((N, Co) + O, xp.dtype)
    if per_image <= IM2COL_BLOCK // 2:
        # small images: several per GEMM (its columns: images x positions)
        nb = max(1, IM2COL_BLOCK // per_image)
        permb = (1,) + tuple(range(2 + D, 2 + 2 * D)) + (0,) + tuple(range(2, 2 + D))
        for n0 in range(0, N, nb):
            n1 = min(n0 + nb, N)
            cols = np.ascontiguousarray(view[n0:n1].transpose(permb))   # (C, *K, n, *O)
            cols = cols.reshape(groups, cg * taps, (n1 - n0) * math.prod(O))
            yb = np.matmul(wm, cols).reshape(Co, n1 - n0, *O)
            y[n0:n1] = np.moveaxis(yb, 0, 1)
        return y
    if nthreads > 1 and _im2col_threads(view, O, groups, taps, wm, y, nthreads):
        return y
    for n, o0, o1, cols in _row_blocks(view, O, groups, taps):
        yn = y[n].reshape(groups, og, O[0], rest)
        yn[:, :, o0:o1] = np.matmul(wm, cols).reshape(groups, og, o1 - o0, rest)
    return y


#: bytes of one thread's patch matrix in :func:`forward_im2col`'s threaded
#: blocks (8 x 3 x 224^2 stem, 2 threads: 8 rows 12.4 ms, 16 rows (1 MiB)
#: 11.6, 32 rows 16.7)
IM2COL_THREAD_BLOCK = 1 << 20


def _im2col_threads(view, O, groups, taps, wm, y, nthreads):
    """:func:`forward_im2col`'s row blocks on ``nthreads`` threads, each
    block gathered and multiplied (one-thread BLAS) by the thread that took
    it; False (nothing done) without threadpoolctl."""
    from .._config import blas_single_threaded, run_tasks

    limit = blas_single_threaded()
    if limit is None:
        return False
    rest = math.prod(O[1:])
    og = wm.shape[1]
    queue = TaskQueue(_row_spans(view, O, taps, IM2COL_THREAD_BLOCK))

    def worker():
        for n, o0, o1 in queue:
            cols = _patches_of(view, n, o0, o1, groups, taps)
            # straight into y's rows (strided over the channels: BLAS's ldc)
            np.matmul(wm, cols, out=y[n].reshape(groups, og, -1)[:, :, o0 * rest:o1 * rest])

    with limit:
        run_tasks(nthreads, worker, [()] * nthreads)
    return True


def transpose_col2im(x, w, stride, dilation, groups):
    """:func:`transpose` as one GEMM over the input channels into a column
    array (output channels x taps, input positions), then one strided add
    per tap into the full output (measured best for small spatial extents
    with many channels: the DCGAN generator's 4x4 stride-2 layers)."""
    N, Ci = x.shape[:2]
    L = x.shape[2:]
    D = len(L)
    og, K = w.shape[1], w.shape[2:]
    Co = og * groups
    cg = Ci // groups
    taps = math.prod(K)
    full = tuple(s * (n - 1) + d * (k - 1) + 1 for n, k, s, d in zip(L, K, stride, dilation))
    # weights (Ci, og, *K) -> per group (og * taps, cg)
    wg = w.reshape(groups, cg, og * taps).transpose(0, 2, 1)
    # the batch folded into the GEMM's columns: (groups, cg, N * positions)
    xg = np.ascontiguousarray(x.reshape(N, groups, cg, math.prod(L)).transpose(1, 2, 0, 3))
    xg = xg.reshape(groups, cg, N * math.prod(L))
    y = np.zeros((N, Co) + full, dtype=x.dtype)
    if D == 2 and groups == 1 and _col2im_per_thread(x, y, wg[0], xg[0], K, L, stride,
                                                     dilation):
        return y
    for g in range(groups):
        cols = np.matmul(wg[g], xg[g]).reshape((og,) + tuple(K) + (N,) + tuple(L))
        if D == 2 and groups == 1:
            from .._kernels.layer import col2im_2d
            from .direct import apply_threads

            # one thread: right after OpenBLAS's threads (still spinning), numba's
            # workers fought them for the 2 cores (measured: scatter 0.9 ms alone,
            # 3-6 ms after the GEMM on 2 threads, 1.7 ms on 1)
            apply_threads(cols.size, 1)
            col2im_2d(cols, y, stride[0], stride[1], dilation[0], dilation[1])
            continue
        yg = y[:, g * og:(g + 1) * og]
        for k in itertools.product(*[range(n) for n in K]):
            sel = tuple(slice(ki * d, ki * d + s * (n - 1) + 1, s)
                        for ki, d, s, n in zip(k, dilation, stride, L))
            yg[(slice(None), slice(None)) + sel] += np.moveaxis(cols[(slice(None),) + k], 0, 1)
    return y


def _col2im_per_thread(x, y, wm, xm, K, L, stride, dilation):
    """:func:`transpose_col2im` for 2-D, one group, by blocks of images on
    the threads, each a one-thread GEMM and its own scatter (no pool of
    BLAS threads spinning while numba's run the scatter).  Measured, N=8,
    128 -> 64 channels, 16^2 -> 32^2, 4x4 stride 2: GEMM on both threads then
    the scatter on one 3.5 ms, per thread 2.96.  False (nothing done) on one
    thread, with fewer images than threads, for thin products (below), or
    without threadpoolctl."""
    from .. import _config
    from .._kernels.layer import col2im_2d

    N = x.shape[0]
    nthreads = min(_config.get_threads(), N)
    P = math.prod(L)
    if nthreads < 2 or 2 * (N // nthreads) * P < wm.shape[0]:
        # few columns a thread against many weight rows: each thread would
        # read the whole weight matrix for a thin product (4^2 -> 8^2 with
        # 512 -> 256 channels: 2.5 ms threaded, 4.5 per thread)
        return False
    limit = _config.blas_single_threaded()
    if limit is None:
        return False
    og = y.shape[1]
    bounds = [N * i // nthreads for i in range(nthreads + 1)]

    def work(n0, n1):
        cols = np.matmul(wm, xm[:, n0 * P:n1 * P])
        cols = cols.reshape((og,) + tuple(K) + (n1 - n0,) + tuple(L))
        col2im_2d.ser(cols, y[n0:n1], stride[0], stride[1], dilation[0], dilation[1])

    with limit:
        _config.run_tasks(nthreads, work, list(zip(bounds[:-1], bounds[1:])))
    return True


def _patches(xp, K, stride, dilation):
    """Strided windows of ``xp``: (N, C, *O, *K) view, and O."""
    from numpy.lib.stride_tricks import as_strided

    N, C = xp.shape[:2]
    Sp = xp.shape[2:]
    D = len(Sp)
    O = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(Sp, K, stride, dilation))
    st = xp.strides
    view = as_strided(xp, (N, C) + O + tuple(K),
                      st[:2] + tuple(st[2 + i] * stride[i] for i in range(D)) +
                      tuple(st[2 + i] * dilation[i] for i in range(D)), writeable=False)
    return view, O


def _row_spans(view, O, taps, block):
    """(n, o0, o1): blocks of output rows of each image whose patch matrix
    holds at most ``block`` bytes (at least one row)."""
    N, C = view.shape[:2]
    rows = max(1, min(O[0], block // max(1, C * taps * math.prod(O[1:]) * view.itemsize)))
    return [(n, o0, min(o0 + rows, O[0])) for n in range(N) for o0 in range(0, O[0], rows)]


def _patches_of(view, n, o0, o1, groups, taps):
    """The patch matrix (groups, C/groups * taps, rows * positions) of output
    rows ``o0 .. o1`` of image ``n``, gathered from the strided ``view``
    (N, C, *O, *K)."""
    C, D = view.shape[1], (view.ndim - 2) // 2
    # (C, r, *O[1:], *K) -> (C, *K, r, *O[1:])
    perm = (0,) + tuple(range(1 + D, 1 + 2 * D)) + tuple(range(1, 1 + D))
    cols = np.ascontiguousarray(view[n, :, o0:o1].transpose(perm))
    return cols.reshape(groups, C // groups * taps, -1)


def _row_blocks(view, O, groups, taps):
    """(n, o0, o1, cols) for blocks of output rows of each image of at most
    IM2COL_BLOCK bytes: ``cols`` their patch matrix (:func:`_patches_of`)."""
    for n, o0, o1 in _row_spans(view, O, taps, IM2COL_BLOCK):
        yield n, o0, o1, _patches_of(view, n, o0, o1, groups, taps)


def weight_grad_im2col(xp, g, K, stride, dilation, groups):
    """:func:`weight_grad` as one GEMM per block of output rows against the
    block's patch matrix (the same blocks as :func:`forward_im2col`)."""
    C = xp.shape[1]
    Co = g.shape[1]
    view, _ = _patches(xp, K, stride, dilation)
    O = g.shape[2:]              # (a transposed layer's output padding: fewer)
    view = view[(slice(None), slice(None)) + tuple(slice(0, o) for o in O)]
    cg, og = C // groups, Co // groups
    taps = math.prod(K)
    rest = math.prod(O[1:])
    acc = np.zeros((groups, og, cg * taps), dtype=xp.dtype)
    for n, o0, o1, cols in _row_blocks(view, O, groups, taps):
        gb = g[n].reshape(groups, og, O[0], rest)[:, :, o0:o1].reshape(groups, og, -1)
        acc += np.matmul(gb, cols.transpose(0, 2, 1))
    return acc.reshape((Co, cg) + tuple(K))


#: Winograd F(2x2, 3x3)'s error bound, as a multiple of
#: ``eps * sum_c ||w[o, c]||_1 * max |x[n, c]|`` (the rounding unit times the
#: largest sum the output could be made of); measured against float64 over
#: random layers with inputs and weights spread over 10^-4..10^4: at most
#: 1.09 times that unit (tests/nn check the bound with this factor).  The
#: direct sum's rounding is bounded by ``taps * channels * eps * sum |w||x|``.
WINOGRAD_ERROR = 8.0

#: F(4x4, 3x3)'s bound in the same unit: measured at most 18.9 times it over
#: the same random layers (the transforms' entries up to 8 and 1/24)
WINOGRAD4_ERROR = 128.0

#: The Winograd weight gradient's error bound, as a multiple of
#: ``eps * sum_n ||g[n, o]||_1 * max |x[n, c]|`` (the rounding unit times the
#: largest sum a weight's gradient could be made of, ``g`` the output
#: gradient): measured against float64, see tests/nn.
WINOGRAD_WGRAD_ERROR = 8.0


#: F(m x m, 3x3)'s weight transforms G (m + 2 x 3): m = 2 at the points 0,
#: +-1, infinity; m = 4 at 0, +-1, +-2, infinity (Lavin and Gray 2016)
WINOGRAD_G = {2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
              4: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]}


def _wino_transforms(m, dtype, serial):
    """F(m x m, 3x3)'s compiled input and output transforms as
    ``f(x, V, th, tw)`` and ``g(M, y, th, tw)`` (their serial variants
    when ``serial``)."""
    from .._kernels import layer as K

    fin, fout = (K.winograd_in, K.winograd_out) if m == 2 else (K.winograd4_in,
                                                                 K.winograd4_out)
    if serial:
        fin, fout = fin.ser, fout.ser
    if m == 2:
        return fin, fout
    cst = np.array([2, 4, 5, 8], dtype=dtype)
    return (lambda x, V, th, tw: fin(x, V, th, tw, cst)), (lambda M, y, th, tw:
                                                           fout(M, y, th, tw, cst))


def _one_blas_thread(nthreads):
    """BLAS limited to one thread where several run and threadpoolctl is
    there, else nothing."""
    import contextlib

    from .._config import blas_single_threaded

    limit = blas_single_threaded() if nthreads > 1 else None
    return contextlib.nullcontext() if limit is None else limit


def forward_winograd(x, w, pads=((0, 0), (0, 0)), nthreads=1, m=2):
    """:func:`forward` for 3x3 kernels, stride 1, dilation 1, one group, by
    Winograd's F(m x m, 3x3), m = 2 or 4: every m x m block of outputs from
    an (m+2)^2 input tile with (m+2)^2 multiplies per channel pair instead
    of 9 m^2 (2.25x fewer for m = 2, 4x for m = 4), as (m+2)^2 GEMMs
    (Co x C) @ (C x tiles) between the transformed weights and tiles
    (compiled transforms: ``_kernels.layer.winograd_in/out``,
    ``winograd4_in/out``).  ``x`` is zero padded by ``pads``.  Accuracy:
    see :data:`WINOGRAD_ERROR` (the planner leaves it out under
    ``accuracy='high'``).

    With several threads and transformed weights of at most
    ``WINOGRAD_SHARED`` bytes, each thread runs blocks of tiles through all
    three steps (its rows of the input padded in a buffer of its own, serial
    transforms, a one-thread GEMM) while they are in its cache
    (:func:`_winograd_blocks`): 8 x 64 x 56^2 float32 on 2 threads, F(2x2),
    the padding included, 13.3 -> 7.5 ms (the transforms had run on one
    thread beside OpenBLAS's two, after a padded copy of the input)."""
    N, C = x.shape[:2]
    Co = w.shape[0]
    (top, bot), (left, right) = pads
    H = x.shape[2] + top + bot - 2
    W = x.shape[3] + left + right - 2
    th, tw = -(-H // m), -(-W // m)
    # U[(i, j), o, c] = (G w[o, c] G^T)[i, j]: one GEMM by the Kronecker square
    # of G (tensordots in float64 took 7.7 ms for 256 x 256 channels; this 0.3)
    # (BLAS on one thread: its threads left spinning would take the cores
    # from the blocks' threads: 8 x 64 x 56^2 7.0 -> 12.7 ms)
    Gk = np.kron(np.array(WINOGRAD_G[m]), np.array(WINOGRAD_G[m])).astype(x.dtype)
    blocks = nthreads > 1 and Gk.shape[0] * Co * C * x.itemsize <= WINOGRAD_SHARED
    with _one_blas_thread(nthreads if blocks else 1):
        U = np.matmul(Gk, w.reshape(Co * C, 9).T).reshape(-1, Co, C)
    y = touched((N, Co, H, W), x.dtype)
    if blocks and _winograd_blocks(
            x, top, left, U, y, th, tw, nthreads, m):
        return y
    from .direct import apply_threads

    a2 = (m + 2) ** 2
    fin, fout = _wino_transforms(m, x.dtype, False)
    # every tile inside: zeros up to m th + 2 rows, m tw + 2 columns
    xp = pad(x, [(top, m * th + 2 - top - x.shape[2]), (left, m * tw + 2 - left - x.shape[3])],
             "zeros")
    # blocks of whole images whose transformed tiles fit IM2COL_BLOCK: the
    # buffers stay in cache and are reused (no page faults per block)
    per_image = a2 * max(C, Co) * th * tw * xp.itemsize
    nb = max(1, min(N, IM2COL_BLOCK // max(per_image, 1)))
    V = touched((a2, C, nb * th * tw), xp.dtype)
    M = touched((a2, Co, nb * th * tw), xp.dtype)
    for n0 in range(0, N, nb):
        n1 = min(n0 + nb, N)
        T = (n1 - n0) * th * tw
        v = V[:, :, :T] if T == V.shape[2] else np.empty((a2, C, T), dtype=xp.dtype)
        mm = M[:, :, :T] if T == M.shape[2] else np.empty((a2, Co, T), dtype=xp.dtype)
        # one thread next to OpenBLAS's spinning threads (see transpose_col2im)
        apply_threads(v.size, 1)
        fin(xp[n0:n1], v, th, tw)
        np.matmul(U, v, out=mm)
        fout(mm, y[n0:n1], th, tw)
    return y


WINOGRAD_TASK = 2 << 20      # bytes of transformed tiles (in and out) per block of a thread
# transformed weights up to this size are read by each thread's GEMMs; larger
# ones by one GEMM whose threads split the output channels.  Warm harness,
# 2 threads, 8 images (per thread / one GEMM): 8 x 128 x 28^2 F(4x4), 2.25
# MiB: 5.2 / 7.8 ms, F(2x2), 1 MiB: 7.6 / 10.1; 8 x 256 x 14^2 F(2x2), 4 MiB:
# 8.4 / 7.6, F(4x4) 9 MiB: 10.5 / 8.6; 8 x 512 x 7^2 F(2x2) 16 MiB: 12.8 /
# 10.9; 8 x 64 x 56^2: 7.5 / 12.5
WINOGRAD_SHARED = 3 << 20


def _tile_tasks(N, th, per_row, nthreads):
    """Blocks ``(n0, n1, p0, p1)`` of images and rows of tiles of about
    ``WINOGRAD_TASK`` bytes (``per_row``: one row of tiles' transformed
    arrays): whole images (at least two blocks per thread where the batch
    allows), or even runs of tile rows of one image."""
    rows = max(1, WINOGRAD_TASK // per_row)
    if rows >= th:
        nb = max(1, min(-(-N // (2 * nthreads)), rows // th))
        return [(n0, min(n0 + nb, N), 0, th) for n0 in range(0, N, nb)]
    rows = -(-th // -(-th // rows))
    return [(n, n + 1, p0, min(p0 + rows, th)) for n in range(N) for p0 in range(0, th, rows)]


def weight_grad_winograd(xp, g, nthreads=1):
    """:func:`weight_grad` for 3x3 kernels, stride 1, dilation 1, one group,
    by the adjoint of F(2x2, 3x3): with ``V = B^T d B`` the forward's input
    tiles and ``A g A^T`` the 4x4 image of each 2x2 block of the output
    gradient, ``dW[o, c] = G^T (sum over tiles of (A g_o A^T) * V_c) G``: 16
    GEMMs (Co x tiles) @ (tiles x C), 2.25x fewer multiplies than the 9
    taps' products.  Blocks of tiles as :func:`forward_winograd`'s, one
    thread each (BLAS on one thread, with threadpoolctl) where a block has
    at least ``2 max(C, Co)`` tiles (the GEMMs' sums long enough against
    their (Co, C) results); else blocks of whole images of up to
    ``WGRAD_BLOCK`` bytes, transformed by all threads, one threaded GEMM
    each.  Accuracy: :data:`WINOGRAD_WGRAD_ERROR`."""
    from .._config import blas_single_threaded, run_tasks
    from .._kernels.layer import winograd_gy, winograd_in
    from .direct import apply_threads

    N, C = xp.shape[:2]
    Co = g.shape[1]
    Ho, Wo = g.shape[2:]
    th, tw = -(-Ho // 2), -(-Wo // 2)
    if (2 * th, 2 * tw) != (Ho, Wo):       # zeros: an odd extent's last blocks
        g = np.pad(g, [(0, 0), (0, 0), (0, 2 * th - Ho), (0, 2 * tw - Wo)])
    Hp, Wp = xp.shape[2:]
    if (Hp, Wp) != (2 * th + 2, 2 * tw + 2):
        xp = np.pad(xp[:, :, :2 * th + 2, :2 * tw + 2],
                    [(0, 0), (0, 0), (0, max(0, 2 * th + 2 - Hp)), (0, max(0, 2 * tw + 2 - Wp))])
    xp, g = np.ascontiguousarray(xp), np.ascontiguousarray(g)
    per_row = 16 * (C + Co) * tw * xp.itemsize
    tasks = _tile_tasks(N, th, per_row, nthreads)
    shortest = min((n1 - n0) * (p1 - p0) for n0, n1, p0, p1 in tasks) * tw
    limit = blas_single_threaded() if nthreads > 1 and shortest >= 2 * max(C, Co) else None
    sums = []
    if limit is None:
        nb = max(1, min(N, WGRAD_BLOCK // (per_row * th)))
        V = np.empty((16, C, nb * th * tw), xp.dtype)
        Gh = np.empty((16, Co, nb * th * tw), xp.dtype)
        for n0 in range(0, N, nb):
            n1 = min(n0 + nb, N)
            T = (n1 - n0) * th * tw
            v, gh = V[:, :, :T], Gh[:, :, :T]
            # one thread next to OpenBLAS's spinning threads (see transpose_col2im)
            apply_threads(v.size, 1)
            winograd_in(xp[n0:n1], v, th, tw)
            winograd_gy(g[n0:n1], gh, th, tw)
            _add_product(sums, gh, v)
    else:
        most = max((n1 - n0) * (p1 - p0) for n0, n1, p0, p1 in tasks) * tw
        queue = TaskQueue(tasks)
        parts = []

        def worker():
            V = np.empty((16, C, most), xp.dtype)
            Gh = np.empty((16, Co, most), xp.dtype)
            mine = []
            for n0, n1, p0, p1 in queue:
                T = (n1 - n0) * (p1 - p0) * tw
                v, gh = V[:, :, :T], Gh[:, :, :T]
                winograd_in.ser(xp[n0:n1, :, 2 * p0:2 * p1 + 2], v, p1 - p0, tw)
                winograd_gy.ser(g[n0:n1, :, 2 * p0:2 * p1], gh, p1 - p0, tw)
                _add_product(mine, gh, v)
            parts.extend(mine)

        with limit:
            run_tasks(nthreads, worker, [()] * nthreads)
        sums = [sum(parts[1:], parts[0])] if parts else []
    return _wgrad_out(sums[0] if sums else np.zeros((16, Co, C), xp.dtype), Co, C)


def _add_product(acc, gh, v):
    """``acc[0] += gh @ v^T`` (16 stacked products), made in ``acc[0]`` the
    first time (a new array per call: its pages are faulted once).  (A
    contiguous copy of ``v^T`` first, for OpenBLAS's faster NN kernel: 9.6
    -> 10.9 ms for 8 x 64 x 56^2, the copy costing more than it saved.)"""
    if not acc:
        acc.append(np.matmul(gh, v.transpose(0, 2, 1)))
    else:
        acc[0] += np.matmul(gh, v.transpose(0, 2, 1))

def _wgrad_out(M, Co, C):
    """``G^T M G`` for each (o, c): the 4x4 sums back to the 3x3 weights
    (G's entries 0, 1/2 and 1: a few adds of (Co, C) slabs)."""
    M = M.reshape(4, 4, Co, C)
    # right factor: T[i, s] = sum_j M[i, j] G[j, s]
    h = 0.5 * (M[:, 1] + M[:, 2])
    T = (M[:, 0] + h, 0.5 * (M[:, 1] - M[:, 2]), h + M[:, 3])
    dW = np.empty((Co, C, 3, 3), M.dtype)
    for s_, t in enumerate(T):
        h = 0.5 * (t[1] + t[2])
        dW[:, :, 0, s_] = t[0] + h
        dW[:, :, 1, s_] = 0.5 * (t[1] - t[2])
        dW[:, :, 2, s_] = h + t[3]
    return dW


WGRAD_BLOCK = 16 << 20       # bytes of transformed tiles per block of the threaded GEMMs


def _winograd_blocks(x, top, left, U, y, th, tw, nthreads, m=2):
    """:func:`forward_winograd`'s tiles in blocks on ``nthreads`` threads
    (whole images, or runs of tile rows of one image, of about
    ``WINOGRAD_TASK`` bytes transformed), each block through the serial
    transforms and a one-thread GEMM on the thread that took it, its input
    rows copied into a zero-padded buffer of the thread's; False (nothing
    done) without threadpoolctl, which limits BLAS to one thread."""
    from .._config import blas_single_threaded, run_tasks

    limit = blas_single_threaded()
    if limit is None:
        return False
    N, C, Hx, Wx = x.shape
    a2, Co = U.shape[:2]
    fin, fout = _wino_transforms(m, x.dtype, True)
    tasks = _tile_tasks(N, th, a2 * (C + Co) * tw * x.itemsize, nthreads)
    most_n = max(n1 - n0 for n0, n1, _, _ in tasks)
    most_p = max(p1 - p0 for _, _, p0, p1 in tasks)
    queue = TaskQueue(tasks)
    H, W = y.shape[2:]
    c0, c1 = left, min(left + Wx, m * tw + 2)        # x's columns in the padded rows

    def worker():
        V = np.empty((a2, C, most_n * most_p * tw), x.dtype)
        M = np.empty((a2, Co, most_n * most_p * tw), x.dtype)
        Xb = np.zeros((most_n, C, m * most_p + 2, m * tw + 2), x.dtype)
        for n0, n1, p0, p1 in queue:
            nn, rp = n1 - n0, m * (p1 - p0) + 2
            # padded rows [m p0, m p1 + 2) are x's rows from m p0 - top
            u0, u1 = max(m * p0 - top, 0), min(m * p0 + rp - top, Hx)
            d0 = u0 - (m * p0 - top)
            xb = Xb[:nn, :, :rp]
            xb[:, :, :d0] = 0
            xb[:, :, d0 + max(u1 - u0, 0):] = 0
            if u1 > u0:
                xb[:, :, d0:d0 + u1 - u0, c0:c1] = x[n0:n1, :, u0:u1, :c1 - c0]
            T = nn * (p1 - p0) * tw
            v, mm = V[:, :, :T], M[:, :, :T]
            fin(xb, v, p1 - p0, tw)
            np.matmul(U, v, out=mm)
            fout(mm, y[n0:n1, :, m * p0:min(m * p1, H)], p1 - p0, tw)

    with limit:
        run_tasks(nthreads, worker, [()] * nthreads)
    return True
