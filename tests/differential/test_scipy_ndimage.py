"""fastconv.ndimage against scipy.ndimage and the naive reference."""
import numpy as np
import pytest
import scipy.ndimage as nd

from fastconv import ndimage as fn
from tests import reference as ref
from tests.conftest import assert_close, make, tolerance

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant",
         "grid-mirror", "grid-wrap"]
SHAPES = [((11,), (3,)), ((6,), (4,)), ((2,), (5,)), ((7, 6), (3, 2)), ((5, 4, 6), (2, 3, 3)),
          ((3, 4, 2, 5), (2, 1, 3, 2))]


def _origins(ws):
    return [0, -(ws[0] // 2), (ws[0] - 1) // 2]


@pytest.mark.parametrize("func", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xs,ws", SHAPES)
def test_modes_origins(func, mode, xs, ws, rng):
    x = make(rng, xs, np.float64)
    w = make(rng, ws, np.float64)
    for origin in _origins(ws):
        try:
            want = getattr(nd, func)(x, w, mode=mode, cval=1.25, origin=origin)
        except ValueError:
            with pytest.raises(ValueError, match="origin"):
                getattr(fn, func)(x, w, mode=mode, cval=1.25, origin=origin)
            continue
        got = getattr(fn, func)(x, w, mode=mode, cval=1.25, origin=origin)
        assert_close(got, want, tolerance(np.float64, x, w))


@pytest.mark.parametrize("mode", ["reflect", "constant", "mirror", "wrap"])
def test_against_naive_reference(mode, rng):
    x = make(rng, (6, 5), np.float64)
    w = make(rng, (3, 4), np.float64)
    for origin in [0, (1, -1)]:
        want = ref.ndimage_correlate(x, w, mode, 0.5, origin)
        got = fn.correlate(x, w, mode=mode, cval=0.5, origin=origin)
        assert_close(got, want, tolerance(np.float64, x, w))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.float16, np.float32,
                                   np.float64, np.complex64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("wdtype", [np.float64, np.int32, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_dtypes(dtype, wdtype, func, rng):
    x = make(rng, (9, 8), dtype)
    w = make(rng, (3, 3), wdtype) * (0.3 if np.dtype(wdtype).kind != "i" else 1)
    if x.dtype == np.float16:   # scipy.ndimage refuses float16; fastconv supports it
        want = getattr(nd, func)(x.astype(np.float32), w)
        want = want.astype(np.promote_types(np.float16, want.dtype) if want.dtype.kind == "c"
                           else np.float16)
    else:
        want = getattr(nd, func)(x, w)
    got = getattr(fn, func)(x, w)
    assert got.dtype == want.dtype
    if want.dtype.kind in "iu":
        # truncation toward zero as scipy's C cast; allow one unit where the
        # float32/64 sum lands within rounding of an integer
        assert np.max(np.abs(got.astype(np.int64) - want.astype(np.int64))) <= 1
        assert np.mean(got == want) > 0.97
    else:
        assert_close(got, want, tolerance(want.dtype, x, w))


@pytest.mark.parametrize("func", ["convolve1d", "correlate1d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_1d(func, mode, axis, rng):
    x = make(rng, (5, 6, 7), np.float64)
    for wlen in (1, 2, 3, 6):
        w = make(rng, (wlen,), np.float64)
        for origin in [0, -(wlen // 2), (wlen - 1) // 2]:
            want = getattr(nd, func)(x, w, axis=axis, mode=mode, cval=-1.0, origin=origin)
            got = getattr(fn, func)(x, w, axis=axis, mode=mode, cval=-1.0, origin=origin)
            assert_close(got, want, tolerance(np.float64, x, w))


@pytest.mark.parametrize("axes", [(0,), (1, 2), (-1, 0), (2,)])
@pytest.mark.parametrize("func", ["convolve", "correlate"])
def test_axes(axes, func, rng):
    x = make(rng, (5, 6, 7), np.float32)
    w = make(rng, (3,) * len(axes), np.float64)
    want = getattr(nd, func)(x, w, axes=axes, mode="mirror", origin=0)
    got = getattr(fn, func)(x, w, axes=axes, mode="mirror", origin=0)
    assert_close(got, want, tolerance(np.float32, x, w))


def test_output_argument(rng):
    x = make(rng, (20, 20), np.float64)
    w = make(rng, (3, 3), np.float64)
    out = np.empty((20, 20), np.float32)
    r = fn.convolve(x, w, output=out)
    assert r is out
    assert_close(out, nd.convolve(x, w, output=np.float32), tolerance(np.float32, x, w))
    got = fn.correlate(x, w, output=np.float32)
    assert got.dtype == np.float32


def test_big_image_paths(rng):
    # large enough that the planner may choose an FFT method
    x = make(rng, (300, 280), np.float64)
    w = make(rng, (41, 37), np.float64)
    for mode in ["reflect", "wrap", "constant"]:
        assert_close(fn.convolve(x, w, mode=mode), nd.convolve(x, w, mode=mode),
                     tolerance(np.float64, x, w))
