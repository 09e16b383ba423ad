"""Every method's measured peak memory stays within its plan's estimate (+10%)."""
import tracemalloc

import numpy as np
import pytest

import fastconv

CASES = [((4096,), (64,), "f8", "same", "constant"),
         ((200000,), (3000,), "f8", "same", "constant"),
         ((300, 300), (9, 9), "f4", "same", "symmetric"),
         ((256, 256), (31, 31), "f4", "full", "constant"),
         ((48, 48, 48), (7, 7, 7), "f4", "same", "constant"),
         ((4, 60, 70), (3, 5, 5), "f8", "same", "reflect"),     # 3-D direct, one padded copy
         ((40, 64, 50), (5, 3, 4), "f4", "full", "constant"),   # 3-D direct, plane buffers
         ((512, 512), (17, 17), "f8", "valid", "constant"),
         ((1000, 800), (25, 1), "f4", "same", "reflect"),
         ((3, 500, 400), (1, 15, 15), "f4", "same", "wrap"),
         ((100000,), (100000,), "f8", "full", "constant"),
         ((200, 200), (201, 201), "c16", "same", "constant"),
         ((400, 400), (5, 5), "f8", "same", "constant", 2.5)]


def estimate_and_peak(q, x, k, method):
    """The plan's memory estimate for ``method`` and the traced peak of a warm call."""
    est = next(c["memory"] for c in q.candidates if c["method"] == method)
    q(x, k)                                       # warm: JIT, caches
    tracemalloc.start()
    try:
        q(x, k)
        return est, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]}-{c[3]}-{c[4]}")
def test_peak_memory_within_estimate(case):
    n, m, dt, mode, boundary = case[:5]
    cval = case[5] if len(case) > 5 else 0
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dt)
    k = rng.standard_normal(m).astype(dt)
    p = fastconv.plan(x, k, mode=mode, boundary=boundary, cval=cval)
    methods = [c["method"] for c in p.candidates if "excluded" not in c]
    assert methods
    for method in methods:
        q = fastconv.plan(x, k, mode=mode, boundary=boundary, cval=cval, method=method)
        est, peak = estimate_and_peak(q, x, k, method)
        assert peak <= 1.1 * est + 65536, (method, peak, est)


def test_wide_edges_pad_and_are_counted():
    # 'full' with a kernel comparable to the image: direct pads (cheaper than
    # per-column boundary work) and the estimate includes that copy
    rng = np.random.default_rng(1)
    x = rng.standard_normal((203, 101))
    k = rng.standard_normal((16, 19))
    q = fastconv.plan(x, k, mode="full", boundary="symmetric", method="direct")
    est, peak = estimate_and_peak(q, x, k, "direct")
    assert peak <= 1.1 * est + 65536
