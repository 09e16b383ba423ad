"""NaN-aware and masked convolution: fastconv.convolve(nan_policy=...) and the
astropy drop-ins, against the loop reference and astropy itself."""
import warnings

import numpy as np
import pytest

import fastconv
from fastconv import astropy as fa
from tests import reference as ref
from tests.conftest import assert_close

apc = pytest.importorskip("astropy.convolution")
ENGINE_METHODS = ["direct", "fft", "overlap-add", "overlap-save", "auto"]


def nan_data(rng, shape, frac=0.15):
    x = rng.standard_normal(shape)
    x[rng.random(shape) < frac] = np.nan
    return x


@pytest.mark.parametrize("method", ENGINE_METHODS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary,cval", [("constant", 0.0), ("constant", 2.5),
                                           ("constant", np.nan), ("edge", 0),
                                           ("symmetric", 0), ("wrap", 0)])
def test_interpolate_every_method_and_mode(method, mode, boundary, cval, rng):
    x = nan_data(rng, (23, 19))
    k = rng.random((5, 4)) + 0.1
    got = fastconv.convolve(x, k, mode=mode, method=method, boundary=boundary, cval=cval,
                            nan_policy="interpolate")
    want = ref.nan_interpolate(x, k, mode, boundary, cval)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-10)


@pytest.mark.parametrize("method", ENGINE_METHODS)
def test_mask_normalize_fill_preserve(method, rng):
    x = rng.standard_normal((30, 31))
    mask = rng.random(x.shape) < 0.2
    k = rng.random((3, 5)) + 0.1
    got = fastconv.convolve(x, k, mode="same", method=method, mask=mask,
                            nan_policy="interpolate", normalize_kernel=True)
    assert_close(got, ref.nan_interpolate(x, k, "same", mask=mask, normalize=True), 1e-10)
    filled = fastconv.convolve(x, k, mode="same", method=method, mask=mask,
                               nan_policy="fill", cval=-1.0)
    # cval fills the invalid samples and the outside alike (astropy fill_value)
    assert_close(filled, ref.convolve(np.where(mask, -1.0, x), k, "same", "constant", -1.0),
                 1e-10)
    kept = fastconv.convolve(x, k, mode="same", method=method, mask=mask,
                             nan_policy="interpolate", preserve_nan=True)
    assert np.array_equal(np.isnan(kept), mask)
    prop = fastconv.convolve(x, k, mode="same", method="direct", mask=mask)
    assert np.isnan(prop).sum() > mask.sum()          # masked samples spread as NaN


def test_batch_channels_correlate_and_float32(rng):
    x = nan_data(rng, (3, 20, 24)).astype(np.float32)
    k = (rng.random((3, 3)) + 0.1).astype(np.float32)
    got = fastconv.correlate(x, k[None], mode="same", axes=(1, 2), nan_policy="interpolate")
    assert got.dtype == np.float32
    for c in range(3):
        want = ref.nan_interpolate(x[c], k[::-1, ::-1], "same")
        assert_close(np.nan_to_num(got[c]), np.nan_to_num(want), 2e-5)


def test_nan_policy_errors(rng):
    x = nan_data(rng, (10,))
    with pytest.raises(ValueError, match="nan_policy"):
        fastconv.convolve(x, [1, 1], nan_policy="omit")
    with pytest.raises(ValueError, match="sums to"):
        fastconv.convolve(x, [1, -1], nan_policy="interpolate")
    with pytest.raises(ValueError, match="preserve_nan"):
        fastconv.convolve(x, [1, 1], preserve_nan=True)
    with pytest.raises(ValueError, match="mask"):
        fastconv.convolve(x, [1, 1], mask=np.zeros(3, bool))
    with pytest.raises(TypeError, match="normalize_kernel"):
        fastconv.convolve(x, [1, 1], normalize_kernel="yes")


def test_filters_accept_nan_policy(rng):
    from fastconv import filters

    img = nan_data(rng, (40, 40))
    got = filters.filter(img, filters.gaussian_kernel(1.0), mode="nearest",
                         nan_policy="interpolate")
    want = apc.convolve(img, filters.gaussian_kernel(1.0), boundary="extend")
    assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-10)


# ----------------------------------------------------------- astropy drop-in
ND_SHAPES = [((40,), (5,)), ((25, 22), (5, 3)), ((12, 11, 10), (3, 3, 5))]


@pytest.mark.parametrize("shape,kshape", ND_SHAPES)
@pytest.mark.parametrize("boundary", [None, "fill", "extend", "wrap"])
@pytest.mark.parametrize("nan_treatment", ["interpolate", "fill"])
@pytest.mark.parametrize("normalize_kernel", [True, False])
def test_astropy_convolve(shape, kshape, boundary, nan_treatment, normalize_kernel, rng):
    x = nan_data(rng, shape)
    k = rng.random(kshape) + 0.05
    for fill_value in ([0.0, 1.5, np.nan] if boundary == "fill" else [0.0]):
        kw = dict(boundary=boundary, fill_value=fill_value, nan_treatment=nan_treatment,
                  normalize_kernel=normalize_kernel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = apc.convolve(x, k, **kw)
            got = fa.convolve(x, k, **kw)
        assert np.array_equal(np.isnan(got), np.isnan(want)), kw
        assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-10)


