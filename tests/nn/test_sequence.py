"""fastconv.nn's sequence-model convolutions against the float64 loop
reference (tests/reference.py), torch (rfft at 2L for causal; conv1d with
left padding for the short filter; autograd for every gradient) and finite
differences; the streaming decoder against the batch forward; errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from fastconv import nn
from fastconv.nn import grad as G
from tests import reference as ref

TOL = {np.float32: 3e-5, np.float64: 1e-11}


def close(got, want, dtype, scale=None):
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = scale or (np.abs(want).max() + 1.0)
    err = np.abs(got.astype(np.float64) - want).max()
    assert err <= TOL[dtype] * scale * 10, err / scale


# L odd, prime, a power of two; kernels from 1 tap to L; shared and per channel
SHAPES = [(2, 3, 1, 1), (1, 2, 17, 5), (2, 3, 97, 97), (3, 2, 128, 40), (1, 4, 251, 200),
          (2, 2, 600, 600), (1, 3, 1031, 700)]


def _applies(method, mode, Lk):
    return not (method == "direct" and Lk > 256 or
                method == "partitioned" and (mode != "causal" or Lk <= 256))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("B,H,L,Lk,mode,method", [
    s + (mode, method) for s in SHAPES for mode in ("causal", "bidirectional", "circular")
    for method in ("auto", "fft", "direct", "partitioned") if _applies(method, mode, s[3])],
    ids=str)
def test_forward_against_reference(B, H, L, Lk, mode, dtype, method, rng):
    u = rng.standard_normal((B, H, L)).astype(dtype)
    shared = Lk % 2 == 1 and H > 1
    kshape = (Lk,) if shared else (H, Lk)
    k1 = rng.standard_normal(kshape).astype(dtype)
    k2 = rng.standard_normal(kshape).astype(dtype) if mode == "bidirectional" else None
    k = k1 if k2 is None else (k1, k2)
    skip = rng.standard_normal(H).astype(dtype)
    got = nn.long_conv(u, k, mode=mode, skip=skip, method=method)
    r = lambda a: None if a is None else np.atleast_2d(a)
    want = ref.long_conv(u, r(k1), r(k2), mode) + u * skip[:, None]
    assert got.dtype == dtype
    close(got, want, dtype, scale=np.abs(u).max() * (np.abs(k1).sum() + 1) * 2)


def test_causal_against_torch_rfft(rng):
    """The definition issue's users compute: irfft(rfft(u, 2L) * rfft(k, 2L))[:L]."""
    B, H, L = 2, 8, 300
    u = rng.standard_normal((B, H, L)).astype(np.float32)
    k = rng.standard_normal((H, L)).astype(np.float32)
    ut, kt = torch.from_numpy(u).double(), torch.from_numpy(k).double()
    want = torch.fft.irfft(torch.fft.rfft(ut, n=2 * L) * torch.fft.rfft(kt, n=2 * L),
                           n=2 * L)[..., :L].numpy()
    close(nn.long_conv(u, k), want, np.float32)
    # layout BLH and unbatched
    got = nn.long_conv(np.swapaxes(u, 1, 2), k, layout="BLH")
    close(np.swapaxes(got, 1, 2), want, np.float32)
    close(nn.long_conv(u[0], k), want[0], np.float32)


def test_prepared_kernel_reused(rng):
    H, L = 4, 2000
    k = rng.standard_normal((H, 1500))
    kern = nn.LongConvKernel(k, L, dtype=np.float64)
    for B in (1, 3):
        u = rng.standard_normal((B, H, L))
        close(nn.long_conv(u, kern), ref.long_conv(u, k), np.float64)
    k[:] = 0                             # the prepared copy does not see later changes
    u = rng.standard_normal((2, H, L))
    assert np.abs(nn.long_conv(u, kern)).max() > 0
    with pytest.raises(ValueError, match="length"):
        nn.long_conv(u[..., :10], kern)
    with pytest.raises(ValueError, match="mode"):
        nn.long_conv(u, kern, mode="circular")


