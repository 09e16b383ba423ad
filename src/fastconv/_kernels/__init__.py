"""Numba kernels: no validation, no Python objects, no raising.

``jit`` is the one place numba's flags are chosen: compiled code is cached on
disk (``cache=True``) so the first-call compile cost is paid once per machine,
releases the GIL (``nogil=True``) and may contract multiply-adds into FMAs.
This package is imported lazily: ``import fastconv`` does not load numba.
"""
import contextlib
import os
import types as pytypes
import threading

import numba
from numba.core.compiler_lock import global_compiler_lock

FLAGS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False,
             fastmath={"contract"})


def _threadsafe_layer() -> bool:
    """Choose a numba threading layer that several threads may enter at once.

    numba's 'workqueue' layer aborts the process when two threads launch
    parallel kernels concurrently.  Unless the user chose a layer
    (``NUMBA_THREADING_LAYER``), ask for 'threadsafe' (TBB or OpenMP) when
    one of them loads.  Returns False when only workqueue is left: parallel
    kernels are then serialised by a lock (see :func:`jit`).
    """
    chosen = os.environ.get("NUMBA_THREADING_LAYER", "").strip().lower()
    if chosen and chosen != "default":
        return chosen != "workqueue"
    for mod in ("numba.np.ufunc.tbbpool", "numba.np.ufunc.omppool"):
        try:
            __import__(mod)
        except Exception:            # the library behind it is missing
            continue
        numba.config.THREADING_LAYER = "threadsafe"
        return True
    return False


#: False: only workqueue is available, parallel kernels run one at a time
THREADSAFE = _threadsafe_layer()
_PARALLEL_LOCK = threading.Lock()


#: work (multiply-adds, as the algorithms count it for ``threads_for``) a
#: kernel runs serially before its parallel variant is compiled: numba takes
#: 1.5-4 s more to compile a ``prange`` loop than the same loop serial, more
#: than the serial run of any call below this (about 0.5-1 s of one core)
COLD_WORK = 1 << 32

#: None: choose per call; "serial" / "parallel": force one variant (warmup
#: compiles both; tests run both).  Set it through :func:`forced`.
FORCE = None


@contextlib.contextmanager
def forced(variant):
    """Run every :class:`Parallel` kernel in ``variant`` ("serial" or
    "parallel") inside the block (process-wide: for warmup and tests)."""
    global FORCE
    if variant not in ("serial", "parallel"):
        raise ValueError(f"variant must be 'serial' or 'parallel', not {variant!r}")
    old, FORCE = FORCE, variant
    try:
        yield
    finally:
        FORCE = old


