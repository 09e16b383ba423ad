"""fastconv.nn against torch.nn.functional and torch.autograd (torch CPU, a
test dependency): forward, transposed and every gradient over random shapes,
strides, paddings, dilations, groups, dtypes and layouts, batched and
unbatched; every error torch raises raised here too; finite-difference
checks; padding_mode / channels_last / 'same_upper' against an explicit pad
followed by torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from fastconv import nn
from fastconv.nn import grad as G
from tests import reference

TOL = {np.float32: 2e-5, np.float64: 1e-12, np.float16: 2e-2}


def close(got, want, dtype):
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    scale = np.max(np.abs(want.astype(np.float64))) + 1.0
    err = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))) if got.size else 0
    assert err <= TOL[dtype] * scale * 10, err / scale


def problems(D, seed, count):
    """Random layer problems: (x shape, w shape, stride, padding, dilation, groups)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        groups = int(rng.choice([1, 1, 2, 3]))
        cg = int(rng.integers(1, 4))
        og = int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 5, D))
        s = tuple(int(v) for v in rng.integers(1, 4, D))
        d = tuple(int(v) for v in rng.integers(1, 3, D))
        p = tuple(int(v) for v in rng.integers(0, 3, D))
        n = tuple(int(v) for v in rng.integers(1, 12 if D < 3 else 8, D))
        if any(nn_ + 2 * pp < dd * (kk - 1) + 1 for nn_, pp, dd, kk in zip(n, p, d, k)):
            continue
        N = int(rng.integers(1, 4))
        out.append(((N, cg * groups) + n, (og * groups, cg) + k, s, p, d, groups))
    return out


def t(a):
    return torch.tensor(np.ascontiguousarray(a))


