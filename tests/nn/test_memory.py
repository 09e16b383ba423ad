"""Layer memory: estimated before it is spent, checked against the budget,
and the estimate holds (tracemalloc)."""
import tracemalloc

import numpy as np
import pytest

from fastconv import _core, nn


def _peak(fn):
    fn()                                   # warm (kernels, caches)
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", [
    ((8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}),                 # dense 3x3: im2col
    ((8, 64, 28, 28), (128, 64, 1, 1), {}),                            # 1x1: taps-gemm
    ((4, 3, 112, 112), (16, 3, 7, 7), {"stride": 2, "padding": 3}),   # stem
    ((2, 16, 2048), (16, 16, 300), {}),                                # long kernel: fft
    ((4, 32, 40, 40), (32, 1, 3, 3), {"padding": 1, "groups": 32}),  # depthwise
])
def test_the_estimate_holds(case):
    xs, ws, kw = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    D = len(xs) - 2
    f = nn.conv1d if D == 1 else nn.conv2d
    plan_text = nn.explain_conv(x, w, **kw)
    chosen = [ln for ln in plan_text.splitlines() if ln.startswith(" *")][0]
    est = float(chosen.split("ms")[1].split("MiB")[0]) * 2**20
    peak = _peak(lambda: f(x, w, None, **kw))
    assert peak <= est, (chosen, peak / 2**20)


def test_dense_3x3_forward_allocates_no_full_im2col_matrix():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 64, 56, 56)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    full_im2col = 64 * 9 * 56 * 56 * 8 * 4
    out = 8 * 64 * 56 * 56 * 4
    peak = _peak(lambda: nn.conv2d(x, w, None, 1, 1))
    # output + padded input copy + blocked patch matrices, far below one im2col matrix
    assert peak < out + x.nbytes * 1.2 + (8 << 20) < full_im2col


def test_over_the_budget_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("FASTCONV_MAX_MEMORY", "1M")
    x = np.zeros((8, 64, 56, 56), np.float32)
    with pytest.raises(MemoryError, match="FASTCONV_MAX_MEMORY"):
        nn.conv2d(x, np.zeros((64, 64, 3, 3), np.float32), None, 1, 1)
    with pytest.raises(MemoryError):
        _core.layer_forward(x, np.zeros((64, 64, 3, 3), np.float32), (1, 1), (1, 1), 1,
                            [(1, 1), (1, 1)], plan_only=True)
