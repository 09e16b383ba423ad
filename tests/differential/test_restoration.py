"""fastconv.restoration against skimage.restoration."""
import numpy as np
import pytest
import scipy.signal as ss

from fastconv import restoration as fr
from tests.conftest import assert_close

skr = pytest.importorskip("skimage.restoration")


def blurred(rng, shape=(64, 72), sigma=1.5, noise=0.01, dtype=np.float64):
    truth = np.zeros(shape)
    truth[10:30, 15:40] = 0.8
    truth[40:55, 20:60] = 0.4
    r = 4
    t = np.arange(-r, r + 1)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    psf = np.outer(g, g)
    psf /= psf.sum()
    img = ss.convolve(truth, psf, mode="same") + noise * rng.standard_normal(shape)
    return truth, img.astype(dtype), psf.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("is_real", [True, False])
@pytest.mark.parametrize("clip", [True, False])
def test_wiener(dtype, is_real, clip, rng):
    _, img, psf = blurred(rng, dtype=dtype)
    got = fr.wiener(img, psf, 0.05, is_real=is_real, clip=clip)
    want = skr.wiener(img, psf, 0.05, is_real=is_real, clip=clip)
    assert got.dtype == want.dtype
    assert_close(got, want, 1e-5 if dtype == np.float32 else 1e-11)


def test_wiener_custom_reg_and_transfer_function(rng):
    _, img, psf = blurred(rng)
    reg = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0.0]])
    assert_close(fr.wiener(img, psf, 0.1, reg=reg), skr.wiener(img, psf, 0.1, reg=reg), 1e-11)
    from skimage.restoration import uft

    tf = uft.ir2tf(psf, img.shape)
    lap, _ = uft.laplacian(2, img.shape)
    assert_close(fr.wiener(img, tf, 0.1, reg=lap), skr.wiener(img, tf, 0.1, reg=lap), 1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unsupervised_wiener_same_chain(dtype, rng):
    _, img, psf = blurred(rng, (48, 40), dtype=dtype)
    got, gch = fr.unsupervised_wiener(img, psf, rng=3)
    want, wch = skr.unsupervised_wiener(img, psf, rng=3)
    assert len(gch["noise"]) == len(wch["noise"])
    np.testing.assert_allclose(gch["noise"], wch["noise"], rtol=1e-5 if dtype == np.float32 else 1e-9)
    assert_close(got, want, 1e-4 if dtype == np.float32 else 1e-9)
    got2, _ = fr.unsupervised_wiener(img, psf, rng=3, user_params={"max_num_iter": 20,
                                                                  "min_num_iter": 5})
    want2, _ = skr.unsupervised_wiener(img, psf, rng=3, user_params={"max_num_iter": 20,
                                                                    "min_num_iter": 5})
    assert_close(got2, want2, 1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("filter_epsilon", [None, 1e-3])
def test_richardson_lucy(dtype, filter_epsilon, rng):
    _, img, psf = blurred(rng, noise=0.0, dtype=dtype)
    img = np.abs(img)
    got = fr.richardson_lucy(img, psf, num_iter=30, filter_epsilon=filter_epsilon)
    want = skr.richardson_lucy(img, psf, num_iter=30, filter_epsilon=filter_epsilon)
    assert got.dtype == want.dtype
    assert_close(got, want, 1e-4 if dtype == np.float32 else 1e-9)


def test_richardson_lucy_3d_and_asymmetric_psf(rng):
    img = rng.random((16, 18, 20))
    psf = rng.random((3, 5, 2))
    psf /= psf.sum()
    assert_close(fr.richardson_lucy(img, psf, 10, clip=False),
                 skr.richardson_lucy(img, psf, 10, clip=False), 1e-9)


def test_accelerated_richardson_lucy_converges_faster(rng):
    truth, img, psf = blurred(rng, noise=0.0)
    img = np.clip(img, 0, None)

    def misfit(est):       # data fidelity: how well the estimate explains the image
        return float(np.linalg.norm(ss.convolve(est, psf, mode="same") - img))

    plain = fr.richardson_lucy(img, psf, 20, clip=False)
    fast = fr.richardson_lucy(img, psf, 20, clip=False, accelerate=True)
    plain_long = fr.richardson_lucy(img, psf, 60, clip=False)
    assert misfit(fast) < 0.7 * misfit(plain)
    assert misfit(fast) < 1.5 * misfit(plain_long)
    assert np.all(fast >= 0)


def test_errors(rng):
    _, img, psf = blurred(rng)
    with pytest.raises(ValueError, match="dimensions"):
        fr.wiener(img, psf[0], 0.1)
    with pytest.raises(ValueError, match="num_iter"):
        fr.richardson_lucy(img, psf, -1)
    with pytest.raises(TypeError, match="real"):
        fr.wiener(img * 1j, psf, 0.1)
