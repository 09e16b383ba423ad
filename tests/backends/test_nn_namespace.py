"""fastconv.nn and the remaining drop-ins on arrays of other namespaces
(array-api-strict, JAX, and PyTorch tensors where they take the namespace
engine's layers): every result against the NumPy path's (itself tested
against torch.nn.functional / torch.autograd and scipy), the result's type,
dtype and shape, the NumPy path's errors, JAX's jit and grad."""
import numpy as np
import pytest

xs = pytest.importorskip("array_api_strict")
torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

import fastconv.filters as ff  # noqa: E402
import fastconv.ndimage as fnd  # noqa: E402
import fastconv.signal as fsig  # noqa: E402
from fastconv import nn  # noqa: E402
from fastconv.backends import layers as NL  # noqa: E402
from fastconv.nn import grad as G  # noqa: E402

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    BACKENDS = ["array_api_strict", "jax"]
except ImportError:          # jax is a test dependency; a bare environment tests the others
    BACKENDS = ["array_api_strict"]


def to(backend, a):
    if a is None or not isinstance(a, np.ndarray):
        return a
    if backend == "torch":
        return torch.from_numpy(np.ascontiguousarray(a))
    if backend == "jax":
        return jnp.asarray(a)
    return xs.asarray(a)


def back(y):
    if isinstance(y, torch.Tensor):
        return y.detach().numpy()
    return np.asarray(y._array) if hasattr(y, "_array") else np.asarray(y)


def check(got, want, backend, dtype=np.float64):
    assert type(got) is type(to(backend, np.zeros(1))), type(got)
    g = back(got)
    assert g.shape == want.shape and g.dtype == want.dtype, (g.shape, want.shape, g.dtype)
    tol = 1e-11 if dtype == np.float64 else 3e-5
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(g, want, rtol=0, atol=tol * scale)


rng = np.random.default_rng(7)
# (D, input shape, weight shape, options)
FORWARD = [
    (1, (2, 4, 31), (6, 2, 5), dict(stride=2, padding=3, dilation=2, groups=2)),
    (1, (3, 40), (5, 3, 20), dict(padding="same")),
    (1, (2, 3, 30), (3, 1, 4), dict(stride=3, padding="same_upper", groups=3)),
    (2, (2, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                                         groups=2)),
    (2, (1, 3, 10, 11), (4, 3, 1, 1), dict()),
    (2, (2, 4, 12, 7), (4, 1, 3, 3), dict(padding=1, groups=4)),
    (2, (3, 8, 9), (2, 3, 4, 2), dict(padding="valid")),
    (3, (1, 2, 5, 6, 4), (3, 2, 2, 3, 2), dict(padding=1, stride=(1, 2, 1))),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("D, xs_, ws_, opts", FORWARD)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["auto", "fft", "taps-gemm"])
def test_forward_layers(backend, D, xs_, ws_, opts, dtype, method):
    x = rng.standard_normal(xs_).astype(dtype)
    w = rng.standard_normal(ws_).astype(dtype)
    b = rng.standard_normal(ws_[0]).astype(dtype)
    f = getattr(nn, f"conv{D}d")
    want = f(x, w, b, **opts)
    check(f(to(backend, x), to(backend, w), to(backend, b), method=method, **opts), want,
          backend, dtype)


@pytest.mark.parametrize("backend", BACKENDS + ["torch"])
@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_padding_modes_and_channels_last(backend, padding_mode, data_format):
    # torch tensors with the options torch lacks take the namespace engine too
    x = rng.standard_normal((2, 4, 9, 10))
    w = rng.standard_normal((6, 2, 3, 4))
    if data_format == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    opts = dict(padding=(2, 1), groups=2, padding_mode=padding_mode, data_format=data_format)
    want = nn.conv2d(x, w, None, **opts)
    check(nn.conv2d(to(backend, x), to(backend, w), None, **opts), want, backend)
    x1 = x[0] if data_format == "channels_last" else np.ascontiguousarray(x[:, :, 0])
    got = nn.conv1d(to(backend, x1), to(backend, w[:, :, 0]), None, 1, 2, 1, 2,
                    padding_mode=padding_mode, data_format=data_format)
    check(got, nn.conv1d(x1, w[:, :, 0], None, 1, 2, 1, 2, padding_mode=padding_mode,
                         data_format=data_format), backend)


