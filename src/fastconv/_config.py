"""Defaults, ``FASTCONV_*`` environment variables and the one thread setting.

Environment variables (read when first needed, not at import):

``FASTCONV_THREADS``
    Default thread count (default: all cores this process may use).
``FASTCONV_WISDOM_DIR``
    Directory of the wisdom cache (measured planner choices).  ``off``,
    ``0`` or an empty string disables the cache.  Default: the user cache
    directory (``$XDG_CACHE_HOME/fastconv`` or ``~/.cache/fastconv``).
``FASTCONV_MAX_MEMORY``
    Largest working memory (bytes, or with a K/M/G suffix) one call may plan
    for.  Default: 80% of physical memory.
``FASTCONV_SPECTRUM_CACHE``
    Bytes (K/M/G suffix allowed) of kernel spectra that one-off calls keep
    for the next call with the same kernel (bytes compared, not a hash) and
    the same transform lengths; ``0`` disables it.  Default ``64M``.  A
    :class:`fastconv.Plan` keeps its own spectrum regardless.
``FASTCONV_RESULT_POOL``
    Bytes (K/M/G suffix allowed) of result buffers of 1 MiB and more kept,
    already faulted in, for the next large result after their arrays are
    gone (at most 4 blocks, and at most an eighth of ``FASTCONV_MAX_MEMORY``);
    ``0`` disables it.  Default ``256M``.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from typing import Iterator, Optional

__all__ = ["set_threads", "get_threads", "threads"]

_state = threading.local()
_global = {"threads": None}


# The settings are read on every call (a change takes effect at once), up to a
# dozen variables a call: ``os.environ.get`` encodes the name and decodes the
# value each time (~1.5 us, 15-30 us of a 100 us filter call).  ``getenv``
# looks the encoded name up in the mapping that ``os.environ`` keeps in step
# with every assignment and deletion (CPython's ``_Environ._data``), and
# falls back to ``os.environ.get`` where that mapping is not there.
_RAW = getattr(os.environ, "_data", None)
_ENCODE = getattr(os.environ, "encodekey", None)
_KEYS: dict = {}


def getenv(name: str) -> Optional[str]:
    """``os.environ.get(name)``, cheaper."""
    if _RAW is None or _ENCODE is None or not isinstance(_RAW, dict):
        return os.environ.get(name)  # pragma: no cover - not CPython's mapping
    key = _KEYS.get(name)
    if key is None:
        key = _KEYS[name] = _ENCODE(name)
    val = _RAW.get(key)
    if val is None:
        return None
    return os.environ.decodevalue(val)


@functools.lru_cache(maxsize=1)
def _cpu_count() -> int:
    # the cores this process may use, read once (numba's pool is sized once too)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _check_n(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"{name} must be a positive integer, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n!r}")
    return min(n, _max_threads())


def _max_threads() -> int:
    # numba cannot run more threads than it started with (NUMBA_NUM_THREADS)
    env = getenv("NUMBA_NUM_THREADS")
    if env and env.isdigit():
        return max(1, int(env))
    return _cpu_count()


def _env_threads():
    env = (getenv("FASTCONV_THREADS") or "").strip()
    if not env:
        return None
    try:
        return _check_n(int(env), "FASTCONV_THREADS")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"FASTCONV_THREADS must be a positive integer, got {env!r}") from exc


def get_threads() -> int:
    """Return the number of threads fastconv will use on this thread now."""
    n = getattr(_state, "threads", None)
    if n is not None:
        return n
    if _global["threads"] is not None:
        return _global["threads"]
    env = _env_threads()
    return env if env is not None else _max_threads()


def _apply_blas(n):
    """Limit BLAS/OpenMP pools if threadpoolctl is installed (optional)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


def set_threads(n: int) -> None:
    """Set the default number of threads for every fastconv computation.

    One setting drives numba's parallel kernels, the ``workers`` of
    scipy.fft and (when threadpoolctl is installed) the BLAS thread pool.

    Parameters
    ----------
    n : int
        Number of threads, >= 1.  Values above the number of usable cores
        are clipped to it.

    Examples
    --------
    >>> import fastconv
    >>> fastconv.set_threads(1)
    >>> fastconv.get_threads()
    1
    >>> fastconv.set_threads(fastconv._config._max_threads())
    """
    n = _check_n(n)
    _global["threads"] = n
    _apply_blas(n)


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """Context manager: use ``n`` threads on this thread inside the block.

    The previous setting is restored on exit, even after an exception.

    Examples
    --------
    >>> import fastconv
    >>> with fastconv.threads(1):
    ...     fastconv.get_threads()
    1
    """
    n = _check_n(n)
    prev = getattr(_state, "threads", None)
    _state.threads = n
    limiter = _apply_blas(n)
    try:
        yield n
    finally:
        _state.threads = prev
        if limiter is not None:
            limiter.restore_original_limits()


