"""fastconv.stats.kde against scipy.stats.gaussian_kde evaluated exactly (no
binning) within the linear-binning error bound, against KDEpy's exact
NaiveKDE for the other kernels, and the bounded estimates against their
definitions."""
import math

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import ndtr

import fastconv.stats as fs


def bimodal(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, n * 3 // 5), rng.normal(5, 0.5, n - n * 3 // 5)]


def gauss_bound(delta, H):
    """Linear binning's error bound: sum_a delta_a^2/8 * sup |d^2K/dx_a^2|,
    for a Gaussian sup |d^2 K / dx_a^2| = K(0) / (H^-1)_aa^-1 ... bounded
    here by K(0) * (H^-1)_aa (the second derivative at the mode)."""
    d = H.shape[0]
    K0 = 1 / math.sqrt((2 * math.pi) ** d * np.linalg.det(H))
    Hi = np.linalg.inv(H)
    return sum(dl * dl / 8 * K0 * Hi[a, a] for a, dl in enumerate(delta))


def grid_points(est):
    mesh = np.meshgrid(*est.grid, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=0)


@pytest.mark.parametrize("bw", ["scott", "silverman", 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_1d_against_scipy(bw, weighted):
    x = bimodal()
    w = np.random.default_rng(1).random(x.size) if weighted else None
    est = fs.kde(x, weights=w, bw=bw)
    ref = st.gaussian_kde(x, weights=w,
                          bw_method=None if not isinstance(bw, str) else bw)
    if not isinstance(bw, str):
        ref.set_bandwidth(bw / math.sqrt(ref.covariance[0, 0] / ref.factor ** 2))
    g = est.grid[0]
    H = np.array([[est.bandwidth ** 2]])
    np.testing.assert_allclose(H, ref.covariance, rtol=1e-12)
    bound = gauss_bound([g[1] - g[0]], H)
    assert np.abs(est.density - ref(g)).max() <= bound
    # anywhere, on or off the grid (cubic interpolation adds little)
    pts = np.random.default_rng(2).uniform(g[0] - 3, g[-1] + 3, 2000)
    assert np.abs(est(pts) - ref(pts)).max() <= 1.2 * bound
    np.testing.assert_allclose(est.evaluate(pts[:50], exact=True), ref(pts[:50]), rtol=1e-10,
                               atol=1e-300)


@pytest.mark.parametrize("d", [2, 3])
def test_nd_full_covariance_against_scipy(d):
    rng = np.random.default_rng(d)
    A = np.eye(d) + 0.6 * np.tri(d, k=-1)
    x = rng.normal(size=(1500, d)) @ A.T
    est = fs.kde(x, grid=48 if d == 3 else 128)
    ref = st.gaussian_kde(x.T)
    np.testing.assert_allclose(est.covariance, ref.covariance, rtol=1e-12)
    delta = [g[1] - g[0] for g in est.grid]
    bound = gauss_bound(delta, est.covariance)
    got = est.density.ravel()
    want = ref(grid_points(est))
    assert np.abs(got - want).max() <= bound
    pts = rng.normal(size=(300, d)) @ A.T * 1.5
    assert np.abs(est(pts) - ref(pts.T)).max() <= 1.3 * bound


def kernel_sup_second(kernel):
    prof = fs._kde.KERNELS[kernel][0]
    u = np.linspace(-4, 4, 400001)
    k = prof(u)
    du = u[1] - u[0]
    return np.abs(np.diff(k, 2)).max() / du ** 2, np.abs(np.diff(k)).max() / du, k.max()


@pytest.mark.parametrize("kernel", sorted(fs._kde.KERNELS))
def test_kernels_against_kdepy_naive(kernel):
    KDEpy = pytest.importorskip("KDEpy")
    x = bimodal(1500)
    h = 0.4
    est = fs.kde(x, bw=h, kernel=kernel, grid=2048)
    g = est.grid[0]
    name = {"epanechnikov": "epa", "triangular": "tri", "uniform": "box"}.get(kernel, kernel)
    want = KDEpy.NaiveKDE(kernel=name, bw=h).fit(x).evaluate(g)
    dl = g[1] - g[0]
    s2, s1, _ = kernel_sup_second(kernel)
    if kernel in ("gaussian", "biweight", "triweight", "tricube"):
        tol = dl * dl / 8 * s2 / h ** 3            # C^2 kernels: the delta^2 bound
    else:
        tol = dl * s1 / h ** 2                      # kinks and jumps: first order
    assert np.abs(est.density - want).max() <= tol
    # and with the kernel's unit variance: bw is the standard deviation
    u = np.linspace(-6, 6, 200001)
    k = fs._kde.KERNELS[kernel][0](u)
    du = u[1] - u[0]
    assert abs(k.sum() * du - 1) < 1e-4 and abs((u * u * k).sum() * du - 1) < 1e-3


def test_data_outside_a_user_grid_still_count():
    x = bimodal()
    grid = np.linspace(-1.0, 1.0, 201)
    est = fs.kde(x, bw=0.5, grid=grid)
    ref = st.gaussian_kde(x)
    ref.set_bandwidth(0.5 / math.sqrt(ref.covariance[0, 0] / ref.factor ** 2))
    assert est.density.shape == (201,)
    assert np.abs(est.density - ref(grid)).max() <= gauss_bound([0.01], np.array([[0.25]]))
    # a point well outside the grid: the data summed directly
    far = np.array([5.0, 7.5, -4.0])
    np.testing.assert_allclose(est(far), ref(far), rtol=1e-10)


def reflected_reference(x, h, lo, hi, pts):
    """sum of K(p - x), K(p - (2 lo - x)), K(p - (2 hi - x)) over n."""
    z = np.r_[x, 2 * lo - x, 2 * hi - x]
    k = st.norm.pdf((pts[:, None] - z[None, :]) / h).sum(1) / h
    return k / x.size


def test_reflect_boundary():
    rng = np.random.default_rng(5)
    x = rng.exponential(size=3000)
    lo, hi = 0.0, float(x.max())
    h = 0.15
    est = fs.kde(x, bw=h, boundary="reflect", bounds=(lo, hi), grid=1500)
    g = est.grid[0]
    dl = g[1] - g[0]
    assert est.density.shape == (1500,)                        # the grid did not grow
    assert abs(g[0] - dl / 2 - lo) < 1e-12 and abs(g[-1] + dl / 2 - hi) < 1e-9
    want = reflected_reference(x, h, lo, hi, g)
    assert np.abs(est.density - want).max() <= gauss_bound([dl], np.array([[h * h]])) * 1.05
    assert abs(est.density.sum() * dl - 1) < 1e-6               # mass stays inside
    # no dip at the boundary: density at 0 is near the exponential's 1
    assert est.density[0] > 0.8
    np.testing.assert_allclose(est.evaluate(g[:20], exact=True), want[:20], rtol=1e-10)
    assert est(np.array([-0.5]))[0] == 0                         # outside the domain


def test_renormalize_boundary():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, 4000)
    h = 0.05
    est = fs.kde(x, bw=h, boundary="renormalize", bounds=(0, 1), grid=1000)
    g = est.grid[0]
    raw = st.norm.pdf((g[:, None] - x[None, :]) / h).sum(1) / h / x.size
    inside = ndtr((1 - g) / h) - ndtr((0 - g) / h)
    want = raw / inside
    dl = g[1] - g[0]
    # the binning bound over the mass inside, plus the midpoint rule's error
    tol = gauss_bound([dl], np.array([[h * h]])) / inside.min() + 1e-5
    assert np.abs(est.density - want).max() <= tol
    assert abs(est.density[0] - 1) < 0.1                       # no boundary bias


def test_isj_bandwidth():
    rng = np.random.default_rng(1)
    for n in (2000, 20000):
        x = rng.normal(size=n)
        # normal data: the AMISE-optimal Gaussian bandwidth, (4/3n)^(1/5)
        opt = (4 / (3 * n)) ** 0.2
        assert abs(fs.isj_bandwidth(x) / opt - 1) < 0.15
    x = bimodal(20000)
    assert fs.isj_bandwidth(x) < 0.5 * fs.kde(x, bw="silverman").bandwidth
    est = fs.kde(x, bw="isj")
    assert est.bandwidth == pytest.approx(fs.isj_bandwidth(x))


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(x=[]), ValueError, "empty"),
    (dict(x=[1.0, np.nan]), ValueError, "NaN"),
    (dict(x=[1.0, 2.0], bw=0.0), ValueError, "bw"),
    (dict(x=[1.0, 2.0], bw=-1.0), ValueError, "bw"),
    (dict(x=[1.0, 2.0], bw="nope"), ValueError, "bw"),
    (dict(x=[1.0, 1.0]), ValueError, "bw"),
    (dict(x=[1.0, 2.0], bw=1.0, kernel="nope"), ValueError, "kernel"),
    (dict(x=[1.0, 2.0], bw=1.0, boundary="wrap"), ValueError, "boundary"),
    (dict(x=[1.0, 2.0], bw=1.0, grid=[0.0, 1.0, 3.0]), ValueError, "equally spaced"),
    (dict(x=[1.0, 2.0], bw=1.0, grid=1), ValueError, "grid"),
    (dict(x=[1.0, 2.0], bw=1.0, boundary="reflect", bounds=(1.5, 3)), ValueError, "outside"),
    (dict(x=[1.0, 2.0], weights=[1.0]), ValueError, "weights"),
    (dict(x=[1.0, 2.0], weights=[1.0, -1.0]), ValueError, "weights"),
    (dict(x=np.zeros((3, 4))), ValueError, "shape"),
    (dict(x=np.zeros((3, 2)) + [[0, 1]], bw="isj"), ValueError, "1-D"),
    (dict(x=["a"]), TypeError, "x"),
])
def test_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        fs.kde(**kwargs)


