"""fastconv.filters against OpenCV, scipy.ndimage and scikit-image."""
import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from fastconv import filters
from tests.conftest import assert_close

CV_BORDERS = {"reflect": cv2.BORDER_REFLECT, "mirror": cv2.BORDER_REFLECT_101,
              "nearest": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}
MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]


def img(rng, shape=(37, 41), dtype=np.float32):
    return rng.random(shape).astype(dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", [(3, 3), (5, 4), (1, 7), (9, 9), (16, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_filter_matches_ndimage_correlate(mode, kshape, dtype, rng):
    x = img(rng, dtype=dtype)
    k = rng.standard_normal(kshape)
    got = filters.filter(x, k, mode=mode, cval=0.7)
    want = ndi.correlate(x.astype(np.float64), k, mode=mode, cval=0.7)
    assert got.dtype == dtype
    assert_close(got, want, 1e-4 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "constant"])
@pytest.mark.parametrize("ksize", [3, 5, 9, 17])
def test_filter_matches_cv2_filter2d(mode, ksize, rng):
    x = img(rng, (64, 48))
    k = rng.standard_normal((ksize, ksize)).astype(np.float32)
    got = filters.filter(x, k, mode=mode)
    want = cv2.filter2D(x, -1, k, borderType=CV_BORDERS[mode])
    assert_close(got, want, 2e-4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("kname", ["box:5", "gaussian:1.5", "sharpen", "emboss", "sobel"])
def test_integer_images_round_and_saturate_like_cv2(dtype, kname, rng):
    top = np.iinfo(dtype).max
    x = rng.integers(0, top + 1, (50, 60)).astype(dtype)
    k = filters.kernel(kname)
    got = filters.filter(x, k, mode="mirror")
    assert got.dtype == dtype
    # exact reference: float64 correlation, round half to even, saturate
    ref = np.clip(np.rint(ndi.correlate(x.astype(np.float64), k, mode="mirror")), 0, top)
    diff = np.abs(got.astype(np.int64) - ref.astype(np.int64))
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3
    cv = cv2.filter2D(x, -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(got.astype(np.int64) - cv.astype(np.int64)).max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kname", ["box:5", "gaussian:2", "sobel", "outer"])
@pytest.mark.parametrize("channel_axis", [None, -1, 0])
def test_fused_integer_path_rounds_and_saturates(dtype, mode, kname, channel_axis, rng,
                                                 monkeypatch, prefer_fused):
    """Rank-1 kernels on 8/16-bit images run one fused kernel that reads and
    writes the integer image (no float copies); same numbers as float64
    correlation rounded half to even and saturated (at most 1 off where the
    float32 sum sits at a half), every boundary, colour layouts."""
    from fastconv.algorithms import separable

    calls = []
    real = separable.filter_int_2d
    monkeypatch.setattr(separable, "filter_int_2d", lambda *a: calls.append(1) or real(*a))
    info = np.iinfo(dtype)
    shape = {None: (70, 90), -1: (70, 90, 3), 0: (2, 70, 90)}[channel_axis]
    x = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    k = (np.outer([1.0, -2.0, 0.5, 3.0], [2.0, -1.0]) / 1.7 if kname == "outer"
         else filters.kernel(kname))                 # even sizes, both signs: saturation
    got = filters.filter(x, k, mode=mode, channel_axis=channel_axis)
    assert got.dtype == dtype and got.shape == x.shape and calls
    xs = np.moveaxis(x, channel_axis, 0) if channel_axis is not None else x[None]
    want = np.stack([ndi.correlate(c.astype(np.float64), k, mode=mode) for c in xs])
    want = np.clip(np.rint(want), info.min, info.max)
    if channel_axis is not None:
        want = np.moveaxis(want, 0, channel_axis)
    else:
        want = want[0]
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ksize,scale", [((5, 5), None), ((4, 6), None), ((3, 21), None),
                                         ((40, 2), None), ((300, 300), None), ((3, 3), 2.0)])