_BLAS = {"controller": None, "checked": False}


def _blas_controller():
    if not _BLAS["checked"]:
        _BLAS["checked"] = True
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS["controller"] = ThreadpoolController()
        except ImportError:
            pass
    return _BLAS["controller"]


def blas_single_threaded():
    """Context manager limiting BLAS to one thread, or None without threadpoolctl.

    Multi-threaded OpenBLAS leaves its worker threads spinning after a call;
    on a machine with few cores a numba parallel region started right after
    then waits a scheduler tick (4-8 ms measured here) for a free core.  Our
    own small BLAS products therefore run single-threaded.
    """
    ctl = _blas_controller()
    return None if ctl is None else ctl.limit(limits=1, user_api="blas")


_numba_set = threading.local()


def numba_threads(n: Optional[int], work: Optional[int] = None) -> None:
    """Apply ``n`` to numba's (thread-local) setting; call before a kernel.

    ``work`` (the multiply-adds the algorithm counts for its thread choice;
    None: large) lets a kernel whose parallel variant is not compiled yet run
    its serial one (see :class:`fastconv._kernels.Parallel`).

    The value last applied on this thread is remembered and not applied again
    (the call into numba costs several microseconds, a sizeable part of a
    small convolution); code that changes numba's setting itself between
    fastconv calls should call ``numba_threads(None)`` to forget it.
    """
    _numba_set.work = work
    if n is None:
        _numba_set.n = None
        return
    if getattr(_numba_set, "n", None) == n:
        return
    import numba

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _numba_set.n = n


def wisdom_dir():
    """Return the wisdom directory (a str), or None when disabled."""
    return _wisdom_dir(getenv("FASTCONV_WISDOM_DIR"), getenv("XDG_CACHE_HOME"),
                       getenv("HOME"))


@functools.lru_cache(maxsize=16)
def _wisdom_dir(env, xdg, home):
    # (the variables it depends on are the cache key: read on every call)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return env
    base = xdg or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastconv")


_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _env_bytes(name):
    """``name``'s value as a byte count (K/M/G/T suffix allowed), None if unset."""
    env = (getenv(name) or "").strip().upper().rstrip("B")
    if not env:
        return None
    unit = env[-1] if env[-1] in _SUFFIX else ""
    num = env[:-1] if unit else env
    try:
        val = int(float(num) * _SUFFIX[unit])
    except ValueError as exc:
        raise ValueError(f"{name} must be a byte count like '8G', got {env!r}") from exc
    if val < 0:
        raise ValueError(f"{name} must be >= 0, got {env!r}")
    return val


def spectrum_cache_bytes() -> int:
    """Bytes of kernel spectra kept between one-off calls (FASTCONV_SPECTRUM_CACHE)."""
    val = _env_bytes("FASTCONV_SPECTRUM_CACHE")
    return 64 << 20 if val is None else val


def result_pool_bytes() -> int:
    """Bytes of large result buffers kept for reuse (FASTCONV_RESULT_POOL; 0:
    off), at most an eighth of the memory budget (FASTCONV_MAX_MEMORY)."""
    val = _env_bytes("FASTCONV_RESULT_POOL")
    return min(256 << 20 if val is None else val, max_memory() // 8)


def max_memory() -> int:
    """Return the largest working memory (bytes) a single call may plan for."""
    val = _env_bytes("FASTCONV_MAX_MEMORY")
    return _default_budget() if val is None else val


@functools.lru_cache(maxsize=1)
def _default_budget() -> int:
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        phys = 8 << 30
    return int(0.8 * phys)


def new_file_mode(mode=0o666):
    """``mode`` as the process's umask lets a new file have it (for files made
    by mkstemp, which creates them 0600, then renamed into place)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


_POOL = {"pool": None, "n": 0}
_POOL_LOCK = threading.Lock()


def thread_pool(n: int):
    """A process-wide pool of ``n`` worker threads (made on first use) for
    work whose kernels release the GIL (scipy.fft, numba ``nogil``)."""
    with _POOL_LOCK:
        if _POOL["n"] != n:
            from concurrent.futures import ThreadPoolExecutor

            if _POOL["pool"] is not None:
                _POOL["pool"].shutdown(wait=False)
            _POOL["pool"] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fastconv")
            _POOL["n"] = n
        return _POOL["pool"]


def run_tasks(n: int, f, args) -> None:
    """``f(*a)`` for every ``a`` in ``args`` on up to ``n`` threads: the first
    here, the others on the pool; returns when all are done (the first
    exception propagates)."""
    if n <= 1 or len(args) <= 1:
        for a in args:
            f(*a)
        return
    pool = thread_pool(n)
    futs = [pool.submit(f, *a) for a in args[1:]]
    try:
        f(*args[0])
    finally:
        for fu in futs:
            fu.result()
