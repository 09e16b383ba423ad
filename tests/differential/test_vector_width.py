"""The register-blocked kernels at both vector widths (256-bit, the AVX2
class; 512-bit, chosen on AVX-512 hosts) against the naive reference, on
images wide enough for several blocks of either width (a 512-bit float32
block is 64 columns) plus a remainder: 2-D (every block height, unrolled
and looped taps), the fused separable kernel, 3-D plane-summing blocks.
Either width runs correctly on any x86-64 host (LLVM splits vectors the
CPU does not have), so both are tested everywhere."""
import os

import numpy as np
import pytest

import fastconv
from fastconv._kernels import simd
from fastconv.algorithms import direct
from tests import reference as ref
from tests.conftest import BOUNDARIES, assert_close, make, tolerance

pytestmark = pytest.mark.skipif(not direct.SIMD, reason="no AVX2/FMA: the row kernels serve all")


@pytest.fixture(params=[256, 512], ids=["256bit", "512bit"])
def bits(request, monkeypatch):
    monkeypatch.setattr(direct, "VECTOR_BITS", request.param, raising=False)
    return request.param


def _ran_with(dispatcher, bits, pos=-2):
    """Whether ``dispatcher`` (its width argument at ``pos``) has been
    compiled for the width ``bits``."""
    nd = 1 + simd.BITS.index(bits)
    return any(sig[pos].ndim == nd for d in (dispatcher.par, dispatcher.ser)
               for sig in d.signatures)


def test_host_width():
    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("the independent check reads the CPU flags from /proc/cpuinfo (Linux only)")
    flags = open("/proc/cpuinfo").read().split()
    assert direct.host_vector_bits() == (512 if "avx512f" in flags else 256)
    assert simd.block_columns(4, 256) == 24 and simd.block_columns(8, 256) == 12
    assert simd.block_columns(4, 512) == 64 and simd.block_columns(8, 512) == 32


def test_env_width(monkeypatch):
    direct._bits_default.cache_clear()
    try:
        monkeypatch.setenv("FASTCONV_VECTOR_BITS", "256")
        assert direct.vector_bits() == 256
        direct._bits_default.cache_clear()
        monkeypatch.setenv("FASTCONV_VECTOR_BITS", "1024")
        with pytest.raises(ValueError, match="FASTCONV_VECTOR_BITS"):
            direct.vector_bits()
    finally:
        monkeypatch.delenv("FASTCONV_VECTOR_BITS")
        direct._bits_default.cache_clear()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("ks", [(1, 1), (2, 3), (3, 3), (4, 7), (5, 5), (9, 9), (6, 20)], ids=str)
def test_2d(bits, dtype, ks, rng):
    for xs in [(11, 203), (10, 70)]:
        x = make(rng, xs, dtype)
        k = make(rng, ks, dtype)
        for mode in ["full", "same", "valid"]:
            for boundary in BOUNDARIES if mode == "same" else ["constant"]:
                got = fastconv.correlate(x, k, mode=mode, method="direct", boundary=boundary)
                want = ref.correlate(x, k, mode, boundary, 0)
                assert got.dtype == dtype
                assert_close(got, want, tolerance(dtype, x, k))
    if ks != (1, 1):      # (a 1 x 1 kernel's axes are batch axes: 1-D rows of 203)
        assert _ran_with(simd.simd_rows, bits)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("K0,K1", [(2, 5), (3, 3), (7, 9), (17, 2), (5, 70)])
def test_separable(bits, dtype, K0, K1, rng):
    # (5, 70): rows long enough for the row pass' 1-D blocks (simd.row_choice)
    x = make(rng, (37, 231 if K1 < 64 else 1500), dtype)
    k = np.outer(rng.standard_normal(K0), rng.standard_normal(K1)).astype(dtype)
    for boundary in BOUNDARIES:
        got = fastconv.correlate(x, k, mode="same", method="separable", boundary=boundary)
        want = ref.correlate(x, k, "same", boundary, 0)
        assert_close(got, want, tolerance(dtype, x, k))
    assert _ran_with(simd.sep2d_simd, bits, -3)
    if K1 >= 64:
        row1d = len(simd.CHOICES)
        assert any(sig[-1].ndim == row1d for d in (simd.sep2d_simd.par, simd.sep2d_simd.ser)
                   for sig in d.signatures)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("xs,ks", [((9, 13, 150), (3, 3, 3)), ((5, 10, 97), (2, 5, 4)),
                                   ((20, 6, 140), (3, 2, 13))], ids=str)
def test_3d(bits, dtype, xs, ks, rng):
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    for mode in ["full", "same", "valid"]:
        for boundary in ["constant", "reflect"] if mode == "same" else ["constant"]:
            got = fastconv.correlate(x, k, mode=mode, method="direct", boundary=boundary)
            want = ref.correlate(x, k, mode, boundary, 0)
            assert_close(got, want, tolerance(dtype, x, k))
    assert _ran_with(simd.simd_volume, bits, 11) or _ran_with(simd.simd_planes, bits)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("K", [1, 2, 7, 64, 301])
def test_1d_on_the_register_blocks(bits, dtype, K, rng):
    """1-D outputs of at least ``direct.LIFT_1D_MIN`` run as 2-D problems
    with one kernel row (the register blocks); below it the row kernels.
    Batches with one kernel per row and a shared kernel; every mode and
    boundary; the tolerance per output from the sums of |x| |k|."""
    n = direct.LIFT_1D_MIN + 37
    x = make(rng, (3, n), dtype)
    for kshape in ((3, K), (1, K)):
        k = make(rng, kshape, dtype)
        for mode in ["full", "same", "valid"]:
            for boundary in BOUNDARIES if mode == "same" else ["constant"]:
                got = fastconv.correlate(x, k, mode=mode, method="direct", boundary=boundary,
                                         axes=-1)
                assert got.dtype == dtype
                for r in range(3):
                    kr = k[r % k.shape[0]]
                    want = ref.correlate(x[r], kr, mode, boundary, 0)
                    bound = ref.correlate(np.abs(x[r]), np.abs(kr), mode, boundary, 0)
                    eps = np.finfo(dtype).eps
                    assert np.all(np.abs(got[r] - want) <= 4 * K * eps * bound + 1e-30), \
                        (mode, boundary, kshape)
    assert _ran_with(simd.simd_rows, bits)
    assert direct.lifts_1d(np.dtype(dtype), K, n) and not direct.lifts_1d(
        np.dtype(dtype), K, direct.LIFT_1D_MIN - 1)