def test_box_filters_on_integer_images_sum_exactly(dtype, mode, ksize, scale, rng, monkeypatch,
                                                   prefer_fused):
    """Constant kernels on integer images run on exact integer running sums:
    the result is the correctly rounded (half to even), saturated
    ``sum * value``, checked against ndimage's exact int64 sums, and it
    agrees with cv2.blur where OpenCV has the case."""
    from fastconv.algorithms import separable

    calls = []
    real = separable._box_int_2d
    monkeypatch.setattr(separable, "_box_int_2d", lambda *a: calls.append(1) or real(*a))
    info = np.iinfo(dtype)
    shape = (2, 90, 70) if ksize[0] < 300 else (1, 320, 310)
    x = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    k = np.full(ksize, scale if scale else 1.0 / (ksize[0] * ksize[1]))
    got = filters.filter(x, k, mode=mode, channel_axis=0)
    assert calls and got.dtype == dtype
    sums = x.astype(np.int64)                 # exact: two 1-D passes of int64 ones
    for ax, kk in ((1, ksize[0]), (2, ksize[1])):
        sums = ndi.correlate1d(sums, np.ones(kk, np.int64), axis=ax, mode=mode)
    want = np.clip(np.rint(sums * k[0, 0]), info.min, info.max)
    np.testing.assert_array_equal(got, want)
    if dtype != np.int16 and mode in ("mirror", "nearest", "reflect") and scale is None:
        cv = cv2.blur(x[0], ksize[::-1], borderType=CV_BORDERS[mode])
        assert np.abs(cv.astype(np.int64) - got[0]).max() <= 1


_INT_KERNELS = {
    "sobel-x": filters.sobel_kernel("x"),
    "sobel-y": filters.sobel_kernel("y"),
    "scharr": np.outer([3, 10, 3], [-1, 0, 1]),
    "sobel5": np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]),
    "even": np.outer([1, -2, 3, 1], [2, -1]),
    "zero-row": np.outer([0, 1, 0, 2], [1, 2, 1]),
    "int32": np.outer([100, -200], [50, 3, -7]),
    "too-wide": np.outer([3000, -3000], [3000, 1]),
}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kname", sorted(_INT_KERNELS))
@pytest.mark.parametrize("shape", [(2, 70, 90), (1, 3, 20000), (1, 2, 1)])
def test_integer_kernels_on_integer_images_are_exact(dtype, mode, kname, shape, rng,
                                                     monkeypatch, prefer_fused):
    """Rank-1 kernels with integer taps (Sobel, Scharr, binomial derivatives)
    on 8/16-bit images sum in exact int16/int32 arithmetic (the narrowest
    that holds every partial sum) and saturate: equal to ndimage's exact
    int64 correlation clipped, every boundary, long rows cut into strips,
    images smaller than the kernel; a kernel whose sums could overflow int32
    takes the float path (checked there to the general path's tolerance)."""
    from fastconv.algorithms import separable

    accs = []
    real = separable._exact_int_2d
    monkeypatch.setattr(separable, "_exact_int_2d",
                        lambda x, u, v, *a: accs.append(u.dtype) or real(x, u, v, *a))
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    if mode == "constant":          # the extremes next to the zero padding too
        x[:, 0, :1] = info.min
        x[:, -1, -1:] = info.max
    k = np.asarray(_INT_KERNELS[kname], dtype=np.float64)
    got = filters.filter(x, k, mode=mode, channel_axis=0)
    assert got.dtype == dtype and got.shape == x.shape
    want = np.stack([ndi.correlate(c.astype(np.int64), k.astype(np.int64), mode=mode)
                     for c in x])
    want = np.clip(want, info.min, info.max)
    bound = (np.abs(k).sum(axis=1).max() * np.abs(k).sum(axis=0).max()
             / np.abs(k).max() * max(-int(info.min), int(info.max)))
    if bound >= 2 ** 31:
        assert not accs                 # float sums: float32's error for 8-bit images
        mag = np.stack([ndi.correlate(np.abs(c.astype(np.float64)), np.abs(k), mode=mode)
                        for c in x])
        eps = np.finfo(np.float32 if info.bits == 8 else np.float64).eps
        assert np.all(np.abs(got.astype(np.int64) - want) <= 1 + k.size * eps * mag)
        return
    if shape[2] > 1:                # (a 1-column image may be planned as rows)
        assert accs == [np.int16 if bound < 2 ** 15 else np.int32]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dx,dy,ksize", [(1, 0, 3), (0, 1, 3), (1, 0, 5), (2, 0, 5)])
