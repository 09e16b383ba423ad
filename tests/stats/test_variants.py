"""Both compiled variants (serial and prange) of the statistics and physics
kernels give the same results, on problems long enough to split into
several parallel tasks (rolling segments of 65536, rows, planes)."""
import numpy as np
import pytest

import fastconv.physics as fp
import fastconv.stats as fs
from fastconv._kernels import forced


def run_all():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 150000)) * 10.0 ** rng.integers(-6, 7, (3, 150000))
    x[0, rng.integers(0, 150000, 300)] = np.nan
    x[1, 70000:70100] = 0.0
    out = [fs.moving_average(x, 37, nan_policy="omit", min_periods=5),
           fs.moving_average(x, 37),
           fs.moving_average(x, 37, weights="hann", nan_policy="omit", center=True),
           fs.moving_average(x[1:], 37, weights="triang"),
           fs.ewma(x, halflife=20.0),
           fp.anisotropic_diffusion(rng.random((40, 30, 20)), 1.5, 3)]
    return out


def test_serial_and_parallel_agree():
    with forced("serial"):
        a = run_all()
    with forced("parallel"):
        b = run_all()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert (a[1][1, 70036:70100] == 0).all()      # a window of zeros: exactly 0


@pytest.mark.parametrize("variant", ["serial", "parallel"])
def test_segments_start_exact(variant):
    """Each parallel segment recomputes its first window's sum: the result
    does not depend on where the segments fall."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=200000)
    with forced(variant):
        y = fs.moving_average(x, 1000)
    import math

    for t in (999, 65535, 65536, 65537, 131071, 131072, 199999):
        assert y[t] == pytest.approx(math.fsum(x[t - 999:t + 1]) / 1000, rel=1e-15, abs=0)
