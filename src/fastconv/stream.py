"""Streaming convolution: a stateful, block-based LTI filter for long streams.

``Convolver(h, block_size=256)`` filters a stream chunk by chunk through an
impulse response ``h`` (one for all channels, or one per channel).  Every
``process(chunk)`` call returns exactly as many samples as it is given;
the output is the convolution delayed by ``latency = block_size`` samples,
whatever the IR length, and ``flush()`` returns the remaining
``block_size + len(h) - 1`` samples and resets the state.  So::

    c = Convolver(h, block_size=256)
    y = np.concatenate([c.process(x[a:b]) for a, b in chunks] + [c.flush()], axis=-1)
    # y[..., c.latency:] == fastconv.convolve(x, h)   (floating-point tolerance)

Algorithm (``method='auto'``): IRs up to ``DIRECT_TAPS`` taps are applied
directly (a 'valid' FIR over the block plus history); longer ones are
**non-uniformly partitioned** in the frequency domain (Gardner 1995; Garcia
2002; Wefers 2015).  Level 0 uses partitions of ``block_size`` taps, each
next level four times larger, with as few partitions per level as the
timing rule below allows (3 for a 256-sample block), up to ``max_partition``
(16384); the last level takes as many partitions of that size as the IR
needs (see :func:`partition_plan`).  A level with partition size ``P`` transforms the last ``2P``
input samples once every ``P`` samples (overlap-save), multiplies the spectra
of its last ``m`` input blocks by its ``m`` IR partition spectra (a
frequency-domain delay line) and adds ``P`` output samples into an
accumulator; a level starting at tap ``o >= P - block_size`` delivers in
time for the block emitted when its input completes, so every level works
on whole blocks only and the latency stays one block.  ``method='uniform'``
forces one level (``P = block_size``, for comparison); ``method='direct'``
forces the direct FIR.

Cost: a 3 s IR at 48 kHz with 256-sample blocks needs about 17 complex
multiply-adds per sample and channel (uniform partitioning: 563), plus the
transforms; see ``make bench`` for measured real-time factors.
"""
from __future__ import annotations

import operator

import numpy as np

from . import _pocket, _validate as V
from ._config import run_tasks

__all__ = ["Convolver", "partition_plan"]

#: IRs up to this many taps are applied by a direct FIR
DIRECT_TAPS = 64
#: partitions of at least this size use all threads (FFT workers, parallel MAC);
#: smaller ones run on the calling thread (waking threads costs more)
BIG_BLOCK = 16384


