"""fastconv.physics against closed forms: heat-kernel variance growth and
conservation, the free-space heat solution, the spreading Gaussian wave
packet (width, centre, the complex closed form), absorption instead of
wrap-around, and Perona-Malik's scale invariance."""
import math

import numpy as np
import pytest
from scipy.special import erf

import fastconv.physics as fp


def moments(u, x):
    m0 = u.sum()
    mu = (u * x).sum() / m0
    return m0, mu, (u * (x - mu) ** 2).sum() / m0


@pytest.mark.parametrize("boundary", ["reflect", "wrap", "constant"])
@pytest.mark.parametrize("method", ["spectral", "gaussian"])
def test_heat_variance_grows_by_2Dt(boundary, method):
    x = np.arange(600) - 300.0
    s0 = 4.0
    u0 = np.exp(-x ** 2 / (2 * s0 ** 2))
    D, ts = 0.7, [10.0, 40.0, 90.0]
    us = np.stack([fp.diffuse(u0, D, t, boundary=boundary, method=method) for t in ts])
    m00 = u0.sum()
    for u, t in zip(us, ts):
        m0, mu, var = moments(u, x)
        assert abs(m0 / m00 - 1) < 1e-12          # far from the edges: nothing leaves
        assert abs(mu) < 1e-9
        assert abs(var - (s0 ** 2 + 2 * D * t)) < 1e-9
    # many times from one spectrum: the same fields
    many = fp.diffuse(u0, D, ts, boundary=boundary, method="spectral")
    np.testing.assert_allclose(many, us, atol=1e-13 * u0.max())


@pytest.mark.parametrize("shape", [(50,), (31, 44), (9, 12, 10)])
@pytest.mark.parametrize("boundary", ["reflect", "wrap"])
def test_mass_conserved_exactly(shape, boundary):
    rng = np.random.default_rng(len(shape))
    u0 = rng.random(shape)
    for t in (0.5, 7.0, 1e4):
        u = fp.diffuse(u0, 1.3, t, boundary=boundary)
        assert abs(u.sum() - u0.sum()) < 1e-12 * u0.sum()
        assert u.min() >= u0.min() - 1e-12 and u.max() <= u0.max() + 1e-12   # max principle
    # at long times: the mean everywhere
    np.testing.assert_allclose(fp.diffuse(u0, 1.0, 1e7, boundary=boundary), u0.mean(),
                               rtol=1e-12)


def test_constant_boundary_matches_free_space_closed_form():
    """A box of heat on an open line: u(x,t) = (erf((x+a)/s) - erf((x-a)/s))/2
    with s = sqrt(4 D t), sampled at the cell centres (the band-limited data
    differ from the box by less than the closed form's own sampling: compare
    a smooth start instead, a Gaussian whose free-space flow is exact)."""
    x = np.arange(-40, 41) * 0.5
    s0, D, t = 1.5, 0.8, 20.0
    u0 = np.exp(-x ** 2 / (2 * s0 ** 2))
    u = fp.diffuse(u0, D, t, boundary="constant", dx=0.5)
    s2 = s0 ** 2 + 2 * D * t
    want = s0 / math.sqrt(s2) * np.exp(-x ** 2 / (2 * s2))
    np.testing.assert_allclose(u, want, atol=1e-12)
    # the heat that left the window: the Gaussian's mass outside |x| > 20.25
    lost = 1 - erf(20.25 / math.sqrt(2 * s2))
    assert lost > 1e-4
    assert abs(u.sum() * 0.5 / (s0 * math.sqrt(2 * math.pi)) - (1 - lost)) < 1e-5
    assert u.sum() < u0.sum()


def test_anisotropic_and_dx():
    x = np.arange(200) - 100.0
    y = np.arange(100) - 50.0
    X, Y = np.meshgrid(x, y, indexing="ij")
    u0 = np.exp(-(X ** 2 + Y ** 2) / 8)
    u = fp.diffuse(u0, 0.5, 12.0, dx=(1.0, 1.0))
    m = u.sum()
    vx = (u * X ** 2).sum() / m
    vy = (u * Y ** 2).sum() / m
    assert abs(vx - (4 + 12)) < 1e-9 and abs(vy - (4 + 12)) < 1e-9
    # dx = 2 along axis 0: the same physical time spreads half as many cells
    u2 = fp.diffuse(u0, 0.5, 12.0, dx=(2.0, 1.0))
    vx2 = (u2 * X ** 2).sum() / u2.sum()
    assert abs(vx2 - (4 + 12 / 4)) < 1e-9


def packet(x, x0, s0, k0):
    return (2 * np.pi * s0 ** 2) ** -0.25 * np.exp(-(x - x0) ** 2 / (4 * s0 ** 2)
                                                  + 1j * k0 * (x - x0))


def packet_t(x, x0, s0, k0, t, m=1.0, hbar=1.0):
    """The closed form: width s0 sqrt(1 + (t/T)^2), T = 2 m s0^2 / hbar,
    centre x0 + v t, phase k0 (x - x0) - k0 v t / 2."""
    T = 2 * m * s0 ** 2 / hbar
    v = hbar * k0 / m
    c = 1 + 1j * t / T
    return ((2 * np.pi * s0 ** 2) ** -0.25 / np.sqrt(c)
            * np.exp(-(x - x0 - v * t) ** 2 / (4 * s0 ** 2 * c)
                     + 1j * k0 * (x - x0) - 1j * k0 * v * t / 2))


