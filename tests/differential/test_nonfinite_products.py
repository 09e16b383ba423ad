"""NaN and infinity in the input *and* the kernel: every output is the sum
of its definition's products (tests/reference.py: ``convolve_products``),
whatever the engine (NumPy, and the namespace engine on array-api-strict,
torch CPU tensors and JAX, eager and under jit) and whatever the method.

An output is NaN where one of its products is NaN (NaN, or infinity times
zero) or where +inf and -inf products meet, +-inf where products of one
infinite sign occur, and the finite sum elsewhere; a zero-padded border
makes no product."""
import warnings

import numpy as np
import pytest

import fastconv
from tests import reference as ref

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["array_api_strict", "torch"]
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    BACKENDS.append("jax")
except ImportError:       # jax is a test dependency; a bare environment tests the others
    pass


def same_values(got, want, rtol=1e-9):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got == np.inf, want == np.inf)
    np.testing.assert_array_equal(got == -np.inf, want == -np.inf)
    fin = np.isfinite(want)
    scale = max(1.0, float(np.abs(want[fin]).max(initial=0)))
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=rtol * scale)


def problem(rng, nshape, kshape, case):
    x = rng.standard_normal(nshape)
    k = rng.standard_normal(kshape)
    xs, ks = x.reshape(-1), k.reshape(-1)
    specials = [[np.inf, np.inf], [np.inf, -np.inf], [np.nan, np.inf], [-np.inf, 0.0]][case]
    xs[rng.choice(xs.size, 2, replace=False)] = specials
    ks[rng.choice(ks.size, 2, replace=False)] = [[-np.inf, 0.0], [np.inf, 0.0],
                                                 [np.inf, -np.inf], [0.0, np.inf]][case]
    xs[rng.integers(xs.size)] = 0.0
    return x, k


