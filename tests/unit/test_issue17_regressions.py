"""One test per remaining item of issue 17's list (the others live beside
the code they test: test_extremes, test_stream, test_cli_errors, the
originals' suites).  Ground truth: the anchors (scipy, cv2, astropy) or the
definition."""
import json

import numpy as np
import pytest
import scipy.signal as ss

import fastconv
from fastconv import feature, filters
from fastconv import signal as fs
from fastconv.planning import wisdom


def test_sqdiff_normed_is_not_clipped_at_two():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    img = rng.random((40, 50)).astype(np.float32) * 0.01
    img[10:20, 10:20] = 5.0                     # windows far brighter than the template
    tpl = (rng.random((8, 8)) * 0.02).astype(np.float32)
    got = feature.match_template(img, tpl, method="sqdiff_normed")
    # the definition, window by window (cv2 clamps its unmasked score at 1)
    t = tpl.astype(np.float64)
    want = np.empty(got.shape)
    for i in range(want.shape[0]):
        for j in range(want.shape[1]):
            w = img[i:i + 8, j:j + 8].astype(np.float64)
            want[i, j] = ((t - w) ** 2).sum() / np.sqrt((t * t).sum() * (w * w).sum())
    assert want.max() > 2
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-3)
    mask = np.ones_like(tpl)
    mask[:2] = 0
    got = feature.match_template(img, tpl, method="sqdiff_normed", mask=mask)
    want = cv2.matchTemplate(img, tpl, cv2.TM_SQDIFF_NORMED, mask=mask)
    assert want.max() > 2
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-3)


def test_lfilter_refuses_non_numeric_state():
    with pytest.raises(TypeError, match="zi"):
        fs.lfilter([1.0, 1.0], [1.0], np.ones(5), zi="ab")


def test_integer_image_with_nan_cval_or_kernel_is_refused():
    img = np.full((20, 20), 100, np.uint8)
    with pytest.raises(ValueError, match="cval"):
        filters.filter(img, np.ones((3, 3)) / 9, mode="constant", cval=np.nan)
    with pytest.raises(ValueError, match="kernel"):
        filters.filter(img, np.array([[np.nan, 1.0], [1.0, 1.0]]))
    y = filters.filter(img.astype(np.float64), np.ones((3, 3)) / 9, mode="constant",
                       cval=np.nan)
    assert np.isnan(y[0, 0]) and y[10, 10] == pytest.approx(100.0)


def test_motion_kernel_refuses_nan_angle():
    with pytest.raises(ValueError, match="angle"):
        filters.motion_kernel(9, float("nan"))
    k = filters.motion_kernel(9, 0.0)
    assert k[4].sum() == pytest.approx(1.0)


def test_malformed_wisdom_entries_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCONV_WISDOM_DIR", str(tmp_path))
    x = np.random.default_rng(1).standard_normal(5000)
    k = np.ones(40)
    key = fastconv.plan(x, k).spec.key()
    for entry in ("garbage", {"method": 3}, {"method": "fft", "times": "x"},
                  {"method": "fft", "times": {"fft": "slow"}}, ["fft"]):
        (tmp_path / wisdom.FILENAME).write_text(json.dumps({key: entry}))
        wisdom._cache.update(dir=None, data=None, gen=wisdom._cache["gen"] + 1)
        np.testing.assert_allclose(fastconv.convolve(x, k), np.convolve(x, k), atol=1e-9)


def test_fftconvolve_same_crops_broadcast_axes_to_in1():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((50, 1))
    b = rng.standard_normal((7, 3))
    for f, g in ((fs.fftconvolve, ss.fftconvolve), (fs.oaconvolve, ss.oaconvolve)):
        got = f(a, b, mode="same", axes=0)
        want = g(a, b, mode="same", axes=0)
        assert got.shape == want.shape == (50, 1)
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_convolve2d_fillvalue_out_of_range_refused_like_scipy():
    a = np.ones((3, 3), np.int8)
    with pytest.raises(ValueError, match="fillvalue"):
        fs.convolve2d(a, a, fillvalue=300)
    with pytest.raises(ValueError):
        ss.convolve2d(a, a, fillvalue=300)
    np.testing.assert_array_equal(fs.convolve2d(a, a, fillvalue=7),
                                  ss.convolve2d(a, a, fillvalue=7))


def test_astropy_fft_wrap_fills_nans_with_fill_value():
    ac = pytest.importorskip("astropy.convolution")
    from fastconv.astropy import convolve_fft

    x = np.arange(25.0).reshape(5, 5)
    x[2, 2] = np.nan
    k = np.ones((3, 3))
    kw = dict(boundary="wrap", nan_treatment="fill", fill_value=4.0)
    np.testing.assert_allclose(convolve_fft(x, k, **kw), ac.convolve_fft(x, k, **kw),
                               atol=1e-12)


def test_astropy_fft_size_guard():
    from fastconv.astropy import convolve_fft

    x = np.broadcast_to(np.zeros(1), (9000, 9000))          # 1.3 GB as complex
    with pytest.raises(ValueError, match="allow_huge"):
        convolve_fft(x, np.ones((3, 3)))
