"""Streaming convolution engine: a direct FIR on block plus history, or
non-uniformly partitioned overlap-save in the frequency domain (the levels
come from :func:`fastconv.planning.stream.partition_plan`; the scheme is
described in :mod:`fastconv.stream`).

``Engine(hh, B, method, levels, backend, dtype, threads, hcache)`` holds the
state of ``C`` channels (``hh``: the IRs, (C or 1, K)); ``run(xs)`` feeds
samples (C, n) and returns as many output samples, delayed by one block.
"""
from __future__ import annotations

import numpy as np

from .. import _pocket
from .._config import run_tasks

#: partitions of at least this size use all threads (FFT workers, parallel MAC);
#: smaller ones run on the calling thread (waking threads costs more)
BIG_BLOCK = 16384


def _spans(start, n, R):
    """[(ring_from, ring_to, src_from, src_to)]: n samples from ``start`` in a ring of R."""
    p = start % R
    first = min(n, R - p)
    out = [(p, p + first, 0, first)]
    if first < n:
        out.append((0, n - first, first, n))
    return out


def _np_ring_add(ring, start, y):
    for a, b, u, v in _spans(start, y.shape[1], ring.shape[1]):
        ring[:, a:b] += y[:, u:v]


def _np_ring_take(ring, start, out):
    for a, b, u, v in _spans(start, out.shape[1], ring.shape[1]):
        out[:, u:v] = ring[:, a:b]
        ring[:, a:b] = 0


def _np_mac(X, H, slot, zslot, Y, tmp):
    """Y = sum over live slots s of X[s] * H[(slot - s) % m] (all channels at
    once: long numpy calls).  Slots holding silence (``zslot``: the start of
    a stream, the flushed tail) are skipped; returns the live slot count."""
    m, live = X.shape[0], 0
    for j in range(m):
        s = (slot - j) % m
        if zslot[s]:
            continue
        if live == 0:
            np.multiply(X[s], H[j], out=Y)
        else:
            np.multiply(X[s], H[j], out=tmp)
            Y += tmp
        live += 1
    return live


def _channel_level(lv, c, zero_in, win, acc, start, kern, own_out):
    """One level's block for channel ``c`` (a task on the thread pool):
    forward transform of the input window, multiply-adds over the live
    slots, inverse transform; the last P samples are the output block
    (``own_out``) or go into ``acc``.  pocketfft and the numba kernels
    release the GIL, so the channels run in parallel and each one's
    transforms stay in its core's cache."""
    if not zero_in:
        _pocket.r2c(win[c], -1, lv.X[lv.slot, c], 1)
    if kern.fdl_mac_chan(lv.X, lv.H, lv.slot, lv.zslot, lv.Y, c):
        _pocket.c2r(lv.Y[c], -1, 2 * lv.P, lv.yb[c], 1)
        if not own_out:
            kern.ring_add(acc[c:c + 1], start, lv.yb[c:c + 1, lv.P:])
    elif own_out:
        lv.yb[c, lv.P:] = 0


class _Level:
    __slots__ = ("P", "m", "off", "H", "X", "slot", "yb", "Y", "tmp", "zslot")


