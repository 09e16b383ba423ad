"""Helpers shared by the algorithms (canonical problem layout).

Canonical problem, as the planner hands it to every algorithm:

* ``x`` has shape ``(Bx, *n)`` and ``k`` has shape ``(Bk, *m)``: the
  convolution axes are the trailing ones, the batch is flattened to one
  leading axis and ``Bx, Bk`` are each 1 or ``B``;
* the result is ``y[b, i] = full(x[b], k[b])[starts + i]`` for
  ``0 <= i < out_shape`` (per axis), where ``full`` is the full linear
  convolution with ``x`` zero outside its extent.  Boundary extension other
  than zeros has already been applied (``x`` is then the padded array).
"""
from __future__ import annotations

import collections
import contextlib
import functools
import math
import threading

import numpy as np


@functools.lru_cache(maxsize=4096)
def fast_len(n: int, real: bool = True) -> int:
    import scipy.fft

    return int(scipy.fft.next_fast_len(int(n), real=real))


def window_pads(n, m, starts, out_shape):
    """Zero pads (before, after) per axis so a 'valid' pass yields the output."""
    pads = []
    for N, K, s, L in zip(n, m, starts, out_shape):
        lo = s - (K - 1)          # first input index needed
        hi = s + L - 1            # last input index needed
        pads.append((lo, hi))
    return pads


def window(x, m, starts, out_shape, extra=None):
    """Return ``W`` (contiguous) with ``valid(W, k) == wanted output``.

    ``W`` covers input indices ``[s-K+1, s+L-1]`` on every convolution axis,
    zero where that leaves ``x``, plus ``extra[d]`` trailing zeros per axis
    (one allocation, one copy).  No copy when ``x`` already is that window
    and contiguous.
    """
    extra = extra or (0,) * len(m)
    n = x.shape[1:]
    src = [slice(None)]
    dst = [slice(None)]
    shape = [x.shape[0]]
    need_copy = False
    for N, (lo, hi), e in zip(n, window_pads(n, m, starts, out_shape), extra):
        a, b = max(lo, 0), min(hi, N - 1)
        shape.append(hi - lo + 1 + e)
        if lo < 0 or hi > N - 1 or e:
            need_copy = True
        src.append(slice(a, b + 1))
        dst.append(slice(a - lo, b - lo + 1))
    if not need_copy:
        return np.ascontiguousarray(x[tuple(src)])
    W = np.zeros(shape, dtype=x.dtype)
    if all(s.stop > s.start for s in src[1:]):
        W[tuple(dst)] = x[tuple(src)]
    return W


def is_real(*arrays):
    return all(a.dtype.kind != "c" for a in arrays)


def kernel_spectrum(params, tag, k, compute):
    """``compute()`` (a kernel spectrum), reused across calls.

    A Plan gives its calls a ``params['_kcache']`` dict; the spectrum is kept
    there under the kernel's bytes (and ``tag``: transform lengths, layout),
    so a plan applied again with the same kernel skips its transform.  One
    entry per tag.  Behind it, calls share a small process-wide cache
    (:func:`_shared_spectrum`, kernels up to 4 MiB), which serves one-off
    calls (each makes its own Plan) with a kernel seen before.
    """
    cache = params.get("_kcache") if params else None
    if cache is None:
        return _shared_spectrum(tag, k, compute)
    key = (k.shape, k.dtype.str, hash(k.tobytes()))
    hit = cache.get(tag)
    if hit is not None and hit[0] == key:
        return hit[1]
    val = _shared_spectrum(tag, k, compute)
    cache[tag] = (key, val)
    return val


_SHARED = collections.OrderedDict()
_SHARED_LOCK = threading.Lock()
#: kernels larger than this are not kept by the shared cache
SHARED_KERNEL_MAX = 4 << 20


class _Off(threading.local):
    active = False


_SHARED_OFF = _Off()