@pytest.mark.parametrize("mode", ["mirror", "nearest", "reflect"])
def test_uint8_sobel_equals_cv2_sobel(dx, dy, ksize, mode, rng):
    """The exact integer path gives cv2.Sobel's 8-bit results bit for bit."""
    x = rng.integers(0, 256, (61, 83)).astype(np.uint8)
    kx, ky = cv2.getDerivKernels(dx, dy, ksize)
    k = np.outer(ky[:, 0], kx[:, 0])
    got = filters.filter(x, k, mode=mode)
    want = cv2.Sobel(x, cv2.CV_8U, dx, dy, ksize=ksize, borderType=CV_BORDERS[mode])
    np.testing.assert_array_equal(got, want)


def test_saturation_both_ends():
    x = np.array([[0, 0, 0], [0, 255, 0], [0, 0, 0]], np.uint8)
    y = filters.filter(x, filters.sharpen_kernel(), mode="constant")
    assert y[1, 1] == 255 and y[0, 1] == 0          # 1275 -> 255, -255 -> 0
    x16 = np.full((4, 4), 60000, np.uint16)
    assert filters.filter(x16, 2 * filters.box_kernel(3)).max() == 65535


def test_channel_axis_filters_each_channel(rng):
    x = img(rng, (30, 20, 3))
    k = rng.standard_normal((5, 3))
    got = filters.filter(x, k, channel_axis=-1, mode="nearest")
    for c in range(3):
        assert_close(got[..., c], ndi.correlate(x[..., c].astype(np.float64), k, mode="nearest"),
                     1e-4)
    first = filters.filter(np.moveaxis(x, -1, 0), k, channel_axis=0, mode="nearest")
    assert_close(np.moveaxis(first, 0, -1), got, 1e-6)
    cv = cv2.filter2D(x, -1, k.astype(np.float32), borderType=cv2.BORDER_REPLICATE)
    assert_close(got, cv, 2e-4)


def test_nd_image(rng):
    x = img(rng, (12, 13, 14), np.float64)
    k = rng.standard_normal((3, 4, 5))
    assert_close(filters.filter(x, k, mode="wrap"), ndi.correlate(x, k, mode="wrap"), 1e-11)


@pytest.mark.parametrize("sigma", [0.7, 2.0, (1.0, 3.0)])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest"])
def test_gaussian_matches_ndimage_and_cv2(sigma, mode, rng):
    x = img(rng, (70, 80), np.float64)
    got = filters.gaussian(x, sigma, mode=mode)
    assert_close(got, ndi.gaussian_filter(x, sigma, mode=mode), 1e-12)
    if np.ndim(sigma) == 0:
        r = int(4 * sigma + 0.5)
        cv = cv2.GaussianBlur(x, (2 * r + 1, 2 * r + 1), sigma,
                              borderType=CV_BORDERS[mode])
        assert_close(got, cv, 1e-6)


def test_gaussian_3d_and_colour(rng):
    x = img(rng, (20, 22, 24))
    assert_close(filters.gaussian(x, 1.5), ndi.gaussian_filter(x.astype(np.float64), 1.5), 1e-5)
    c = img(rng, (40, 30, 3))
    assert_close(filters.gaussian(c, 2.0, channel_axis=2),
                 ndi.gaussian_filter(c.astype(np.float64), (2.0, 2.0, 0)), 1e-5)


