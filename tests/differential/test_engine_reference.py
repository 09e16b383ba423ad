"""fastconv.convolve/correlate against the naive reference (tests/reference.py):
every method x output mode x boundary x dtype x ndim (1-4) x axes."""
import numpy as np
import pytest

import fastconv
from tests import reference as ref
from tests.conftest import BOUNDARIES, DTYPES, METHODS, MODES, assert_close, make, tolerance

SHAPES = {
    1: [((9,), (4,)), ((3,), (5,)), ((7,), (1,))],
    2: [((6, 7), (3, 2)), ((2, 5), (3, 3))],
    3: [((5, 4, 6), (2, 3, 3))],
    4: [((4, 3, 3, 5), (2, 1, 3, 2))],
}


def _expected_dtype(a, b):
    kinds = {a.kind, b.kind}
    if kinds <= {"b", "i", "u"}:
        return np.dtype(np.uint64) if kinds <= {"b", "u"} and "u" in kinds else np.dtype(np.int64)
    return np.result_type(a, b)


def _cases():
    for ndim, shapes in SHAPES.items():
        for xs, ks in shapes:
            for mode in MODES:
                if mode == "valid" and not (all(a >= b for a, b in zip(xs, ks)) or
                                            all(a <= b for a, b in zip(xs, ks))):
                    continue
                yield ndim, xs, ks, mode


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("ndim,xs,ks,mode", list(_cases()))
@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_float64_all_combinations(method, boundary, ndim, xs, ks, mode, op, rng):
    x = make(rng, xs, np.float64)
    k = make(rng, ks, np.float64)
    cval = 0.75 if boundary == "constant" else 0
    got = getattr(fastconv, op)(x, k, mode=mode, method=method, boundary=boundary, cval=cval)
    want = getattr(ref, op)(x, k, mode, boundary, cval)
    assert_close(got, want, tolerance(np.float64, x, k))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", ["constant", "reflect", "wrap"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_dtypes(dtype, method, mode, boundary, ndim, rng):
    xs, ks = SHAPES[ndim][0]
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    got = fastconv.convolve(x, k, mode=mode, method=method, boundary=boundary)
    want = ref.convolve(x, k, mode, boundary)
    assert got.dtype == _expected_dtype(x.dtype, k.dtype)
    assert_close(got, want, tolerance(got.dtype, x, k))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 2), (-1, -2), (1, 2)])
@pytest.mark.parametrize("mode", MODES)
def test_axes_and_batch_broadcast(method, axes, mode, rng):
    x = make(rng, (5, 6, 7), np.float64)
    kshape = [1, 1, 1]
    ax = sorted(a % 3 for a in axes)
    for a, n in zip(ax, (3, 2)):
        kshape[a] = n
    # kernel batch axes of length 1 broadcast; make one batch axis full-length
    batch_axes = [a for a in range(3) if a not in ax]
    k = make(rng, kshape, np.float64)
    got = fastconv.convolve(x, k, mode=mode, method=method, axes=axes)
    # reference: loop over batch positions
    xm = np.moveaxis(x, ax, range(3 - len(ax), 3))
    km = np.moveaxis(k, ax, range(3 - len(ax), 3))
    outs = [ref.convolve(xm[idx], km[(0,) * len(batch_axes)], mode)
            for idx in np.ndindex(xm.shape[:3 - len(ax)])]
    want = np.stack(outs).reshape(xm.shape[:3 - len(ax)] + outs[0].shape)
    want = np.moveaxis(want, range(3 - len(ax), 3), ax)
    assert_close(got, want, tolerance(np.float64, x, k))
    if batch_axes:
        # a kernel that differs along a batch axis (one kernel per channel)
        kshape2 = list(kshape)
        kshape2[batch_axes[0]] = x.shape[batch_axes[0]]
        k2 = make(rng, kshape2, np.float64)
        got2 = fastconv.convolve(x, k2, mode=mode, method=method, axes=axes)
        for i in range(x.shape[batch_axes[0]]):
            sl = [slice(None)] * 3
            sl[batch_axes[0]] = slice(i, i + 1)
            one = fastconv.convolve(x[tuple(sl)], k2[tuple(sl)], mode=mode,
                                    method="direct", axes=axes)
            assert_close(got2[tuple(sl)], one, tolerance(np.float64, x, k2))


def test_large_ints_exact_on_every_method(rng):
    # values whose products need ~60 bits: an FFT would round them wrongly
    x = rng.integers(-2**29, 2**29, 300).astype(np.int64)
    k = rng.integers(-2**29, 2**29, 40).astype(np.int64)
    want = ref.convolve(x, k).astype(np.int64)
    for method in ["auto", "direct"]:
        np.testing.assert_array_equal(fastconv.convolve(x, k, method=method), want)
    np.testing.assert_array_equal(fastconv.correlate(x, k), ref.correlate(x, k).astype(np.int64))


def test_ints_use_fft_only_when_provably_exact(rng):
    x = rng.integers(0, 4, 200_000).astype(np.uint8)
    k = rng.integers(0, 4, 3000).astype(np.uint8)
    p = fastconv.plan(x, k)
    assert p.method != "direct"             # small values: FFT is provably exact
    np.testing.assert_array_equal(p(x, k), np.convolve(x.astype(np.int64), k.astype(np.int64)))
    big = (x.astype(np.int64) << 40)
    p2 = fastconv.plan(big, k)
    assert p2.method == "direct"
    assert "exactness" in p2.explain()


def test_out_parameter(rng):
    x = make(rng, (20,), np.float64)
    k = make(rng, (5,), np.float64)
    out = np.empty(24, np.float32)
    r = fastconv.convolve(x, k, out=out)
    assert r is out
    np.testing.assert_allclose(out, np.convolve(x, k), rtol=1e-5, atol=1e-5)