TRANSPOSED = [
    (1, (2, 4, 11), (4, 3, 5), dict(stride=3, padding=2, output_padding=1, groups=2,
                                    dilation=1)),
    (2, (2, 4, 6, 5), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 1),
                                         groups=2, dilation=(1, 2))),
    (2, (3, 5, 4), (3, 2, 4, 4), dict(stride=2, padding=1)),
    (3, (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1))),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("D, xs_, ws_, opts", TRANSPOSED)
def test_transposed_layers_and_all_gradients(backend, D, xs_, ws_, opts):
    x = rng.standard_normal(xs_)
    w = rng.standard_normal(ws_)
    b = rng.standard_normal(ws_[1] * opts.get("groups", 1))
    f = getattr(nn, f"conv_transpose{D}d")
    y = f(x, w, b, **opts)
    check(f(to(backend, x), to(backend, w), to(backend, b), **opts), y, backend)
    g = rng.standard_normal(y.shape)
    ti, tw = (getattr(G, f"conv_transpose{D}d_input"), getattr(G, f"conv_transpose{D}d_weight"))
    check(ti(x.shape, to(backend, w), to(backend, g), **opts), ti(x.shape, w, g, **opts),
          backend)
    check(tw(to(backend, x), w.shape, to(backend, g), **opts), tw(x, w.shape, g, **opts),
          backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("D, xs_, ws_, opts", FORWARD)
def test_forward_gradients(backend, D, xs_, ws_, opts):
    x = rng.standard_normal(xs_)
    w = rng.standard_normal(ws_)
    y = getattr(nn, f"conv{D}d")(x, w, None, **opts)
    g = rng.standard_normal(y.shape)
    fi, fw = getattr(G, f"conv{D}d_input"), getattr(G, f"conv{D}d_weight")
    check(fi(x.shape, to(backend, w), to(backend, g), **opts), fi(x.shape, w, g, **opts),
          backend)
    check(fw(to(backend, x), w.shape, to(backend, g), **opts), fw(x, w.shape, g, **opts),
          backend)
    check(G.bias(to(backend, g), D), G.bias(g, D), backend)
    if isinstance(opts.get("padding"), int) and opts["padding"] > 0:
        got = fw(to(backend, x), w.shape, to(backend, g), padding_mode="reflect", **opts)
        check(got, fw(x, w.shape, g, padding_mode="reflect", **opts), backend)
        with pytest.raises(TypeError, match="padding_mode"):
            fi(x.shape, to(backend, w), to(backend, g), padding_mode="reflect", **opts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_errors_are_the_numpy_paths(backend):
    x, w = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3))
    X, W = to(backend, x), to(backend, w)
    for kw, exc, msg in ((dict(groups=3), ValueError, "groups"),
                         (dict(stride=2, padding="same"), ValueError, "same"),
                         (dict(padding=-1), ValueError, "padding"),
                         (dict(method="magic"), ValueError, "method")):
        with pytest.raises(exc, match=msg):
            nn.conv1d(X, W, None, **{"groups": 2, **kw})
        if kw.get("method") != "magic":
            with pytest.raises(exc, match=msg):
                nn.conv1d(x, w, None, **{"groups": 2, **kw})
    with pytest.raises(ValueError, match="grad_output"):
        G.conv1d_input(x.shape, W, to(backend, rng.standard_normal((2, 6, 3))), groups=2)
    with pytest.raises(TypeError, match="dtype"):
        nn.conv1d(X, to(backend, w.astype(np.float32)), None, groups=2)
    with pytest.raises(ValueError, match="output_padding"):
        nn.conv_transpose1d(X, to(backend, rng.standard_normal((4, 3, 3))), None, 1, 0, 1)