SHAPES = [((40,), (7,)), ((9,), (12,)), ((12, 11), (3, 4)), ((7, 6), (5, 5))]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("case", range(4))
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary,cval", [("constant", 0), ("constant", 2.5), ("reflect", 0)])
@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_numpy_engine(shapes, case, mode, boundary, cval, op, rng):
    x, k = problem(rng, *shapes, case)
    if mode == "valid" and boundary != "constant":
        boundary = "constant"
    want = getattr(ref, "convolve_products")(x, k if op == "convolve" else
                                             k[(slice(None, None, -1),) * k.ndim],
                                             mode, boundary, cval)
    for method in ("auto", "direct"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = getattr(fastconv, op)(x, k, mode=mode, method=method, boundary=boundary,
                                        cval=cval)
        same_values(got, want)
    for dt in (np.float32,):
        got = getattr(fastconv, op)(x.astype(dt), k.astype(dt), mode=mode, boundary=boundary,
                                    cval=cval)
        same_values(got, want, rtol=1e-4)


def to(backend, a):
    if backend == "array_api_strict":
        import array_api_strict

        return array_api_strict.asarray(a)
    if backend == "torch":
        import torch

        # (a tensor that needs a gradient: the namespace engine; others are
        # NumPy views, the NumPy engine, tested above)
        return torch.asarray(a).requires_grad_(True)
    return jnp.asarray(a)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("case", range(4))
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft", "overlap-save"])
def test_namespace_engine(backend, shapes, case, mode, method, rng):
    x, k = problem(rng, *shapes, case)
    want = ref.convolve_products(x, k, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = fastconv.convolve(to(backend, x), to(backend, k), mode=mode, method=method)
    if backend == "torch":
        got = got.detach()
    same_values(np.asarray(got), want)


@pytest.mark.skipif("jax" not in BACKENDS, reason="jax is not installed here")
@pytest.mark.parametrize("case", [None, 0, 2])
def test_jax_jit_checks_the_data_when_it_runs(case, rng):
    """Under jax.jit the finiteness check is part of the traced program: the
    same compiled function is right for finite and non-finite data."""
    f = jax.jit(lambda a, b: fastconv.convolve(a, b, mode="same", method="fft"))
    x, k = problem(rng, (30,), (5,), case or 0)
    if case is None:
        x, k = np.nan_to_num(x, posinf=3.0, neginf=-3.0), np.nan_to_num(k, posinf=2.0, neginf=-2.0)
    same_values(np.asarray(f(jnp.asarray(x), jnp.asarray(k))),
                ref.convolve_products(x, k, "same"))


def test_complex_with_infinity_on_a_namespace_backend_is_refused(rng):
    import array_api_strict as xs

    x = (rng.standard_normal(20) + 1j).astype(np.complex128)
    x[3] = np.inf
    with pytest.raises(ValueError, match="in1/in2 hold NaN or infinity"):
        fastconv.convolve(xs.asarray(x), xs.asarray(x[:4]))


# ------------------------------------------------------------ layers
LAYERS = [  # x shape, w shape, stride, padding, groups
    ((2, 2, 9), (3, 2, 3), 1, 1, 1),
    ((1, 4, 7, 8), (4, 2, 3, 3), 2, 2, 2),
    ((2, 2, 6, 5), (3, 2, 2, 3), 1, 1, 1),
]


def layer_problem(rng, xs, ws, case):
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    xf, wf = x.reshape(-1), w.reshape(-1)
    xf[rng.choice(xf.size, 2, replace=False)] = [[np.inf, 0.0], [-np.inf, np.nan],
                                                 [np.inf, -np.inf]][case]
    wf[rng.choice(wf.size, 2, replace=False)] = [[-np.inf, 0.0], [np.inf, 1.0],
                                                 [np.nan, np.inf]][case]
    return x, w


@pytest.mark.parametrize("backend", ["numpy"] + [b for b in BACKENDS if b != "torch"])
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("case", range(3))
def test_layers(backend, layer, case, rng):
    """Forward, input and weight gradients of layers with NaN / infinity in
    both operands: the products of the definition (zero padding and the
    zeros between a transposed layer's samples make none).  (torch tensors
    that need a gradient run torch's own layers and autograd, with torch's
    arithmetic: not tested here.)"""
    import fastconv.nn as fnn
    from fastconv.nn import grad as fgrad

    xs, ws, s, p, g = layer
    D = len(xs) - 2
    x, w = layer_problem(rng, xs, ws, case)
    conv = getattr(fnn, f"conv{D}d")
    T = (lambda a: a) if backend == "numpy" else (lambda a: to(backend, a))

    def back(v):
        v = v.detach() if hasattr(v, "detach") else v
        return np.asarray(v)
    stride, pads = (s,) * D, (p,) * D
    want = ref.layer_forward(x, w, stride, (1,) * D, pads, g)
    same_values(back(conv(T(x), T(w), stride=s, padding=p, groups=g)), want)
    gy = rng.standard_normal(want.shape)
    gy.reshape(-1)[rng.integers(gy.size)] = np.inf
    want_i = ref.layer_input_grad(x.shape, w, gy, stride, (1,) * D, pads, g)
    got_i = getattr(fgrad, f"conv{D}d_input")(x.shape, T(w), T(gy), stride=s, padding=p,
                                              groups=g)
    same_values(back(got_i), want_i)
    want_w = ref.layer_weight_grad(x, w.shape, gy, stride, (1,) * D, pads, g)
    got_w = getattr(fgrad, f"conv{D}d_weight")(T(x), w.shape, T(gy), stride=s, padding=p,
                                               groups=g)
    same_values(back(got_w), want_w)


def test_fastconv_torch_fft_layers_and_long_conv(rng):
    """fastconv.torch's FFT paths with NaN / infinity: a long kernel's conv1d
    under 'auto' gives torch's own conv1d (torch's arithmetic, 0 x inf at
    its zero padding included) instead of one NaN over every output;
    long_conv the products of the definition."""
    torch = pytest.importorskip("torch")
    from fastconv import torch as ft

    x, w = layer_problem(rng, (2, 3, 300), (4, 3, 150), 1)
    want = torch.nn.functional.conv1d(torch.asarray(x), torch.asarray(w), padding=75)
    got = ft.conv1d(torch.asarray(x).requires_grad_(True), torch.asarray(w), padding=75)
    assert np.isfinite(want.numpy()).mean() > 0.2
    same_values(got.detach().numpy(), want.numpy())
    u = rng.standard_normal((2, 3, 40))
    k = rng.standard_normal((3, 40))
    u[0, 1, 5], u[1, 2, 30], k[1, 3], k[2, 0] = np.inf, np.nan, -np.inf, 0.0
    for mode in ("causal", "circular"):
        got = ft.long_conv(torch.asarray(u).requires_grad_(True), torch.asarray(k), mode=mode)
        same_values(got.detach().numpy(), ref.long_conv(u, k, mode=mode))


@pytest.mark.parametrize("backend", ["numpy"] + [b for b in BACKENDS if b != "torch"])
@pytest.mark.parametrize("mode", ["causal", "circular", "bidirectional"])
def test_sequence_convolutions(backend, mode, rng):
    """long_conv (every mode) and causal_conv1d with their gradients, NaN /
    infinity in both operands: the products of the definition (the causal
    filter's left zeros make none)."""
    import fastconv.nn as fnn
    from fastconv.nn import grad as fgrad

    T = (lambda a: a) if backend == "numpy" else (lambda a: to(backend, a))
    u = rng.standard_normal((2, 3, 24))
    k1, k2 = rng.standard_normal((3, 24)), rng.standard_normal((3, 24))
    u[0, 1, 5], u[1, 2, 20], u[1, 0, 3] = np.inf, np.nan, 0.0
    k1[1, 3], k1[0, 0], k2[2, 1] = -np.inf, np.inf, np.inf
    kk = (T(k1), T(k2)) if mode == "bidirectional" else T(k1)
    want = ref.long_conv(u, k1, k2 if mode == "bidirectional" else None,
                         "circular" if mode == "circular" else "causal")
    same_values(np.asarray(fnn.long_conv(T(u), kk, mode=mode)), want)
    if backend == "numpy":               # the transforms' paths too, NaN/Inf on one side
        u0 = np.nan_to_num(u, nan=0.5, posinf=2.0, neginf=-2.0)
        k0 = np.nan_to_num(k1, nan=0.5, posinf=2.0, neginf=-2.0)
        k20 = np.nan_to_num(k2, nan=0.5, posinf=2.0, neginf=-2.0)
        for uu, ka, kb in ((u, k1, k2), (u0, k1, k2), (u, k0, k20)):
            kk = (ka, kb) if mode == "bidirectional" else ka
            want = ref.long_conv(uu, ka, kb if mode == "bidirectional" else None,
                                 "circular" if mode == "circular" else "causal")
            for method in ("fft", "partitioned"):
                try:
                    got = fnn.long_conv(uu, kk, mode=mode, method=method)
                except ValueError:           # a method that does not apply here
                    continue
                same_values(got, want)
    if mode != "causal":
        return
    gy = rng.standard_normal(u.shape)
    gy[1, 1, 7] = -np.inf
    gu, gk, _ = fgrad.long_conv(T(gy), T(u), T(k1), mode="causal")
    want_gu = np.zeros_like(u)
    want_gk = np.zeros_like(k1)
    with np.errstate(invalid="ignore"):
        for t in range(24):
            for j in range(t + 1):
                want_gu[..., t - j] += gy[..., t] * k1[:, j]
                want_gk[:, j] += (gy[..., t] * u[..., t - j]).sum(0)
    same_values(np.asarray(gu), want_gu)
    same_values(np.asarray(gk), want_gk)
    x = rng.standard_normal((2, 3, 20))
    w = rng.standard_normal((3, 4))
    w[0, 0], x[0, 1, 7], w[2, 3] = np.inf, np.nan, -np.inf
    want = np.zeros_like(x)
    with np.errstate(invalid="ignore"):
        for t in range(20):
            for i in range(4):
                if t - (3 - i) >= 0:
                    want[..., t] += w[:, i] * x[..., t - (3 - i)]
    same_values(np.asarray(fnn.causal_conv1d(T(x), T(w))), want)
    gy = rng.standard_normal(x.shape)
    gy[1, 2, 19] = np.inf
    gx, gw, _ = fgrad.causal_conv1d(T(gy), T(x), T(w))
    want_gx, want_gw = np.zeros_like(x), np.zeros_like(w)
    with np.errstate(invalid="ignore"):
        for t in range(20):
            for i in range(4):
                if t - (3 - i) >= 0:
                    want_gx[..., t - (3 - i)] += gy[..., t] * w[:, i]
                    want_gw[:, i] += (gy[..., t] * x[..., t - (3 - i)]).sum(0)
    same_values(np.asarray(gx), want_gx)
    same_values(np.asarray(gw), want_gw)


@pytest.mark.parametrize("side", ["u", "k", "both"])
@pytest.mark.parametrize("method", ["fft", "partitioned"])
def test_long_conv_transforms_see_nan_in_their_zero_frequency_bins(side, method, rng):
    """The NumPy engine's transform paths of long_conv read NaN / infinity
    off the zero-frequency bins of their transforms (the kernel's, each
    row's or block's): a late block's infinity is found too."""
    import fastconv.nn as fnn

    u = rng.standard_normal((2, 3, 600))
    k = rng.standard_normal((3, 600))
    if side in ("u", "both"):
        u[1, 2, 590] = np.inf
    if side in ("k", "both"):
        k[0, 550] = np.nan
    same_values(fnn.long_conv(u, k, method=method), ref.long_conv(u, k))


@pytest.mark.parametrize("L", [600, 16384])          # the FFT and the partitioned plans
@pytest.mark.parametrize("side", ["g", "u", "k", "none"])
def test_long_conv_gradients_see_nan_in_their_transforms(L, side, rng):
    """nn.grad.long_conv's transform paths read NaN / infinity off their
    zero-frequency bins (the output gradient's, the input's, the kernel's
    spectrum): the products of the definition (np.convolve / np.correlate
    per row, direct sums, as the reference)."""
    from fastconv.nn import grad as fgrad

    u = rng.standard_normal((1, 2, L))
    k = rng.standard_normal((2, L))
    g = rng.standard_normal((1, 2, L))
    arr = {"g": g, "u": u, "k": k[None]}.get(side)
    if arr is not None:
        arr[0, 1, L - 7] = np.inf
    gu, gk, _ = fgrad.long_conv(g, u, k)
    with np.errstate(invalid="ignore"):
        want_gu = np.stack([[np.correlate(g[0, h], k[h], "full")[L - 1:] for h in range(2)]])
        want_gk = np.stack([np.correlate(g[0, h], u[0, h], "full")[L - 1:] for h in range(2)])
    same_values(gu, want_gu, rtol=1e-8)
    same_values(gk, want_gk, rtol=1e-8)


def test_counting_the_products_is_within_the_memory_budget(monkeypatch, rng):
    """The NumPy engine's counting of NaN / infinite products allocates
    beyond the plan: estimated first, refused over FASTCONV_MAX_MEMORY."""
    x, k = problem(rng, (4000,), (30,), 2)
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(200_000))
    with pytest.raises(ValueError, match="counting their products"):
        fastconv.convolve(x, k, method="direct")
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", str(1 << 30))
    same_values(fastconv.convolve(x, k, method="direct"), ref.convolve_products(x, k))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("where", [0, 1_048_575, 1_500_000, 2_097_151, None])
def test_the_finite_check_of_large_arrays_split_over_threads(threads, where):
    """The engine's NaN / infinity check of a large array (its sum, split
    over the threads) finds one value anywhere, and a finite array whose
    sum overflows is still finite (each value checked then)."""
    from fastconv import _core

    a = np.ones((2, 1_048_576), np.float32)
    if where is not None:
        a.reshape(-1)[where] = np.nan if where % 2 else np.inf
    big = np.full((2, 1_048_576), 3e38, np.float32)
    with fastconv.threads(threads):
        assert _core._nonfinite(a) == (where is not None)
        assert not _core._nonfinite(big)
