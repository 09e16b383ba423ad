"""pytest plugin: run an original library's own tests against fastconv.

Loaded with ``-p tests.originals.reroute`` on a run of the original's test
files (``--pyargs scipy.signal.tests.test_signaltools`` ...).  Before the
test modules are imported, the functions fastconv replaces are swapped for
fastconv's drop-ins in the original's namespace, so ``from scipy.signal
import convolve`` in the test file binds fastconv's ``convolve``.  Tests of
other functions are deselected; tests where fastconv deliberately differs
are marked xfail(strict) with the reason (``DIFFERENCES``), and the README
lists them.
"""
import importlib
import sys

import pytest

from tests.originals.differences import DIFFERENCES, SELECT

#: module -> {name: fastconv replacement "module:attr"}
REROUTES = {
    "scipy.signal": {n: f"fastconv.signal:{n}" for n in (
        "convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d",
        "correlate2d", "choose_conv_method", "correlation_lags", "lfilter",
        "deconvolve")},
    "scipy.ndimage": {n: f"fastconv.ndimage:{n}" for n in (
        "convolve", "correlate", "convolve1d", "correlate1d")},
    "numpy": {n: f"fastconv.numpy:{n}" for n in ("convolve", "correlate")},
    "astropy.convolution": {n: f"fastconv.astropy:{n}" for n in ("convolve", "convolve_fft")},
    # dask-image's tests come from its sdist (tests/originals/sdist_tests.py)
    "dask_image.ndfilters": {"convolve": "fastconv.dask.ndimage:convolve",
                             "correlate": "fastconv.dask.ndimage:correlate",
                             "gaussian_filter": "fastconv.dask.ndimage:gaussian_filter",
                             "gaussian": "fastconv.dask.ndimage:gaussian_filter"},
}


def _same_capabilities(orig, ours):
    """scipy's tests look their functions up in its array-API capability
    table: ours get the original's entry."""
    try:
        from scipy._lib._array_api import xp_capabilities_table as table
    except ImportError:
        return
    if orig in table:
        table[ours] = table[orig]


def _swap():
    for modname, names in REROUTES.items():
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for name, target in names.items():
            tmod, attr = target.split(":")
            ours = getattr(importlib.import_module(tmod), attr)
            _same_capabilities(getattr(mod, name), ours)
            setattr(mod, name, ours)
    # astropy's test modules import from the submodule too
    # (the package attribute 'convolve' is the function, so the submodule is
    # taken from sys.modules)
    acc = sys.modules.get("astropy.convolution.convolve")
    if acc is not None:
        import fastconv.astropy as fa

        acc.convolve, acc.convolve_fft = fa.convolve, fa.convolve_fft


def _check_rerouted():
    """Fail loudly if a test module would still see an original."""
    for modname, names in REROUTES.items():
        mod = sys.modules.get(modname)
        for name in names:
            if mod is not None and not getattr(mod, name).__module__.startswith("fastconv"):
                raise RuntimeError(f"{modname}.{name} was not rerouted to fastconv")


def pytest_configure(config):
    # fastconv's modules first: they keep references to the originals they
    # build on (scipy's IIR lfilter, numpy's own convolve for 'same' shapes)
    for m in ("fastconv.signal", "fastconv.ndimage", "fastconv.numpy", "fastconv.astropy"):
        importlib.import_module(m)
    try:
        importlib.import_module("fastconv.dask.ndimage")
    except ImportError:               # no dask: dask-image's tests do not run either
        pass
    _swap()
    _check_rerouted()


def _matches(nodeid, patterns):
    return any(p in nodeid for p in patterns)


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        (keep if _matches(item.nodeid, SELECT) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
    for item in items:
        for pattern, reason in DIFFERENCES.items():
            if pattern in item.nodeid:
                item.add_marker(pytest.mark.xfail(reason=f"fastconv differs: {reason}",
                                                  strict=True))
                break
