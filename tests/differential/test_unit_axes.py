"""Kernels of one sample along some convolution axes: those axes are batch
axes (``_core.unit_axes_dropped``).  Results against the naive reference in
every method x mode x boundary, with and without batch axes; scipy's 'valid'
rule still judged on every axis named."""
import numpy as np
import pytest

import fastconv
from tests import reference as ref
from tests.conftest import BOUNDARIES, METHODS, MODES, assert_close, make, tolerance

CASES = [((6, 9), (1, 4)), ((9, 6), (3, 1)), ((1, 11), (1, 5)), ((4, 5, 7), (1, 3, 1)),
         ((3, 4, 8), (1, 1, 3)), ((5, 3), (1, 1)), ((2, 1, 7), (1, 1, 7))]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xs,ks", CASES)
@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_unit_kernel_axes_against_reference(method, boundary, mode, xs, ks, op, rng):
    x = make(rng, xs, np.float64)
    k = make(rng, ks, np.float64)
    cval = -1.5 if boundary == "constant" else 0
    got = getattr(fastconv, op)(x, k, mode=mode, method=method, boundary=boundary, cval=cval)
    want = getattr(ref, op)(x, k, mode, boundary, cval)
    assert_close(got, want, tolerance(np.float64, x, k))


@pytest.mark.parametrize("dtype", [np.int64, np.complex64, np.float32])
@pytest.mark.parametrize("mode", MODES)
def test_unit_axes_with_batch_axes(dtype, mode, rng):
    # axes=(0, 2): axis 1 a batch axis; the kernel's unit axis 0 joins it,
    # with a kernel per batch entry (kept as a convolution axis then: no copy
    # of the kernels for each input row) and a shared one
    x = make(rng, (5, 3, 12), dtype)
    for kb in (3, 1):
        k = make(rng, (1, kb, 4), dtype)
        got = fastconv.convolve(x, k, mode=mode, axes=(0, 2))
        want = np.stack([ref.convolve(x[:, i], k[:, i % kb], mode) for i in range(3)], axis=1)
        assert got.dtype == (np.int64 if np.dtype(dtype).kind == "i" else dtype)
        assert_close(got, want, tolerance(got.dtype, x, k))


def test_unit_axes_are_planned_as_batch():
    x = np.zeros((1, 20000))
    k = np.ones((1, 100))
    spec = fastconv.plan(x, k, mode="full").spec
    assert spec.ndim == 1 and spec.m == (100,)
    # a kernel per batch entry keeps the axis (dropping it would copy the kernels)
    spec2 = fastconv.plan(np.zeros((3, 4, 50)), np.ones((3, 1, 5)), axes=(1, 2)).spec
    assert spec2.ndim == 2


def test_valid_rule_judged_on_every_axis():
    import scipy.signal

    x, k = np.ones((5, 3)), np.ones((1, 10))
    with pytest.raises(ValueError):
        scipy.signal.convolve(x, k, mode="valid")
    with pytest.raises(ValueError, match="valid"):
        fastconv.convolve(x, k, mode="valid")
    # both inputs one sample along the unit axis: the roles may swap
    got = fastconv.convolve(np.arange(3.0)[None], np.arange(10.0)[None], mode="valid")
    want = scipy.signal.convolve(np.arange(3.0)[None], np.arange(10.0)[None], mode="valid")
    np.testing.assert_allclose(got, want)