class Engine:
    """The state of one stream (see the module docstring)."""

    def __init__(self, hh, C, block_size, method, levels, backend, dtype, threads, hcache):
        self.block_size = block_size
        self.method = method
        self.levels = levels
        self.backend = backend
        self.dtype = dtype
        self.K = hh.shape[-1]
        self._C = C
        self._hcache = hcache
        self._threads = threads
        self._fill = 0         # samples of the current block received
        self._blocks = 0       # blocks completed
        self._last_sound = -1  # end time of the latest block that was not silent
        self._sound = False    # the current block holds samples from process()
        self._alloc(hh)

    def _alloc(self, hh):
        C = self._C
        B = self.block_size
        self._hh = np.ascontiguousarray(hh)
        if self.method == "direct":
            self._inb = np.zeros((C, B), self.dtype)
            self._outb = np.zeros((C, B), self.dtype)
            self._hist = np.zeros((C, self.K - 1 + B), self.dtype)
            return
        import scipy.fft as sfft

        from .._config import numba_threads

        self._numba_threads = numba_threads
        if self.backend == "numpy":
            self._kern = None
            self._ops = (_np_ring_add, _np_ring_take)
        else:
            from .._kernels import stream as ks

            self._kern = ks
            self._ops = (ks.ring_add, ks.ring_take)
        Pmax = max(P for P, _, _ in self.levels)
        # input history: a linear buffer, so that every level's window
        # [T - 2P, T) is a contiguous run the transform reads in place; when
        # the next block would not fit, the last 2 * Pmax samples move to the
        # front (once every few Pmax samples)
        self._keep = 2 * Pmax
        self._buf = np.zeros((C, self._keep + max(4 * Pmax, 8 * B)), self.dtype)
        self._base = -self._keep            # absolute time of buffer column 0
        # a single level of P = B partitions from tap 0 (every long block
        # size): its inverse transform's second half *is* the output block
        self._own_out = len(self.levels) == 1 and self.levels[0][0] == B
        if not self._own_out:
            A = 1
            span = max(off + m * P for P, m, off in self.levels) + 2 * Pmax + B
            while A < span:
                A *= 2
            self._acc = np.zeros((C, A), self.dtype)       # future output samples
            self._outb = np.zeros((C, B), self.dtype)
        else:
            self._acc = None
        cdt = np.result_type(self.dtype, np.complex64)
        self._levels = []
        for P, m, off in self.levels:
            lv = _Level()
            lv.P, lv.m, lv.off = P, m, off
            key = (hh.shape[0], P, off)
            if key not in self._hcache:          # IR spectra survive reset()/flush()
                parts = np.zeros((m, hh.shape[0], 2 * P), self.dtype)
                for j in range(m):
                    a = off + j * P
                    seg = hh[:, a:min(a + P, self.K)]
                    parts[j, :, :seg.shape[1]] = seg
                # scaled by 1 / (2P): the inverse transforms run unnormalised
                self._hcache[key] = np.ascontiguousarray(
                    sfft.rfft(parts, axis=-1, norm="forward", workers=self._threads)).astype(cdt)
            lv.H = self._hcache[key]
            lv.X = np.zeros((m, C, P + 1), cdt)
            lv.slot = m - 1
            lv.yb = np.zeros((C, 2 * P), self.dtype)
            lv.Y = np.zeros((C, P + 1), cdt)
            lv.tmp = np.zeros((C, P + 1), cdt) if self._kern is None else None
            lv.zslot = np.ones(m, bool)  # delay-line slots that hold silence
            self._levels.append(lv)
        if self._own_out:
            self._outb = self._levels[0].yb[:, B:]   # a view: no copy per block

    def run(self, xs, n=None):
        """Feed ``xs`` (C, n), or ``n`` zero samples when ``xs`` is None (the
        flushed tail: known silent, so its blocks skip the input transform)."""
        if xs is not None:
            n = xs.shape[1]
            if not np.isfinite(xs.sum()) and not np.isfinite(xs).all():
                raise ValueError("chunk contains NaN or Inf (it would poison the filter state)")
        out = np.empty((self._C, n), self.dtype)
        B = self.block_size
        direct = self.method == "direct"
        i = 0
        while i < n:
            f = self._fill
            k = min(B - f, n - i)
            if direct:
                dst, p = self._inb, f
            else:
                p = self._blocks * B - self._base
                if f == 0 and p + B > self._buf.shape[1]:
                    keep = self._keep
                    self._buf[:, :keep] = self._buf[:, p - keep:p]
                    self._base += p - keep
                    p = keep
                dst, p = self._buf, p + f
            if xs is None:
                dst[:, p:p + k] = 0
            else:
                dst[:, p:p + k] = xs[:, i:i + k]
                self._sound = True
            out[:, i:i + k] = self._outb[:, f:f + k]
            self._fill += k
            i += k
            if self._fill == B:
                self.block()
                self._fill = 0
        return out

    def block(self):
        """A full input block arrived: compute the next output block."""
        B = self.block_size
        if self.method == "direct":
            from .._kernels.stream import fir_block

            hist = self._hist
            hist[:, :self.K - 1] = hist[:, B:]
            hist[:, self.K - 1:] = self._inb
            fir_block(hist, self._hh, self._outb)
            self._blocks += 1
            return
        ks, threads, own = self._kern, self._threads, self._own_out
        ring_add, ring_take = self._ops
        T = (self._blocks + 1) * B          # absolute time at the end of this block
        self._blocks += 1
        if self._sound:                     # a block fed by process(), not by flush()
            self._last_sound = T
            self._sound = False
        e = T - self._base                  # buffer column of time T
        for lv in self._levels:
            P = lv.P
            if T % P:
                continue
            lv.slot = (lv.slot + 1) % lv.m
            zero_in = self._last_sound <= T - 2 * P     # the window [T - 2P, T) is silent
            lv.zslot[lv.slot] = zero_in
            if zero_in:
                # silence (the flushed tail): a zero spectrum, and nothing
                # to add once the whole delay line holds zeros
                lv.X[lv.slot] = 0
                if lv.zslot.all():
                    if own:
                        lv.yb[:, P:] = 0
                    continue
            win = self._buf[:, e - 2 * P:e]
            big = P >= BIG_BLOCK and threads > 1      # worth waking the threads
            if big and self._C > 1 and ks is not None:
                # one task per channel, the first on this thread
                run_tasks(threads, _channel_level,
                          [(lv, c, zero_in, win, self._acc, T - P + lv.off, ks, own)
                           for c in range(self._C)])
                continue
            w = threads if big else 1
            if not zero_in:
                _pocket.r2c(win, -1, lv.X[lv.slot], w)
            if ks is None:
                _np_mac(lv.X, lv.H, lv.slot, lv.zslot, lv.Y, lv.tmp)
            elif big and lv.m * self._C * P >= 1 << 17:
                self._numba_threads(threads)
                ks.fdl_mac_parallel(lv.X, lv.H, lv.slot, lv.Y, 4096)
            else:
                ks.fdl_mac(lv.X, lv.H, lv.slot, lv.Y)
            _pocket.c2r(lv.Y, -1, 2 * P, lv.yb, w)
            if not own:
                ring_add(self._acc, T - P + lv.off, lv.yb[:, P:])
        if not own:
            ring_take(self._acc, T - B, self._outb)

