import os

import numpy as np
import pytest

# keep the user's wisdom cache out of the tests
os.environ.setdefault("FASTCONV_WISDOM_DIR", "off")

DTYPES = [np.bool_, np.int8, np.uint8, np.uint16, np.int32, np.int64, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]
METHODS = ["direct", "fft", "overlap-add", "overlap-save", "hybrid", "separable"]
MODES = ["full", "same", "valid"]
BOUNDARIES = ["constant", "edge", "symmetric", "reflect", "wrap"]


def make(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if dtype.kind == "u":
        return rng.integers(0, 50, shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-50, 50, shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def tolerance(dtype, x, k):
    """Absolute tolerance for a result of this dtype from inputs x, k."""
    dtype = np.dtype(dtype)
    scale = float(np.sum(np.abs(np.asarray(x, dtype=np.complex128))) *
                  np.max(np.abs(np.asarray(k, dtype=np.complex128)))) + 1.0
    if dtype.kind in "biu":
        return 0
    eps = {2: 1e-3, 4: 1e-6, 8: 1e-6, 16: 1e-13}[dtype.itemsize] \
        if dtype.kind == "c" else {2: 2e-3, 4: 2e-6, 8: 1e-13}[dtype.itemsize]
    return eps * scale * 4


def assert_close(got, want, atol):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if atol == 0:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got.astype(np.complex128), want.astype(np.complex128),
                                   rtol=0, atol=atol)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def prefer_fused(monkeypatch):
    """The planner chooses the fused image filter wherever it applies (its
    estimate set to zero), so that small test images exercise it."""
    from fastconv.planning import cost, planner

    planner.clear_caches()
    monkeypatch.setitem(cost.FEATURES, "fused", (cost.fused_params, lambda s, p: {"call": 0.0}))
    yield
    planner.clear_caches()
