"""Several Python threads calling fastconv at once (issue 17: under numba's
workqueue layer two concurrent calls aborted the process)."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import threading, numpy as np, fastconv
    from fastconv import filters
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 300)).astype(np.float32)
    k = rng.standard_normal((7, 7)).astype(np.float32)
    want = fastconv.convolve(x, k, mode="same")
    g = filters.gaussian(x, 2.0)
    errors = []
    def work():
        try:
            for _ in range(30):
                y = fastconv.convolve(x, k, mode="same", method="direct")
                assert np.allclose(y, want, atol=1e-4)
                assert np.allclose(filters.gaussian(x, 2.0), g, atol=1e-5)
        except Exception as e:          # reported by the main thread
            errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert not errors, errors
    import numba
    print("layer", numba.threading_layer())
""")


@pytest.mark.parametrize("layer", ["default", "workqueue"])
def test_concurrent_calls_under_every_layer(layer):
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer, NUMBA_NUM_THREADS="2")
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "layer" in r.stdout
    if layer == "workqueue":
        assert "layer workqueue" in r.stdout
