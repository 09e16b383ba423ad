"""One test per error message: bad input gets a clear error naming the parameter."""
import numpy as np
import pytest

import fastconv
from fastconv import ndimage as fn
from fastconv import signal as fs

x = np.ones(10)
k = np.ones(3)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: fastconv.convolve(x, k, mode="bogus"), ValueError, "mode must be one of"),
    (lambda: fastconv.convolve(x, k, method="winograd"), ValueError, "method must be one of"),
    (lambda: fastconv.convolve(x, k, boundary="mirror"), ValueError, "boundary must be one of"),
    (lambda: fastconv.convolve(x, k, accuracy="max"), ValueError, "accuracy must be one of"),
    (lambda: fastconv.convolve(x, k, axes=1), ValueError, "axes contains 1, out of range"),
    (lambda: fastconv.convolve(x, k, axes=(0, 0)), ValueError, "must not repeat"),
    (lambda: fastconv.convolve(x, k, axes=()), ValueError, "at least one axis"),
    (lambda: fastconv.convolve(x, k, axes=1.5), TypeError, "axes must be an int"),
    (lambda: fastconv.convolve(x, np.ones((3, 3))), ValueError, "same number of dimensions"),
    (lambda: fastconv.convolve(np.array(1.0), np.array(2.0)), ValueError, "at least one dimension"),
    (lambda: fastconv.convolve(np.ones(0), k), ValueError, "in1 has length 0"),
    (lambda: fastconv.convolve(x, np.ones(0)), ValueError, "in2 has length 0"),
    (lambda: fastconv.convolve(np.ones((3, 4)), np.ones((2, 5)), mode="valid"), ValueError,
     "mode='valid' needs one input"),
    (lambda: fastconv.convolve(np.ones((3, 4)), np.ones((2, 3)), axes=1), ValueError,
     "do not broadcast"),
    (lambda: fastconv.convolve(["a", "b"], k), TypeError, "in1 must have a numeric"),
    (lambda: fastconv.convolve(x, [[1], [2, 3]]), TypeError, "in2 must be array-like"),
    (lambda: fastconv.convolve(x, k, cval=[1, 2]), TypeError, "cval must be a scalar"),
    (lambda: fastconv.convolve(x, k, cval="a"), TypeError, "cval must be a scalar"),
    (lambda: fastconv.convolve(np.arange(5), [1, 2], cval=0.5, boundary="constant"),
     ValueError, "cval=0.5 is not an integer"),
    (lambda: fastconv.convolve(x, k, cval=1j), ValueError, "cval=1j is complex"),
    (lambda: fastconv.convolve(x, k, out=[0] * 12), TypeError, "out must be a numpy.ndarray"),
    (lambda: fastconv.convolve(x, k, out=np.empty(3)), ValueError, "out has shape"),
    (lambda: fastconv.convolve(x, k, out=np.empty(12, np.int64)), TypeError, "out has dtype"),
    (lambda: fastconv.plan(x, k, op="conv"), ValueError, "op must be"),
    (lambda: fastconv.plan(x, k, measure=1), TypeError, "measure must be a bool"),
    (lambda: fastconv.plan(x, k)(np.ones(11), k), ValueError, "do not match the plan"),
    (lambda: fastconv.set_threads(0), ValueError, "n must be >= 1"),
    (lambda: fastconv.set_threads(1.5), TypeError, "n must be a positive integer"),
    (lambda: fs.convolve(x, k, mode="bogus"), ValueError, "Acceptable mode flags"),
    (lambda: fs.convolve(x, k, method="oa"), ValueError, "Acceptable method flags"),
    (lambda: fs.convolve(x, np.ones((2, 2))), ValueError, "same dimensionality"),
    (lambda: fs.fftconvolve(x, np.ones((2, 2))), ValueError, "same dimensionality"),
    (lambda: fs.convolve2d(x, k), ValueError, "must both be 2-D"),
    (lambda: fs.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="x"), ValueError,
     "Acceptable boundary flags"),
    (lambda: fs.convolve2d(np.ones((3, 4)), np.ones((4, 3)), mode="valid"), ValueError,
     "at least as large"),
    (lambda: fs.correlation_lags(3, 3, mode="x"), ValueError, "Mode x is invalid"),
    (lambda: fn.convolve(x, k, mode="bogus"), RuntimeError, "boundary mode not supported"),
    (lambda: fn.convolve(x, k, mode=["reflect"]), RuntimeError, "sequence of modes"),
    (lambda: fn.convolve(x, np.ones((2, 2))), RuntimeError, "must match len"),
    (lambda: fn.convolve(x, k, origin=2), ValueError, "Invalid origin"),
    (lambda: fn.convolve1d(x, np.ones((2, 2))), RuntimeError, "one-dimensional"),
    (lambda: fn.convolve1d(x, []), RuntimeError, "no filter weights"),
    (lambda: fn.convolve(x, k, output=np.empty(3)), RuntimeError, "output shape"),
    (lambda: fn.convolve(x, k + 1j, output="float64"), RuntimeError, "complex dtype"),
    (lambda: fn.convolve(x, k + 1j, output=np.zeros(x.shape)), RuntimeError,
     "complex dtype"),
    (lambda: fn.correlate1d(x, k, axis=3), ValueError, "axis contains 3"),
])
def test_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_memory_budget_error(monkeypatch):
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "1K")
    with pytest.raises(ValueError, match="FASTCONV_MAX_MEMORY"):
        fastconv.convolve(np.ones(10_000), np.ones(3))
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="FASTCONV_MAX_MEMORY must be"):
        fastconv.convolve(x, k)


def test_explicit_method_over_budget(monkeypatch):
    # the 200 KB result alone exceeds it: refused before anything is allocated
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "64K")
    with pytest.raises(ValueError, match="FASTCONV_MAX_MEMORY"):
        fastconv.convolve(np.ones(20_000), np.ones(5000), method="fft")


def test_bad_thread_env(monkeypatch):
    from fastconv import _config

    monkeypatch.setitem(_config._global, "threads", None)     # no set_threads() default
    monkeypatch.setenv("FASTCONV_THREADS", "many")
    with pytest.raises(ValueError, match="FASTCONV_THREADS"):
        fastconv.get_threads()


def test_gpu_array_rejected():
    class FakeCupy:
        __cuda_array_interface__ = {}
    with pytest.raises(TypeError, match="GPU array"):
        fastconv.convolve(FakeCupy(), k)


def test_ndimage_real_output_dtype_with_complex_weights_is_promoted():
    # scipy's rule: a dtype class or object is promoted to complex, with a warning
    x = np.arange(12.0).reshape(3, 4)
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        y = fn.convolve(x, np.ones((2, 2)) + 1j, output=np.float64)
    assert y.dtype == np.complex128