def test_astropy_convolve_mask_preserve_dtype_kernel_object(rng):
    x = nan_data(rng, (30, 30)).astype(np.float32)
    mask = rng.random(x.shape) < 0.1
    k = apc.Gaussian2DKernel(1.5)
    for kw in (dict(mask=mask), dict(preserve_nan=True), dict(mask=mask, preserve_nan=True)):
        want = apc.convolve(x, k, **kw)
        got = fa.convolve(x, k, **kw)
        assert got.dtype == want.dtype == np.float32
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-6)
    ma = np.ma.masked_array(np.nan_to_num(x), mask=mask)
    assert_close(fa.convolve(ma, k), apc.convolve(ma, k), 1e-6)
    ints = rng.integers(0, 9, (12, 12))
    assert fa.convolve(ints, k).dtype == apc.convolve(ints, k).dtype == np.float64
    asym = np.array([0.0, 0.0, 1.0])                     # true convolution: a shift
    assert_close(fa.convolve(np.arange(5.0), asym), apc.convolve(np.arange(5.0), asym), 1e-12)


def test_astropy_convolve_inf_and_empty_windows():
    x = np.array([1.0, np.nan, np.nan, np.nan, 5, 6, 7])
    k = np.array([1.0, 2, 3])
    with pytest.warns(UserWarning, match="NaN values detected"):
        got = fa.convolve(x, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = apc.convolve(x, k)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-12)
    xi = np.array([1.0, 2, np.inf, 4])
    assert_close(fa.convolve(xi, k), apc.convolve(xi, k), 1e-12)


def test_astropy_convolve_errors():
    with pytest.raises(fa.KernelSizeError):
        fa.convolve(np.ones(5), np.ones(2))
    with pytest.raises(ValueError, match="normalized"):
        fa.convolve(np.ones(5), [1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="interpolate"):
        fa.convolve([1.0, np.nan, 1.0], [1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="boundary"):
        fa.convolve(np.ones(5), np.ones(3), boundary="reflect")
    with pytest.raises(fa.KernelSizeError):
        fa.convolve(np.ones(4), np.ones(5), boundary=None)


@pytest.mark.parametrize("shape,kshape", ND_SHAPES + [((30, 28), (4, 6)), ((17,), (8,))])
@pytest.mark.parametrize("boundary", ["fill", "wrap"])
@pytest.mark.parametrize("nan_treatment", ["interpolate", "fill"])
@pytest.mark.parametrize("normalize_kernel", [True, False, np.max])
def test_astropy_convolve_fft(shape, kshape, boundary, nan_treatment, normalize_kernel, rng):
    x = nan_data(rng, shape)
    k = rng.random(kshape) + 0.05
    for fill_value in ([0.0, 1.5] if boundary == "fill" else [0.0]):
        kw = dict(boundary=boundary, fill_value=fill_value, nan_treatment=nan_treatment,
                  normalize_kernel=normalize_kernel)
        want = apc.convolve_fft(x, k, **kw)
        got = fa.convolve_fft(x, k, **kw)
        assert got.dtype == np.float64
        assert_close(got, want, 1e-9)


def test_astropy_convolve_fft_specifics(rng):
    x = np.array([1.0, np.nan, np.nan, np.nan, 5, 6, 7])
    k = np.array([1.0, 2, 3])
    assert_close(fa.convolve_fft(x, k), apc.convolve_fft(x, k), 1e-12)    # 0.0, not NaN
    for kw in (dict(min_wt=0.5), dict(preserve_nan=True), dict(fill_value=np.nan),
               dict(mask=np.array([0, 0, 0, 0, 1, 0, 0], bool))):
        want = apc.convolve_fft(x, k, **kw)
        got = fa.convolve_fft(x, k, **kw)
        assert np.array_equal(np.isnan(got), np.isnan(want)), kw
        assert_close(np.nan_to_num(got), np.nan_to_num(want), 1e-12)
    xi = np.array([1.0, 2, np.inf, 4])
    assert_close(fa.convolve_fft(xi, k), apc.convolve_fft(xi, k), 1e-12)    # Inf as NaN
    kn = np.array([1.0, np.nan, 1.0])
    assert_close(fa.convolve_fft(np.arange(6.0), kn), apc.convolve_fft(np.arange(6.0), kn), 1e-12)
    with pytest.warns(UserWarning):
        fa.convolve_fft(np.arange(6.0), np.ones(3), boundary=None)
    with pytest.raises(NotImplementedError):
        fa.convolve_fft(np.arange(6.0), np.ones(3), boundary="extend")