def partition_plan(K, block_size, max_partition=None, growth=4):
    """Levels ``[(P, m, offset), ...]`` covering ``K`` taps.

    Level 0 has partitions of ``block_size``; each next level is ``growth``
    times larger, up to the largest ``block_size * growth**j`` that does not
    exceed ``max_partition`` (default ``max(block_size, 16384)``); a level
    of size ``P`` must start at a tap offset ``>= P - block_size`` (so it
    delivers in time), which fixes how many partitions
    each level needs before the next can start.  The last level takes as
    many partitions as the IR needs.  (Growth 4 measured faster here than
    Gardner's doubling: fewer levels to run per block, fewer multiply-adds.)
    """
    B = block_size
    # every partition size is B * growth**j, so that each level's period
    # (P samples) is a whole number of blocks and its output lands on a
    # block boundary; max_partition caps j (a cap that is not of that form,
    # e.g. 16384 with B = 1000, rounds down to 16000)
    cap = max(B, max_partition or 16384)
    Pmax = B
    while Pmax * growth <= cap:
        Pmax *= growth
    levels = []
    off, P = 0, B
    while off < K:
        nxt = min(P * growth, Pmax)
        if P < Pmax:
            m = max(1, -(-(nxt - B - off) // P))
            m = min(m, -(-(K - off) // P))
        else:
            m = -(-(K - off) // P)
        levels.append((P, m, off))
        off += m * P
        if P < Pmax and off >= nxt - B:
            P = nxt
    return levels


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


class Convolver:
    """Stateful block convolution of a stream with a fixed impulse response.

    Parameters
    ----------
    h : array_like
        Impulse response, shape ``(K,)`` or ``(..., K)`` (one per channel;
        its leading axes broadcast against the stream's channel axes).
    block_size : int
        Processing block and latency in samples (default 256).
    axis : int
        Time axis of the chunks (default -1); the other axes are channels.
    method : {'auto', 'direct', 'partitioned', 'uniform'}
        'auto': direct for IRs up to ``DIRECT_TAPS`` taps, else non-uniformly
        partitioned.
    max_partition : int, optional
        Largest partition size of the non-uniform scheme (default 16384 or
        ``block_size`` if larger).
    backend : {'numba', 'numpy'}
        'numba' (default): compiled kernels; with two or more channels and
        threads, partitions of at least ``BIG_BLOCK`` samples run one task
        per channel on a thread pool.  'numpy': numpy kernels only (no numba
        import, about 100 MB less resident memory; single-threaded
        multiply-adds, about 1.5x slower for long blocks; the command line
        uses it).  Both give the same results to floating-point tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.stream import Convolver
    >>> c = Convolver([1.0, 0.5], block_size=4)
    >>> np.concatenate([c.process([1.0, 0, 0]), c.process([0, 2.0]), c.flush()])[c.latency:]
    array([1. , 0.5, 0. , 0. , 2. , 1. ])
    """

    def __init__(self, h, *, block_size=256, axis=-1, method="auto", max_partition=None,
                 backend="numba"):
        h = V.as_array(h, "h")
        if h.ndim == 0 or h.shape[-1] == 0:
            raise ValueError("h must have at least one sample along its last axis")
        if h.dtype.kind == "c":
            raise TypeError("complex impulse responses are not supported by the stream "
                            "convolver; filter real and imaginary parts separately")
        if not np.isfinite(h).all():
            raise ValueError("h contains NaN or Inf")
        try:
            B = operator.index(block_size)
        except TypeError:
            raise TypeError(f"block_size must be an int, got {block_size!r}") from None
        if B < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        if method not in ("auto", "direct", "partitioned", "uniform"):
            raise ValueError(f"method must be 'auto', 'direct', 'partitioned' or 'uniform', "
                             f"got {method!r}")
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"axis must be an int, got {axis!r}")
        if backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        if backend == "numpy" and method == "direct":
            raise ValueError("backend='numpy' needs a partitioned method ('auto' with a "
                             "long IR, 'partitioned' or 'uniform')")
        self.backend = backend
        self.dtype = np.dtype(np.float32) if h.dtype == np.float32 else np.dtype(np.float64)
        self.h = np.ascontiguousarray(h, dtype=self.dtype)
        self.K = self.h.shape[-1]
        self.block_size = B
        self.latency = B
        self.axis = int(axis)
        if method == "auto":
            method = ("direct" if self.K <= DIRECT_TAPS and backend == "numba"
                      else "partitioned")
        if max_partition is not None:
            try:
                max_partition = operator.index(max_partition)
            except TypeError:
                raise TypeError(f"max_partition must be an int or None, "
                                f"got {max_partition!r}") from None
            if max_partition < 1:
                raise ValueError(f"max_partition must be >= 1, got {max_partition}")
        self.method = method
        self.max_partition = max_partition
        self.levels = (partition_plan(self.K, B, B if method == "uniform" else max_partition)
                       if method != "direct" else [])
        per_channel = self._bytes_per_channel()
        from ._config import max_memory

        if per_channel > max_memory():
            raise ValueError(
                f"block_size={B} with a {self.K}-tap h needs about "
                f"{per_channel / 2**30:.2f} GiB per channel, more than FASTCONV_MAX_MEMORY "
                f"({max_memory() / 2**30:.2f} GiB)")
        self._chan = None
        self._hcache = {}
        self.reset()

    def _bytes_per_channel(self):
        """Working memory per channel (bytes) that ``_setup`` will allocate."""
        B, it = self.block_size, self.dtype.itemsize
        if self.method == "direct":
            return (2 * B + self.K - 1 + B) * it + self.K * it
        Pmax = max(P for P, _, _ in self.levels)
        n = 2 * Pmax + max(4 * Pmax, 8 * B)                       # input history
        span = max(off + m * P for P, m, off in self.levels) + 2 * Pmax + B
        n += 2 ** int(np.ceil(np.log2(span))) + B                 # output ring, block
        for P, m, _ in self.levels:
            n += 2 * (m + 3) * (P + 1) + 2 * P + 2 * m * P        # spectra, delay line
        return n * it

    # -------------------------------------------------------------- state
    def reset(self):
        """Forget the stream: zero history, next sample is time 0."""
        self._chan = None
        self._fill = 0         # samples of the current block received
        self._blocks = 0       # blocks completed
        self._last_sound = -1  # end time of the latest block that was not silent
        self._sound = False    # the current block holds samples from process()

    def _setup(self, chan):
        hch = self.h.shape[:-1]
        try:
            full = np.broadcast_shapes(chan, hch)
        except ValueError:
            raise ValueError(f"the chunk's channel shape {chan} does not broadcast with "
                             f"h's {hch}") from None
        if full != chan:
            raise ValueError(f"h's channel shape {hch} needs chunks with channel shape "
                             f"{full}, got {chan}")
        C = int(np.prod(chan)) if chan else 1
        from ._config import max_memory

        if C * self._bytes_per_channel() > max_memory():
            raise ValueError(
                f"chunk has {C} channels; with block_size={self.block_size} and a "
                f"{self.K}-tap h that needs about "
                f"{C * self._bytes_per_channel() / 2**30:.2f} GiB, more than "
                f"FASTCONV_MAX_MEMORY ({max_memory() / 2**30:.2f} GiB)")
        self._chan = chan
        self._C = C
        B = self.block_size
        hh = self.h.reshape(-1, self.K)
        if hh.shape[0] not in (1, C):
            hh = np.broadcast_to(self.h, chan + (self.K,)).reshape(C, self.K)
        self._hh = np.ascontiguousarray(hh)
        if self.method == "direct":
            self._inb = np.zeros((C, B), self.dtype)
            self._outb = np.zeros((C, B), self.dtype)
            self._hist = np.zeros((C, self.K - 1 + B), self.dtype)
            return
        import scipy.fft as sfft

        from ._config import get_threads, numba_threads

        self._threads = get_threads()
        self._numba_threads = numba_threads
        if self.backend == "numpy":
            self._kern = None
            self._ops = (_np_ring_add, _np_ring_take)
        else:
            from ._kernels import stream as ks

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

    # ------------------------------------------------------------ process
    def process(self, chunk):
        """Filter the next chunk; returns as many samples (delayed by ``latency``)."""
        if (self._chan is not None and type(chunk) is np.ndarray and self.axis == -1
                and chunk.dtype == self.dtype and chunk.shape[:-1] == self._chan):
            return self._run(chunk.reshape(self._C, -1)).reshape(chunk.shape)   # fast path
        x = V.as_array(chunk, "chunk")
        if x.ndim == 0:
            raise ValueError("chunk must have a time axis")
        if x.dtype.kind == "c":
            raise TypeError("complex chunks are not supported")
        ax = self.axis if -x.ndim <= self.axis < x.ndim else None
        if ax is None:
            raise ValueError(f"axis={self.axis} is out of range for a {x.ndim}-d chunk")
        x = np.moveaxis(x, ax, -1)
        chan = x.shape[:-1]
        if self._chan is None:
            self._setup(chan)
        elif chan != self._chan:
            raise ValueError(f"chunk channel shape {chan} differs from the stream's "
                             f"{self._chan}")
        n = x.shape[-1]
        xs = np.ascontiguousarray(x.reshape(self._C, n), dtype=self.dtype)
        out = self._run(xs)
        return np.moveaxis(out.reshape(chan + (n,)), -1, ax)

    def _run(self, xs, n=None):
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
                self._block()
                self._fill = 0
        return out

    def _block(self):
        """A full input block arrived: compute the next output block."""
        B = self.block_size
        if self.method == "direct":
            from ._kernels.stream import fir_block

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

    def flush(self):
        """Return the rest of the output (``latency + len(h) - 1`` samples) and reset."""
        if self._chan is None:
            chan = self.h.shape[:-1]
            self._setup(chan)
        chan = self._chan
        need = self.latency + self.K - 1
        y = self._run(None, need)
        self.reset()
        return np.moveaxis(y.reshape(chan + (need,)), -1, self.axis)