def test_nan_stays_local_with_auto(rng):
    x = make(rng, (5000,), np.float64)
    x[2500] = np.nan
    k = make(rng, (2000,), np.float64)
    y = fastconv.convolve(x, k, mode="same")
    assert np.isnan(y).sum() == 2000
    with pytest.warns(RuntimeWarning, match="NaN or Inf"):
        y2 = fastconv.convolve(x, k, mode="same", method="fft")
    assert np.isnan(y2).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["full", "same"])
def test_kernel_longer_than_input(method, mode, rng):
    # regression: with 'same' and a kernel longer than the input, the direct
    # kernels' edge loops once wrote past the output tile (heap corruption)
    for xs, ks in [((6, 2), (4, 6)), ((3,), (9,)), ((2, 3), (5, 17)), ((1, 1), (3, 20)),
                   ((4, 5), (9, 13))]:
        x = make(rng, xs, np.float64)
        k = make(rng, ks, np.float64)
        for _ in range(3):
            got = fastconv.convolve(x, k, mode=mode, method=method)
            assert_close(got, ref.convolve(x, k, mode), tolerance(np.float64, x, k))


@pytest.mark.parametrize("boundary", ["edge", "symmetric", "reflect", "wrap", "constant"])
@pytest.mark.parametrize("n,m", [((3,), (11,)), ((1,), (6,)), ((2, 5), (9, 13)), ((7, 1), (4, 12))])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_direct_virtual_boundaries_with_pads_longer_than_input(boundary, n, m, mode, rng):
    # the boundary rule is applied in the kernels (index maps, closed form on
    # the last axis); pads beyond the input repeat it like numpy.pad
    x = rng.standard_normal(n)
    k = rng.standard_normal(m)
    got = fastconv.convolve(x, k, mode=mode, method="direct", boundary=boundary, cval=0.5)
    assert_close(got, ref.convolve(x, k, mode, boundary, 0.5), 1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["convolve", "correlate"])
@pytest.mark.parametrize("bx,bk", [(3, 3), (1, 3), (3, 1)])
def test_overlap_save_1d_in_chunks_on_threads(dtype, mode, op, bx, bk, monkeypatch, rng):
    """1-D overlap-save works through its blocks in chunks shared among
    threads, reading windows straight from the input: tiny chunks force
    many of them, both input ends and a partial last block."""
    from fastconv.algorithms import overlap

    monkeypatch.setattr(overlap, "CHUNK_SAMPLES", 700)
    x = make(rng, (bx, 3001), dtype)
    k = make(rng, (bk, 97), dtype)
    with fastconv.threads(2):
        p = fastconv.plan(x, k, mode=mode, axes=-1, method="overlap-save", op=op)
        p.params["blocks"] = (256,)                        # the blocked 1-D path
        got = p(x, k)
    f = ref.convolve if op == "convolve" else ref.correlate
    B = max(bx, bk)
    want = np.stack([f(x[i % bx], k[i % bk], mode=mode) for i in range(B)])
    assert_close(got, want, tolerance(dtype, x, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_fft_without_pocketfft_binding(dtype, ndim, monkeypatch, rng):
    """The FFT method runs its transforms in place through scipy's pocketfft
    binding (real views of the spectrum rows); without that binding the
    public scipy.fft functions give the same results."""
    import fastconv._pocket as fp
    from fastconv.algorithms._common import shared_spectra_off

    xs, ks = {1: ((40,), (7,)), 2: ((17, 12), (5, 4)), 3: ((9, 8, 10), (3, 4, 2))}[ndim]
    x = make(rng, xs, dtype)
    k = make(rng, ks, dtype)
    for binding in (True, False):
        if not binding:
            monkeypatch.setattr(fp, "_pf", None)
        for mode in MODES:
            with shared_spectra_off():
                got = fastconv.convolve(x, k, mode=mode, method="fft")
            assert got.dtype == np.result_type(x, k)
            assert_close(got, ref.convolve(x, k, mode), tolerance(got.dtype, x, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", [((37, 45), (5, 8), (16, 32)), ((40, 23), (9, 3), (32, None)),
                                    ((11, 13, 17), (3, 4, 5), (8, 8, 16)),
                                    ((30, 41), (30, 7), (64, 16))])
@pytest.mark.parametrize("bx,bk", [(1, 1), (3, 1), (3, 3)])
@pytest.mark.parametrize("threads", [1, 2])
def test_overlap_save_nd_tiles(dtype, mode, shapes, bx, bk, threads, monkeypatch, rng):
    """N-D overlap-save tile by tile (tiles smaller than the kernel's reach,
    unblocked axes, batches of inputs and kernels, tiles shared among
    threads or one tile per call, tasks grouping batch entries or not),
    against the naive reference."""
    from fastconv import _core
    from fastconv.algorithms import overlap

    xs, ks, blocks = shapes
    x = make(rng, (bx,) + xs, dtype)
    k = make(rng, (bk,) + ks, dtype)
    monkeypatch.setattr(overlap, "TILE_TASK_BYTES", 1 if bx == 3 and threads == 1 else 16 << 20)
    # every boundary rule (all but 'constant' applied through index maps)
    for boundary in BOUNDARIES:
        prep = _core.prepare(x, k, mode=mode, boundary=boundary,
                             axes=tuple(range(1, len(xs) + 1)))
        if mode == "valid" and prep.spec.n != tuple(xs):
            continue                              # swapped operands: skip
        got = _core.finish(prep, prep.execute("overlap-save", {"blocks": blocks}, threads),
                           None)
        want = np.stack([ref.convolve(x[i], k[i if bk > 1 else 0], mode, boundary)
                         for i in range(bx)])
        assert_close(got, want, tolerance(dtype, x, k))
