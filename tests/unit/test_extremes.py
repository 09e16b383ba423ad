"""Extreme inputs through the engine (issue 17): integer limits for every pair
of integer dtypes, cval ranges, NaN/Inf kernels through every method, empty
batch axes, kernels longer than the kept output, planning cost and memory
checked before allocation.  Ground truth: exact Python integers (object
arrays) and tests/reference.py."""
import itertools
import tracemalloc
import warnings

import numpy as np
import pytest

import fastconv
from fastconv.algorithms import separable
from tests import reference as ref

INT_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
              np.int64, np.uint64]
METHODS = ["auto", "direct", "fft", "overlap-add", "overlap-save", "hybrid", "separable"]


def exact_convolve(x, k):
    """Full 1-D convolution in Python integers (no overflow possible)."""
    x = [int(v) for v in np.asarray(x).ravel()]
    k = [int(v) for v in np.asarray(k).ravel()]
    y = [0] * (len(x) + len(k) - 1)
    for i, a in enumerate(x):
        for j, b in enumerate(k):
            y[i + j] += a * b
    return y


def extremes(dt):
    info = np.iinfo(dt) if dt != np.bool_ else None
    if info is None:
        return np.array([True, False, True], dtype=dt)
    return np.array([info.min, info.max, 0, 1, info.min, -1 if info.min < 0 else 2],
                    dtype=dt)


@pytest.mark.parametrize("d1,d2", list(itertools.product(INT_DTYPES, INT_DTYPES)),
                         ids=lambda d: np.dtype(d).name)