@contextlib.contextmanager
def shared_spectra_off():
    """Time one-off calls as the cost model sees them: in this thread, no
    spectrum from an earlier call (calibration, ``make bench-planner``)."""
    before = _SHARED_OFF.active
    _SHARED_OFF.active = True
    try:
        yield
    finally:
        _SHARED_OFF.active = before


def spectrum_cache_limit() -> int:
    """Bytes kept spectra may hold in this thread: FASTCONV_SPECTRUM_CACHE,
    or 0 under :func:`shared_spectra_off` (every cache of kernel spectra
    asks this)."""
    from .._config import spectrum_cache_bytes

    return 0 if _SHARED_OFF.active else spectrum_cache_bytes()


def _shared_spectrum(tag, k, compute):
    """Least-recently-used spectra of one-off calls, FASTCONV_SPECTRUM_CACHE
    bytes in all: a hit needs the same transform tag, shape, dtype and
    kernel bytes (compared in full).  Entries are read-only arrays."""
    limit = spectrum_cache_limit()
    if limit <= 0 or k.nbytes > SHARED_KERNEL_MAX:
        return compute()
    key = (tag, k.shape, k.dtype.str, k.tobytes())
    with _SHARED_LOCK:
        val = _SHARED.get(key)
        if val is not None:
            _SHARED.move_to_end(key)
            return val
    val = compute()
    if val.nbytes > limit // 2:
        return val
    val.flags.writeable = False
    with _SHARED_LOCK:
        _SHARED[key] = val
        total = sum(v.nbytes for v in _SHARED.values())
        while total > limit:
            _, old = _SHARED.popitem(last=False)
            total -= old.nbytes
    return val


class TaskQueue:
    """Tasks handed out one at a time to the threads iterating over it (a
    thread slowed by a neighbour on the machine takes fewer)."""

    def __init__(self, tasks):
        self._it, self._lock = iter(tasks), threading.Lock()

    def __iter__(self):
        while True:
            with self._lock:
                task = next(self._it, None)
            if task is None:
                return
            yield task


#: arrays with fewer elements are copied / multiplied on the calling thread
PARALLEL_ELEMENTS = 1 << 20


