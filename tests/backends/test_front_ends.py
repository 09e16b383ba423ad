"""The public front ends take foreign arrays: PyTorch CPU tensors through
the NumPy engine on shared memory (tensors back, values equal), the
scipy.signal names through the namespace engine for other arrays, and a
TypeError naming the function and backend where neither serves."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

import fastconv.filters as ff  # noqa: E402
import fastconv.ndimage as fnd  # noqa: E402
import fastconv.signal as fsig  # noqa: E402
from fastconv import nn  # noqa: E402

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 40))
K = rng.standard_normal((3, 5))
IMG = rng.standard_normal((24, 30))
W = rng.standard_normal((4, 3, 5))

CALLS = [
    ("signal.convolve", lambda x, k: fsig.convolve(x, k, mode="same")),
    ("signal.correlate", lambda x, k: fsig.correlate(x, k)),
    ("signal.fftconvolve", lambda x, k: fsig.fftconvolve(x, k, mode="valid")),
    ("signal.oaconvolve", lambda x, k: fsig.oaconvolve(x, k)),
    ("signal.convolve2d", lambda x, k: fsig.convolve2d(x, k, boundary="symm")),
    ("ndimage.convolve", lambda x, k: fnd.convolve(x, k, mode="mirror")),
    ("ndimage.correlate1d", lambda x, k: fnd.correlate1d(x, k[0, :], axis=1)),
    ("filters.gaussian", lambda x, k: ff.gaussian(x, 1.5)),
    ("filters.filter", lambda x, k: ff.filter(x, k)),
]


@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_torch_cpu_tensors_in_tensors_out(name, call):
    want = call(X, K)
    got = call(torch.from_numpy(X), torch.from_numpy(K))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), want)


def test_nn_functions_take_tensors():
    x = torch.from_numpy(rng.standard_normal((2, 3, 40)))
    got = nn.conv1d(x, torch.from_numpy(W), None, padding=2)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), nn.conv1d(x.numpy(), W, None, padding=2))
    u = torch.from_numpy(rng.standard_normal((2, 3, 64)).astype(np.float32))
    k = torch.from_numpy(rng.standard_normal((3, 16)).astype(np.float32))
    assert isinstance(nn.long_conv(u, k), torch.Tensor)
    assert isinstance(nn.causal_conv1d(u, k[:, :4]), torch.Tensor)


@pytest.mark.parametrize("name, call", CALLS[:4], ids=[c[0] for c in CALLS[:4]])
def test_signal_names_through_the_namespace_engine(name, call):
    want = call(X, K)
    got = call(xs.asarray(X), xs.asarray(K))
    assert type(got) is type(xs.asarray(X))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-10)


NDIMAGE_MODES = ["reflect", "mirror", "nearest", "wrap", "constant", "grid-wrap",
                 "grid-mirror", "grid-constant"]


@pytest.mark.parametrize("wshape", [(3, 3), (4, 2), (2, 2), (1, 5)])
@pytest.mark.parametrize("mode", NDIMAGE_MODES)
def test_ndimage_through_the_namespace_engine(wshape, mode):
    w = rng.standard_normal(wshape)
    origins = [0, (0, -1)] if wshape[1] > 1 else [0]
    for f in (fnd.correlate, fnd.convolve):
        for origin in origins:
            want = f(IMG, w, mode=mode, cval=1.5, origin=origin)
            got = f(xs.asarray(IMG), xs.asarray(w), mode=mode, cval=1.5, origin=origin)
            assert type(got) is type(xs.asarray(IMG))
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
    x3 = rng.standard_normal((5, 6, 7))
    w2 = rng.standard_normal((3, 4))
    np.testing.assert_allclose(
        np.asarray(fnd.convolve(xs.asarray(x3), xs.asarray(w2), axes=(0, 2), mode=mode)),
        fnd.convolve(x3, w2, axes=(0, 2), mode=mode), rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="real floating"):
        fnd.correlate(xs.asarray(np.arange(12).reshape(3, 4)), xs.asarray(np.ones((2, 2), int)))


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_filters_through_the_namespace_engine(mode):
    for k in (rng.standard_normal((3, 3)), rng.standard_normal((4, 6))):
        want = ff.filter(IMG, k, mode=mode, cval=0.5)
        got = ff.filter(xs.asarray(IMG), xs.asarray(k), mode=mode, cval=0.5)
        assert type(got) is type(xs.asarray(IMG))
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ff.gaussian(xs.asarray(IMG), 1.7, mode=mode)),
                               ff.gaussian(IMG, 1.7, mode=mode), rtol=1e-12, atol=1e-12)
    rgb = rng.standard_normal((20, 22, 3))
    np.testing.assert_allclose(
        np.asarray(ff.gaussian(xs.asarray(rgb), 1.0, mode=mode, channel_axis=-1)),
        ff.gaussian(rgb, 1.0, mode=mode, channel_axis=-1), rtol=1e-12, atol=1e-12)
    # one pass per axis: per-axis sigmas, a constant border, float32 kept, 3-D
    vol = rng.standard_normal((9, 10, 11))
    for sig, a, dt in (((1.0, 2.5, 0.5), vol, np.float64), ((2.0, 0.7), IMG, np.float32)):
        a = a.astype(dt)
        got = ff.gaussian(xs.asarray(a), sig, mode=mode, cval=0.7)
        want = ff.gaussian(a, sig, mode=mode, cval=0.7)
        assert np.asarray(got).dtype == want.dtype == dt
        np.testing.assert_allclose(np.asarray(got), want, rtol=0,
                                   atol=1e-12 if dt == np.float64 else 3e-6)


@pytest.mark.parametrize("name, call", CALLS[4:], ids=[c[0] for c in CALLS[4:]])
def test_every_front_end_serves_the_namespace_engine(name, call):
    want = call(X, K)
    got = call(xs.asarray(X), xs.asarray(K))
    assert type(got) is type(xs.asarray(X))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-10)


def test_numpy_arguments_are_never_foreign():
    from fastconv.backends import is_foreign

    for v in (np.float64, np.dtype("f4"), np.float32(1), [1, 2], None, "reflect", np.ones(2),
              np.ma.masked_array([1.0]), 3, 2.5, 1j, True, range(3)):
        assert not is_foreign(v), v
    assert is_foreign(torch.zeros(2)) and is_foreign(xs.asarray([1.0]))
    # an ndimage call with a dtype class as output (scipy's own tests do this)
    assert fnd.correlate(IMG, np.ones((3, 3)), output=np.float32).dtype == np.float32


def test_nn_with_tensors_that_need_gradients():
    """Tensors that need a gradient (as CUDA tensors would) go to torch: the
    values are fastconv.nn's, autograd flows."""
    x = torch.from_numpy(rng.standard_normal((2, 3, 50))).requires_grad_()
    w = torch.from_numpy(rng.standard_normal((4, 3, 60)))
    for pad in (5, "same"):
        y = nn.conv1d(x, w, None, padding=pad)
        np.testing.assert_allclose(y.detach().numpy(),
                                   nn.conv1d(x.detach().numpy(), w.numpy(), None, padding=pad),
                                   rtol=1e-10, atol=1e-10)
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    img = torch.from_numpy(rng.standard_normal((1, 2, 9, 9))).requires_grad_()
    wt = torch.from_numpy(rng.standard_normal((2, 3, 3, 3)))
    np.testing.assert_allclose(nn.conv_transpose2d(img, wt, None, 2).detach().numpy(),
                               nn.conv_transpose2d(img.detach().numpy(), wt.numpy(), None, 2),
                               rtol=1e-10, atol=1e-10)
    u = torch.from_numpy(rng.standard_normal((2, 3, 40))).requires_grad_()
    k = torch.from_numpy(rng.standard_normal((3, 40)))
    for mode in ("causal", "circular"):
        np.testing.assert_allclose(nn.long_conv(u, k, mode=mode).detach().numpy(),
                                   nn.long_conv(u.detach().numpy(), k.numpy(), mode=mode),
                                   rtol=1e-10, atol=1e-10)
    # the forms fastconv.torch lacks take the namespace engine's torch ops
    # (autograd through them)
    kk = torch.stack([k, k.flip(-1)])
    yb = nn.long_conv(u, kk, mode="bidirectional", layout="BHL")
    np.testing.assert_allclose(yb.detach().numpy(), nn.long_conv(
        u.detach().numpy(), kk.numpy(), mode="bidirectional"), rtol=1e-10, atol=1e-10)
    yr = nn.conv1d(x, w, None, padding=5, padding_mode="reflect")
    np.testing.assert_allclose(yr.detach().numpy(), nn.conv1d(
        x.detach().numpy(), w.numpy(), None, padding=5, padding_mode="reflect"),
        rtol=1e-10, atol=1e-10)
    x.grad = None
    yr.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


