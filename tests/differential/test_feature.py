"""Template matching against scikit-image and OpenCV."""
import cv2
import numpy as np
import pytest

from fastconv.feature import METHODS, best_matches, match_template
from tests.conftest import assert_close

skf = pytest.importorskip("skimage.feature")


def scene(rng, shape=(60, 70), dtype=np.float64):
    return rng.random(shape).astype(dtype)


@pytest.mark.parametrize("pad_input", [False, True])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("tshape", [(5, 5), (8, 3), (1, 9), (16, 16)])
def test_skimage_2d(pad_input, mode, tshape, rng):
    x = scene(rng)
    t = x[20:20 + tshape[0], 30:30 + tshape[1]] + 0.1 * rng.random(tshape)
    got = match_template(x, t, pad_input, mode, constant_values=0.3)
    want = skf.match_template(x, t, pad_input, mode, constant_values=0.3)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert_close(got, want, 1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.uint16])
def test_skimage_dtypes(dtype, rng):
    x = (rng.random((50, 40)) * 200).astype(dtype)
    t = x[10:22, 5:15].copy()
    got = match_template(x, t)
    want = skf.match_template(x, t)
    assert got.dtype == want.dtype
    assert_close(got, want, 2e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("pad_input", [False, True])
def test_skimage_3d(pad_input, rng):
    x = scene(rng, (20, 22, 18))
    t = x[4:9, 6:10, 3:8].copy()
    assert_close(match_template(x, t, pad_input), skf.match_template(x, t, pad_input), 1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("tshape", [(7, 7), (12, 5), (33, 40)])
def test_cv2_every_method(method, tshape, rng):
    x = scene(rng, (80, 90), np.float32)
    t = (x[30:30 + tshape[0], 40:40 + tshape[1]] + 0.2 * rng.random(tshape)).astype(np.float32)
    cv_method = getattr(cv2, "TM_" + method.upper())
    want = cv2.matchTemplate(x, t, cv_method)
    for spelled in (method, cv_method, "TM_" + method.upper()):
        got = match_template(x, t, method=spelled)
        scale = max(1.0, float(np.abs(want).max()))
        assert_close(got, want, 2e-4 * scale)


@pytest.mark.parametrize("method", METHODS)
def test_cv2_masked(method, rng):
    x = scene(rng, (50, 60), np.float32)
    t = x[10:21, 20:29].copy() + 0.05
    mask = rng.random(t.shape) > 0.3
    want = cv2.matchTemplate(x, t, getattr(cv2, "TM_" + method.upper()),
                             mask=mask.astype(np.uint8))
    got = match_template(x, t, method=method, mask=mask)
    scale = max(1.0, float(np.abs(want).max()))
    assert_close(got, want, 2e-4 * scale)


def test_finds_the_template_and_best_matches(rng):
    x = scene(rng, (120, 130))
    spots = [(10, 15), (70, 90), (40, 100)]
    t = rng.random((9, 9))
    for r, c in spots:
        x[r:r + 9, c:c + 9] = t
    score = match_template(x, t)
    got = best_matches(score, n=3, min_distance=5)
    assert sorted(p for p, _ in got) == sorted(spots)
    assert all(abs(s - 1) < 1e-9 for _, s in got)
    sq = match_template(x, t, method="sqdiff")
    assert sorted(p for p, _ in best_matches(sq, 3, method="sqdiff", min_distance=5)) == sorted(spots)
    assert best_matches(score, 2, threshold=0.99, min_distance=5)[1][1] > 0.99


def test_scores_stay_in_range_and_flat_windows_are_defined(rng):
    x = scene(rng, (40, 40)) * 1e4 + 1e6          # large offset: cancellation-prone
    x[:, :15] = 3.0                                 # a flat region
    t = x[10:18, 20:28].copy()
    s = match_template(x, t)
    assert np.all(np.abs(s) <= 1.0) and np.isfinite(s).all()
    assert np.all(s[:, :8] == 0.0)                 # windows inside the flat region
    flat_t = np.full((5, 5), 2.0)
    assert np.all(match_template(x, flat_t) == 0.0)                          # skimage: 0
    assert_close(match_template(x, flat_t), skf.match_template(x, flat_t), 0)
    z = np.zeros((30, 30), np.float32)
    tz = rng.random((4, 4)).astype(np.float32)
    assert np.all(match_template(z, tz, method="ccorr_normed") == 0)
    assert np.all(match_template(z, tz, method="sqdiff_normed") == 1)
    assert_close(match_template(z, tz, method="sqdiff_normed"),
                 cv2.matchTemplate(z, tz, cv2.TM_SQDIFF_NORMED), 0)


def test_errors(rng):
    x = scene(rng, (20, 20))
    with pytest.raises(ValueError, match="at least as large"):
        match_template(x[:5, :5], x[:8, :8])
    with pytest.raises(ValueError, match="method"):
        match_template(x, x[:3, :3], method="sad")
    with pytest.raises(ValueError, match="same number of dimensions"):
        match_template(x, x[0, :3])
    with pytest.raises(ValueError, match="mask"):
        match_template(x, x[:3, :3], mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="mask selects no"):
        match_template(x, x[:3, :3], mask=np.zeros((3, 3), bool))
    bad = x.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        match_template(bad, x[:3, :3])
    with pytest.raises(TypeError, match="complex"):
        match_template(x * 1j, x[:3, :3])
    with pytest.raises(ValueError, match="min_distance"):
        best_matches(x, min_distance=-1)
