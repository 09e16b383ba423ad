"""The register-blocked direct kernels (_kernels/simd.py) against the naive
reference (2-D, and the 3-D/4-D plane-summing blocks): images wide enough for its vector blocks (24 float32 / 12 float64
columns) and narrow ones, every output mode and boundary rule, kernels with
fewer rows than a block (1-3) and more, edge columns wider than a block,
batches with one kernel and with a kernel per image."""
import numpy as np
import pytest

import fastconv
from fastconv.algorithms import direct
from tests import reference as ref
from tests.conftest import BOUNDARIES, MODES, assert_close, make, tolerance

IMAGES = [(37, 61), (9, 50), (26, 27)]
KERNELS = [(1, 1), (1, 5), (2, 3), (3, 3), (4, 7), (5, 5), (9, 9), (7, 17), (17, 3), (3, 30)]

# 3-D and 4-D: the plane-summing blocks (simd_planes) on the input padded on
# its last two axes; zero planes skipped, reflected planes mapped; rows
# narrower than a block (buffer), a column remainder (block shifted left),
# plane rows not a multiple of the block's rows
VOLUMES = [(9, 13, 30), (5, 26, 61), (4, 6, 7)]
KERNELS3 = [(1, 1, 1), (3, 3, 3), (2, 5, 4), (4, 1, 6), (5, 7, 3), (3, 2, 13)]


def test_the_kernel_is_used():
    assert direct.SIMD == direct.host_vector_fma()
    if not direct.SIMD:           # no AVX2/FMA here: the row kernels serve all
        assert not direct.uses_simd(2, np.float32) and not direct.uses_simd(3, "f8")
        return
    assert direct.uses_simd(2, np.float32) and direct.uses_simd(2, "f8")
    assert direct.uses_simd(3, np.float32) and direct.uses_simd(4, "f8")
    assert not direct.uses_simd(1, np.float32)
    assert direct.uses_simd(3, "f4", (2, 3, 3)) and not direct.uses_simd(3, "f4", (3, 2, 2))
    assert not direct.uses_simd(2, np.complex64) and not direct.uses_simd(2, np.int64)


def _cases(images, kernels, either=True):
    """(image, kernel, mode) triples; 'valid' only where one input is at
    least as large as the other on every axis (``either``) or the image is."""
    for xs in images:
        for ks in kernels:
            for mode in MODES:
                big = all(a >= b for a, b in zip(xs, ks))
                small = either and all(a <= b for a, b in zip(xs, ks))
                if mode != "valid" or big or small:
                    yield xs, ks, mode


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("xs,ks,mode", list(_cases(IMAGES, KERNELS)) +
                         list(_cases(VOLUMES, KERNELS3)), ids=str)
def test_against_reference(dtype, xs, ks, mode, rng):
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    for boundary in BOUNDARIES if mode == "same" else ["constant"]:
        cval = 0.75 if boundary == "constant" and mode == "same" else 0
        got = fastconv.correlate(x, k, mode=mode, method="direct", boundary=boundary,
                                 cval=cval)
        want = ref.correlate(x, k, mode, boundary, cval)
        assert got.dtype == dtype
        assert_close(got, want, tolerance(dtype, x, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("per_image", [False, True])
def test_batches(dtype, per_image, rng):
    x = make(rng, (3, 30, 53), dtype)
    k = make(rng, (3, 5, 6) if per_image else (5, 6), dtype)
    got = fastconv.convolve(x, k if per_image else k[None], mode="same", method="direct",
                            axes=(1, 2), boundary="reflect")
    for i in range(3):
        want = ref.convolve(x[i], k[i] if per_image else k, "same", "reflect")
        assert_close(got[i], want, tolerance(dtype, x[i], k))


SEPARABLE = [(2, 3), (3, 3), (3, 1), (4, 5), (5, 2), (9, 9), (17, 3), (1, 4)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("xs,ks,mode", list(_cases(IMAGES[:2], SEPARABLE, either=False)),
                         ids=str)
def test_separable_against_reference(dtype, xs, ks, mode, rng):
    """The fused separable kernel (sep2d_simd): kernel heights below, at and
    above its 4-row blocks, every boundary rule in 'same'."""
    x = make(rng, xs, dtype)
    k = np.outer(rng.standard_normal(ks[0]), rng.standard_normal(ks[1])).astype(dtype)
    for boundary in BOUNDARIES if mode == "same" else ["constant"]:
        got = fastconv.correlate(x, k, mode=mode, method="separable", boundary=boundary)
        want = ref.correlate(x, k, mode, boundary)
        assert_close(got, want, tolerance(dtype, x, k))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("ks", SEPARABLE[:6], ids=str)
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_separable_integer_images(dtype, ks, mode, rng):
    """8/16-bit images read and written by the fused kernel: the float64
    correlation rounded half to even and saturated (float32 sums for 8-bit
    images may round a half-way case the other way: off by at most 1, rarely)."""
    from scipy import ndimage as ndi

    from fastconv import filters

    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (40, 77)).astype(dtype)
    k = np.outer(rng.standard_normal(ks[0]), rng.standard_normal(ks[1]))
    got = filters.filter(x, k, mode=mode)
    want = np.clip(np.rint(ndi.correlate(x.astype(np.float64), k, mode=mode)),
                   info.min, info.max)
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert got.dtype == dtype
    assert diff.max() <= (1 if dtype == np.uint8 else 0) and np.mean(diff > 0) < 1e-2


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
def test_3d_planes_one_at_a_time(dtype, monkeypatch, rng):
    # the wide-row order (kernel planes one at a time, sums kept in the output),
    # forced on every volume, plus one volume wide enough to take it by itself
    monkeypatch.setattr(direct, "PLANE_OUTER_COLS", 0)
    for xs in VOLUMES + [(3, 5, 200)]:
        for ks in KERNELS3:
            x = make(rng, xs, dtype)
            k = make(rng, ks, dtype)
            for mode, boundary in [("same", "reflect"), ("same", "constant"), ("full", "constant")]:
                got = fastconv.correlate(x, k, mode=mode, method="direct", boundary=boundary)
                assert_close(got, ref.correlate(x, k, mode, boundary, 0), tolerance(dtype, x, k))
    monkeypatch.setattr(direct, "PLANE_OUTER_COLS", 192)
    x = make(rng, (4, 6, 230), dtype)
    k = make(rng, (3, 3, 5), dtype)
    assert_close(fastconv.convolve(x, k, mode="same", method="direct", boundary="wrap"),
                 ref.convolve(x, k, "same", "wrap"), tolerance(dtype, x, k))


@pytest.mark.parametrize("per_image", [False, True])
def test_3d_batches_and_4d(per_image, rng):
    x = make(rng, (2, 6, 9, 40), np.float32)
    k = make(rng, (2, 3, 4, 5) if per_image else (3, 4, 5), np.float32)
    got = fastconv.convolve(x, k if per_image else k[None], mode="same", method="direct",
                            axes=(1, 2, 3), boundary="wrap")
    for i in range(2):
        want = ref.convolve(x[i], k[i] if per_image else k, "same", "wrap")
        assert_close(got[i], want, tolerance(np.float32, x[i], k))
    x4 = make(rng, (4, 5, 6, 30), np.float64)
    k4 = make(rng, (2, 3, 2, 4), np.float64)
    assert_close(fastconv.convolve(x4, k4, mode="full", method="direct"),
                 ref.convolve(x4, k4, "full"), tolerance(np.float64, x4, k4))