@pytest.mark.parametrize("D", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_gradients(D, dtype):
    rng = np.random.default_rng(D)
    fn = getattr(nn, f"conv{D}d")
    tfn = getattr(TF, f"conv{D}d")
    for xs, ws, s, p, d, g in problems(D, 10 + D, 25):
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        tx, tw, tb = (t(a).requires_grad_() for a in (x, w, b))
        ty = tfn(tx, tw, tb, s, p, d, g)
        y = fn(x, w, b, s, p, d, g)
        close(y, ty.detach().numpy(), dtype)
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(t(gy))
        close(getattr(G, f"conv{D}d_input")(x.shape, w, gy, s, p, d, g), tx.grad.numpy(), dtype)
        close(getattr(G, f"conv{D}d_weight")(x, w.shape, gy, s, p, d, g), tw.grad.numpy(), dtype)
        close(G.bias(gy), tb.grad.numpy(), dtype)


@pytest.mark.parametrize("D", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_and_gradients(D, dtype):
    rng = np.random.default_rng(20 + D)
    fn = getattr(nn, f"conv_transpose{D}d")
    tfn = getattr(TF, f"conv_transpose{D}d")
    for xs, ws, s, p, d, g in problems(D, 30 + D, 25):
        cin = xs[1]
        wt_shape = (cin, ws[0] // g) + ws[2:]
        op = tuple(int(rng.integers(0, max(a, c))) for a, c in zip(s, d))
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(wt_shape).astype(dtype)
        b = rng.standard_normal(wt_shape[1] * g).astype(dtype)
        tx, tw, tb = (t(a).requires_grad_() for a in (x, w, b))
        try:
            ty = tfn(tx, tw, tb, s, p, op, g, d)
            empty = ty.numel() == 0      # conv_transpose3d's output of size 0
        except RuntimeError:             # "Output size is too small"
            empty = True
        if empty:
            with pytest.raises(ValueError, match="output size"):
                fn(x, w, b, s, p, op, g, d)
            continue
        y = fn(x, w, b, s, p, op, g, d)
        close(y, ty.detach().numpy(), dtype)
        gy = rng.standard_normal(y.shape).astype(dtype)
        ty.backward(t(gy))
        close(getattr(G, f"conv_transpose{D}d_input")(x.shape, w, gy, s, p, op, g, d),
              tx.grad.numpy(), dtype)
        close(getattr(G, f"conv_transpose{D}d_weight")(x, w.shape, gy, s, p, op, g, d),
              tw.grad.numpy(), dtype)


@pytest.mark.parametrize("method", ["taps-gemm", "fft", "im2col", "col2im"])
def test_methods_agree_with_torch(method):
    rng = np.random.default_rng(5)
    if method == "col2im":          # transposed only (and input gradients)
        x3 = rng.standard_normal((2, 4, 7, 9))
        w3 = rng.standard_normal((4, 3, 3, 4))
        for s, p, op, d in [(1, 0, 0, 1), ((2, 3), 1, (1, 0), (1, 2)), (2, 2, 1, 3)]:
            close(nn.conv_transpose2d(x3, w3, None, s, p, op, 2, d, method=method),
                  TF.conv_transpose2d(t(x3), t(w3), None, s, p, op, 2, d).numpy(), np.float64)
        return
    x = rng.standard_normal((3, 4, 300))
    w = rng.standard_normal((6, 2, 70))
    y = nn.conv1d(x, w, None, 1, 10, 2, 2, method=method)
    close(y, TF.conv1d(t(x), t(w), None, 1, 10, 2, 2).numpy(), np.float64)
    wt = rng.standard_normal((4, 3, 70))
    if method == "im2col":          # forward only; strided and dilated 2-D too
        x3 = rng.standard_normal((2, 4, 17, 19))
        w3 = rng.standard_normal((6, 2, 3, 4))
        close(nn.conv2d(x3, w3, None, (2, 3), 1, (2, 1), 2, method=method),
              TF.conv2d(t(x3), t(w3), None, (2, 3), 1, (2, 1), 2).numpy(), np.float64)
        return
    y = nn.conv_transpose1d(x, wt, None, 1, 5, 0, 2, 1, method=method)
    close(y, TF.conv_transpose1d(t(x), t(wt), None, 1, 5, 0, 2, 1).numpy(), np.float64)
    x2 = rng.standard_normal((2, 3, 30, 40))
    w2 = rng.standard_normal((5, 3, 9, 11))
    close(nn.conv2d(x2, w2, padding="same", method=method),
          TF.conv2d(t(x2), t(w2), padding="same").numpy(), np.float64)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f4", "f8"])
def test_col2im_blocks_of_images_on_threads(threads, dtype, monkeypatch):
    """The transposed GEMM + scatter by blocks of images, each thread its
    own one-thread GEMM and scatter (one group, 2-D): torch's result for
    an odd batch split unevenly, strides, dilations, output padding; taken
    on more than one thread, not on one."""
    import fastconv
    from fastconv.algorithms import layer

    taken = []
    real = layer._col2im_per_thread

    def spy(*a):
        taken.append(real(*a))
        return taken[-1]
    monkeypatch.setattr(layer, "_col2im_per_thread", spy)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 6, 9, 8)).astype(dtype)
    w = rng.standard_normal((6, 3, 4, 3)).astype(dtype)
    with fastconv.threads(threads):
        for s, p, op, d in [(2, 1, 0, 1), ((2, 3), (1, 2), (1, 2), (1, 2)), (1, 0, 0, 2)]:
            got = nn.conv_transpose2d(x, w, None, s, p, op, 1, d, method="col2im")
            want = TF.conv_transpose2d(t(x.astype(np.float64)), t(w.astype(np.float64)), None,
                                       s, p, op, 1, d).numpy().astype(dtype)
            close(got, want, dtype)
    assert taken and all(taken) == (threads > 1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("block", [1 << 10, 1 << 14, None])
def test_im2col_row_blocks_on_threads(threads, block, monkeypatch):
    """im2col's blocks of output rows, on one thread (threaded GEMM) and on
    two (each block gathered and multiplied by the thread that took it,
    written straight into the output's rows): blocks of 1 row to whole
    images, 1-D to 3-D, strides, dilations, groups."""
    import fastconv
    from fastconv.algorithms import layer

    monkeypatch.setattr(layer, "IM2COL_BLOCK", 1 << 12)      # row blocks, not images
    if block:
        monkeypatch.setattr(layer, "IM2COL_THREAD_BLOCK", block)
    rng = np.random.default_rng(9)
    cases = [((2, 3, 40, 37), (6, 3, 7, 7), 2, 3, 1, 1),
             ((3, 4, 21, 19), (6, 2, 3, 4), (2, 3), 1, (2, 1), 2),
             ((2, 2, 50), (4, 2, 9), 3, 4, 2, 1),
             ((1, 2, 9, 10, 11), (4, 1, 3, 2, 3), 2, 1, 1, 2)]
    with fastconv.threads(threads):
        for xs, ws, s, p, d, g in cases:
            x, w = rng.standard_normal(xs), rng.standard_normal(ws)
            D = len(xs) - 2
            got = getattr(nn, f"conv{D}d")(x, w, None, s, p, d, g, method="im2col")
            want = getattr(TF, f"conv{D}d")(t(x), t(w), None, s, p, d, g).numpy()
            close(got, want, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_conv1d_in_overlap_save_frames(dtype):
    """Inputs 8+ kernel lengths long take the FFT in frames of about 4 kernel
    lengths (fft_frame); the frames' edges, dilation, groups and padding."""
    from fastconv.algorithms.layer import fft_frame

    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 4, 5003)).astype(dtype)
    w = rng.standard_normal((6, 2, 200)).astype(dtype)
    assert fft_frame(5003 + 14, 399) > 0
    for d, p in [(1, 7), (2, 0), (2, 3)]:
        got = nn.conv1d(x, w, None, 1, p, d, 2, method="fft")
        close(got, TF.conv1d(t(x), t(w), None, 1, p, d, 2).numpy(), dtype)
    assert "overlap-save" in nn.explain_conv(x, w, groups=2)


def test_the_planner_takes_fft_for_long_kernels():
    x = np.zeros((2, 8, 4096), np.float32)
    assert "* fft" in nn.explain_conv(x, np.zeros((8, 8, 512), np.float32))
    assert "* im2col" in nn.explain_conv(x, np.zeros((8, 8, 3), np.float32))
    assert "* taps-gemm" in nn.explain_conv(x, np.zeros((8, 8, 1), np.float32))
    assert "* depthwise" in nn.explain_conv(x, np.zeros((8, 1, 3), np.float32), groups=8)


@pytest.fixture(params=["kernel", "cold"])
def depthwise_path(request, monkeypatch):
    """Both ways a 2-D depthwise layer runs: its own kernel, and the
    engine's per-tap path that serves while that kernel is cold
    (``_core._depthwise2d_cold``)."""
    from fastconv._kernels.layer import depthwise2d

    monkeypatch.setattr(depthwise2d, "cold", lambda args, work: request.param == "cold")
    return request.param


@pytest.mark.parametrize("hw", [(20, 17), (9, 40), (3, 2)])     # narrow planes and wide ones
def test_depthwise_against_torch(hw, depthwise_path):
    rng = np.random.default_rng(6)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((2, 8) + hw).astype(dtype)
        w = rng.standard_normal((8, 1, 3, 3)).astype(dtype)
        for s, p, d in [(1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 0, 1), (2, 2, 2), ((1, 2), 1, (2, 1))]:
            try:
                want = TF.conv2d(t(x), t(w), None, s, p, d, 8).numpy()
            except RuntimeError:         # the kernel larger than the padded input
                with pytest.raises(ValueError):
                    nn.conv2d(x, w, None, s, p, d, 8)
                continue
            close(nn.conv2d(x, w, None, s, p, d, 8), want, dtype)
            tx, tw = t(x).requires_grad_(), t(w).requires_grad_()
            gy = rng.standard_normal(want.shape).astype(dtype)
            TF.conv2d(tx, tw, None, s, p, d, 8).backward(t(gy))
            close(G.conv2d_weight(x, w.shape, gy, s, p, d, 8), tw.grad.numpy(), dtype)
            close(G.conv2d_input(x.shape, w, gy, s, p, d, 8), tx.grad.numpy(), dtype)
        for mode in ("reflect", "replicate", "circular"):     # padding applied virtually
            xp = TF.pad(t(x), (1, 1, 1, 1), mode=mode)
            close(nn.conv2d(x, w, None, 1, 1, 1, 8, padding_mode=mode),
                  TF.conv2d(xp, t(w), None, 1, 0, 1, 8).numpy(), dtype)


@pytest.mark.parametrize("k", [(1, 1), (2, 3), (3, 3), (5, 5), (7, 7), (3, 7), (4, 9), (8, 2)])
@pytest.mark.parametrize("hw", [(14, 14), (6, 45), (33, 5)])
def test_depthwise_kernel_sizes_against_torch(k, hw, depthwise_path):
    """Depthwise sums (stride 1: the 3-, 5- and 7-tap rows written out, the
    rest a pass per tap; strided columns through phase buffers), wide and
    narrow planes, dilation, padding wider than the kernel, NaN and
    infinities where torch's direct sums put them."""
    rng = np.random.default_rng(sum(k) * 100 + hw[1])
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((2, 5) + hw).astype(dtype)
        x[0, 1, hw[0] // 2, hw[1] // 3] = np.nan
        x[1, 2, 0, -1] = np.inf
        w = rng.standard_normal((5, 1) + k).astype(dtype)
        for s, p, d in [(1, (k[0] // 2, k[1] // 2), 1), (1, 0, 1), (1, (k[0], 1), (1, 2)),
                        (1, 1, (2, 1)), (2, (k[0] // 2, k[1] // 2), 1), ((1, 3), 2, 1),
                        ((3, 2), 1, (1, 2))]:
            try:
                want = TF.conv2d(t(x), t(w), None, s, p, d, 5).numpy()
            except RuntimeError:
                with pytest.raises(ValueError):
                    nn.conv2d(x, w, None, s, p, d, 5)
                continue
            got = nn.conv2d(x, w, None, s, p, d, 5, method="depthwise")
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            fin = np.isfinite(want)
            np.testing.assert_array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])
            close(got[fin], want[fin], dtype)
            # the weight gradient (stride 1: its own kernel) on finite data
            xf = np.nan_to_num(x, nan=0.5, posinf=2.0)
            gy = rng.standard_normal(want.shape).astype(dtype)
            tw = t(w).requires_grad_()
            TF.conv2d(t(xf), tw, None, s, p, d, 5).backward(t(gy))
            close(G.conv2d_weight(xf, w.shape, gy, s, p, d, 5), tw.grad.numpy(), dtype)


def test_depthwise_narrow_planes_stacked_per_channel(depthwise_path):
    """Planes narrower than 32 columns run stacked, up to STACK_FLOATS of one
    channel's padded images per pass: batches that fill several stacks and
    a partial last one, against torch."""
    from fastconv._kernels.layer import STACK_FLOATS

    rng = np.random.default_rng(9)
    for hw, k, p, d in [((30, 30), (3, 3), 1, 1), ((31, 9), (5, 3), (2, 0), (1, 2)),
                        ((7, 26), (2, 7), 3, 1)]:
        Hp, Wp = hw[0] + 2 * (p if np.ndim(p) == 0 else p[0]), hw[1] + 30
        N = 2 * max(1, STACK_FLOATS // (Hp * Wp)) + 3
        x = rng.standard_normal((N, 3) + hw).astype(np.float32)
        w = rng.standard_normal((3, 1) + k).astype(np.float32)
        want = TF.conv2d(t(x), t(w), None, 1, p, d, 3).numpy()
        close(nn.conv2d(x, w, None, 1, p, d, 3, method="depthwise"), want, np.float32)


def test_unbatched_float16_and_layouts():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 9, 10))
    w = rng.standard_normal((6, 4, 3, 3))
    want = TF.conv2d(t(x), t(w), None, 1, 1).numpy()
    close(nn.conv2d(x, w, None, 1, 1), want, np.float64)                    # unbatched
    close(nn.conv2d(np.asfortranarray(x), w[:, :, ::-1, ::-1].copy()[:, :, ::-1, ::-1], None,
                    1, 1), want, np.float64)                                   # Fortran
    xs = np.zeros((4, 18, 10))
    xs[:, ::2] = x
    close(nn.conv2d(xs[:, ::2], w, None, 1, 1), want, np.float64)             # strided
    close(nn.conv2d(x[:, ::-1, :][:, ::-1, :], w, None, 1, 1), want, np.float64)  # negative
    x16, w16 = x.astype(np.float16), w.astype(np.float16)
    got = nn.conv2d(x16, w16, None, 1, 1)
    assert got.dtype == np.float16
    close(got, TF.conv2d(t(x16).float(), t(w16).float(), None, 1, 1).numpy().astype(np.float16),
          np.float16)
    before = x.copy()
    nn.conv2d(x, w, None, 1, 1)
    assert np.array_equal(x, before)


@pytest.mark.parametrize("mode,torch_mode", [("reflect", "reflect"), ("replicate", "replicate"),
                                             ("circular", "circular")])
def test_padding_modes_against_explicit_pad(mode, torch_mode):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 11))
    w = rng.standard_normal((4, 3, 3, 5))
    tx = t(x).requires_grad_()
    want = TF.conv2d(TF.pad(tx, (2, 2, 1, 1), mode=torch_mode), t(w), None, 1)
    got = nn.conv2d(x, w, None, 1, (1, 2), padding_mode=mode)
    close(got, want.detach().numpy(), np.float64)
    gy = rng.standard_normal(got.shape)
    want.backward(t(gy))
    close(G.conv2d_input(x.shape, w, gy, 1, (1, 2), padding_mode=mode), tx.grad.numpy(),
          np.float64)
    layer = nn.Conv2d(3, 4, (3, 5), padding=(1, 2), padding_mode=mode, dtype=np.float64,
                      rng=np.random.default_rng(0))
    torch_layer = torch.nn.Conv2d(3, 4, (3, 5), padding=(1, 2), padding_mode=torch_mode,
                                  dtype=torch.float64)
    torch_layer.load_state_dict({k: t(v) for k, v in layer.state_dict().items()})
    close(layer.forward(x), torch_layer(t(x)).detach().numpy(), np.float64)


def test_channels_last_and_same_upper():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 10, 13, 3))             # N, H, W, C
    w = rng.standard_normal((5, 3, 3, 4))
    got = nn.conv2d(x, w, None, 2, "same_upper", data_format="channels_last")
    # TensorFlow's 'same': ceil(n / s) outputs, the odd padding at the end
    xt = np.moveaxis(x, -1, 1)
    ph, pw = max((5 - 1) * 2 + 3 - 10, 0), max((7 - 1) * 2 + 4 - 13, 0)   # 5 x 7 outputs
    xp = np.pad(xt, [(0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)])
    want = np.moveaxis(TF.conv2d(t(xp), t(w), None, 2).numpy(), 1, -1)
    assert got.shape == (2, 5, 7, 5) and (ph, pw) == (1, 3)
    close(got, want, np.float64)


