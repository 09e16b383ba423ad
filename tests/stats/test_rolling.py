"""moving_average and ewma against pandas rolling/ewm (every window option,
NaN, min_periods, center), a naive reference, and the exactness cases."""
import math

import numpy as np
import pytest

import fastconv.stats as fs

pd = pytest.importorskip("pandas")


def data(n=300, nan=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, n)
    if nan:
        x[rng.random(n) < 0.1] = np.nan
        x[40:55] = np.nan                  # a run longer than some windows
    return x


WEIGHTS = [None, "triang", "hann", "blackman", ("gaussian", 2.5), "array"]


# min_periods > window is an error in both (tested below)
@pytest.mark.parametrize("window, min_periods",
                         [(w, m) for w in (1, 2, 5, 8, 31) for m in (None, 0, 1, 3)
                          if m is None or m <= w])
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("center", [False, True])
def test_against_pandas(window, weights, center, min_periods):
    x = data()
    rng = np.random.default_rng(window)
    w = rng.random(window) + 0.1 if weights == "array" else weights
    if isinstance(weights, (str, tuple)) and weights != "array":
        from scipy.signal import get_window

        if get_window(weights, window, fftbins=False).sum() < 1e-12:
            with pytest.raises(ValueError, match="weights sum to 0"):
                fs.moving_average(x, window, weights=w)
            return
    got = fs.moving_average(x, window, weights=w, center=center, min_periods=min_periods,
                            nan_policy="omit")
    s = pd.Series(x)
    if weights is None:
        want = s.rolling(window, center=center, min_periods=min_periods).mean()
    elif weights == "array":
        # pandas takes custom weights through a callable's window; the
        # definition: sum(w x) / sum(w) over the window's non-NaN values
        want = pd.Series(reference_weighted(x, w, center, min_periods))
    else:
        kw = {}
        if isinstance(weights, tuple):
            weights, kw = weights[0], {"std": weights[1]}
        want = s.rolling(window, win_type=weights, center=center,
                         min_periods=min_periods).mean(**kw)
    want = want.to_numpy().copy()
    if (isinstance(weights, str) and weights != "array") or isinstance(w, tuple):
        # where the weights in range total 0 (hann's zero ends at the edges)
        # the mean is 0/0: NaN here; pandas returns the bare sum's leftover
        from scipy.signal import get_window

        ww = get_window(w, window, fftbins=False)
        ww = np.where(np.abs(ww) < 1e-14, 0.0, ww)
        ref = reference_weighted(x, ww, center, min_periods)
        zero = np.isnan(ref) & ~np.isnan(want)
        assert np.isnan(got[zero]).all()
        want[zero] = np.nan
    assert np.array_equal(np.isnan(got), np.isnan(want))
    m = ~np.isnan(want)
    scale = pd.Series(np.abs(np.nan_to_num(x))).rolling(window, center=center,
                                                        min_periods=1).max().to_numpy()
    assert np.all(np.abs(got[m] - want[m]) <= 1e-12 * scale[m] * window)


def reference_weighted(x, w, center, min_periods):
    n, W = x.size, w.size
    off = (W - 1) // 2 if center else 0
    mp = W if min_periods is None else min_periods
    out = np.full(n, np.nan)
    for t in range(n):
        num = den = 0.0
        cnt = 0
        for j in range(W):
            i = t + off - W + 1 + j
            if 0 <= i < n and not np.isnan(x[i]):
                num += w[j] * x[i]
                den += w[j]
                cnt += 1
        if cnt >= max(mp, 1) and den > 0:
            out[t] = num / den
    return out


@pytest.mark.parametrize("weights", [None, "triang"])
def test_propagate_nan(weights):
    x = data()
    got = fs.moving_average(x, 5, weights=weights)
    omit = fs.moving_average(x, 5, weights=weights, nan_policy="omit")
    nan_in = pd.Series(np.isnan(x).astype(float)).rolling(5, min_periods=1).max().to_numpy() > 0
    assert np.isnan(got[nan_in]).all()
    np.testing.assert_array_equal(got[~nan_in], omit[~nan_in])


