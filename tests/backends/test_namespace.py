"""The namespace engine (fastconv.backends) on array-api-strict arrays and
torch CPU tensors against the NumPy engine's results: every method x mode x
boundary x dtype the backend supports, types and devices of the results,
and the errors for what a backend cannot do.  GPU tests run where CUDA is
present."""
import subprocess
import sys

import numpy as np
import pytest

import fastconv

xs = pytest.importorskip("array_api_strict")
torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)       # float64 / int64 as NumPy's
    BACKENDS = ["array_api_strict", "torch", "jax"]
except ImportError:          # jax is a test dependency; a bare environment tests the others
    BACKENDS = ["array_api_strict", "torch"]


@pytest.fixture(autouse=True)
def namespace_engine_for_cpu_tensors(monkeypatch):
    """Torch CPU tensors go to the namespace engine here (by default they
    run the NumPy engine on shared memory: tested below)."""
    import fastconv.backends

    monkeypatch.setattr(fastconv.backends, "TORCH_CPU_VIA_NUMPY", False)
MODES = ["full", "same", "valid"]
BOUNDARIES = ["constant", "edge", "symmetric", "reflect", "wrap"]
DTYPES = [np.float32, np.float64, np.complex128, np.int64]
# (in1 shape, in2 shape, axes)
SHAPES = [((37,), (5,), None), ((3, 40), (3, 7), -1), ((3, 40), (1, 9), -1),
          ((19, 23), (4, 3), None), ((2, 9, 11, 6), (1, 3, 1, 4), (1, 3)),
          ((2, 9, 11, 6), (2, 3, 11, 2), (1, 3)),
          # long enough for several overlap-save frames (frames of 64-160)
          ((2, 701), (1, 20), -1), ((150, 97), (9, 12), None)]


def to(backend, a):
    if backend == "torch":
        return torch.from_numpy(np.ascontiguousarray(a))
    if backend == "jax":
        return jnp.asarray(a)
    return xs.asarray(a)


def back(y):
    return y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)


def data(shape, dtype, rng):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, shape).astype(dtype)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def methods(dtype):
    return (["direct"] if np.dtype(dtype).kind == "i"
            else ["direct", "fft", "overlap-save", "auto"])


CASES = [(b, d, m) for b in BACKENDS for d in DTYPES for m in methods(d)]


@pytest.mark.parametrize("backend, dtype, method", CASES)
@pytest.mark.parametrize("xshape, kshape, axes", SHAPES)
def test_against_numpy_engine(backend, dtype, method, xshape, kshape, axes):
    rng = np.random.default_rng(len(xshape) + kshape[-1])
    x, k = data(xshape, dtype, rng), data(kshape, dtype, rng)
    for op in (fastconv.convolve, fastconv.correlate):
        for mode in MODES:
            for boundary in BOUNDARIES:
                cval = 2 if boundary == "constant" and mode != "valid" else 0
                want = op(x, k, mode=mode, axes=axes, boundary=boundary, cval=cval)
                got = op(to(backend, x), to(backend, k), mode=mode, method=method, axes=axes,
                         boundary=boundary, cval=cval)
                assert type(got) is type(to(backend, x)) or backend == "jax"
                g = back(got)
                assert g.shape == want.shape and g.dtype == want.dtype, (mode, boundary)
                if np.dtype(dtype).kind == "i":
                    np.testing.assert_array_equal(g, want)
                else:
                    scale = np.abs(x).max() * np.abs(k).sum() + abs(cval) * np.abs(k).sum()
                    tol = (2e-5 if dtype == np.float32 else 1e-12) * scale
                    assert np.abs(g - want).max() <= tol, (op.__name__, mode, boundary)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_dtypes_and_devices(backend):
    x = np.random.default_rng(0).standard_normal(30).astype(np.float32)
    k = np.arange(5, dtype=np.int64)
    got = fastconv.convolve(to(backend, x), to(backend, k))
    want = fastconv.convolve(x, k)
    assert back(got).dtype == want.dtype
    np.testing.assert_allclose(back(got), want, rtol=1e-5, atol=1e-5)
    if backend == "torch":
        assert got.device == torch.device("cpu")