def test_single_point_and_weights_zero():
    est = fs.kde([2.0], bw=0.5)
    g = est.grid[0]
    np.testing.assert_allclose(est.density, st.norm.pdf(g, 2.0, 0.5),
                               atol=gauss_bound([g[1] - g[0]], np.array([[0.25]])))
    # zero-weight points change nothing
    a = fs.kde([0.0, 1.0, 50.0], weights=[1.0, 1.0, 0.0], bw=0.5, grid=np.linspace(-2, 3, 51))
    b = fs.kde([0.0, 1.0], bw=0.5, grid=np.linspace(-2, 3, 51))
    np.testing.assert_allclose(a.density, b.density, rtol=1e-12, atol=1e-300)


def test_2d_weights_and_user_grid_against_scipy():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(800, 2)) * [1.0, 0.5] + [[0.0, 1.0]]
    w = rng.random(800)
    gx, gy = np.linspace(-2, 2, 81), np.linspace(0, 2, 41)
    est = fs.kde(x, weights=w, grid=(gx, gy))
    ref = st.gaussian_kde(x.T, weights=w)
    np.testing.assert_allclose(est.covariance, ref.covariance, rtol=1e-12)
    assert est.density.shape == (81, 41)
    bound = gauss_bound([gx[1] - gx[0], gy[1] - gy[0]], est.covariance)
    assert np.abs(est.density.ravel() - ref(grid_points(est))).max() <= bound
    # points outside the user's grid (every datum binned: on the grid the
    # kernel's reach extends) and beyond every datum's reach (0)
    far = np.array([[3.0, -1.0], [0.5, 3.5]])
    assert np.abs(est(far) - ref(far.T)).max() <= bound
    assert est(np.array([[40.0, 40.0]]))[0] == 0.0
    np.testing.assert_allclose(est.evaluate(far, exact=True), ref(far.T), rtol=1e-10)
