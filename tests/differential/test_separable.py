"""Separable and low-rank kernels: factored passes equal the dense convolution."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss

import fastconv
from fastconv.algorithms.separable import factors
from tests import reference as ref
from tests.conftest import assert_close, tolerance


def gauss(sigma):
    r = int(3 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return g / g.sum()


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["constant", "reflect", "wrap"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_rank1_2d_matches_reference(mode, boundary, dtype, rng):
    k = np.outer(gauss(1.2), gauss(0.8)[:5]).astype(dtype)
    assert factors(k, dtype) is not None and len(factors(k, dtype)) == 1
    x = rng.standard_normal((23, 19)).astype(dtype)
    got = fastconv.convolve(x, k, mode=mode, method="separable", boundary=boundary)
    want = ref.convolve(x, k, mode, boundary)
    assert_close(got, want, tolerance(dtype, x, k))


@pytest.mark.parametrize("boundary", ["constant", "edge", "symmetric", "reflect", "wrap"])
@pytest.mark.parametrize("xshape,kshape", [((5, 4), (9, 11)), ((1, 30), (7, 6)),
                                           ((40, 3), (4, 9)), ((17, 18), (16, 16))])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_virtual_boundaries_any_size(boundary, xshape, kshape, mode, rng):
    # the separable path reads the unpadded input through index maps; pads
    # longer than the input (kernel larger than the image) repeat the rule
    k = np.outer(rng.standard_normal(kshape[0]), rng.standard_normal(kshape[1]))
    x = rng.standard_normal((2,) + xshape)
    for cval in ([0.0, 1.5] if boundary == "constant" else [0.0]):
        got = fastconv.convolve(x, k[None], mode=mode, method="separable", axes=(1, 2),
                                boundary=boundary, cval=cval)
        want = np.stack([ref.convolve(xi, k, mode, boundary, cval) for xi in x])
        assert_close(got, want, tolerance(np.float64, x, k))


def test_rank2_kernel_and_correlate(rng):
    k = (np.outer(rng.standard_normal(9), rng.standard_normal(9))
         + np.outer(rng.standard_normal(9), rng.standard_normal(9)))
    assert len(factors(k, np.float64)) == 2
    x = rng.standard_normal((40, 37))
    for op in ("convolve", "correlate"):
        got = getattr(fastconv, op)(x, k, mode="same", method="separable")
        want = getattr(ss, op)(x, k, mode="same")
        assert_close(got, want, tolerance(np.float64, x, k))


def test_full_rank_is_not_factored(rng):
    assert factors(rng.standard_normal((5, 5)), np.float64) is None


def test_3d_outer_product_and_batch(rng):
    k = np.multiply.outer(np.multiply.outer(gauss(1.0), gauss(1.5)), gauss(0.7))
    assert len(factors(k, np.float64)) == 1
    x = rng.standard_normal((2, 14, 15, 16))
    got = fastconv.convolve(x, k[None], mode="same", axes=(1, 2, 3), method="separable")
    want = np.stack([ss.convolve(x[i], k, mode="same") for i in range(2)])
    assert_close(got, want, tolerance(np.float64, x, k))
    # not separable in 3-D: dense result
    k2 = k + 0.1 * rng.standard_normal(k.shape)
    assert factors(k2, np.float64) is None
    got = fastconv.convolve(x[0], k2, mode="same", method="separable")
    assert_close(got, ss.convolve(x[0], k2, mode="same"), tolerance(np.float64, x, k2))


def test_planner_picks_separable_for_a_big_gaussian(rng):
    g = gauss(8.0).astype(np.float32)
    k = np.outer(g, g)
    x = rng.standard_normal((512, 512)).astype(np.float32)
    p = fastconv.plan(x, k, mode="same", boundary="symmetric")
    assert p.method == "separable", p.explain()
    # ndimage.gaussian_filter is itself separable: compare with its correlate
    want = ndi.correlate(x, k, mode="reflect")
    got = p(x, k)
    assert_close(got, want, tolerance(np.float32, x, k))


def test_integer_data_stay_exact_and_dense(rng):
    k = np.outer([1, 2, 1], [1, 0, -1])
    x = rng.integers(-1000, 1000, (30, 30))
    got = fastconv.convolve(x, k, method="separable")
    np.testing.assert_array_equal(got, ref.convolve(x, k).astype(np.int64))
    assert fastconv.plan(x, k).method != "separable"
