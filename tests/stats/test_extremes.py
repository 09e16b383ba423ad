"""Extremes for the statistics and physics front ends: int64 and uint64
limits, values near the float64 maximum (sums must not overflow into inf or
NaN), one-element and empty data, window 1, subnormal probabilities."""
import numpy as np
import pytest

import fastconv.physics as fp
import fastconv.stats as fs

BIG = 1.7e308


@pytest.mark.parametrize("weights", [None, "triang", [1.0, 2.0, 3.0]])
def test_moving_average_near_float_max(weights):
    x = np.array([BIG, BIG, BIG, BIG, -BIG, BIG])
    y = fs.moving_average(x, 3, weights=weights)
    assert y[2] == pytest.approx(BIG, rel=1e-15) and y[3] == pytest.approx(BIG, rel=1e-15)
    assert np.isfinite(y[2:]).all()
    if weights is None:
        np.testing.assert_allclose(y[4:], [BIG / 3, BIG / 3], rtol=1e-15)


def test_integer_extremes_are_exact():
    lo = np.iinfo(np.int64).min
    y = fs.moving_average(np.full(6, lo, np.int64), 3)
    assert (y[2:] == float(lo)).all()
    u = np.full(5, np.iinfo(np.uint64).max, np.uint64)
    assert (fs.moving_average(u, 2)[1:] == float(np.iinfo(np.uint64).max)).all()
    assert (fs.ewma(np.full(5, lo, np.int64), alpha=0.3) == float(lo)).all()
    # uint64 counts above int64: refused with the parameter's name
    with pytest.raises(ValueError, match="pmfs"):
        fs.pmf_convolve(np.array([1, 2**63], np.uint64), np.array([1, 1], np.uint64))


def test_ewma_and_diffuse_near_float_max():
    assert np.isfinite(fs.ewma(np.full(50, BIG), alpha=1e-6)).all()
    assert (fs.ewma(np.full(50, BIG), alpha=1e-6) == BIG).all()
    for b in ("reflect", "wrap", "constant"):
        u = fp.diffuse(np.full((16, 16), BIG), 1.0, 2.0, boundary=b)
        assert np.isfinite(u).all() and u.max() <= BIG * (1 + 1e-12)
    np.testing.assert_allclose(fp.diffuse(np.full(32, BIG), 1.0, 3.0), BIG, rtol=1e-12)


def test_small_sizes():
    assert fs.moving_average([5.0], 1).tolist() == [5.0]
    assert fs.moving_average([5.0], 1, weights=[2.0]).tolist() == [5.0]
    x = np.random.default_rng(0).normal(size=100)
    np.testing.assert_array_equal(fs.moving_average(x, 1), x)       # window 1: identity
    assert fs.ewma(np.zeros((0,)), alpha=0.5).shape == (0,)
    assert fs.moving_average(np.zeros((2, 0, 3)), 2, axis=1).shape == (2, 0, 3)
    est = fs.kde([3.0], bw=1.0, grid=8)
    assert est.density.shape == (8,) and (est.density >= 0).all()
    assert fp.diffuse([7.0], 1.0, 5.0).tolist() == [7.0]
    assert fp.free_particle([1.0], 3.0).shape == (1,)
    assert fs.pmf_convolve([1.0], [1.0]).tolist() == [1.0]


def test_subnormal_probabilities_stay_non_negative():
    p = np.array([1 - 2e-310, 1e-310, 1e-310])
    for method in ("direct", "fft"):
        g = fs.pmf_power(p, 40, method=method)
        assert (g >= 0).all() and np.isfinite(g).all()
        assert abs(g.sum() - 1) < 1e-13


def test_overflowing_intermediates_are_rescaled():
    x = np.array([1e308, 1.7e308, 1.5e308, -1.7e308, 1.7e308])
    s = 2.0 ** 64
    for kw in (dict(alpha=0.5), dict(alpha=1e-3), dict(alpha=0.3, adjust=False)):
        got = fs.ewma(x, **kw)
        np.testing.assert_allclose(got, fs.ewma(x / s, **kw) * s, rtol=1e-15)
        assert np.isfinite(got).all()
    np.testing.assert_allclose(fs.moving_average(x, 2), fs.moving_average(x / s, 2) * s,
                               rtol=1e-15)


def test_finite_scan_finds_nan_inf_and_bounds_the_values():
    """The weighted window's one-pass scan: a bound on every finite |value|,
    and NaN / infinities told apart, also where the sums overflow."""
    from fastconv import _core

    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 70001))
    top, nan, inf = _core.finite_scan(x)
    assert top >= np.abs(x).max() and not nan and not inf
    for val, want in ((np.nan, (True, False)), (np.inf, (False, True)), (-np.inf, (False, True))):
        y = x.copy()
        y[1, 12345] = val
        top, nan, inf = _core.finite_scan(y)
        assert (nan, inf) == want and top == np.abs(x[np.isfinite(y)]).max()
    big = np.full((1, 40), 1e308)                 # finite, but the sums overflow
    big[0, 7] = -1e308
    assert _core.finite_scan(big) == (1e308, False, False)
    y = fs.moving_average(big[0], 4, weights=[1.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(y[[3, 10, 12]], [1e308, 1e308 / 6 * 4, 1e308], rtol=1e-15)
