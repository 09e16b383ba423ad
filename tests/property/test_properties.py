"""Hypothesis properties of the engine."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import fastconv
from tests.conftest import METHODS

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=64)


def arr(ndim, max_side=7):
    return st.integers(1, ndim).flatmap(lambda _: arrays(
        np.float64, st.tuples(*[st.integers(1, max_side)] * ndim), elements=finite))


pairs = st.integers(1, 3).flatmap(lambda nd: st.tuples(arr(nd), arr(nd)))
SETTINGS = settings(max_examples=40, deadline=None)


def close(a, b, x, k):
    tol = 1e-9 * (np.abs(x).sum() * np.abs(k).max() + 1)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


@SETTINGS
@given(pairs, st.sampled_from(METHODS))
def test_commutative(p, method):
    x, k = p
    close(fastconv.convolve(x, k, method=method), fastconv.convolve(k, x, method=method), x, k)


@SETTINGS
@given(pairs, st.floats(-3, 3), st.floats(-3, 3), st.sampled_from(METHODS),
       st.sampled_from(["full", "same"]),
       st.sampled_from(["constant", "edge", "symmetric", "reflect", "wrap"]))
def test_linear(p, a, b, method, mode, boundary):
    x, k = p
    x2 = np.roll(x[::-1], 1).copy()
    lhs = fastconv.convolve(a * x + b * x2, k, mode=mode, method=method, boundary=boundary)
    rhs = (a * fastconv.convolve(x, k, mode=mode, method=method, boundary=boundary)
           + b * fastconv.convolve(x2, k, mode=mode, method=method, boundary=boundary))
    close(lhs, rhs, np.abs(x) + np.abs(x2), 6 * k)


@SETTINGS
@given(pairs, st.integers(-5, 5), st.sampled_from(METHODS))
def test_shift_equivariant_with_wrap(p, shift, method):
    # with periodic extension, shifting the input shifts the 'same' output
    x, k = p
    y = fastconv.convolve(x, k, mode="same", method=method, boundary="wrap")
    ys = fastconv.convolve(np.roll(x, shift, axis=0), k, mode="same", method=method,
                           boundary="wrap")
    close(ys, np.roll(y, shift, axis=0), x, k)


@SETTINGS
@given(pairs, st.sampled_from(["full", "same", "valid"]), st.sampled_from(METHODS))
def test_correlate_is_convolve_with_reversed_conjugate(p, mode, method):
    x, k = p
    if mode == "valid" and not (all(a >= b for a, b in zip(x.shape, k.shape)) or
                                all(a <= b for a, b in zip(x.shape, k.shape))):
        return
    kc = k * (1 - 0.5j)
    rev = np.conj(kc[(slice(None, None, -1),) * kc.ndim])
    close(fastconv.correlate(x, kc, mode=mode, method=method),
          fastconv.convolve(x, rev, mode=mode, method=method), x, kc)


@SETTINGS
@given(pairs, st.sampled_from(["full", "same", "valid"]),
       st.sampled_from(["constant", "edge", "symmetric", "reflect", "wrap"]))
def test_all_methods_agree(p, mode, boundary):
    x, k = p
    if mode == "valid" and not (all(a >= b for a, b in zip(x.shape, k.shape)) or
                                all(a <= b for a, b in zip(x.shape, k.shape))):
        return
    outs = [fastconv.convolve(x, k, mode=mode, method=m, boundary=boundary) for m in METHODS]
    for o in outs[1:]:
        close(o, outs[0], x, k)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 600), st.sampled_from(METHODS),
       st.sampled_from(["full", "same", "valid"]))
def test_long_1d_against_numpy(n, m, method, mode):
    rng = np.random.default_rng(n * 7919 + m)
    x = rng.standard_normal(n)
    k = rng.standard_normal(m)
    if mode == "same" and n < m:
        return
    close(fastconv.convolve(x, k, mode=mode, method=method),
          np.convolve(x, k, mode=mode), x, k)
