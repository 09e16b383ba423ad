"""``out=``: the algorithm writes a C-contiguous ``out`` of the result's dtype
directly (no second result array, no copy); every other ``out`` (another
dtype, another layout, convolution axes not last, memory shared with an
input) gets the result copied in.  Against the naive reference."""
import tracemalloc

import numpy as np
import pytest

import fastconv
from fastconv.algorithms import _common
from tests import reference as ref


def _want(x, k, mode, axes=None):
    """The naive reference along ``axes`` (the others: batch)."""
    if axes is None:
        return ref.convolve(x, k, mode)
    x2 = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    lead = x2.shape[:x2.ndim - len(axes)]
    rows = [ref.convolve(r, k, mode) for r in x2.reshape((-1,) + x2.shape[len(lead):])]
    y = np.stack(rows).reshape(lead + rows[0].shape)
    return np.moveaxis(y, tuple(range(y.ndim - len(axes), y.ndim)), axes)


@pytest.mark.parametrize("method", ["direct", "fft", "overlap-save", "overlap-add", "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_out_equals_the_reference(method, dtype, mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((37, 41)).astype(dtype)
    k = rng.standard_normal((5, 4)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape)
        k = k + 1j * rng.standard_normal(k.shape)
    want = _want(x, k, mode)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for out in (np.full(want.shape, np.nan, dtype),                      # written in place
                np.full(want.shape, np.nan, dtype, order="F"),           # copied in
                np.full(want.shape, np.nan, np.complex128)):             # cast
        if np.dtype(dtype).kind == "c" and out.dtype != dtype:
            continue
        got = fastconv.convolve(x, k, mode=mode, method=method, out=out)
        assert got is out
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol * np.abs(want).max())


def test_batch_axes_first_or_last():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 30, 20))
    k = rng.standard_normal((7, 3))
    for axes in [(1, 2), (0, 1)]:
        kk = k if axes == (1, 2) else rng.standard_normal((2, 7))
        want = _want(x, kk, "same", axes)
        out = np.empty_like(x)
        k3 = kk[None] if axes == (1, 2) else kk[:, :, None]      # a batch axis of 1
        assert fastconv.convolve(x, k3, mode="same", axes=axes, out=out) is out
        np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_out_is_the_input(method):
    """In place on the input itself: the engine sees the shared memory and
    computes into another array first."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 70))
    k = rng.standard_normal((9, 9))
    want = _want(x.copy(), k, "same")
    got = fastconv.convolve(x, k, mode="same", method=method, out=x)
    assert got is x
    np.testing.assert_allclose(x, want, rtol=1e-10, atol=1e-10)
    y = rng.standard_normal((64, 70))
    view = y[::-1]                                 # an input viewing out's memory
    want = _want(view.copy(), k, "same")
    fastconv.convolve(view, k, mode="same", method=method, out=y)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)


def test_a_large_result_is_written_in_place():
    """No second result-sized array: the traced peak of a 33.6 MB direct
    convolution into ``out`` stays far below the result's size."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4100, 2048)).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)
    out = np.empty_like(x)
    _common.release_results()
    fastconv.convolve(x, k, mode="same", method="direct", out=out)      # warm
    tracemalloc.start()
    try:
        fastconv.convolve(x, k, mode="same", method="direct", out=out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < out.nbytes // 4, peak
    import scipy.ndimage as ndi
    want = ndi.convolve(x.astype(np.float64), k.astype(np.float64), mode="constant")
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    assert _common._DEST.__dict__.get("arr") is None       # nothing left behind