def test_exactness():
    # bottleneck#377: the window of zeros after a value gives exactly 0
    assert fs.moving_average([1.9272201201869577, 0.0, 0.0, 0.0], 3)[-1] == 0.0
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(size=1000) * 1e8, np.zeros(50), np.full(50, 0.1), np.full(7, -3.3)]
    for w in (3, 7, 20):
        y = fs.moving_average(x, w)
        assert (y[1000 + w - 1:1050] == 0).all()
        assert (y[1050 + w - 1:1100] == 0.1).all()            # equal values: that value
    assert (fs.moving_average(x, 7)[-1] == -3.3)
    # bottleneck#332: a mean of non-negative values is never negative
    z = (rng.normal(size=10000) * np.hanning(10000)) ** 2
    assert np.nanmin(fs.moving_average(z, 2)) >= 0
    # the sums are exact for a long row (segments and drift)
    big = rng.normal(size=300000) * 10.0 ** rng.integers(-8, 9, 300000)
    y = fs.moving_average(big, 100, min_periods=1)
    ref = np.array([math.fsum(big[max(0, t - 99):t + 1]) / min(t + 1, 100)
                    for t in range(0, 300000, 997)])
    np.testing.assert_allclose(y[::997], ref, rtol=1e-15, atol=0)


def test_infinities_and_nd_axes():
    x = np.array([1.0, np.inf, 2.0, 3.0, -np.inf, 4.0, 5.0, 6.0])
    y = fs.moving_average(x, 2)
    # numpy's own mean of each window (pandas turns inf into NaN first)
    want = np.array([np.nan] + [np.mean(x[i - 1:i + 1]) for i in range(1, 8)])
    np.testing.assert_array_equal(y, want)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 50, 3))
    for axis in (0, 1, 2, -1):
        got = fs.moving_average(a, 3, axis=axis, min_periods=1)
        m = np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])
        want = np.stack([pd.Series(r).rolling(3, min_periods=1).mean().to_numpy() for r in m])
        want = np.moveaxis(want.reshape(np.moveaxis(a, axis, -1).shape), -1, axis)
        # pandas' running sums drift by an ulp or so of the window's values
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert fs.moving_average(a.astype(np.float32), 3).dtype == np.float32
    assert fs.moving_average(np.arange(10), 3).dtype == np.float64
    np.testing.assert_array_equal(fs.moving_average(np.arange(10), 3)[2:], np.arange(1, 9))
    # a window longer than the data: pandas' rule (NaN below min_periods)
    assert np.isnan(fs.moving_average([1.0, 2.0], 5)).all()
    np.testing.assert_array_equal(fs.moving_average([1.0, 2.0], 5, min_periods=1), [1.0, 1.5])
    assert fs.moving_average(np.zeros((3, 0)), 4).shape == (3, 0)


@pytest.mark.parametrize("kw", [dict(alpha=0.3), dict(com=4.0), dict(span=10.0),
                                dict(halflife=3.0)])
@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("ignore_na", [True, False])
@pytest.mark.parametrize("min_periods", [0, 4])
def test_ewma_against_pandas(kw, adjust, ignore_na, min_periods):
    x = data(400)
    got = fs.ewma(x, **kw, adjust=adjust, ignore_na=ignore_na, min_periods=min_periods)
    want = pd.Series(x).ewm(**kw, adjust=adjust, ignore_na=ignore_na,
                            min_periods=min_periods).mean().to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert np.array_equal(np.isnan(got), np.isnan(want))


def test_ewma_exact_and_axes():
    y = fs.ewma(np.r_[np.full(100, 0.1), np.full(100, 7.7)], alpha=0.2)
    assert (y[:100] == 0.1).all() and y[-1] < 7.7 + 1e-12
    a = np.random.default_rng(2).normal(size=(5, 30))
    np.testing.assert_allclose(fs.ewma(a, span=5, axis=0),
                               pd.DataFrame(a).ewm(span=5).mean().to_numpy(), rtol=1e-13)