@pytest.mark.parametrize("accelerate", [False, True])
def test_richardson_lucy_through_the_namespace_engine(accelerate, monkeypatch):
    """Deconvolution on array-api-strict, JAX arrays and torch tensors (the
    namespace engine forced for CPU tensors, as CUDA tensors take it):
    scikit-image's iteration, values as the NumPy path's, float32 kept."""
    import fastconv.backends
    from fastconv import restoration as R

    monkeypatch.setattr(fastconv.backends, "TORCH_CPU_VIA_NUMPY", False)
    img = rng.random((30, 41))
    vol = rng.random((9, 10, 12)).astype(np.float32)
    psf2 = np.outer(np.hanning(7), np.hanning(9))
    psf3 = np.ones((3, 5, 3), np.float32) / 45
    convs = [xs.asarray, torch.from_numpy]
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        convs.append(jax.numpy.asarray)
    except ImportError:      # jax is a test dependency; a bare environment tests the others
        pass
    for conv in convs:
        for a, p in ((img, psf2 / psf2.sum()), (vol, psf3)):
            for fe, clip in ((None, True), (1e-3, False)):
                want = R.richardson_lucy(a, p, 9, clip=clip, filter_epsilon=fe,
                                         accelerate=accelerate)
                got = R.richardson_lucy(conv(a), conv(p), 9, clip=clip, filter_epsilon=fe,
                                        accelerate=accelerate)
                assert type(got) is type(conv(a))
                g = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
                assert g.shape == want.shape
                assert g.dtype == want.dtype
                tol = 1e-10 if a.dtype == np.float64 else 2e-5
                np.testing.assert_allclose(g, want, rtol=0, atol=tol)
    with pytest.raises(ValueError, match="num_iter"):
        R.richardson_lucy(xs.asarray(img), xs.asarray(psf2), -1)
    with pytest.raises(ValueError, match="psf"):
        R.richardson_lucy(xs.asarray(img), xs.asarray(psf3), 2)


def test_gpu_benchmark_script_dry_run(tmp_path):
    """benchmarks/gpu.py's torch cases run end to end on CPU tensors through
    the namespace engine (the script's code checked where no GPU is; its
    times are not GPU figures)."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = tmp_path / "g.json"
    r = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "gpu.py"), "--device",
                        "cpu", "--small", "--json", str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert [r["case"].split(" ")[0] for r in rows] == ["1-D"] + ["2-D"] * 3 + ["3-D"] * 2 + [
        "long_conv"]
    assert all(r["ratio"] > 0 for r in rows)