def test_layers_module_on_torch_tensors_with_autograd():
    """backends.layers written against the array API: on torch tensors too
    (the path for options torch lacks), with autograd through torch's ops."""
    x = torch.from_numpy(rng.standard_normal((2, 4, 10, 9))).requires_grad_()
    w = torch.from_numpy(rng.standard_normal((6, 2, 3, 3))).requires_grad_()
    for method in ("taps", "fft"):
        y = NL.conv(x, w, (2, 1), (1, 2), 2, [(1, 1), (2, 0)], method=method)
        want = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 0, 1, 1)), w,
                                          stride=(2, 1), dilation=(1, 2), groups=2)
        np.testing.assert_allclose(y.detach().numpy(), want.detach().numpy(), atol=1e-11)
        gx, gw = torch.autograd.grad(y.sum(), (x, w))
        wx, ww = torch.autograd.grad(want.sum(), (x, w))
        np.testing.assert_allclose(gx.numpy(), wx.numpy(), atol=1e-11)
        np.testing.assert_allclose(gw.numpy(), ww.numpy(), atol=1e-10)


@pytest.mark.skipif("jax" not in BACKENDS, reason="jax is not installed here")
def test_jax_jit_and_grad_through_layers():
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    opts = dict(stride=(2, 1), padding=1, groups=2)
    f = jax.jit(lambda a, c: nn.conv2d(a, c, None, **opts))
    check(f(jnp.asarray(x), jnp.asarray(w)), nn.conv2d(x, w, None, **opts), "jax")
    y = nn.conv2d(x, w, None, **opts)
    g = rng.standard_normal(y.shape)
    loss = lambda a, c: jnp.sum(nn.conv2d(a, c, None, **opts) * jnp.asarray(g))  # noqa: E731
    gx, gw = jax.grad(loss, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(gx), G.conv2d_input(x.shape, w, g, **opts), atol=1e-11)
    np.testing.assert_allclose(np.asarray(gw), G.conv2d_weight(x, w.shape, g, **opts),
                               atol=1e-11)
    u = rng.standard_normal((2, 3, 50))
    k = rng.standard_normal((3, 50))
    h = jax.jit(lambda a, c: nn.long_conv(a, c))
    check(h(jnp.asarray(u), jnp.asarray(k)), nn.long_conv(u, k), "jax")