def test_errors_name_the_backend_and_parameter():
    x = torch.randn(20)
    with pytest.raises(TypeError, match="out=.*torch"):
        fastconv.convolve(x, x, out=np.zeros(39))
    with pytest.raises(TypeError, match="nan_policy.*torch"):
        fastconv.convolve(x, x, nan_policy="interpolate")
    with pytest.raises(ValueError, match="method='overlap-add'.*torch"):
        fastconv.convolve(x, x, method="overlap-add")
    with pytest.raises(ValueError, match="mode"):
        fastconv.convolve(x, x, mode="middle")
    with pytest.raises(ValueError, match="int64 accumulator"):
        big = torch.full((4,), 2**40, dtype=torch.int64)
        fastconv.convolve(big, big * 2**20)
    with pytest.raises(ValueError, match="cval"):
        fastconv.convolve(x, x[:3], mode="same", cval=1j)
    with pytest.raises(TypeError, match="in1/in2"):
        fastconv.convolve(x, xs.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="length 0"):
        fastconv.convolve(torch.zeros(0), x)


def test_import_fastconv_imports_no_array_library():
    code = ("import sys, fastconv, numpy as np; fastconv.convolve(np.ones(5), np.ones(3)); "
            "print(any(m in sys.modules for m in ('torch', 'cupy', 'jax', "
            "'array_api_compat', 'array_api_strict')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_planner_explains_per_device():
    from fastconv.planning.namespace import choose

    p = choose((4096, 4096), (31, 31), (4096, 4096), 1, np.dtype(np.float32), "cpu", "torch")
    assert p.method == "fft" and "torch on cpu" in p.explain()
    p = choose((4096,), (3,), (4096,), 1, np.dtype(np.float32), "cpu", "torch")
    assert p.method == "direct"


def test_torch_cpu_tensors_share_memory_with_the_numpy_engine(monkeypatch):
    import fastconv.backends

    monkeypatch.setattr(fastconv.backends, "TORCH_CPU_VIA_NUMPY", True)
    rng = np.random.default_rng(5)
    x, k = rng.standard_normal((4, 300)), rng.standard_normal((4, 11))
    got = fastconv.convolve(torch.from_numpy(x), torch.from_numpy(k), mode="same", axes=-1,
                            boundary="wrap", nan_policy="fill")
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), fastconv.convolve(
        x, k, mode="same", axes=-1, boundary="wrap", nan_policy="fill"))
    # a tensor that needs its gradient goes to the namespace engine (torch ops)
    xg = torch.from_numpy(x).requires_grad_()
    y = fastconv.convolve(xg, torch.from_numpy(k), mode="same", axes=-1)
    assert y.requires_grad
    y.sum().backward()
    assert xg.grad.shape == xg.shape


CUDA = torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="no CUDA device here: GPU tests run on a machine with one")
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_cuda_tensors_stay_on_the_device(method):  # pragma: no cover - needs a GPU
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((3, 200)), rng.standard_normal((3, 17))
    got = fastconv.convolve(torch.from_numpy(x).cuda(), torch.from_numpy(k).cuda(), mode="same",
                            axes=-1, boundary="reflect", method=method)
    assert got.is_cuda
    want = fastconv.convolve(x, k, mode="same", axes=-1, boundary="reflect")
    np.testing.assert_allclose(got.cpu().numpy(), want, atol=1e-10)


def test_plan_for_namespace_arrays():
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((64, 64)), np.ones((31, 31))
    p = fastconv.plan(xs.asarray(x), xs.asarray(k), mode="same", boundary="reflect")
    assert p.method == "fft" and "array_api_strict on cpu" in p.explain()
    y = p(xs.asarray(x), xs.asarray(k))
    assert type(y) is type(xs.asarray(x))
    np.testing.assert_allclose(np.asarray(y), fastconv.convolve(x, k, mode="same",
                                                                boundary="reflect"),
                               rtol=1e-12, atol=1e-10)
    long = xs.asarray(rng.standard_normal(100_000))
    assert fastconv.plan(long, xs.asarray(np.ones(3))).method == "direct"
    p = fastconv.plan(xs.asarray(np.zeros(10**6)), xs.asarray(np.ones(4096)))
    assert p.method == "overlap-save" and p.frames == (32768,)    # measured 15 vs 24 ms