def test_integer_extremes_exact_or_refused(d1, d2):
    """Every pair of integer dtypes at their limits (INT64_MIN, uint64 max):
    the exact result, or a ValueError naming in1/in2 when it cannot be held;
    never a wrapped or rounded number."""
    x = np.tile(extremes(d1), 300)             # long enough for the FFT methods
    k = extremes(d2)[::-1].copy()
    want = exact_convolve(x, k)
    for method in ("auto", "direct", "fft", "overlap-add", "overlap-save"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                got = fastconv.convolve(x, k, method=method)
        except ValueError as e:
            assert "in1/in2" in str(e)
            top = np.iinfo(np.uint64 if {np.dtype(d1).kind, np.dtype(d2).kind} <= {"u", "b"}
                           else np.int64).max
            assert max(abs(v) for v in want) > top // 2 ** 10 or \
                max(abs(int(v)) for v in x) * max(abs(int(v)) for v in k) > 2 ** 62, method
            continue
        assert got.dtype.kind in "iu"
        assert [int(v) for v in got] == want, method


def test_int64_min_does_not_fool_the_fft_bound():
    # issue 17: INT64_MIN made abs() overflow and the FFT looked exact
    x = np.r_[[np.iinfo(np.int64).min], np.zeros(3000, np.int64), [1]]
    k = np.r_[[0], np.zeros(3000, np.int64), [1]]
    try:
        y = fastconv.convolve(x, k)
    except ValueError as e:
        assert "in1/in2" in str(e)
    else:
        assert [int(v) for v in y] == exact_convolve(x, k)
    small = np.r_[[-(2 ** 40)], np.zeros(3000, np.int64), [1]]
    assert [int(v) for v in fastconv.convolve(small, k)] == exact_convolve(small, k)


def test_uint64_with_signed_is_exact_or_refused():
    with pytest.raises(ValueError, match="in1/in2"):
        fastconv.convolve(np.array([2 ** 64 - 1], np.uint64), np.array([1], np.int8))
    y = fastconv.convolve(np.array([2 ** 61, 3], np.uint64), np.array([1, -1], np.int8))
    assert y.dtype == np.int64 and y.tolist() == [2 ** 61, 3 - 2 ** 61, -3]
    y = fastconv.convolve(np.array([2 ** 63 + 5], np.uint64), np.array([1], np.uint8))
    assert y.dtype == np.uint64 and int(y[0]) == 2 ** 63 + 5


@pytest.mark.parametrize("dt", [np.uint8, np.int8, np.int64, np.uint64])
def test_integer_cval_range(dt):
    x = np.array([1, 2, 3], dt)
    k = np.array([1, 2], dt)
    info = np.iinfo(dt)
    res_unsigned = np.dtype(dt).kind == "u"
    if res_unsigned:
        with pytest.raises(ValueError, match="cval"):
            fastconv.convolve(x, k, mode="same", cval=-1)
    else:
        y = fastconv.convolve(x, k, mode="same", cval=-1)
        assert y.tolist() == ref.convolve(x, k, "same", cval=-1).tolist()
    for bad in (1e300, 2.5, np.nan, np.inf, 2 ** 64):
        with pytest.raises(ValueError, match="cval"):
            fastconv.convolve(x, k, mode="same", cval=bad)
    big = int(info.max)
    if big < 2 ** 40:
        y = fastconv.convolve(x, k, mode="same", cval=big)
        assert y.tolist() == ref.convolve(x, k, "same", cval=big).tolist()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(31,), (12, 11), (6, 5, 7)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_kernels_through_every_method(method, shape, bad):
    """issue 17: a NaN or Inf in a 2-D/3-D kernel of 9+ taps made the rank
    check raise 'SVD did not converge'.  Every method keeps non-finite taps
    local: an output is NaN/Inf exactly where the reference's is."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(tuple(s + 9 for s in shape))
    k = rng.standard_normal(shape)
    k[(1,) * len(shape)] = bad
    # with the zero boundary, outputs are sums over the input's samples only
    # (numpy.convolve's semantics): a NaN tap that meets no sample spoils nothing
    want = ref.full_convolve(x, k)[tuple(slice((K - 1) // 2, (K - 1) // 2 + N)
                                         for N, K in zip(x.shape, k.shape))]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            got = fastconv.convolve(x, k, mode="same", method=method)
        except ValueError as e:          # a method that does not apply here
            assert method == "hybrid" and len(shape) == 1, e
            return
    assert not any("NaN or Inf" in str(m.message) for m in w)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])


@pytest.mark.parametrize("method", ["direct", "fft", "separable"])
@pytest.mark.parametrize("boundary", ["constant", "reflect", "wrap"])
def test_nonfinite_kernel_with_boundaries_and_batches(method, boundary):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 14, 13))
    k = rng.standard_normal((3, 5, 4))
    k[1, 0, 3] = np.inf
    k[2, 4, 0] = np.nan
    got = fastconv.convolve(x, k, mode="same", axes=(1, 2), boundary=boundary, cval=2.0,
                            method=method)
    for b in range(3):
        want = ref.convolve(x[b], k[b], "same", boundary, cval=2.0)
        np.testing.assert_array_equal(np.isnan(got[b]), np.isnan(want))
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[b][fin], want[fin], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("xs,ks,axes", [((0, 5), (1, 3), -1), ((0, 5), (0, 3), -1),
                                        ((3, 0, 8), (3, 1, 4), -1),
                                        ((2, 0, 6, 6), (1, 1, 3, 3), (-2, -1))])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_empty_batch_axes(xs, ks, axes, mode):
    """issue 17: an empty batch axis raised a reshape error."""
    x, k = np.ones(xs), np.ones(ks)
    y = fastconv.convolve(x, k, mode=mode, axes=axes)
    ax = (axes,) if np.isscalar(axes) else axes
    want = list(np.broadcast_shapes(tuple(1 if d - len(xs) in ax or d in ax else s
                                          for d, s in enumerate(xs)),
                                    tuple(1 if d - len(ks) in ax or d in ax else s
                                          for d, s in enumerate(ks))))
    for a in ax:
        N, K = xs[a], ks[a]
        want[a] = {"full": N + K - 1, "same": N, "valid": abs(N - K) + 1}[mode]
    assert y.shape == tuple(want) and y.size == 0
    p = fastconv.plan(x, k, mode=mode, axes=axes)
    assert p(x, k).shape == y.shape


def test_kernel_taps_that_reach_no_output_are_dropped():
    """issue 17: 'same' with a huge kernel on a few samples transformed every
    tap; only 2N - 1 taps can reach the N kept outputs."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(10)
    k = rng.standard_normal(200_001)
    p = fastconv.plan(x, k, mode="same")
    assert p.spec.m == (19,)
    np.testing.assert_allclose(fastconv.convolve(x, k, mode="same"),
                               np.convolve(x, k, mode="full")[100_000:100_010],
                               rtol=1e-12, atol=1e-12)
    x2 = rng.standard_normal((7, 9))
    k2 = rng.standard_normal((301, 5))
    np.testing.assert_allclose(fastconv.correlate(x2, k2, mode="same"),
                               ref.correlate(x2, k2, "same"), rtol=1e-10, atol=1e-10)


def test_rank_check_is_cheap_for_large_kernels(monkeypatch):
    """issue 17: the rank check was a full SVD of every new kernel (O(K^3):
    3.6 s for 2000^2).  Large kernels get a sketch whose SVDs are tiny; the
    answer (rank and factors) stays right."""
    sizes = []
    real_svd = np.linalg.svd

    def svd(a, *args, **kw):
        sizes.append(a.shape)
        return real_svd(a, *args, **kw)

    monkeypatch.setattr(np.linalg, "svd", svd)
    K = 400
    g = np.exp(-0.5 * ((np.arange(K) - K / 2) / 40.0) ** 2)
    dog = np.outer(g, g) - 0.5 * np.outer(g ** 2, g ** 2)       # rank 2
    terms = separable._factors(dog, np.float64)
    assert terms is not None and len(terms) == 2
    rebuilt = sum(np.outer(u, v) for u, v in terms)
    np.testing.assert_allclose(rebuilt, dog, atol=1e-12 * np.abs(dog).max())
    noise = np.random.default_rng(0).standard_normal((K, K))
    assert separable._factors(noise, np.float64) is None
    assert all(min(s) <= separable.MAX_TERMS + 4 for s in sizes), sizes


def test_factor_cache_is_bounded_in_bytes():
    separable._CACHE.clear()
    rng = np.random.default_rng(0)
    g = np.hanning(300)
    for i in range(40):
        separable.factors(np.outer(g, g) * (1 + i) + 0 * rng.random(), np.float64)
    small = np.outer(np.hanning(9), np.hanning(9))
    separable.factors(small, np.float64)
    held = sum(len(key[3]) for key in separable._CACHE)
    assert held <= 32 * separable.CACHE_KERNEL_BYTES
    assert len(separable._CACHE) == 1


def test_memory_refused_before_allocating():
    """issue 17: a broadcast (10^6, 10^6) view asked for 7 TiB inside the
    exactness check (MemoryError); now a ValueError before any allocation."""
    x = np.broadcast_to(np.arange(10 ** 6), (10 ** 6, 10 ** 6))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="FASTCONV_MAX_MEMORY"):
            fastconv.convolve(x, np.ones((1, 3), np.int64), axes=-1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_plan_accepts_any_layout_of_the_same_problem():
    """A plan made on C-ordered arrays runs Fortran-ordered, strided and
    converted ones of the same shapes and dtypes (their copies differ)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((60, 70))
    k = rng.standard_normal((5, 5))
    p = fastconv.plan(x, k, mode="same")
    want = ref.convolve(x, k, "same")
    for xx in (np.asfortranarray(x), x[:, ::-1].copy()[:, ::-1], np.ascontiguousarray(x)):
        np.testing.assert_allclose(p(xx, k), want, atol=1e-10)
    big = np.empty((60, 140))
    big[:, ::2] = x
    np.testing.assert_allclose(p(big[:, ::2], k), want, atol=1e-10)
