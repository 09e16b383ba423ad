"""Long depthwise convolutions along rows (sequence models): the engine
steps of ``fastconv.nn.long_conv`` and ``causal_conv1d``.

Arrays here are (B, H, L) C-contiguous in the compute dtype, the kernels
(Hk, Lk) with Hk = H or 1 (shared).  Modes: 'causal' ``y[t] = sum_j k[j]
u[t-j]``; 'bidirectional' adds ``sum_j k2[j] u[t+j]``; 'circular' takes
``t-j`` mod L.  Methods:

* ``direct``: the taps along each row (``_kernels.sequence.taps_rows``).
* ``fft``: per task a few rows' rFFT at ``n >= L + Lk - 1`` (``n = L`` for
  circular), times the kernel spectrum (bidirectional: ``K1 + conj(K2)``, one
  product for both parts), inverse, the first L samples; rows of one task
  stay in cache, tasks run on the thread pool (pocketfft releases the GIL).
* ``partitioned`` (causal): uniformly partitioned convolution, blocks of M:
  input blocks' rFFTs at 2M, ``Y_j = sum_p U_{j-p} K_p`` over kernel
  partitions, inverse, overlap-add of the halves.  Transforms of 2M stay in
  cache, where one of 2L does not (L = 65536: 2.2x the per-point cost).

The kernel spectra are made once per call for the whole batch, or once for
many calls (:func:`spectra`, held by ``fastconv.nn.LongConvKernel``), and a
kernel seen in an earlier call is found again by :func:`kept_spectra`.
"""
from __future__ import annotations

import collections
import threading

import numpy as np

from .. import _config