def test_overlap_save_frames_against_numpy_engine():
    """Frames that end exactly at the output's end, one output past a
    frame, kernels of one tap and as long as the frame allows, batches of
    kernels: overlap-save against the NumPy engine."""
    from fastconv.planning.namespace import frames

    rng = np.random.default_rng(11)
    for n, K in [(217, 2), (218, 2), (64, 1), (1000, 57), (1000, 9), (5, 5), (300, 300)]:
        x, k = rng.standard_normal((3, n)), rng.standard_normal((3, K))
        for mode in MODES:
            want = fastconv.convolve(x, k, mode=mode, axes=-1)
            got = fastconv.convolve(torch.from_numpy(x), torch.from_numpy(k), mode=mode,
                                    axes=-1, method="overlap-save")
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-11 * K)
    assert frames((10**6,), (4096,), (10**6,)) == (32768,)
    assert frames((100,), (50,), (149,)) == (200,)     # one frame: a fast length of the reach


@pytest.mark.skipif("jax" not in BACKENDS, reason="jax is not installed here")
@pytest.mark.parametrize("boundary", ["constant", "reflect", "wrap", "edge", "symmetric"])
@pytest.mark.parametrize("method", ["direct", "fft", "overlap-save", "auto"])
def test_jax_jit_and_grad(boundary, method):
    """The namespace engine traces under jax.jit (shapes are static; the
    index maps are NumPy constants) and differentiates under jax.grad."""
    rng = np.random.default_rng(7)
    x, k = rng.standard_normal((3, 40)), rng.standard_normal((3, 7))
    want = fastconv.convolve(x, k, mode="same", axes=-1, boundary=boundary, cval=0.5)
    f = jax.jit(lambda a, c: fastconv.convolve(a, c, mode="same", axes=-1, boundary=boundary,
                                               method=method, cval=0.5))
    got = f(jnp.asarray(x), jnp.asarray(k))
    assert isinstance(got, jax.Array)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
    g = jax.grad(lambda a: fastconv.convolve(a, jnp.asarray(k), mode="same", axes=-1,
                                             boundary=boundary, method=method).sum())(
        jnp.asarray(x))
    # d/dx of sum(conv(x, k)) by finite differences at one entry
    e = np.zeros_like(x)
    e[1, 5] = 1e-6
    fd = (fastconv.convolve(x + e, k, mode="same", axes=-1, boundary=boundary).sum()
          - fastconv.convolve(x - e, k, mode="same", axes=-1, boundary=boundary).sum()) / 2e-6
    assert abs(float(g[1, 5]) - fd) < 1e-6


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "torch"])
def test_integer_extremes_exact_or_refused(backend):
    """Integers at their extremes (INT64_MIN, uint64 above 2**63) on the
    namespace engine: the NumPy engine's exact result (Python integers as
    the reference), or a ValueError naming the operand; never a wrapped
    value.  (uint64 accumulates in int64 there: its values above 2**63 - 1
    are refused.)"""
    rng = np.random.default_rng(7)
    for dt in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
               np.uint64):
        info = np.iinfo(dt)
        vals = [int(info.min), int(info.max), 0, 1, int(info.max) // 3,
                int(info.min) // 2 if info.min else 5]
        for _ in range(10):
            x = np.array([vals[i] for i in rng.integers(0, len(vals), 11)], dtype=dt)
            k = rng.integers(-2 if info.min < 0 else 0, 3, 4).astype(dt)
            want = np.convolve(x.astype(object), k.astype(object))
            try:
                got = back(fastconv.convolve(to(backend, x), to(backend, k)))
            except ValueError as e:
                assert "in1" in str(e) or "in2" in str(e)
                assert (max(abs(int(v)) for v in want) > np.iinfo(np.int64).max
                        or (dt == np.uint64 and int(x.max()) > np.iinfo(np.int64).max))
                continue
            np.testing.assert_array_equal(got.astype(object), want)
