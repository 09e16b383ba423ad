"""The process-wide kernel-spectrum cache of one-off FFT calls
(algorithms/_common._shared_spectrum, FASTCONV_SPECTRUM_CACHE)."""
import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv.algorithms import _common


@pytest.fixture(autouse=True)
def empty_cache():
    _common._SHARED.clear()
    yield
    _common._SHARED.clear()


def test_same_kernel_reused_changed_kernel_not(rng):
    x = rng.standard_normal((20, 24, 30))
    k = rng.standard_normal((5, 4, 6))
    a = fastconv.convolve(x, k, mode="same", method="fft")
    assert len(_common._SHARED) == 1
    spec = next(iter(_common._SHARED.values()))
    assert not spec.flags.writeable
    b = fastconv.convolve(x, k, mode="same", method="fft")
    assert len(_common._SHARED) == 1 and next(iter(_common._SHARED.values())) is spec
    np.testing.assert_array_equal(a, b)
    k2 = k.copy()
    k2[2, 1, 3] += 1.0          # same shape and dtype, one value changed
    c = fastconv.convolve(x, k2, mode="same", method="fft")
    np.testing.assert_allclose(c, ss.fftconvolve(x, k2, mode="same"), atol=1e-10)
    assert len(_common._SHARED) == 2


def test_disabled_and_bounded(monkeypatch, rng):
    x = rng.standard_normal((16, 16, 16))
    monkeypatch.setenv("FASTCONV_SPECTRUM_CACHE", "0")
    fastconv.convolve(x, rng.standard_normal((3, 3, 3)), mode="same", method="fft")
    assert len(_common._SHARED) == 0
    monkeypatch.setenv("FASTCONV_SPECTRUM_CACHE", "200K")
    for _ in range(12):        # ~52 KB each: the oldest are dropped
        k = rng.standard_normal((3, 3, 3))
        y = fastconv.convolve(x, k, mode="same", method="fft")
        np.testing.assert_allclose(y, ss.fftconvolve(x, k, mode="same"), atol=1e-10)
    assert 0 < sum(v.nbytes for v in _common._SHARED.values()) <= 200 << 10
    monkeypatch.setenv("FASTCONV_SPECTRUM_CACHE", "lots")
    with pytest.raises(ValueError, match="FASTCONV_SPECTRUM_CACHE"):
        fastconv.convolve(x, k, mode="same", method="fft")
