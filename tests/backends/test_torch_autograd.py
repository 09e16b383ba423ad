"""fastconv.torch: the FFT convolutions' values against torch's own
convolution and a direct causal sum, their gradients by
torch.autograd.gradcheck, and use inside an nn.Module."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import fastconv.torch as ft  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def rnd(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("groups, padding", [(1, 0), (1, 3), (2, "same"), (1, "valid"),
                                             (4, 2)])
def test_conv1d_fft_matches_torch_and_gradcheck(groups, padding):
    x = rnd(2, 4, 23, seed=1)
    w = rnd(6 if groups != 4 else 4, 4 // groups, 7, seed=2)
    b = rnd(w.shape[0], seed=3)
    got = ft.conv1d(x, w, b, padding=padding, groups=groups, method="fft")
    want = F.conv1d(x, w, b, padding=padding, groups=groups)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    args = (x.requires_grad_(), w.requires_grad_(), b.requires_grad_())
    assert torch.autograd.gradcheck(
        lambda x, w, b: ft.conv1d(x, w, b, padding=padding, groups=groups, method="fft"), args)


@pytest.mark.parametrize("padding", [0, (2, 1), "same"])
def test_conv2d_fft_matches_torch_and_gradcheck(padding):
    x = rnd(2, 3, 9, 11, seed=4)
    w = rnd(4, 3, 3, 5, seed=5) if padding != "same" else rnd(4, 3, 3, 5, seed=5)
    got = ft.conv2d(x, w, None, padding=padding, method="fft")
    torch.testing.assert_close(got, F.conv2d(x, w, None, padding=padding), rtol=1e-10,
                               atol=1e-10)
    assert torch.autograd.gradcheck(
        lambda x, w: ft.conv2d(x, w, None, padding=padding, method="fft"),
        (x.requires_grad_(), w.requires_grad_()))


def test_auto_takes_fft_for_long_kernels_only():
    x = rnd(1, 2, 300, seed=6).float()
    long_w, short_w = rnd(3, 2, 200, seed=7).float(), rnd(3, 2, 5, seed=8).float()
    assert long_w.shape[-1] >= ft.FFT_MIN_TAPS > short_w.shape[-1]
    for w in (long_w, short_w):
        torch.testing.assert_close(ft.conv1d(x, w, padding=4), F.conv1d(x, w, padding=4),
                                   rtol=1e-4, atol=1e-4)
    # unbatched input and strided fallback keep torch's semantics
    torch.testing.assert_close(ft.conv1d(x[0], long_w), F.conv1d(x[0], long_w), rtol=1e-4,
                               atol=1e-4)
    torch.testing.assert_close(ft.conv1d(x, long_w, stride=3), F.conv1d(x, long_w, stride=3))
    with pytest.raises(ValueError, match="method='fft'"):
        ft.conv1d(x, long_w, stride=2, method="fft")
    with pytest.raises(ValueError, match="groups"):
        ft.conv1d(x, rnd(3, 3, 5).float())
    with pytest.raises(ValueError, match="padding"):
        ft.conv1d(x, long_w, padding="middle")


def causal_reference(u, k, skip):
    B, H, L = u.shape
    y = torch.zeros_like(u)
    for j in range(k.shape[1]):
        y[:, :, j:] += k[:, j, None] * u[:, :, :L - j]
    return y + (u * skip[:, None] if skip is not None else 0)


@pytest.mark.parametrize("mode", ["causal", "circular"])
@pytest.mark.parametrize("with_skip", [False, True])
def test_long_conv_values_and_gradcheck(mode, with_skip):
    u, k = rnd(2, 3, 17, seed=9), rnd(3, 11, seed=10)
    skip = rnd(3, seed=11) if with_skip else None
    y = ft.long_conv(u, k, skip, mode=mode)
    if mode == "causal":
        torch.testing.assert_close(y, causal_reference(u, k, skip), rtol=1e-10, atol=1e-10)
    else:
        kk = torch.zeros(3, 17, dtype=torch.float64)
        kk[:, :11] = k
        want = torch.stack([torch.stack([
            sum(kk[h, j] * torch.roll(u[b, h], j) for j in range(17)) for h in range(3)])
            for b in range(2)]) + (u * skip[:, None] if skip is not None else 0)
        torch.testing.assert_close(y, want, rtol=1e-10, atol=1e-10)
    args = [u.requires_grad_(), k.requires_grad_()] + ([skip.requires_grad_()] if with_skip
                                                       else [])
    assert torch.autograd.gradcheck(
        lambda u, k, *s: ft.long_conv(u, k, s[0] if s else None, mode=mode), tuple(args))
    # against fastconv.nn's NumPy implementation
    from fastconv import nn

    got = nn.long_conv(u.detach().numpy(), k.detach().numpy(), mode=mode,
                       skip=None if skip is None else skip.detach().numpy())
    np.testing.assert_allclose(y.detach().numpy(), got, rtol=1e-10, atol=1e-10)


def test_modules_train_and_keep_torch_state_dicts():
    torch.manual_seed(0)
    net = torch.nn.Sequential(ft.Conv1d(2, 4, 65, padding=32), torch.nn.ReLU(),
                              ft.Conv1d(4, 1, 65, padding=32))
    ref = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 65, padding=32), torch.nn.ReLU(),
                              torch.nn.Conv1d(4, 1, 65, padding=32))
    ref.load_state_dict(net.state_dict())
    x, target = torch.randn(3, 2, 200), torch.randn(3, 1, 200)
    torch.testing.assert_close(net(x), ref(x), rtol=1e-4, atol=1e-4)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    c2 = ft.Conv2d(1, 2, 9, padding=4)
    img = torch.randn(1, 1, 32, 32)
    torch.testing.assert_close(c2(img), F.conv2d(img, c2.weight, c2.bias, padding=4), rtol=1e-4,
                               atol=1e-4)


def test_long_conv_errors():
    u = torch.zeros(2, 3, 8)
    with pytest.raises(ValueError, match="mode"):
        ft.long_conv(u, torch.zeros(3, 4), mode="bidirectional")
    with pytest.raises(ValueError, match="k must"):
        ft.long_conv(u, torch.zeros(3, 9))
    with pytest.raises(ValueError, match="skip"):
        ft.long_conv(u, torch.zeros(3, 4), torch.zeros(2))
    # a shared kernel
    y = ft.long_conv(u + 1, torch.ones(2))
    assert y.shape == u.shape and float(y[0, 0, -1]) == 2.0