class Parallel:
    """A ``prange`` kernel compiled in two variants from one function.

    ``par`` is numba's parallel dispatcher, ``ser`` the same function with
    ``prange`` as ``range``.  A call takes ``ser`` only while ``par`` is
    cold for its argument types (neither compiled in this process nor in
    numba's disk cache) and the work sent to ``ser`` so far, this call's
    included, is below :data:`COLD_WORK`: a first call compiles only the
    serial loop (the cold-start cost of issue 17), and a process that keeps
    calling compiles the parallel loop once the serial work has paid for
    it.  Warm, every call takes ``par`` (at one thread for small work, as the
    algorithms choose), whose code is as fast or faster than ``ser``'s even
    on one thread (measured: up to 2x for the depthwise kernel).  The work is
    what the algorithm stated with :func:`fastconv._config.numba_threads`
    (None: large).  Under numba's workqueue layer (no TBB or OpenMP)
    parallel calls are serialised by a lock, so concurrent callers never
    crash the process.
    """

    def __init__(self, func):
        self.py_func = func
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.par = numba.njit(parallel=True, **FLAGS)(func)
        # a copy under a name of its own: numba's disk cache keys entries by
        # the function's name, source and argument types, not by its flags
        ser = pytypes.FunctionType(func.__code__, func.__globals__, func.__name__ + "_serial",
                                   func.__defaults__, func.__closure__)
        ser.__qualname__ = func.__qualname__ + "_serial"
        ser.__module__ = func.__module__
        self.ser = numba.njit(parallel=False, **FLAGS)(ser)
        self._cold = 0
        self._warm = set()          # argument kinds whose parallel loop is ready
        self._no_disk = set()
        # argument kinds whose parallel loop was neither compiled nor on disk
        # when last asked: asked again only when the cold work crosses
        # COLD_WORK (typing 15 arguments took 80 us of a 117 us small call)
        self._unready = set()

    @staticmethod
    def _kind(args):
        """A cheap key for the argument types (dtype, ndim, layout of arrays)."""
        return tuple((a.dtype.char, a.ndim, a.flags.c_contiguous) if hasattr(a, "dtype")
                     and hasattr(a, "flags") else type(a) for a in args)

    def __call__(self, *args):
        from .._config import _numba_set

        if FORCE is not None:
            use_par = FORCE == "parallel"
            if use_par:
                self._warm.add(self._kind(args))     # compiled by this call
        else:
            work = getattr(_numba_set, "work", None)
            kind = self._kind(args)
            use_par = work is None or kind in self._warm
            if work is None:
                self._warm.add(kind)                 # compiled by this call
            if not use_par:
                if self._cold + work >= COLD_WORK or (kind not in self._unready
                                                      and self._ready(args)):
                    use_par = True
                    self._warm.add(kind)
                else:
                    self._unready.add(kind)
                    self._cold += work
        if not use_par:
            return self.ser(*args)
        if THREADSAFE:
            return self.par(*args)
        with _PARALLEL_LOCK:
            return self.par(*args)

    def cold(self, args, work):
        """Whether a call with ``args`` would compile this kernel (neither
        variant compiled for their types nor on disk) while the work sent
        to such calls so far, ``work`` included, is below
        :data:`COLD_WORK`; the work is then counted.  For callers with a
        cheaper-to-start way of their own (the depthwise layers: their
        kernel's serial variant takes 8 s to compile)."""
        if FORCE is not None:
            return False
        kind = self._kind(args)
        if kind in self._warm:
            return False
        try:
            sig = tuple(self.ser.typeof_pyval(a) for a in args)
            if sig in self.ser.overloads or self._ready(args):
                self._warm.add(kind)
                return False
        except Exception:         # numba's internals moved: compile as numba would
            return False
        if self._cold + work >= COLD_WORK:
            return False
        self._cold += work
        return True

    def _ready(self, args):
        """Whether the parallel variant for ``args``' types is compiled or on disk."""
        d = self.par
        try:
            sig = tuple(d.typeof_pyval(a) for a in args)
            if sig in d.overloads:
                return True
            if sig in self._no_disk:
                return False
            with global_compiler_lock:
                cres = d._cache.load_overload(sig, d.targetctx)
                if cres is None:
                    self._no_disk.add(sig)
                    return False
                d.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
                d.add_overload(cres)
            return True
        except Exception:        # numba's internals moved: compile as numba would
            return True


def jit(func=None, *, parallel=False, inline=False):
    """Decorate ``func`` with the project's numba flags.

    ``inline=True`` inlines a helper into its callers at numba IR level.
    ``parallel=True`` returns a :class:`Parallel` (serial and parallel
    variants).
    """
    def wrap(f):
        if parallel:
            return Parallel(f)
        return numba.njit(inline="always" if inline else "never", **FLAGS)(f)
    return wrap(func) if func is not None else wrap


@jit(inline=True)
def row_start(o, r, obase, orow, krow, rmap, xstr):  # pragma: no cover - jitted
    """Flat start of the input row that output row o meets with kernel row r.

    ``rmap[d, t]`` is the input index of padded coordinate ``t`` on leading
    axis ``d`` (the boundary rule, applied virtually), -1 for a zero row.
    """
    s = obase[o]
    for d in range(rmap.shape[0]):
        c = rmap[d, orow[o, d] + krow[r, d]]
        if c < 0:
            return -1
        s += c * xstr[d]
    return s