def spectra(k1, k2, mode, method, params):
    """What ``method`` multiplies by: fft: ``(K,)`` (Hk, n//2+1); partitioned:
    ``(Kr, Ki)`` (Hk, P, M+1) real and imaginary parts; direct: the taps."""
    import scipy.fft as sf

    if method == "direct":
        return (k1, k2)
    if method == "fft":
        n = params["n"]
        K = sf.rfft(k1, n=n, axis=-1)
        if k2 is not None:
            K += np.conj(sf.rfft(k2, n=n, axis=-1))
        return (K,)
    M = params["M"]
    Hk, Lk = k1.shape
    P = -(-Lk // M)
    kp = np.zeros((Hk, P * M), k1.dtype)
    kp[:, :Lk] = k1
    K = sf.rfft(kp.reshape(Hk, P, M), n=2 * M, axis=-1)
    return (np.ascontiguousarray(K.real), np.ascontiguousarray(K.imag))


_KEPT = collections.OrderedDict()
_KEPT_LOCK = threading.Lock()


def kept_spectra(k1, k2, mode, method, params):
    """:func:`spectra`, kept between calls: the spectra of the kernel last
    used with this mode, method, transform parameters, shape and dtype are
    reused when the kernel is equal to it value for value (compared in
    full, no hash: a kernel updated in place between training steps is a
    new kernel).  Entries keep a copy of their kernel; all of them together
    stay within FASTCONV_SPECTRUM_CACHE bytes (least recently used dropped
    first; an entry over half of it is not kept).  Off under
    ``shared_spectra_off`` (calibration).  B=4, H=256, L=8192 float32: the
    kernel's transforms are 15 of a call's 72 ms."""
    from ._common import spectrum_cache_limit

    limit = spectrum_cache_limit()
    if method == "direct" or limit <= 0:
        return spectra(k1, k2, mode, method, params)
    # (the transform's parameters only: rows per task do not change spectra)
    key = (mode, method, tuple(sorted((k, v) for k, v in params.items() if k in ("n", "M"))),
           k1.shape, k1.dtype.str, None if k2 is None else k2.shape)
    with _KEPT_LOCK:
        hit = _KEPT.get(key)
        if hit is not None:
            _KEPT.move_to_end(key)
    if hit is not None and np.array_equal(hit[0], k1) and (
            k2 is None or np.array_equal(hit[1], k2)):
        return hit[2]
    val = spectra(k1, k2, mode, method, params)
    size = sum(a.nbytes for a in val) + k1.nbytes + (0 if k2 is None else k2.nbytes)
    if size > limit // 2:
        return val
    for a in val:
        a.flags.writeable = False
    entry = (k1.copy(), None if k2 is None else k2.copy(), val, size)
    with _KEPT_LOCK:
        _KEPT[key] = entry
        total = sum(e[3] for e in _KEPT.values())
        while total > limit:
            _, old = _KEPT.popitem(last=False)
            total -= old[3]
    return val


def causal_filter(x2, w, bias, y2, act):
    """``y2 = act(bias + sum_j w[h, j] x2[r, t-j])`` over rows (row r uses
    ``w[r % H]``; ``bias`` may be empty; ``act`` 1: SiLU): the vector register
    blocks (``_kernels.sequence.causal_simd``, the taps reversed into a
    correlation) for float32/float64 where the CPU has vector FMA, else the
    scalar-block kernel.  Measured, 1024 x 4096 float32, 2 threads: 4 taps
    4.85 -> 0.63 ms, 16 taps 14.3 -> 1.0 ms, 64 taps 50 -> 3.7 ms."""
    from . import direct

    if direct.uses_simd(2, x2.dtype):
        from .._kernels.sequence import causal_simd
        from .._kernels.simd import vector_arg

        bits = direct.vector_bits("separable", w.shape[1])     # a row pass, as there
        causal_simd(x2, np.ascontiguousarray(w[:, ::-1]), bias, y2, act, vector_arg(bits))
    else:
        from .._kernels.sequence import causal_rows

        causal_rows(x2, w, bias, y2, act)


def _tasks(B, H, R):
    return [(b, h0, min(H, h0 + R)) for b in range(B) for h0 in range(0, H, R)]


def forward(u, spec, mode, method, params, y, bad=None):
    """``y`` (B, H, L) = the convolution of ``u`` with the kernels behind ``spec``.

    ``bad`` (a list): the transform methods append True when a row of ``u``
    holds NaN or infinity, read off the transforms' zero-frequency bins
    (each a row's or block's sum, non-finite then): the caller recomputes
    (the transforms spread one NaN over the row).  The direct method needs
    no such check (its sums are the definition's)."""
    B, H, L = u.shape
    threads = _config.get_threads()
    if method == "direct":
        from .._kernels.sequence import taps_rows

        k1, k2 = spec
        empty = np.zeros(0, u.dtype)
        _config.numba_threads(threads, u.size * k1.shape[1])
        u2, y2 = u.reshape(-1, L), y.reshape(-1, L)
        if mode != "circular":
            causal_filter(u2, k1, empty, y2, 0)
        else:
            taps_rows(u2, k1, y2, 1, True, False)
        if k2 is not None:
            taps_rows(u2, k2, y2, -1, False, True)
        return y
    import scipy.fft as sf

    if method == "fft":
        (K,) = spec
        n = params["n"]

        def task(b, h0, h1):
            S = sf.rfft(u[b, h0:h1], n=n, axis=-1, workers=1)
            if bad is not None and not np.isfinite(S[:, 0]).all():
                bad.append(True)
                return
            S *= K[h0:h1] if K.shape[0] > 1 else K
            y[b, h0:h1] = sf.irfft(S, n=n, axis=-1, workers=1, overwrite_x=True)[:, :L]

        _config.run_tasks(threads, task, _tasks(B, H, params["rows"]))
        return y
    Kr, Ki = spec
    M = params["M"]
    nb = -(-L // M)
    full = L // M

    def ptask(b, h0, h1):
        from .._kernels.sequence import part_mac

        R = h1 - h0
        if full == nb:
            ub = u[b, h0:h1].reshape(R, nb, M)
        else:
            ub = np.zeros((R, nb * M), u.dtype)
            ub[:, :L] = u[b, h0:h1]
            ub = ub.reshape(R, nb, M)
        U = sf.rfft(ub, n=2 * M, axis=-1, workers=1)
        if bad is not None and not np.isfinite(U[:, :, 0]).all():
            bad.append(True)
            return
        Y = np.empty_like(U)
        kr = Kr[h0:h1] if Kr.shape[0] > 1 else np.broadcast_to(Kr, (R,) + Kr.shape[1:])
        ki = Ki[h0:h1] if Ki.shape[0] > 1 else np.broadcast_to(Ki, (R,) + Ki.shape[1:])
        part_mac(U.view(u.dtype), kr, ki, Y.view(u.dtype), 256)
        del U
        yb = sf.irfft(Y, n=2 * M, axis=-1, workers=1, overwrite_x=True)    # (R, nb, 2M)
        yb[:, 1:, :M] += yb[:, :-1, M:]                                   # overlap-add
        out = y[b, h0:h1]
        if full:
            out[:, :full * M].reshape(R, full, M)[...] = yb[:, :full, :M]
        if full < nb:
            out[:, full * M:] = yb[:, full, :L - full * M]

    _config.run_tasks(threads, ptask, _tasks(B, H, params["rows"]))
    return y


def grads(g, u, k1, k2, mode, n, Hk, Lk, want_u=True, want_k=True, bad=None):
    """Gradients of the FFT form at ``n`` (every mode): ``grad_u`` (B, H, L)
    and ``grad_k1``, ``grad_k2`` (Hk, Lk; None where absent): the adjoint of
    the product (``G conj(Kc)``) and the correlations of the output gradient
    with the input (``sum_b G conj(U)``, and ``conj(G) U`` for the anti-causal
    part), summed over the batch (and the channels for a shared kernel) in
    the frequency domain, one inverse transform per kernel row.  ``bad``:
    as :func:`forward`'s (NaN or infinity seen in a zero-frequency bin)."""
    import threading

    import scipy.fft as sf

    B, H, L = u.shape
    threads = _config.get_threads()
    K = None
    if want_u:
        # the forward's spectrum (kept between calls), conjugated
        K = np.conj(kept_spectra(k1, k2, mode, "fft", {"n": n})[0])
        if bad is not None and not np.isfinite(K[:, 0]).all():
            bad.append(True)
            return None, None, None
    gu = np.empty_like(u) if want_u else None
    F = n // 2 + 1
    ct = np.result_type(u.dtype, np.complex64)
    shared = Hk == 1 and H > 1
    gk1 = np.zeros((Hk, Lk), u.dtype) if want_k else None
    gk2 = np.zeros((Hk, Lk), u.dtype) if (want_k and k2 is not None) else None
    tot1 = np.zeros(F, ct) if (want_k and shared) else None
    tot2 = np.zeros(F, ct) if (want_k and shared and k2 is not None) else None
    from ..planning.sequence import _rows

    R = min(H, _rows((n + 2) * u.itemsize * 5))     # G, U and the sums per row
    lock = threading.Lock()

    def task(h0, h1):
        a1 = np.zeros((h1 - h0, F), ct) if want_k else None
        a2 = np.zeros((h1 - h0, F), ct) if gk2 is not None else None
        for b in range(B):
            G = sf.rfft(g[b, h0:h1], n=n, axis=-1, workers=1)
            if bad is not None and not np.isfinite(G[:, 0]).all():
                bad.append(True)
                return
            if want_k:
                U = sf.rfft(u[b, h0:h1], n=n, axis=-1, workers=1)
                if bad is not None and not np.isfinite(U[:, 0]).all():
                    bad.append(True)
                    return
                if a2 is not None:
                    a2 += np.conj(G) * U
                np.conjugate(U, out=U)
                U *= G
                a1 += U
            if want_u:
                G *= K[h0:h1] if K.shape[0] > 1 else K
                gu[b, h0:h1] = sf.irfft(G, n=n, axis=-1, workers=1, overwrite_x=True)[:, :L]
        if not want_k:
            return
        if shared:
            with lock:
                tot1[:] += a1.sum(axis=0)
                if a2 is not None:
                    tot2[:] += a2.sum(axis=0)
            return
        gk1[h0:h1] = sf.irfft(a1, n=n, axis=-1, workers=1)[:, :Lk]
        if a2 is not None:
            gk2[h0:h1] = sf.irfft(a2, n=n, axis=-1, workers=1)[:, :Lk]

    _config.run_tasks(threads, task, [(h0, min(H, h0 + R)) for h0 in range(0, H, R)])
    if want_k and shared:
        gk1[0] = sf.irfft(tot1, n=n)[:Lk]
        if gk2 is not None:
            gk2[0] = sf.irfft(tot2, n=n)[:Lk]
    return gu, gk1, gk2


def _blocks(x, b, h0, h1, M, nb):
    """Rows ``x[b, h0:h1]`` as (R, nb, M) blocks (zero-padded past L)."""
    L = x.shape[2]
    if nb * M == L:
        return x[b, h0:h1].reshape(h1 - h0, nb, M)
    out = np.zeros((h1 - h0, nb * M), x.dtype)
    out[:, :L] = x[b, h0:h1]
    return out.reshape(h1 - h0, nb, M)


def grads_partitioned(g, u, spec, params, Hk, Lk, want_u=True, want_k=True, bad=None):
    """Gradients of the causal partitioned convolution (blocks of M), from the
    spectra of the blocks of ``g`` and ``u`` (made once, shared): the input's
    ``S_i = sum_p G_{i+p} conj(K_p)`` and ``grad_u`` block i ``= irfft(S_i)[:M]
    + irfft(S_{i+1})[M:]`` (a block's correlation spans two blocks); the
    kernel's ``A_p = sum_b sum_j G_j conj(U_{j-p})`` for p <= P and
    ``grad_k[pM + o] = irfft(A_p)[o] + irfft(A_{p+1})[M + o]``."""
    import threading

    import scipy.fft as sf

    from .._kernels.sequence import part_adj, part_corr

    B, H, L = u.shape
    M = params["M"]
    nb = -(-L // M)
    full = L // M
    P = -(-Lk // M)
    Kr, Ki = spec
    threads = _config.get_threads()
    shared = Hk == 1 and H > 1
    F = M + 1
    gu = np.empty_like(u) if want_u else None
    gk = np.zeros((Hk, P * M), u.dtype) if want_k else None
    tot_r = np.zeros((1, P + 1, F), u.dtype) if (shared and want_k) else None
    tot_i = np.zeros_like(tot_r) if tot_r is not None else None
    R = min(H, params["rows"])
    lock = threading.Lock()

    def _finish(Ar, Ai, out, h0, h1):
        c = sf.irfft(Ar + 1j * Ai, n=2 * M, axis=-1, workers=1)    # (R, P + 1, 2M)
        blk = c[:, :P, :M].copy()
        blk[:, :, 1:] += c[:, 1:, M + 1:]
        out[h0:h1] = blk.reshape(h1 - h0, P * M)

    def task(h0, h1):
        n = h1 - h0
        if want_k:
            Ar = np.zeros((n, P + 1, F), u.dtype)
            Ai = np.zeros_like(Ar)
        if want_u:
            kr = Kr[h0:h1] if Kr.shape[0] > 1 else np.broadcast_to(Kr, (n,) + Kr.shape[1:])
            ki = Ki[h0:h1] if Ki.shape[0] > 1 else np.broadcast_to(Ki, (n,) + Ki.shape[1:])
        for b in range(B):
            Gs = sf.rfft(_blocks(g, b, h0, h1, M, nb), n=2 * M, axis=-1, workers=1)
            if bad is not None and not np.isfinite(Gs[:, :, 0]).all():
                bad.append(True)
                return
            if want_k:
                Us = sf.rfft(_blocks(u, b, h0, h1, M, nb), n=2 * M, axis=-1, workers=1)
                if bad is not None and not np.isfinite(Us[:, :, 0]).all():
                    bad.append(True)
                    return
                part_corr(Gs.view(u.dtype), Us.view(u.dtype), Ar, Ai, 256)
                del Us
            if want_u:
                S = np.empty_like(Gs)
                part_adj(Gs.view(u.dtype), kr, ki, S.view(u.dtype), 256)
                c = sf.irfft(S, n=2 * M, axis=-1, workers=1, overwrite_x=True)   # (n, nb, 2M)
                c[:, :-1, :M] += c[:, 1:, M:]
                out = gu[b, h0:h1]
                if full:
                    out[:, :full * M].reshape(n, full, M)[...] = c[:, :full, :M]
                if full < nb:
                    out[:, full * M:] = c[:, full, :L - full * M]
        if not want_k:
            return
        if shared:
            with lock:
                tot_r[0] += Ar.sum(axis=0)
                tot_i[0] += Ai.sum(axis=0)
            return
        _finish(Ar, Ai, gk, h0, h1)

    _config.run_tasks(threads, task, [(h0, min(H, h0 + R)) for h0 in range(0, H, R)])
    if shared and want_k:
        _finish(tot_r, tot_i, gk, 0, 1)
    return gu, (None if gk is None else np.ascontiguousarray(gk[:, :Lk]))
