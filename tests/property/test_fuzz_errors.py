"""Fuzz: each public function gets a random bad value for one argument at a
time.  Accepted outcomes: a result (the value was usable after all), or the
documented error types (ValueError/TypeError; the scipy.ndimage drop-in's
RuntimeError and the originals' NotImplementedError where they raise them)
with a message that names a parameter.  Anything else — another exception,
a crash, a message naming nothing — fails (issue 17)."""
import inspect
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fastconv
from fastconv import astropy as fa
from fastconv import feature, filters, lti, ndimage, restoration, signal, stream
from fastconv import numpy as fnp

X1 = np.linspace(0.0, 1.0, 40)
X2 = np.random.default_rng(0).random((24, 20))
K1 = np.array([0.25, 0.5, 0.25])
K2 = np.ones((3, 3)) / 9

#: function -> (good positional arguments, keyword arguments to fuzz with their good values)
TARGETS = {
    "convolve": (fastconv.convolve, (X2, K2), dict(mode="same", method="auto", axes=None,
                                                   boundary="constant", cval=0.0,
                                                   accuracy="default",
                                                   nan_policy="propagate")),
    "correlate": (fastconv.correlate, (X1, K1), dict(mode="full", boundary="edge")),
    "plan": (fastconv.plan, (X2, K2), dict(mode="valid", method="auto", measure=False)),
    "signal.convolve": (signal.convolve, (X1, K1), dict(mode="full", method="auto")),
    "signal.fftconvolve": (signal.fftconvolve, (X2, K2), dict(mode="same", axes=None)),
    "signal.convolve2d": (signal.convolve2d, (X2, K2), dict(mode="full", boundary="fill",
                                                           fillvalue=0)),
    "signal.lfilter": (signal.lfilter, (K1, [1.0], X1), dict(axis=-1)),
    "ndimage.correlate": (ndimage.correlate, (X2, K2), dict(mode="reflect", cval=0.0,
                                                           origin=0)),
    "ndimage.convolve1d": (ndimage.convolve1d, (X2, K1), dict(axis=-1, mode="nearest")),
    "numpy.convolve": (fnp.convolve, (X1, K1), dict(mode="full")),
    "filters.filter": (filters.filter, (X2, K2), dict(mode="reflect", cval=0.0)),
    "filters.gaussian": (filters.gaussian, (X2, 1.5), dict(truncate=4.0, mode="reflect")),
    "filters.gaussian_kernel": (filters.gaussian_kernel, (2.0,), dict(truncate=4.0, ndim=2)),
    "filters.motion_kernel": (filters.motion_kernel, (9,), dict(angle=30.0)),
    "feature.match_template": (feature.match_template, (X2, X2[3:9, 4:12]),
                               dict(pad_input=False, method="ccoeff_normed")),
    "feature.best_matches": (feature.best_matches, (X2,), dict(n=2, min_distance=1)),
    "restoration.wiener": (restoration.wiener, (X2, K2, 0.1), dict(clip=True)),
    "restoration.richardson_lucy": (restoration.richardson_lucy, (X2, K2),
                                    dict(num_iter=3, clip=True)),
    "astropy.convolve": (fa.convolve, (X2, K2), dict(boundary="fill", fill_value=0.0,
                                                     nan_treatment="interpolate")),
    "stream.Convolver": (stream.Convolver, (K1,), dict(block_size=16, axis=-1)),
    "lti.estimate_delay": (lti.estimate_delay, (X1, np.roll(X1, 3)), dict()),
    "lti.exponential_sweep": (lti.exponential_sweep, (20.0, 2000.0, 0.1, 8000), dict()),
}

BAD = st.one_of(
    st.none(), st.text(max_size=5), st.just("bogus"), st.booleans(),
    st.integers(-10**20, 10**20), st.just(-1), st.just(0), st.just(2**63),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(max_magnitude=1e3),
    st.lists(st.integers(-3, 3), max_size=4), st.just({}), st.just(object()),
    st.just(np.array([], dtype=float)), st.just(np.array(["a", "b"])),
    st.just(np.array([[1.0, 2.0], [3.0, np.nan]])), st.just(np.ones((2, 2, 2, 2))),
)

OK_ERRORS = (ValueError, TypeError, RuntimeError, NotImplementedError)

#: arguments whose large values are legitimate, only slow (an iteration count)
LONG_RUNNING = {("restoration.richardson_lucy", "num_iter")}


def names_a_parameter(msg, params):
    low = msg.lower()
    return any(p.lower() in low for p in params)


def param_names(func, kwargs, nargs):
    sig = inspect.signature(func)
    names = list(sig.parameters)
    return set(names) | set(kwargs) | {"in1", "in2", "input", "weights", "image", "kernel",
                                       "array", "axis", "axes", "x", "b", "a", "zi", "h",
                                       "chunk", "template", "psf", "score", "sigma",
                                       "length", "fillvalue", "output", "mode", "method"}


@pytest.fixture(autouse=True)
def modest_budget(monkeypatch):
    """Sizes the fuzz draws must be refused (or run) within 1 GiB: under the
    default budget (80% of RAM per call) two test workers drawing large but
    legal sizes at once would exhaust the machine."""
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "1G")


@pytest.mark.parametrize("name", sorted(TARGETS))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_bad_arguments_give_clear_errors(name, data):
    func, args, kwargs = TARGETS[name]
    nargs = len(args)
    slots = list(range(nargs)) + sorted(kwargs)
    slot = data.draw(st.sampled_from(slots), label="argument")
    bad = data.draw(BAD, label="value")
    assume((name, slot) not in LONG_RUNNING or not isinstance(bad, int) or bad < 100)
    a, kw = list(args), dict(kwargs)
    if isinstance(slot, int):
        a[slot] = bad
    else:
        kw[slot] = bad
    params = param_names(func, kwargs, nargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                func(*a, **kw)
    except OK_ERRORS as e:
        msg = str(e)
        assert msg and names_a_parameter(msg, params), (name, slot, bad, type(e), msg)
    except MemoryError as e:       # a size that asks for too much must be refused first
        raise AssertionError((name, slot, bad, "MemoryError", str(e)))


def test_fuzz_harness_can_fail():
    # the acceptance rule rejects a message that names nothing
    assert not names_a_parameter("something went wrong", {"mode", "axes"})
    assert names_a_parameter("mode must be one of", {"mode"})
    assert math.isfinite(1.0)