@pytest.mark.parametrize("call, err, match", [
    (lambda: fs.moving_average([1.0, 2.0], 0), ValueError, "window"),
    (lambda: fs.moving_average([1.0, 2.0], 2.5), TypeError, "window"),
    (lambda: fs.moving_average([1.0, 2.0], 2, min_periods=3), ValueError, "min_periods"),
    (lambda: fs.moving_average([1.0, 2.0], 2, nan_policy="raise"), ValueError, "nan_policy"),
    (lambda: fs.moving_average([1.0, 2.0], 2, weights=[1.0]), ValueError, "weights"),
    (lambda: fs.moving_average([1.0, 2.0], 2, weights=[1.0, -1.0]), ValueError, "weights"),
    (lambda: fs.moving_average([1.0, 2.0], 2, weights="nope"), ValueError, "weights"),
    (lambda: fs.moving_average([1.0, 2.0], 2, axis=1), ValueError, "axis"),
    (lambda: fs.moving_average([1 + 1j], 1), TypeError, "x"),
    (lambda: fs.moving_average(3.0, 1), ValueError, "x"),
    (lambda: fs.ewma([1.0], alpha=0.5, span=3), ValueError, "exactly one"),
    (lambda: fs.ewma([1.0]), ValueError, "exactly one"),
    (lambda: fs.ewma([1.0], alpha=1.5), ValueError, "alpha"),
    (lambda: fs.ewma([1.0], halflife=0), ValueError, "halflife"),
    (lambda: fs.ewma([1.0], span=0.5), ValueError, "span"),
    (lambda: fs.ewma([1.0], com=-1), ValueError, "com"),
    (lambda: fs.ewma([1.0], alpha=0.5, min_periods=-1), ValueError, "min_periods"),
])
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()


@pytest.mark.parametrize("weights", WEIGHTS[1:])
@pytest.mark.parametrize("window, min_periods", [(1, None), (4, 2), (31, None), (31, 0),
                                                 (512, 100), (513, None)])
@pytest.mark.parametrize("center", [False, True])
def test_weighted_finite_data_against_reference(weights, window, min_periods, center):
    # finite data take the one-correlation path (weights scaled to sum 1,
    # only the partial windows divided); rows along a middle axis
    rng = np.random.default_rng(window)
    a = rng.normal(size=(3, 700, 2)) * 10.0 ** rng.integers(-3, 4, (3, 700, 2))
    w = rng.random(window) + 0.1 if weights == "array" else weights
    from scipy.signal import get_window

    ww = np.asarray(w, float) if weights == "array" else get_window(w, window, fftbins=False)
    ww = np.where(np.abs(ww) < 1e-14, 0.0, ww)
    assert ww.sum() > 0          # (none of these windows sums to 0)
    got = fs.moving_average(a, window, weights=w, center=center, min_periods=min_periods,
                            axis=1)
    for i in range(3):
        for j in range(2):
            want = reference_weighted(a[i, :, j], ww, center, min_periods)
            g = got[i, :, j]
            assert np.array_equal(np.isnan(g), np.isnan(want))
            m = ~np.isnan(want)
            scale = np.abs(a[i, :, j]).max()
            assert np.all(np.abs(g[m] - want[m]) <= 1e-13 * scale)


def test_weighted_with_infinities_and_float_max():
    # non-finite sums send the call to the careful path: inf where the
    # window holds inf with weight, NaN where +inf meets -inf or weight 0
    x = np.array([1.0, np.inf, 2.0, 3.0, -np.inf, 4.0, 5.0, 6.0, 7.0])
    w = np.array([1.0, 2.0])
    got = fs.moving_average(x, 2, weights=w)
    with np.errstate(invalid="ignore"):
        want = reference_weighted(x, w, False, None)
    np.testing.assert_array_equal(got, want)
    big = np.full(50, np.finfo(np.float64).max)
    y = fs.moving_average(big, 7, weights="hann")
    assert np.all(np.isfinite(y[6:])) and np.allclose(y[6:], big[6:], rtol=1e-12)