def split_apply(nthreads, n, size, fn):
    """``fn(a, b)`` over ``nthreads`` contiguous pieces of ``range(n)`` on
    the thread pool (numpy's copies and ufuncs release the GIL, so the
    pieces run in parallel); one call on this thread when ``size`` (the
    elements touched) is small or ``n`` cannot be split."""
    T = min(nthreads, n)
    if T <= 1 or size < PARALLEL_ELEMENTS:
        fn(0, n)
        return
    from .._config import run_tasks

    cuts = [n * i // T for i in range(T + 1)]
    run_tasks(T, fn, [(cuts[i], cuts[i + 1]) for i in range(T)])


def multiply_into(X, K, nthreads):
    """``X *= K`` (``K`` broadcasting over X's leading batch axis) in parallel
    pieces along the first axis that both share in full."""
    ax = 1 if X.ndim > 1 and (X.shape[0] < nthreads or K.shape[0] != X.shape[0]) else 0
    if ax == 1:
        split_apply(nthreads, X.shape[1], X.size,
                    lambda a, b: np.multiply(X[:, a:b], K[:, a:b], out=X[:, a:b]))
    else:
        split_apply(nthreads, X.shape[0], X.size,
                    lambda a, b: np.multiply(X[a:b], K[a:b], out=X[a:b]))


# ------------------------------------------------------------ result buffers
# A fresh large array costs the kernel's zeroing of every page on first
# touch: for 32 MiB and more glibc always maps fresh memory (4.5 ms of the
# 16.8 for a 4096^2 float32 9x9 convolution, 64 MiB written), and below that
# its heap is trimmed often enough that a 16 MB array faults again too (a
# 2048^2 uint8 7x7 filter: its float32 copy and result, 9.5-15 ms against
# 5.7 from the pool).  The pool keeps a few such blocks after their arrays
# are gone and hands them out again, already faulted in.
#
# Its blocks start on a page (numpy's large arrays start 16 bytes into one):
# every 64-byte vector store then stays in one cache line.  A 2048^2 float32
# Sobel pass wrote its result at 0.934 ms 16 bytes off a line and 0.838 ms on
# a page (AVX-512 host, input 16 bytes into its page either way).

POOL_MIN = 1 << 20           # smaller arrays: the C allocator's own free lists
POOL_BLOCKS = 4              # idle blocks kept at most
_POOL_ALIGN = 2 << 20        # block sizes in 2 MiB steps (a huge page)
PAGE = 4096                  # where a pooled block's first byte lies
_POOL = []                   # idle raw blocks, oldest first
_POOL_LOCK = threading.Lock()


def result(shape, dtype):
    """``np.empty(shape, dtype)``, from the pool of faulted-in blocks when it
    is at least ``POOL_MIN`` bytes and the pool is on (``FASTCONV_RESULT_POOL``).

    The array's memory goes back to the pool when the array and every view
    of it are gone (the block is owned by a small ctypes object that is the
    base of every view, so a surviving view keeps it out of the pool).  The
    array does not own its data (``flags.owndata`` is False), as any view.
    """
    from .. import _config

    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    dest = getattr(_DEST, "arr", None)
    if dest is not None and dest.dtype == dtype and dest.size == math.prod(shape):
        _DEST.arr = None                  # the caller's ``out``, once
        return dest.reshape(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < POOL_MIN or nbytes > _config.result_pool_bytes():
        return np.empty(shape, dtype)
    raw = None
    with _POOL_LOCK:
        fits = [i for i, b in enumerate(_POOL)
                if nbytes <= _usable(b) <= nbytes + max(nbytes >> 3, _POOL_ALIGN)]
        if fits:
            raw = _POOL.pop(min(fits, key=lambda i: _POOL[i].nbytes))
    if raw is None:
        raw = np.empty(-(-nbytes // _POOL_ALIGN) * _POOL_ALIGN + PAGE, np.uint8)
    return _lend(raw, nbytes).view(dtype).reshape(shape)


def _skip(raw):
    """Bytes from ``raw``'s start to its first page boundary."""
    return -raw.ctypes.data % PAGE


def _usable(raw):
    """Bytes of ``raw`` from its first page boundary on."""
    return raw.nbytes - _skip(raw)


_DEST = threading.local()


@contextlib.contextmanager
def destination(arr):
    """Inside the block, the first :func:`result` of ``arr``'s dtype and
    size (in this thread) is ``arr`` itself, reshaped: the engine hands a
    caller's C-contiguous ``out=`` to the algorithm that makes the result, so
    it is written once, in place (an array asked for first that is not the
    result, of the same size, would take it instead: still right, as the
    engine copies the result into ``out`` whenever it is another array)."""
    _DEST.arr = arr
    try:
        yield
    finally:
        _DEST.arr = None


def _lend(raw, nbytes):
    import ctypes
    import weakref

    skip = _skip(raw)
    owner = (ctypes.c_char * (raw.nbytes - skip)).from_buffer(raw, skip)
    weakref.finalize(owner, _give_back, raw)
    return np.frombuffer(owner, np.uint8, nbytes)


def _give_back(raw):
    """A block whose arrays are gone: idle in the pool, the oldest dropped
    beyond ``POOL_BLOCKS`` or the byte cap.  Called by the garbage collector
    (any thread, maybe inside :func:`result` of this thread): the lock is only
    tried, and a block that finds it taken is freed instead."""
    from .. import _config

    if not _POOL_LOCK.acquire(blocking=False):
        return
    try:
        _POOL.append(raw)
        cap = _config.result_pool_bytes()
        while _POOL and (len(_POOL) > POOL_BLOCKS or sum(b.nbytes for b in _POOL) > cap):
            _POOL.pop(0)
    finally:
        _POOL_LOCK.release()


def release_results():
    """Free the idle blocks of the result pool (tests, memory checks)."""
    with _POOL_LOCK:
        n = sum(b.nbytes for b in _POOL)
        _POOL.clear()
    return n
