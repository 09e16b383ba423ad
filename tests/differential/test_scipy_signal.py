"""fastconv.signal against scipy.signal (and numpy): same numbers, dtypes, shapes."""
import numpy as np
import pytest
import scipy.signal as ss

from fastconv import signal as fs
from tests.conftest import DTYPES, assert_close, make, tolerance

SHAPES = [((10,), (3,)), ((4,), (7,)), ((6, 5), (2, 3)), ((3, 4), (4, 5)),
          ((4, 5, 3), (2, 2, 3)), ((3, 2, 4, 2), (2, 2, 2, 2))]


def _valid_ok(xs, ks):
    return all(a >= b for a, b in zip(xs, ks)) or all(a <= b for a, b in zip(xs, ks))


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("xs,ks", SHAPES)
@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
def test_convolve_correlate(func, method, mode, xs, ks, dtype, rng):
    if mode == "valid" and not _valid_ok(xs, ks):
        pytest.raises(ValueError, getattr(fs, func), np.ones(xs), np.ones(ks), mode)
        return
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    want = getattr(ss, func)(x, k, mode=mode, method=method)
    got = getattr(fs, func)(x, k, mode=mode, method=method)
    assert got.dtype == want.dtype
    assert_close(got, want, tolerance(want.dtype, x, k))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_result_dtypes_like_scipy(dtype, rng):
    x = make(rng, (12,), dtype)
    k = make(rng, (4,), dtype)
    for func in ["convolve", "correlate"]:
        want = getattr(ss, func)(x, k)
        got = getattr(fs, func)(x, k)
        assert got.dtype == want.dtype
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(got, want)   # wrap-around matches too
        else:
            assert_close(got, want, tolerance(want.dtype, x, k))
    for func in ["fftconvolve", "oaconvolve"]:
        want = getattr(ss, func)(x, k)
        got = getattr(fs, func)(x, k)
        assert got.dtype == want.dtype
        assert_close(got, want, tolerance(want.dtype, x, k))


@pytest.mark.parametrize("func", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("axes", [None, 0, 1, -1, (0, 2), [2, 1]])
def test_fft_family_axes(func, mode, axes, rng):
    x = make(rng, (6, 7, 8), np.float64)
    kshape = [1, 1, 1]
    ax = range(3) if axes is None else np.atleast_1d(axes)
    for a in ax:
        kshape[a % 3] = 3
    k = make(rng, kshape, np.float64)
    want = getattr(ss, func)(x, k, mode=mode, axes=axes)
    got = getattr(fs, func)(x, k, mode=mode, axes=axes)
    assert_close(got, want, tolerance(np.float64, x, k))
    # broadcasting: in2 batch axis of length 1
    x2 = make(rng, (4, 300), np.float32)
    k2 = make(rng, (1, 40), np.float32)
    want = getattr(ss, func)(x2, k2, mode=mode, axes=-1)
    got = getattr(fs, func)(x2, k2, mode=mode, axes=-1)
    assert got.dtype == want.dtype == np.float32
    assert_close(got, want, tolerance(np.float32, x2, k2))


def test_fft_family_empty_like_scipy():
    for func in ["fftconvolve", "oaconvolve"]:
        got = getattr(fs, func)(np.array([]), np.ones(3))
        want = getattr(ss, func)(np.array([]), np.ones(3))
        assert got.shape == want.shape and got.dtype == want.dtype


@pytest.mark.parametrize("func", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "circular", "symm", "symmetric"])
@pytest.mark.parametrize("xs,ks", [((7, 8), (3, 2)), ((4, 5), (6, 7)), ((5, 5), (5, 5)),
                                   ((3, 9), (2, 4))])
@pytest.mark.parametrize("dtype", [np.int32, np.float64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
def test_2d(func, mode, boundary, xs, ks, dtype, rng):
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    kw = dict(mode=mode, boundary=boundary, fillvalue=2)
    want = getattr(ss, func)(x, k, **kw)
    got = getattr(fs, func)(x, k, **kw)
    assert got.dtype == want.dtype
    assert_close(got, want, tolerance(want.dtype, x, k))


def test_2d_noninteger_fill_on_ints_like_scipy(rng):
    x = make(rng, (5, 6), np.int32)
    k = make(rng, (3, 3), np.int32)
    np.testing.assert_array_equal(fs.convolve2d(x, k, fillvalue=2.7),
                                  ss.convolve2d(x, k, fillvalue=2.7))


def test_scalars_like_scipy():
    assert fs.convolve(np.array(3.0), np.array(2.0)) == ss.convolve(np.array(3.0), np.array(2.0))
    a, b = np.array(1 + 2j), np.array(3 - 1j)
    assert fs.correlate(a, b) == ss.correlate(a, b)


@pytest.mark.parametrize("n1", [1, 2, 5, 8])
@pytest.mark.parametrize("n2", [1, 3, 4, 9])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_correlation_lags(n1, n2, mode):
    np.testing.assert_array_equal(fs.correlation_lags(n1, n2, mode),
                                  ss.correlation_lags(n1, n2, mode))


def test_correlation_lags_locate_a_delay(rng):
    x = rng.standard_normal(500)
    y = np.roll(x, 37)
    c = fs.correlate(y, x)
    assert fs.correlation_lags(y.size, x.size)[np.argmax(c)] == 37


def test_choose_conv_method(rng):
    small = fs.choose_conv_method(np.ones(1000), np.ones(3))
    big = fs.choose_conv_method(np.ones(100_000), np.ones(5000))
    assert small == ss.choose_conv_method(np.ones(1000), np.ones(3)) == "direct"
    assert big == ss.choose_conv_method(np.ones(100_000), np.ones(5000)) == "fft"
    m, times = fs.choose_conv_method(rng.standard_normal(2000), rng.standard_normal(30),
                                     measure=True)
    assert m in ("direct", "fft") and set(times) == {"direct", "fft"}
    assert times[m] == min(times.values())
    # big integers: FFT cannot be exact, so direct (as scipy does)
    xi = np.full(5000, 2**40, np.int64)
    assert fs.choose_conv_method(xi, xi) == "direct"


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("n,k", [(1000, 8), (50, 50), (7, 30)])
def test_numpy_convolve(mode, n, k, rng):
    if mode == "same" and n < k:
        return  # numpy's 'same' has length max(n, k); scipy's (and ours) n
    x = rng.standard_normal(n)
    h = rng.standard_normal(k)
    assert_close(fs.convolve(x, h, mode=mode), np.convolve(x, h, mode=mode),
                 tolerance(np.float64, x, h))
    assert_close(fs.correlate(x, h, mode=mode), np.correlate(x, h, mode=mode),
                 tolerance(np.float64, x, h))