@pytest.mark.parametrize("op", ["sobel", "scharr", "prewitt"])
def test_gradients_match_anchors(op, rng):
    x = img(rng, (40, 50), np.float64)
    gx = filters.edges(x, op, "x", mode="mirror")
    gy = filters.edges(x, op, "y", mode="mirror")
    if op == "prewitt":
        assert_close(gx, ndi.prewitt(x, axis=1, mode="mirror"), 1e-11)
        assert_close(gy, ndi.prewitt(x, axis=0, mode="mirror"), 1e-11)
    else:
        fn = cv2.Sobel if op == "sobel" else cv2.Scharr
        args = (3,) if op == "sobel" else ()
        assert_close(gx, fn(x, cv2.CV_64F, 1, 0, *args, borderType=cv2.BORDER_REFLECT_101), 1e-11)
        assert_close(gy, fn(x, cv2.CV_64F, 0, 1, *args, borderType=cv2.BORDER_REFLECT_101), 1e-11)
    mag = filters.edges(x, op, mode="mirror")
    assert_close(mag, np.hypot(gx, gy), 1e-12)
    if op == "sobel":
        assert_close(gx, ndi.sobel(x, axis=1, mode="mirror"), 1e-11)


def test_edges_of_uint8_are_float_and_signed(rng):
    x = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (5, 1))
    g = filters.edges(x, "sobel", "x")
    assert g.dtype == np.float32 and g[2, 5] == 80.0          # 4 * 2 * 10
    assert filters.edges(x[:, ::-1], "sobel", "x")[2, 5] == -80.0


def test_laplacian_log_dog_unsharp(rng):
    import skimage.filters as skf

    x = img(rng, (45, 40), np.float64)
    assert_close(filters.filter(x, filters.laplacian_kernel(), mode="mirror"),
                 cv2.Laplacian(x, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT_101), 1e-12)
    assert_close(filters.filter(x, filters.log_kernel(1.5)), ndi.gaussian_laplace(x, 1.5), 1e-11)
    assert_close(filters.filter(x, filters.dog_kernel(1.0, 3.0), mode="nearest"),
                 skf.difference_of_gaussians(x, 1.0, 3.0, mode="nearest"), 1e-11)
    got = filters.filter(x, filters.unsharp_kernel(2.0, 0.8), mode="reflect")
    want = skf.unsharp_mask(x, radius=2.0, amount=0.8, preserve_range=True)   # no clipping
    assert_close(got, want, 1e-11)


def test_box_disk_motion_kernels(rng):
    import skimage.morphology as skm

    x = img(rng, (30, 30), np.float64)
    assert_close(filters.filter(x, filters.box_kernel(5), mode="reflect"),
                 ndi.uniform_filter(x, 5, mode="reflect"), 1e-12)
    assert_close(filters.filter(x, filters.box_kernel(5), mode="mirror"),
                 cv2.blur(x, (5, 5), borderType=cv2.BORDER_REFLECT_101), 1e-12)
    d = skm.disk(4).astype(float)
    np.testing.assert_allclose(filters.disk_kernel(4), d / d.sum())
    m = filters.motion_kernel(9)
    assert m.shape == (9, 9) and np.isclose(m.sum(), 1) and np.count_nonzero(m[4]) == 9
    v = filters.motion_kernel(9, 90)
    assert np.count_nonzero(v[:, 4]) == 9 and np.count_nonzero(v) == 9
    diag = filters.motion_kernel(7, 45)        # Euclidean length: +-3 along the line
    nz = np.argwhere(diag)
    assert np.all(nz[:, 0] + nz[:, 1] == 6) and len(nz) == 5


def test_kernel_specs():
    np.testing.assert_array_equal(filters.kernel("box:3"), filters.box_kernel(3))
    np.testing.assert_array_equal(filters.kernel("sobel-y"), filters.sobel_kernel("y"))
    np.testing.assert_array_equal(filters.kernel("gaussian:2"), filters.gaussian_kernel(2))
    assert filters.kernel("motion:7").shape == (7, 7)
    for bad, msg in [("", "non-empty"), ("blur", "unknown kernel"), ("box", "takes 1"),
                     ("gaussian:x", "numbers"), ("gaussian:-1", "sigma")]:
        with pytest.raises(ValueError, match=msg):
            filters.kernel(bad)