@pytest.mark.parametrize("m, hbar, dx", [(1.0, 1.0, 1.0), (2.0, 0.5, 0.25)])
def test_wave_packet_closed_form(m, hbar, dx):
    x = (np.arange(2048) - 1024) * dx
    s0, k0 = 3.0, 0.8
    psi0 = packet(x, -40 * dx, s0, k0)
    ts = [0.0, 20.0, 60.0]
    out = fp.free_particle(psi0, ts, mass=m, hbar=hbar, dx=dx)
    for p, t in zip(out, ts):
        want = packet_t(x, -40 * dx, s0, k0, t, m, hbar)
        np.testing.assert_allclose(p, want, atol=1e-10)
        prob = np.abs(p) ** 2
        n, mu, var = moments(prob, x)
        assert abs(n * dx - 1) < 1e-12                                  # unitary
        T = 2 * m * s0 ** 2 / hbar
        assert abs(math.sqrt(var) - s0 * math.sqrt(1 + (t / T) ** 2)) < 1e-9
        assert abs(mu - (-40 * dx + hbar * k0 / m * t)) < 1e-9


def test_periodic_wraps_and_absorbing_layer_does_not():
    x = np.arange(1024) - 512.0
    psi0 = packet(x, 300.0, 8.0, 1.2)              # heading right, toward the edge
    t = 250.0                                      # v t = 300: fully past the edge
    wrapped = fp.free_particle(psi0, t)
    left = np.abs(x + 400) < 100
    assert (np.abs(wrapped[left]) ** 2).sum() > 0.5                   # came back round
    absorbed = fp.free_particle(psi0, t, absorbing=96)
    assert (np.abs(absorbed) ** 2).sum() < 1e-4                       # left the grid
    # before it reaches the layer the interior is the free solution
    early = fp.free_particle(psi0, [40.0, 250.0], absorbing=96)[0]
    inner = np.abs(x) < 512 - 96
    want = packet_t(x, 300.0, 8.0, 1.2, 40.0)
    assert np.abs(early[inner] - want[inner]).max() < 1e-3


def test_perona_malik_scale_invariant_and_edge_preserving():
    rng = np.random.default_rng(0)
    img = np.zeros((96, 96))
    img[:, 48:] = 1.0
    noisy = img + rng.normal(0, 0.05, img.shape)
    for scheme in ("exponential", "rational", "tukey"):
        out = fp.anisotropic_diffusion(noisy, 2.0, 30, scheme=scheme)
        for c in (255.0, 1e-3):
            np.testing.assert_allclose(fp.anisotropic_diffusion(noisy * c, 2.0, 30,
                                                                scheme=scheme),
                                       out * c, rtol=1e-9, atol=1e-12 * c)
        # noise smoothed, the step kept, the mean kept (no flux at the borders)
        assert out[:, :40].std() < 0.5 * noisy[:, :40].std()
        assert out[:, 52:].mean() - out[:, :44].mean() > 0.9
        assert abs(out.mean() - noisy.mean()) < 1e-12
    # a Gaussian blur of the same strength smears the edge; this does not
    blur = fp.diffuse(noisy, 1.0, 6.0)
    assert abs(out[:, 47] - out[:, 48]).mean() > 3 * abs(blur[:, 47] - blur[:, 48]).mean()
    assert fp.anisotropic_diffusion(np.ones((5, 5)), 1.0, 10).tolist() == np.ones((5, 5)).tolist()
    assert fp.anisotropic_diffusion(noisy.astype(np.float32), 1.0, 2).dtype == np.float32


@pytest.mark.parametrize("call, err, match", [
    (lambda: fp.diffuse([1.0, 2.0], 0.0, 1.0), ValueError, "D"),
    (lambda: fp.diffuse([1.0, 2.0], 1.0, -1.0), ValueError, "t"),
    (lambda: fp.diffuse([1.0, np.nan], 1.0, 1.0), ValueError, "u0"),
    (lambda: fp.diffuse([], 1.0, 1.0), ValueError, "u0"),
    (lambda: fp.diffuse([1.0, 2.0], 1.0, 1.0, boundary="nearest"), ValueError, "boundary"),
    (lambda: fp.diffuse([1.0, 2.0], 1.0, 1.0, dx=0), ValueError, "dx"),
    (lambda: fp.diffuse([1.0, 2.0], 1.0, 0.1, method="gaussian"), ValueError, "sigma"),
    (lambda: fp.diffuse([1.0 + 1j], 1.0, 1.0), TypeError, "u0"),
    (lambda: fp.anisotropic_diffusion(np.ones((4, 4)), 0.0, 3), ValueError, "kappa"),
    (lambda: fp.anisotropic_diffusion(np.ones((4, 4)), 1.0, -1), ValueError, "n_iter"),
    (lambda: fp.anisotropic_diffusion(np.ones((4, 4)), 1.0, 3, dt=0.3), ValueError, "dt"),
    (lambda: fp.anisotropic_diffusion(np.ones((4, 4)), 1.0, 3, scheme="x"), ValueError,
     "scheme"),
    (lambda: fp.anisotropic_diffusion(np.ones((2,) * 4), 1.0, 3), ValueError, "image"),
    (lambda: fp.free_particle(np.ones(8), 1.0, mass=0), ValueError, "mass"),
    (lambda: fp.free_particle(np.ones(8), 1.0, absorbing=4), ValueError, "absorbing"),
    (lambda: fp.free_particle(np.ones(8), [2.0, 1.0], absorbing=1), ValueError, "t"),
    (lambda: fp.free_particle(np.ones(8), 1.0, absorbing=-1), ValueError, "absorbing"),
])
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()
