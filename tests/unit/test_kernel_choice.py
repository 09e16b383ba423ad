"""Which variant of a parallel kernel a call runs (fastconv._kernels.Parallel):
serial while the parallel loop is cold and the work small; parallel once the
serial work passes COLD_WORK, when the work is not stated, or when the
parallel loop is compiled (then at one thread too)."""
import numpy as np
from numba import prange

from fastconv import _config
from fastconv._kernels import COLD_WORK, Parallel


def _double(x, y):  # pragma: no cover - jitted
    for i in prange(x.shape[0]):
        y[i] = 2 * x[i]


def _fresh(tmp_path, monkeypatch):
    # a private numba cache, so that no earlier run's parallel loop is on disk
    monkeypatch.setattr("numba.config.CACHE_DIR", str(tmp_path))
    return Parallel(_double)


def _run(k, n, work):
    _config.numba_threads(n, work)
    x = np.arange(5.0)
    y = np.zeros(5)
    k(x, y)
    assert np.array_equal(y, 2 * x)
    return bool(k.ser.overloads), bool(k.par.overloads)


def test_small_cold_calls_run_serially_then_switch(tmp_path, monkeypatch):
    k = _fresh(tmp_path, monkeypatch)
    try:
        assert _run(k, 2, 1000) == (True, False)
        assert _run(k, 1, 1000) == (True, False)
        assert _run(k, 2, COLD_WORK - 2500) == (True, False)       # 500 below the limit
        assert _run(k, 2, 1000) == (True, True)                   # the sum passes the limit
        # compiled now: small calls take the parallel loop, on one thread too
        k.ser.overloads.clear()
        assert _run(k, 2, 10) == (False, True)
        assert _run(k, 1, 10) == (False, True)
    finally:
        _config.numba_threads(None)


def test_a_parallel_loop_on_disk_is_used(tmp_path, monkeypatch):
    k = _fresh(tmp_path, monkeypatch)
    try:
        assert _run(k, 2, None) == (False, True)                  # compiles, writes the cache
        k2 = Parallel(_double)                                    # a new process, in effect
        assert _run(k2, 2, 1000) == (False, True)                 # loaded from disk
    finally:
        _config.numba_threads(None)


def test_unstated_work_is_large(tmp_path, monkeypatch):
    k = _fresh(tmp_path, monkeypatch)
    try:
        assert _run(k, 2, None) == (False, True)
    finally:
        _config.numba_threads(None)


def test_a_cold_kind_is_typed_once_until_it_turns_parallel(tmp_path, monkeypatch):
    """Small calls do not type their arguments again on every call to ask
    whether the parallel loop is ready (80 us of a 117 us small convolution);
    a call that compiles the parallel loop (unstated work) still switches the
    small calls of that kind to it."""
    k = _fresh(tmp_path, monkeypatch)
    asked = []
    real = k._ready
    monkeypatch.setattr(k, "_ready", lambda args: asked.append(1) or real(args))
    try:
        assert _run(k, 2, 1000) == (True, False)
        assert _run(k, 2, 1000) == (True, False)
        assert len(asked) == 1
        assert _run(k, 2, None) == (True, True)                   # compiles the loop
        k.ser.overloads.clear()
        assert _run(k, 2, 10) == (False, True)
        assert len(asked) == 1
    finally:
        _config.numba_threads(None)