def test_filter_errors(rng):
    x = img(rng)
    with pytest.raises(ValueError, match="mode"):
        filters.filter(x, np.ones((3, 3)), mode="symmetric")
    with pytest.raises(ValueError, match="kernel must have one dimension per spatial"):
        filters.filter(x, np.ones(3))
    with pytest.raises(ValueError, match="kernel must have one dimension per spatial"):
        filters.filter(np.ones((4, 4, 3)), np.ones((3, 3)))        # forgot channel_axis
    with pytest.raises(ValueError, match="channel_axis"):
        filters.filter(x, np.ones(3), channel_axis=5)
    with pytest.raises(TypeError, match="kernel is complex"):
        filters.filter(x, np.ones((3, 3)) * 1j)
    with pytest.raises(ValueError, match="direction"):
        filters.edges(x, direction="z")
    with pytest.raises(ValueError, match="operator"):
        filters.edges(x, operator="canny")


def test_bool_and_float16(rng):
    m = rng.random((20, 20)) > 0.5
    y = filters.filter(m, filters.box_kernel(3))
    assert y.dtype == np.float32
    assert_close(y, ndi.uniform_filter(m.astype(np.float64), 3), 1e-6)
    h = img(rng, (20, 20), np.float16)
    assert filters.filter(h, filters.box_kernel(3)).dtype == np.float16


@pytest.mark.parametrize("size", [(3, 3), (5, 5), (7, 3), (2, 9), (21, 21)])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_float32_box_running_sums(size, mode, rng, prefer_fused):
    """float32 box filters run on float64 running sums (O(1) per pixel): the
    float64 mean rounded to float32, within float32 rounding of ndimage."""
    x = rng.standard_normal((67, 131)).astype(np.float32) * 100
    got = filters.filter(x, np.full(size, 1.0 / (size[0] * size[1])), mode=mode)
    want = ndi.uniform_filter(x.astype(np.float64), size, mode=mode)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * 100 * 4)
    c = rng.standard_normal((40, 70, 3)).astype(np.float32)         # colour channels
    got = filters.filter(c, np.ones(size), mode=mode, channel_axis=-1)
    want = ndi.correlate(c.astype(np.float64), np.ones(size + (1,)), mode=mode)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * size[0] * size[1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float32_box_with_nan_or_inf_takes_the_general_path(bad, rng, prefer_fused):
    """A NaN or Inf would stay in the running sums: the result must equal the
    general path's (NaN/Inf only in the windows that hold it)."""
    x = rng.standard_normal((80, 90)).astype(np.float32)
    x[40, 45] = bad
    got = filters.filter(x, np.ones((5, 5)), mode="reflect")
    want = ndi.correlate(x.astype(np.float64), np.ones((5, 5)), mode="reflect")
    assert np.array_equal(np.isfinite(got), np.isfinite(want))
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=0, atol=1e-4)
    assert np.isfinite(got).sum() == 80 * 90 - 25


def test_fused_filter_is_a_planned_algorithm(rng):
    """The fused box filter is a candidate the planner costs and explains
    (DESIGN.md: a front end's fast path is an algorithm), chosen for a large
    float32 box, absent where it does not apply, and right either way."""
    import fastconv

    x = rng.standard_normal((1024, 1024)).astype(np.float32)
    k = np.full((31, 31), 1 / 961, np.float32)
    p = fastconv.plan(x, k, mode="same", boundary="reflect", op="correlate")
    assert "fused" in p.explain() and p.method == "fused"
    want = ndi.uniform_filter(x.astype(np.float64), 31, mode="mirror")
    np.testing.assert_allclose(p(x, k), want, rtol=0, atol=1e-5)
    q = fastconv.plan(x, k + rng.random(k.shape).astype(np.float32), mode="same")
    assert "fused" not in [c["method"] for c in q.candidates]