@pytest.mark.parametrize("backend", BACKENDS + ["torch"])
@pytest.mark.parametrize("mode", ["causal", "circular", "bidirectional"])
@pytest.mark.parametrize("layout", ["BHL", "BLH"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_conv_and_gradients(backend, mode, layout, dtype):
    L, H = 37, 3                                   # odd and prime
    u = rng.standard_normal((2, H, L)).astype(dtype)
    if layout == "BLH":
        u = np.ascontiguousarray(np.swapaxes(u, 1, 2))
    ks = [rng.standard_normal((H, 11)).astype(dtype), rng.standard_normal(L).astype(dtype)]
    for k in ks:
        kk = np.stack([k, k[..., ::-1] * 0.5]) if mode == "bidirectional" else k
        for skip in (None, rng.standard_normal(H).astype(dtype), 0.25):
            opts = dict(mode=mode, layout=layout, skip=skip)
            T = lambda a: to(backend, a)  # noqa: E731
            want = nn.long_conv(u, kk, **opts)
            got = nn.long_conv(T(u), T(kk), **{**opts, "skip": T(skip)})
            check(got, want, backend, dtype)
            g = rng.standard_normal(u.shape).astype(dtype)
            wants = G.long_conv(g, u, kk, **opts)
            gots = G.long_conv(T(g), T(u), T(kk), **{**opts, "skip": T(skip)})
            for a, b in zip(gots, wants):
                if b is None:
                    assert a is None
                else:
                    check(a, np.asarray(b), backend, dtype)
    with pytest.raises(ValueError, match="taps"):
        nn.long_conv(to(backend, u), to(backend, rng.standard_normal((H, L + 1)).astype(dtype)),
                     layout=layout)
    with pytest.raises(TypeError, match="LongConvKernel"):
        nn.long_conv(to(backend, u[:, :, :L] if layout == "BHL" else u),
                     nn.LongConvKernel(ks[0], L), mode="causal", layout=layout) \
            if backend != "torch" else (_ for _ in ()).throw(TypeError("LongConvKernel"))


@pytest.mark.parametrize("backend", BACKENDS + ["torch"])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_causal_conv1d_gradients_and_update(backend, activation):
    x = rng.standard_normal((2, 5, 33))
    w = rng.standard_normal((5, 4))
    b = rng.standard_normal(5)
    X, W, B = to(backend, x), to(backend, w), to(backend, b)
    if backend == "torch":
        X = X.clone().requires_grad_()              # the namespace path for tensors
    check(nn.causal_conv1d(X, W, B, activation), nn.causal_conv1d(x, w, b, activation), backend)
    check(nn.causal_conv1d(to(backend, x[0]), W, None, activation),
          nn.causal_conv1d(x[0], w, None, activation), backend)
    g = rng.standard_normal(x.shape)
    for a, e in zip(G.causal_conv1d(to(backend, g), X, W, B, activation),
                    G.causal_conv1d(g, x, w, b, activation)):
        check(a, e, backend)
    full = nn.causal_conv1d(x, w, b, activation)
    if backend == "jax":
        with pytest.raises(TypeError, match="state"):
            nn.causal_conv1d_update(to(backend, x[:, :, 0]), jnp.zeros((2, 5, 3)), W, B,
                                    activation)
        return
    state = to(backend, np.zeros((2, 5, 3)))
    for t in range(6):
        y = nn.causal_conv1d_update(to(backend, x[:, :, t]), state, W, B, activation)
        check(y, full[:, :, t], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_d_and_one_d_drop_ins_and_edges(backend):
    a = rng.standard_normal((9, 8))
    b = rng.standard_normal((4, 3))
    T = lambda v: to(backend, v)  # noqa: E731
    for mode in ("full", "same", "valid"):
        for boundary in ("fill", "wrap", "symm"):
            for f in (fsig.convolve2d, fsig.correlate2d):
                check(f(T(a), T(b), mode, boundary, 1.5), f(a, b, mode, boundary, 1.5), backend)
    check(fsig.correlate2d(T(b), T(a), "valid"), fsig.correlate2d(b, a, "valid"), backend)
    for mode in ("reflect", "nearest", "mirror", "wrap", "constant"):
        for f, origin in ((fnd.convolve1d, 1), (fnd.correlate1d, -1)):
            wts = np.array([1.0, 2.0, -3.0, 4.0])
            check(f(T(a), T(wts), 0, None, mode, 2.0, origin),
                  f(a, wts, 0, None, mode, 2.0, origin), backend)
    for direction in ("x", "y", "magnitude"):
        for op in ("sobel", "scharr", "prewitt"):
            check(ff.edges(T(a), op, direction, mode="nearest"),
                  ff.edges(a, op, direction, mode="nearest"), backend)
    with pytest.raises(ValueError, match="2-D"):
        fsig.convolve2d(T(a[0]), T(b[0]))
    with pytest.raises(RuntimeError, match="one-dimensional"):
        fnd.correlate1d(T(a), T(b))
    big = (a * 1e30).astype(np.float32)
    assert np.isfinite(back(ff.edges(T(big)))).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_numpy_drop_ins_and_the_functions_that_stay_on_numpy(backend):
    import fastconv.numpy as fnp

    T = lambda v: to(backend, v)  # noqa: E731
    cases = [(rng.standard_normal(9), rng.standard_normal(4)),
             (rng.standard_normal(4), rng.standard_normal(9)),
             (rng.standard_normal(5) + 1j * rng.standard_normal(5),
              rng.standard_normal(8) + 1j * rng.standard_normal(8))]
    for a, v in cases:
        for mode in ("full", "same", "valid", 0, 1, 2):
            for ours, theirs in ((fnp.convolve, np.convolve), (fnp.correlate, np.correlate)):
                check(ours(T(a), T(v), mode), theirs(a, v, mode), backend)
    with pytest.raises(ValueError, match="empty"):
        fnp.convolve(T(np.zeros(0)), T(np.ones(3)))
    with pytest.raises(ValueError, match="too deep"):
        fnp.convolve(T(np.ones((2, 2))), T(np.ones(3)))
    # IIR filtering and polynomial division run on NumPy arrays only: a
    # TypeError naming the function and the backend, never a NumPy result
    for call in (lambda: fsig.lfilter(T(np.ones(2)), T(np.ones(1)), T(np.ones(5))),
                 lambda: fsig.deconvolve(T(np.ones(5)), T(np.ones(2)))):
        with pytest.raises(TypeError, match="lfilter|deconvolve"):
            call()
