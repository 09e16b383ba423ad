"""Run the compiled kernels once with numba's bounds checking on.

The kernels are compiled with boundscheck=False for speed; an out-of-range
index there corrupts memory silently (it once did: a kernel longer than the
input in 'same' mode).  Here a fresh process recompiles them with
NUMBA_BOUNDSCHECK=1 (into a private cache) and runs awkward shapes through
every method, so such an index raises IndexError instead.
"""
import os
import subprocess
import sys

import pytest

CODE = r"""
import sys
import numpy as np, fastconv
from fastconv._kernels import forced
forced(sys.argv[1]).__enter__()
rng = np.random.default_rng(0)
cases = [((6, 2), (4, 6)), ((3,), (9,)), ((2, 3), (5, 17)), ((1, 1), (3, 20)),
         ((40,), (3,)), ((9, 33), (3, 5)), ((5, 4, 6), (2, 3, 3)), ((7, 8), (8, 1)),
         ((3000,), (20,)), ((70, 1500), (3, 3))]
for xs, ks in cases:
    for dt in (np.float32, np.float64):
        x = rng.standard_normal(xs).astype(dt)
        k = rng.standard_normal(ks).astype(dt)
        for method in ("direct", "fft", "overlap-add", "overlap-save", "hybrid", "separable"):
            for mode in ("full", "same", "valid"):
                if mode == "valid" and not all(a >= b for a, b in zip(xs, ks)):
                    continue
                fastconv.convolve(x, k, mode=mode, method=method)
g = np.exp(-np.arange(-4, 5) ** 2 / 4.0)
fastconv.convolve(rng.standard_normal((3, 50, 40)), np.outer(g, g)[None], mode="same",
                  axes=(1, 2), method="separable")
print("ok")
"""


@pytest.mark.parametrize("variant", ["serial", "parallel"])
def test_kernels_in_bounds(tmp_path, variant):
    """Both compiled variants of the parallel kernels (see _kernels.Parallel)."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", CODE, variant], env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith("ok")
