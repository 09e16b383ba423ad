"""Both compiled variants of every parallel kernel (``fastconv._kernels.Parallel``:
the serial loop that serves first calls and threads=1, the ``prange`` loop
that serves the rest) against the naive reference, on problems large enough
to split into several units of work: 1-D rows (generic and fixed-tap),
every block choice of the 2-D vector kernel, the separable, plane and volume
kernels, the hybrid method, integer and complex inputs."""
import numpy as np
import pytest

import fastconv
from fastconv._kernels import forced
from tests import reference as ref
from tests.conftest import assert_close, make, tolerance

# (image, kernel, method); the 2-D kernels cover every block choice of
# simd_rows (unrolled 3/5/7/9 taps, the tap loop, block heights 1-4)
CASES = [((20000,), (31,), "direct"), ((9000,), (7,), "direct"), ((3, 4000), (1, 12), "direct"),
         ((150, 203), (3, 3), "direct"), ((150, 203), (5, 5), "direct"),
         ((150, 203), (7, 7), "direct"), ((150, 203), (9, 9), "direct"),
         ((150, 203), (4, 6), "direct"), ((150, 203), (17, 17), "direct"),
         ((150, 203), (2, 3), "direct"), ((150, 203), (1, 5), "direct"),
         ((3, 150, 203), (3, 3, 3), "direct"), ((40, 50, 61), (5, 4, 3), "direct"),
         ((150, 203), (9, 9), "separable"), ((30, 40, 50), (5, 5, 5), "separable"),
         ((150, 203), (15, 40), "hybrid")]


def _kernel(rng, ks, method, dtype):
    if method != "separable":
        return make(rng, ks, dtype)
    k = np.ones(1)
    for n in ks:
        k = np.multiply.outer(k, rng.standard_normal(n))
    return k.reshape(ks).astype(dtype)


@pytest.mark.parametrize("variant", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("xs,ks,method", CASES, ids=str)
def test_variant_against_reference(variant, dtype, xs, ks, method, rng):
    x = make(rng, xs, dtype)
    k = _kernel(rng, ks, method, dtype)
    for mode, boundary in [("same", "reflect"), ("full", "constant")]:
        with forced(variant):
            got = fastconv.correlate(x, k, mode=mode, method=method, boundary=boundary)
        assert_close(got, ref.correlate(x, k, mode, boundary), tolerance(dtype, x, k))


@pytest.mark.parametrize("variant", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.uint8])
def test_variant_other_dtypes(variant, dtype, rng):
    x = make(rng, (120, 170), dtype)
    k = make(rng, (5, 5), dtype)
    with forced(variant):
        got = fastconv.convolve(x, k, mode="same", method="direct")
    want = ref.convolve(x, k, "same")
    assert_close(got, want, tolerance(got.dtype, x, k))


def test_forced_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        with forced("both"):
            pass