def test_finite_differences():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((1, 2, 7, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    gy = rng.standard_normal(nn.conv2d(x, w, None, 2, 1, (1, 2)).shape)
    loss = lambda xx, ww: float(np.sum(nn.conv2d(xx, ww, None, 2, 1, (1, 2)) * gy))  # noqa: E731
    gi = G.conv2d_input(x.shape, w, gy, 2, 1, (1, 2))
    gw = G.conv2d_weight(x, w.shape, gy, 2, 1, (1, 2))
    eps = 1e-6
    for idx in [(0, 0, 0, 0), (0, 1, 3, 2), (0, 1, 6, 5)]:
        e = np.zeros_like(x)
        e[idx] = eps
        assert abs((loss(x + e, w) - loss(x - e, w)) / (2 * eps) - gi[idx]) < 1e-6
    for idx in [(0, 0, 0, 0), (2, 1, 2, 1)]:
        e = np.zeros_like(w)
        e[idx] = eps
        assert abs((loss(x, w + e) - loss(x, w - e)) / (2 * eps) - gw[idx]) < 1e-6


ERROR_CASES = [
    # (args for conv2d as (x shape, w shape), kwargs)
    (((1, 4, 8, 8), (6, 3, 3, 3)), {}),                        # channel mismatch
    (((1, 4, 8, 8), (6, 2, 3, 3)), {"groups": 3}),             # groups do not divide
    (((1, 4, 8, 8), (5, 2, 3, 3)), {"groups": 2}),             # out channels % groups
    (((1, 4, 8, 8), (6, 4, 3, 3)), {"stride": 2, "padding": "same"}),
    (((1, 4, 8, 8), (6, 4, 3, 3)), {"padding": -1}),
    (((1, 4, 8, 8), (6, 4, 3, 3)), {"stride": 0}),
    (((1, 4, 8, 8), (6, 4, 3, 3)), {"dilation": 0}),
    (((1, 4, 2, 2), (6, 4, 3, 3)), {}),                         # kernel larger than input
    (((1, 4, 8, 8), (6, 4, 3, 3)), {"padding": "full"}),
    (((4, 8, 8, 1, 1), (6, 4, 3, 3)), {}),                      # 5-D input
    (((1, 4, 8, 8), (6, 4, 3)), {}),                            # 3-D weight
]


@pytest.mark.parametrize("shapes,kw", ERROR_CASES, ids=str)
def test_errors_where_torch_raises(shapes, kw):
    xs, ws = shapes
    x, w = np.zeros(xs, np.float32), np.zeros(ws, np.float32)
    with pytest.raises((RuntimeError, ValueError)):
        TF.conv2d(t(x), t(w), **kw)
    with pytest.raises(ValueError):
        nn.conv2d(x, w, **kw)


def test_transposed_errors_where_torch_raises():
    x, w = np.zeros((1, 4, 5, 5), np.float32), np.zeros((4, 2, 3, 3), np.float32)
    for kw in [{"stride": 2, "output_padding": 2}, {"output_padding": 1},
               {"padding": -1}, {"groups": 3}]:
        with pytest.raises((RuntimeError, ValueError)):
            TF.conv_transpose2d(t(x), t(w), **kw)
        with pytest.raises(ValueError):
            nn.conv_transpose2d(x, w, **kw)
    with pytest.raises(TypeError):
        nn.conv2d(x, w.astype(np.float64))
    with pytest.raises(TypeError):
        nn.conv2d(x.astype(np.int32), w.astype(np.int32))


@pytest.mark.parametrize("cls,tcls,args", [
    ("Conv1d", "Conv1d", (4, 6, 3)), ("Conv2d", "Conv2d", (4, 6, 3)),
    ("Conv3d", "Conv3d", (2, 4, 3)), ("ConvTranspose2d", "ConvTranspose2d", (4, 6, 4)),
    ("ConvTranspose1d", "ConvTranspose1d", (4, 6, 3)),
    ("ConvTranspose3d", "ConvTranspose3d", (2, 4, 3))])
def test_layers_load_torch_weights_and_backprop(cls, tcls, args):
    rng = np.random.default_rng(11)
    kw = {"stride": 2, "padding": 1}
    layer = getattr(nn, cls)(*args, **kw, dtype=np.float64, rng=rng)
    tl = getattr(torch.nn, tcls)(*args, **kw, dtype=torch.float64)
    sd = {k: v.detach().numpy() for k, v in tl.state_dict().items()}
    assert set(sd) == set(layer.state_dict())
    assert all(sd[k].shape == layer.state_dict()[k].shape for k in sd)
    layer.load_state_dict(sd)
    D = len(layer.kernel_size)
    x = rng.standard_normal((2, args[0]) + (7,) * D)
    tx = t(x).requires_grad_()
    ty = tl(tx)
    y = layer.forward(x)
    close(y, ty.detach().numpy(), np.float64)
    gy = rng.standard_normal(y.shape)
    ty.backward(t(gy))
    close(layer.backward(gy), tx.grad.numpy(), np.float64)
    close(layer.weight_grad, tl.weight.grad.numpy(), np.float64)
    close(layer.bias_grad, tl.bias.grad.numpy(), np.float64)


def test_default_initialisation_matches_torch_bounds():
    layer = nn.Conv2d(16, 32, 3, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(16 * 9)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (32, 16, 3, 3)
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.weight).max() > 0.9 * bound
    assert np.abs(layer.bias).max() <= bound


def test_empty_batch():
    y = nn.conv2d(np.zeros((0, 3, 8, 8), np.float32), np.zeros((4, 3, 3, 3), np.float32))
    assert y.shape == (0, 4, 6, 6)


@pytest.mark.parametrize("method", ["winograd", "winograd4"])
def test_winograd_error_bound_and_choice(method):
    """F(2x2, 3x3) and F(4x4, 3x3) on stride-1 3x3 layers: within their
    stated bounds (WINOGRAD_ERROR or WINOGRAD4_ERROR * eps * sum_c ||w[o,
    c]||_1 * max |x[n, c]|) of the exact float64 result over inputs and
    weights of widely spread magnitudes, chosen by the planner where they
    are cheaper, left out under accuracy='high'."""
    from fastconv.algorithms import layer

    WINOGRAD_ERROR = {"winograd": layer.WINOGRAD_ERROR,
                      "winograd4": layer.WINOGRAD4_ERROR}[method]
    rng = np.random.default_rng(12)
    eps = np.finfo(np.float32).eps
    for trial in range(40):
        xs = (int(rng.integers(1, 3)), int(rng.integers(1, 12)), int(rng.integers(1, 25)),
              int(rng.integers(1, 25)))
        scale = 10.0 ** rng.uniform(-4, 4)
        x = (rng.standard_normal(xs) * scale * np.exp(rng.uniform(-3, 3, xs))).astype(np.float32)
        w = (rng.standard_normal((5, xs[1], 3, 3)) *
             np.exp(rng.uniform(-2, 2, (5, xs[1], 3, 3)))).astype(np.float32)
        got = nn.conv2d(x, w, None, 1, 1, method=method)
        exact = TF.conv2d(t(x.astype(np.float64)), t(w.astype(np.float64)), None, 1, 1).numpy()
        mx = np.abs(x.astype(np.float64)).reshape(xs[0], xs[1], -1).max(-1)       # (N, C)
        wl1 = np.abs(w.astype(np.float64)).sum(axis=(2, 3))                        # (Co, C)
        bound = WINOGRAD_ERROR * eps * (mx @ wl1.T)[:, :, None, None]
        assert np.all(np.abs(got - exact) <= bound), trial
    x = np.zeros((8, 64, 56, 56), np.float32)
    w = np.zeros((64, 64, 3, 3), np.float32)
    assert "* winograd4 " in nn.explain_conv(x, w, padding=1)
    assert "winograd" not in nn.explain_conv(x, w, padding=1, accuracy="high")
    x = np.zeros((8, 256, 14, 14), np.float32)         # few tiles per image: F(2x2)
    assert "* winograd " in nn.explain_conv(x, np.zeros((256, 256, 3, 3), np.float32),
                                            padding=1)
    with pytest.raises(ValueError, match="accuracy"):
        nn.conv2d(x[:1, :, :4, :4], w, accuracy="best")
    xs = rng.standard_normal((2, 4, 10, 9))
    ws = rng.standard_normal((3, 4, 3, 3))
    close(nn.conv2d(xs, ws, None, 1, 1, method=method),
          TF.conv2d(t(xs), t(ws), None, 1, 1).numpy(), np.float64)


@pytest.mark.parametrize("method", ["winograd", "winograd4"])
@pytest.mark.parametrize("task", [1, 40_000, 1 << 30])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_winograd_blocks_on_threads(task, threads, method, monkeypatch):
    """F(2x2, 3x3) with each thread taking blocks of tiles (runs of tile
    rows of one image, or whole images) through its own transforms and
    GEMM: every block size, odd sizes (cropped last tiles), a batch smaller
    than the threads, both dtypes, against torch."""
    import fastconv
    from fastconv.algorithms import layer

    monkeypatch.setattr(layer, "WINOGRAD_TASK", task)
    rng = np.random.default_rng(40 + threads)
    for N, C, Co, H, W, dt, p in [(1, 3, 5, 7, 9, np.float32, 1),
                                  (3, 8, 6, 13, 10, np.float64, (0, 2)),
                                  (5, 16, 16, 20, 21, np.float32, (2, 0)),
                                  (2, 4, 4, 1, 1, np.float64, 1), (2, 5, 3, 6, 3, np.float32, 3)]:
        x = rng.standard_normal((N, C, H, W)).astype(dt)
        w = rng.standard_normal((Co, C, 3, 3)).astype(dt)
        with fastconv.threads(threads):
            got = nn.conv2d(x, w, None, 1, p, method=method)
            ref = nn.conv2d(x, w, None, 1, p, method=method, padding_mode="reflect") \
                if H > 3 and W > 3 else None
        close(got, TF.conv2d(t(x), t(w), None, 1, p).numpy(), dt)
        if ref is not None:
            pp = (p, p) if isinstance(p, int) else p
            xr = TF.pad(t(x), (pp[1], pp[1], pp[0], pp[0]), mode="reflect")
            close(ref, TF.conv2d(xr, t(w)).numpy(), dt)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_winograd_weight_gradient_error_bound(threads, monkeypatch):
    """The weight gradient of stride-1 3x3 layers by F(2x2, 3x3)'s adjoint:
    within WINOGRAD_WGRAD_ERROR * eps * sum_n ||g[n, o]||_1 max |x[n, c]| of
    the exact float64 gradient (torch.autograd), over random layers with
    widely spread magnitudes, odd sizes, every block shape (runs of tile
    rows, whole images, one thread or several)."""
    from fastconv.algorithms import layer

    rng = np.random.default_rng(70 + threads)
    eps = np.finfo(np.float32).eps
    for trial in range(30):
        monkeypatch.setattr(layer, "WINOGRAD_TASK", int(rng.choice([1, 30_000, 1 << 30])))
        N, C, Co = int(rng.integers(1, 4)), int(rng.integers(1, 12)), int(rng.integers(1, 7))
        H, W = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        xs, gs = (N, C, H, W), (N, Co, H, W)
        x = (rng.standard_normal(xs) * 10.0 ** rng.uniform(-4, 4)
             * np.exp(rng.uniform(-3, 3, xs))).astype(np.float32)
        g = (rng.standard_normal(gs) * np.exp(rng.uniform(-2, 2, gs))).astype(np.float32)
        got = layer.weight_grad_winograd(np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)]), g, threads)
        tx = t(x.astype(np.float64))
        tw = torch.zeros((Co, C, 3, 3), dtype=torch.float64, requires_grad=True)
        exact = torch.autograd.grad(TF.conv2d(tx, tw, None, 1, 1), tw,
                                    t(g.astype(np.float64)))[0].numpy()
        mx = np.abs(x.astype(np.float64)).reshape(N, C, -1).max(-1)          # (N, C)
        gl1 = np.abs(g.astype(np.float64)).reshape(N, Co, -1).sum(-1)       # (N, Co)
        bound = layer.WINOGRAD_WGRAD_ERROR * eps * (gl1.T @ mx)[:, :, None, None]
        assert got.shape == (Co, C, 3, 3) and got.dtype == np.float32
        assert np.all(np.abs(got - exact) <= bound), trial