@pytest.mark.parametrize("mode", ["causal", "bidirectional", "circular"])
@pytest.mark.parametrize("shared", [False, True])
def test_gradients_against_autograd(mode, shared, rng):
    B, H, L, Lk = 2, 3, 50, 37
    u = rng.standard_normal((B, H, L))
    kshape = (Lk,) if shared else (H, Lk)
    k1 = rng.standard_normal(kshape)
    k2 = rng.standard_normal(kshape)
    skip = rng.standard_normal(H)
    g = rng.standard_normal((B, H, L))
    ut = torch.tensor(u, requires_grad=True)
    k1t = torch.tensor(k1, requires_grad=True)
    k2t = torch.tensor(k2, requires_grad=True)
    st = torch.tensor(skip, requires_grad=True)
    n = 2 * L

    def kspec(kt):
        return torch.fft.rfft(kt if kt.ndim == 2 else kt[None], n=n if mode != "circular" else L)

    if mode == "circular":
        y = torch.fft.irfft(torch.fft.rfft(ut, n=L) * kspec(k1t), n=L)
    else:
        Kc = kspec(k1t) + (torch.conj(kspec(k2t)) if mode == "bidirectional" else 0)
        y = torch.fft.irfft(torch.fft.rfft(ut, n=n) * Kc, n=n)[..., :L]
    y = y + ut * st[:, None]
    (y * torch.tensor(g)).sum().backward()
    k = (k1, k2) if mode == "bidirectional" else k1
    gu, gk, gs = G.long_conv(g, u, k, mode=mode, skip=skip)
    close(gu, ut.grad.numpy(), np.float64)
    close(gs, st.grad.numpy(), np.float64)
    if mode == "bidirectional":
        close(gk[0], k1t.grad.numpy(), np.float64)
        close(gk[1], k2t.grad.numpy(), np.float64)
    else:
        close(gk, k1t.grad.numpy(), np.float64)


