"""Numba kernels: no validation, no Python objects, no raising.

``jit`` is the one place numba's flags are chosen: compiled code is cached on
disk (``cache=True``) so the first-call compile cost is paid once per machine,
releases the GIL (``nogil=True``) and may contract multiply-adds into FMAs.
This package is imported lazily: ``import fastconv`` does not load numba.
"""
import functools
import os
import threading

import numba

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


def _serialised(dispatcher):
    """A parallel kernel that holds ``_PARALLEL_LOCK`` while it runs (only
    under the workqueue layer; the dispatcher stays reachable as ``.py_func``
    and every other attribute)."""
    @functools.wraps(dispatcher.py_func)
    def call(*args):
        with _PARALLEL_LOCK:
            return dispatcher(*args)
    call.__getattr__ = lambda name: getattr(dispatcher, name)
    call.dispatcher = dispatcher
    return call


def jit(func=None, *, parallel=False, inline=False):
    """Decorate ``func`` with the project's numba flags.

    ``inline=True`` inlines a helper into its callers at numba IR level.
    Parallel kernels are entry points called from Python; under numba's
    workqueue layer (no TBB or OpenMP) they are serialised, so concurrent
    callers never crash the process.
    """
    def wrap(f):
        d = numba.njit(parallel=parallel, inline="always" if inline else "never",
                       **FLAGS)(f)
        return _serialised(d) if parallel and not THREADSAFE else d
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