def test_winograd_weight_gradient_chosen_and_left_out():
    """The planner takes F(2x2, 3x3)'s adjoint for a ResNet layer's weight
    gradient, not under accuracy='high' nor for few tiles against many
    channels; through conv2d_weight the result matches torch either way."""
    from fastconv.planning.layer import LayerSpec, plan_layer

    def spec(C, S):
        return LayerSpec("weight", 8, C, C, 1, (S, S), (3, 3), (1, 1), (1, 1),
                         ((1, 1), (1, 1)), "<f4")

    assert plan_layer(spec(64, 56)).method == "winograd"
    assert plan_layer(spec(64, 56), accuracy="high").method != "winograd"
    assert plan_layer(spec(512, 7)).method != "winograd"     # 128 tiles, 512 channels
    rng = np.random.default_rng(77)
    x = rng.standard_normal((4, 16, 21, 20)).astype(np.float32)
    w = rng.standard_normal((24, 16, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((4, 24, 21, 20)).astype(np.float32)
    tx, tw = t(x).requires_grad_(), t(w).requires_grad_()
    want = torch.autograd.grad(TF.conv2d(tx, tw, None, 1, 1), tw, t(gy))[0].numpy()
    for acc in ("default", "high"):
        close(G.conv2d_weight(x, w.shape, gy, 1, 1, accuracy=acc), want, np.float32)
    with pytest.raises(ValueError, match="accuracy"):
        G.conv2d_weight(x, w.shape, gy, 1, 1, accuracy="best")


def _same_nonfinite(got, want):
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isposinf(got), np.isposinf(want))
    assert np.array_equal(np.isneginf(got), np.isneginf(want))
    fin = np.isfinite(want)
    scale = np.max(np.abs(want[fin])) + 1.0
    assert np.max(np.abs(got[fin] - want[fin])) <= 1e-4 * scale


@pytest.mark.parametrize("D", [1, 2, 3])
def test_infinite_weights_and_gradients_meet_no_padded_zero(D):
    """An infinite weight (forward, input gradient) or output gradient
    (weight gradient) next to zero padding: zero padding adds no product
    (the layer's definition, and torch's direct sums on the common path), so
    a border output stays infinite or finite where a product with a padded
    zero would make it NaN.  Against the naive reference (tests/reference.py,
    products of samples inside the input only); strides, dilations, groups.
    (torch itself is not consistent here: some of its paths for strided or
    grouped layers multiply the padded zeros.)"""
    rng = np.random.default_rng(90 + D)
    fn, gin, gw = (getattr(nn, f"conv{D}d"), getattr(G, f"conv{D}d_input"),
                   getattr(G, f"conv{D}d_weight"))
    for stride, dil, groups, pad in [(1, 1, 1, 1), (2, 1, 2, 2), (1, 2, 1, 3), (2, 2, 2, 1)]:
        n = 9 if D < 3 else 6
        x = rng.standard_normal((2, 4) + (n,) * D).astype(np.float32)
        w = rng.standard_normal((6, 4 // groups) + (3,) * D).astype(np.float32)
        w[(1, 0) + (0,) * D] = np.inf
        w[(4, 1) + (2,) * D] = -np.inf
        kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
        rk = ((stride,) * D, (dil,) * D, (pad,) * D, groups)
        y = fn(x, w, None, **kw)
        _same_nonfinite(y, reference.layer_forward(x, w, *rk))
        assert np.isinf(y).any()
        gy = rng.standard_normal(y.shape).astype(np.float32)
        _same_nonfinite(gin(x.shape, w, gy, **kw), reference.layer_input_grad(x.shape, w, gy, *rk))
        wf = np.abs(w)
        wf[~np.isfinite(wf)] = 1.0
        gy[(0, 2) + (0,) * D] = np.inf
        gy[(1, 5) + (-1,) * D] = np.nan
        got = gw(x, wf.shape, gy, **kw)
        _same_nonfinite(got, reference.layer_weight_grad(x, wf.shape, gy, *rk))
        assert np.isinf(got).any()
    # depthwise (its own weight-gradient kernel at stride 1)
    gy = rng.standard_normal((2, 4) + (n,) * D).astype(np.float32)
    gy[(0, 2) + (0,) * D] = np.inf
    gy[(1, 3) + (-1,) * D] = np.nan
    kw = dict(stride=1, padding=1, dilation=1, groups=4)
    got = gw(x, (4, 1) + (3,) * D, gy, **kw)
    _same_nonfinite(got, reference.layer_weight_grad(x, (4, 1) + (3,) * D, gy, (1,) * D,
                                                     (1,) * D, (1,) * D, 4))


def test_nan_and_inf_as_torch_computes_them():
    """NaN and infinities where torch's direct sums put them: the planner
    leaves out the transform methods (Winograd, FFT) for such data, and
    refuses them by name."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal((4, 64, 40, 40)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    assert "* winograd" in nn.explain_conv(x, w, padding=1)
    x[0, 3, 5, 7] = np.inf
    x[1, 0, 0, 0] = -np.inf
    x[2, 7, 20, 27] = np.nan
    x[3, 60, 39, 39] = np.inf
    _same_nonfinite(nn.conv2d(x, w, None, 1, 1), TF.conv2d(t(x), t(w), None, 1, 1).numpy())
    gx = G.conv2d_input(x.shape, w, x, 1, 1)        # a non-finite output gradient
    tx = t(x[:, :, :, :]).requires_grad_()
    TF.conv2d(tx, t(w), None, 1, 1).backward(t(x))
    _same_nonfinite(gx, tx.grad.numpy())
    # the weight gradient: non-finite data leave out its Winograd path too
    tw = t(w).requires_grad_()
    TF.conv2d(t(x), tw, None, 1, 1).backward(t(x))
    _same_nonfinite(G.conv2d_weight(x, w.shape, x, 1, 1), tw.grad.numpy())
    with pytest.raises(ValueError, match="method"):
        nn.conv2d(x, w, None, 1, 1, method="winograd")
    x1 = rng.standard_normal((2, 8, 4096)).astype(np.float32)
    w1 = rng.standard_normal((8, 8, 512)).astype(np.float32)
    w1[3, 2, 100] = np.nan
    _same_nonfinite(nn.conv1d(x1, w1), TF.conv1d(t(x1), t(w1)).numpy())
    with pytest.raises(ValueError, match="method"):
        nn.conv1d(x1, w1, method="fft")