def test_gradient_finite_differences(rng):
    B, H, L, Lk = 1, 2, 23, 9
    u = rng.standard_normal((B, H, L))
    k = rng.standard_normal((H, Lk))
    g = rng.standard_normal((B, H, L))
    gu, gk, _ = G.long_conv(g, u, k)
    eps = 1e-6
    for (arr, grad) in ((u, gu), (k, gk)):
        for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(5)]:
            old = arr[idx]
            arr[idx] = old + eps
            fp = (nn.long_conv(u, k) * g).sum()
            arr[idx] = old - eps
            fm = (nn.long_conv(u, k) * g).sum()
            arr[idx] = old
            assert abs((fp - fm) / (2 * eps) - grad[idx]) < 1e-6 * (1 + abs(grad[idx]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("K", [1, 2, 4, 7, 64])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_causal_conv1d_against_torch(K, activation, dtype, rng):
    B, D, L = 2, 5, 70
    x = rng.standard_normal((B, D, L)).astype(dtype)
    w = rng.standard_normal((D, K)).astype(dtype)
    b = rng.standard_normal(D).astype(dtype)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    wt = torch.tensor(w.astype(np.float64), requires_grad=True)
    bt = torch.tensor(b.astype(np.float64), requires_grad=True)
    yt = TF.conv1d(TF.pad(xt, (K - 1, 0)), wt[:, None], bt, groups=D)
    if activation:
        yt = TF.silu(yt)
    got = nn.causal_conv1d(x, w, b, activation=activation)
    assert got.dtype == dtype
    close(got, yt.detach().numpy(), dtype)
    g = rng.standard_normal((B, D, L))
    (yt * torch.tensor(g)).sum().backward()
    gx, gw, gb = G.causal_conv1d(g.astype(dtype), x, w, b, activation=activation)
    close(gx, xt.grad.numpy(), dtype)
    close(gw, wt.grad.numpy(), dtype, scale=np.abs(wt.grad.numpy()).max() + L)
    close(gb, bt.grad.numpy(), dtype, scale=np.abs(bt.grad.numpy()).max() + L)
    # token by token: the same outputs
    state = np.zeros((B, D, K - 1), dtype)
    steps = np.stack([nn.causal_conv1d_update(x[:, :, t], state, w, b, activation)
                      for t in range(L)], axis=-1)
    close(steps, got.astype(np.float64), dtype)


@pytest.mark.parametrize("Lk", [1, 2, 300, 1000])
def test_decoder_equals_batch_forward(Lk, rng):
    B, H, L = 2, 3, 1000
    u = rng.standard_normal((B, H, L))
    k = rng.standard_normal((H, Lk)) / np.sqrt(Lk)
    skip = rng.standard_normal(H)
    want = nn.long_conv(u, k, skip=skip)
    dec = nn.LongConvDecoder(k, skip=skip, dtype=np.float64)
    cuts = np.sort(rng.choice(np.arange(1, L), 6, replace=False))
    parts = [dec.step(u[:, :, t]) [..., None] for t in range(cuts[0])]
    for a, b in zip(cuts, list(cuts[1:]) + [L]):
        parts.append(dec.process(u[:, :, a:b]))
    close(np.concatenate(parts, axis=-1), want, np.float64)
    dec.reset()
    close(dec.process(u[:, :, :50]), want[..., :50], np.float64)


def test_errors(rng):
    u = rng.standard_normal((2, 3, 10))
    k = rng.standard_normal((3, 4))
    for kwargs, match in [({"mode": "acausal"}, "mode"), ({"layout": "LBH"}, "layout"),
                          ({"skip": np.ones(4)}, "skip"), ({"method": "winograd"}, "method")]:
        with pytest.raises(ValueError, match=match):
            nn.long_conv(u, k, **kwargs)
    with pytest.raises(ValueError, match="u must"):
        nn.long_conv(u[0, 0], k)
    with pytest.raises(ValueError, match="longer than the sequence"):
        nn.long_conv(u, rng.standard_normal((3, 11)))
    with pytest.raises(ValueError, match="channels"):
        nn.long_conv(u, rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="k for mode='bidirectional'"):
        nn.long_conv(u, k, mode="bidirectional")
    with pytest.raises(ValueError, match="no taps"):
        nn.long_conv(u, np.zeros((3, 0)))
    with pytest.raises(TypeError, match="complex"):
        nn.long_conv(u + 0j, k)
    with pytest.raises(ValueError, match="weight has 2 channels"):
        nn.causal_conv1d(u, rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="activation"):
        nn.causal_conv1d(u, k, activation="relu")
    with pytest.raises(ValueError, match="state"):
        nn.causal_conv1d_update(u[:, :, 0], np.zeros((2, 3, 2)), k)
    with pytest.raises(ValueError, match="grad_y"):
        G.long_conv(u[:, :, :5], u, k)


def test_memory_refused_before_allocating(monkeypatch, rng):
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "1K")
    with pytest.raises(MemoryError, match="FASTCONV_MAX_MEMORY"):
        nn.long_conv(rng.standard_normal((1, 64, 4096)), rng.standard_normal((64, 4096)))


def test_inputs_untouched(rng):
    u = rng.standard_normal((2, 3, 64)).astype(np.float32)
    k = rng.standard_normal((3, 64)).astype(np.float32)
    u0, k0 = u.copy(), k.copy()
    nn.long_conv(u, k, skip=np.ones(3))
    G.long_conv(u, u, k)
    assert np.array_equal(u, u0) and np.array_equal(k, k0)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("L,Lk,M", [(700, 600, 256), (1024, 1024, 256), (513, 300, 128)])
def test_partitioned_gradients(L, Lk, M, shared, rng):
    """The partitioned method's gradients (input: the convolution backwards in
    time; kernel: blocks' correlations spanning two partitions) against torch
    autograd of the rFFT definition."""
    from fastconv.algorithms import sequence as alg

    B, H = 2, 3
    u = rng.standard_normal((B, H, L))
    k = rng.standard_normal((1 if shared else H, Lk))
    g = rng.standard_normal((B, H, L))
    params = {"M": M, "rows": 2}
    spec = alg.spectra(k, None, "causal", "partitioned", params)
    y = np.empty_like(u)
    alg.forward(u, spec, "causal", "partitioned", params, y)
    close(y, ref.long_conv(u, k), np.float64)
    gu, gk = alg.grads_partitioned(g, u, spec, params, k.shape[0], Lk)
    ut = torch.tensor(u, requires_grad=True)
    kt = torch.tensor(k, requires_grad=True)
    n = 2 * L
    yt = torch.fft.irfft(torch.fft.rfft(ut, n=n) * torch.fft.rfft(kt, n=n), n=n)[..., :L]
    (yt * torch.tensor(g)).sum().backward()
    close(gu, ut.grad.numpy(), np.float64)
    close(gk, kt.grad.numpy(), np.float64)


@pytest.mark.parametrize("bits", [256, 512])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
@pytest.mark.parametrize("L,K", [(200, 2), (1000, 5), (333, 13), (1000, 64), (130, 64), (64, 1)])
def test_causal_vector_blocks(L, K, dtype, bits, monkeypatch, rng):
    """The register-block causal filter at both vector widths: rows long
    enough for several blocks, a shifted last block, the scalar head, rows
    shorter than a block; against torch's conv1d with left padding."""
    from fastconv.algorithms import direct

    monkeypatch.setattr(direct, "VECTOR_BITS", bits, raising=False)
    B, D = 2, 3
    x = rng.standard_normal((B, D, L)).astype(dtype)
    w = rng.standard_normal((D, K)).astype(dtype)
    b = rng.standard_normal(D).astype(dtype)
    want = TF.conv1d(TF.pad(torch.tensor(x.astype(np.float64)), (K - 1, 0)),
                     torch.tensor(w.astype(np.float64))[:, None], torch.tensor(b.astype(np.float64)),
                     groups=D)
    close(nn.causal_conv1d(x, w, b), want.numpy(), dtype)
    close(nn.causal_conv1d(x, w, b, activation="silu"), TF.silu(want).numpy(), dtype)
    close(nn.long_conv(x, w[:, ::-1], method="direct"), (want - torch.tensor(b)[:, None]).numpy(),
          dtype)


@pytest.mark.parametrize("method", ["fft", "partitioned"])
def test_kernel_spectra_kept_between_calls(method):
    """A kernel seen before is not transformed again; one changed in place
    (a training step) is; results equal the uncached ones either way."""
    from fastconv.algorithms import _common
    from fastconv.algorithms import sequence as alg

    rng = np.random.default_rng(21)
    u = rng.standard_normal((2, 3, 300))
    k = rng.standard_normal((3, 300))
    calls = []
    real = alg.spectra

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    alg._KEPT.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(alg, "spectra", counting)
        y1 = nn.long_conv(u, k, method=method)
        y2 = nn.long_conv(u, k, method=method)
        assert len(calls) == 1
        np.testing.assert_array_equal(y1, y2)
        k[1, 5] += 1.0                              # changed in place
        y3 = nn.long_conv(u, k, method=method)
        assert len(calls) == 2
        with _common.shared_spectra_off():
            y4 = nn.long_conv(u, k, method=method)
        assert len(calls) == 3
    np.testing.assert_array_equal(y3, y4)
    np.testing.assert_allclose(y3, ref.long_conv(u, k), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
def test_silu_over_the_whole_range(dtype):
    """SiLU of sums from -inf to inf: torch's x * sigmoid(x) in float64,
    rounded (float32 results down to denormals, NaN for -inf and NaN)."""
    x = np.r_[np.array([-np.inf, -1e30, -200, -104, -100, -88, -87.4, -87.2, -87, -50, -1e-3,
                        -0.0, 0.0, 1e-30, 3, 88, 200, 1e30, np.inf, np.nan]),
              np.linspace(-110, 110, 4001)].astype(dtype)
    x = np.tile(x, (2, 1))[None]                      # (1, 2, L): two rows
    w = np.ones((2, 1), dtype)
    got = nn.causal_conv1d(x, w, activation="silu")
    want = TF.silu(torch.tensor(x.astype(np.float64))).numpy().astype(dtype)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=4 * np.finfo(dtype).smallest_subnormal)
    assert np.all(np.abs(got[ok][np.abs(want[ok]) < tiny]) < tiny)


@pytest.mark.parametrize("simd", [True, False], ids=["vector-blocks", "scalar-blocks"])
def test_silu_on_both_kernels(simd, monkeypatch, rng):
    """The vector-block kernel and the scalar-block one (CPUs without vector
    FMA) give torch's SiLU, far entries included."""
    from fastconv.algorithms import direct

    monkeypatch.setattr(direct, "SIMD", simd, raising=False)
    x = (rng.standard_normal((2, 3, 301)) * 60).astype(np.float32)
    x[0, 0, 5] = -np.inf
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    got = nn.causal_conv1d(x, w, b, activation="silu")
    # SiLU (torch, float64) of the kernel's own float32 sums: the filter
    # itself is checked against torch above
    z = nn.causal_conv1d(x, w, b)
    want = TF.silu(torch.tensor(z.astype(np.float64))).numpy()
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-44)
