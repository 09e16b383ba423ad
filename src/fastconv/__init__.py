"""fastconv: convolution in all its uses, fast on the CPU.

``import fastconv`` loads only numpy; scipy, numba and the compiled kernels
load on first use.  The scipy-compatible namespaces ``fastconv.signal`` and
``fastconv.ndimage`` load when first touched.
"""
from ._api import convolve, correlate, plan
from ._config import get_threads, set_threads, threads


def tune(problems: int = 40, *, seed: int = 7, save: bool = True,
         verbose: bool = False) -> dict:
    """Refit the planner's cost model on this machine (seconds); see
    :func:`fastconv.planning.tune.tune`."""
    from .planning.tune import tune as _tune

    return _tune(problems, seed=seed, save=save, verbose=verbose)


def warmup(verbose: bool = False) -> float:
    """Compile every kernel the public functions use, ahead (see
    :mod:`fastconv._warmup`); returns the seconds taken."""
    from ._warmup import warmup as _warmup

    return _warmup(verbose)


__version__ = "0.1.0"

__all__ = ["convolve", "correlate", "plan", "tune", "warmup", "set_threads", "get_threads", "threads",
           "signal", "ndimage", "numpy", "filters", "feature", "restoration", "astropy",
           "stream", "lti", "dask", "__version__"]

_LAZY = ("signal", "ndimage", "numpy", "filters", "feature", "restoration", "astropy",
         "stream", "lti", "dask")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'fastconv' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
