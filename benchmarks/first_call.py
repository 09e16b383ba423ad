"""make bench-first-call: the cold first call of every public function.

Each case runs in a fresh process with an empty numba cache
(``NUMBA_CACHE_DIR``) and no planner wisdom: the time from ``import fastconv``
to the end of the first call, which is what a user sees right after
installing (issue 17 asks for at most 3 s).  Then the same process calls
again (warm), and a second fresh process with the cache the first one left
(what every later run sees).  Prints seconds per case and the worst.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

# small inputs, as a first try in a notebook would use
SETUP = """
import time
t0 = time.perf_counter()
import numpy as np
import fastconv
r = np.random.default_rng(0)
x1 = r.standard_normal(5000); k1 = r.standard_normal(31)
x2 = r.standard_normal((300, 400)); k2 = r.standard_normal((7, 7))
xl = r.standard_normal(200000); kl = r.standard_normal(5000)
i1 = r.integers(-100, 100, 5000); ik = r.integers(-5, 5, 31)
xn = x2.copy(); xn[5, 5] = np.nan
u8 = (r.random((300, 400)) * 255).astype(np.uint8)
x4 = r.standard_normal((4, 16, 32, 32)).astype(np.float32)
w4 = r.standard_normal((16, 16, 3, 3)).astype(np.float32)
def call():
    {call}
call()
t1 = time.perf_counter()
call()
print(t1 - t0, time.perf_counter() - t1)
"""

CASES = {
    "convolve 1-D": "fastconv.convolve(x1, k1)",
    "convolve 2-D same": "fastconv.convolve(x2, k2, mode='same')",
    "convolve 2-D f32 reflect": "fastconv.convolve(x2.astype('f4'), k2.astype('f4'), "
                                "mode='same', boundary='reflect')",
    "convolve int": "fastconv.convolve(i1, ik)",
    "correlate": "fastconv.correlate(x1, k1)",
    "plan": "fastconv.plan(x2, k2)(x2, k2)",
    "signal.convolve": "import fastconv.signal as s; s.convolve(x1, k1)",
    "signal.fftconvolve": "import fastconv.signal as s; s.fftconvolve(x2, k2)",
    "signal.oaconvolve": "import fastconv.signal as s; s.oaconvolve(xl, kl)",
    "signal.convolve2d": "import fastconv.signal as s; s.convolve2d(x2, k2, boundary='symm')",
    "signal.lfilter": "import fastconv.signal as s; s.lfilter(k1, [1.0], x1)",
    "signal.deconvolve": "import fastconv.signal as s; s.deconvolve(x1, k1)",
    "signal.choose_conv_method": "import fastconv.signal as s; s.choose_conv_method(x1, k1)",
    "numpy.convolve": "import fastconv.numpy as s; s.convolve(x1, k1)",
    "ndimage.convolve": "import fastconv.ndimage as s; s.convolve(x2, k2)",
    "ndimage.correlate1d": "import fastconv.ndimage as s; s.correlate1d(x2, k1)",
    "astropy.convolve": "import fastconv.astropy as s; s.convolve(xn, k2)",
    "astropy.convolve_fft": "import fastconv.astropy as s; s.convolve_fft(xn, k2)",
    "filters.filter u8": "import fastconv.filters as s; s.filter(u8, s.kernel('gaussian:2'))",
    "filters.gaussian f32": "import fastconv.filters as s; s.gaussian(x2.astype('f4'), 2)",
    "filters.edges": "import fastconv.filters as s; s.edges(u8)",
    "feature.match_template": "import fastconv.feature as s; "
                              "s.match_template(x2, x2[10:20, 10:25])",
    "restoration.richardson_lucy": "import fastconv.restoration as s; "
                                   "s.richardson_lucy(abs(x2), abs(k2), 5)",
    "restoration.wiener": "import fastconv.restoration as s; s.wiener(x2, k2, 0.1)",
    "stream.Convolver": "import fastconv.stream as s; c = s.Convolver(kl[:3000], "
                        "block_size=256); c.process(x1); c.flush()",
    "stream.Convolver direct": "import fastconv.stream as s; "
                               "c = s.Convolver(k1, block_size=256); c.process(x1)",
    "lti.estimate_delay": "import fastconv.lti as s; s.estimate_delay(x1, x1)",
    "nn.conv2d 3x3 (winograd)": "from fastconv import nn; nn.conv2d(x4, w4, None, 1, 1)",
    "nn.conv2d stride 2 (im2col)": "from fastconv import nn; nn.conv2d(x4, w4, None, 2, 1)",
    "nn.conv2d depthwise": "from fastconv import nn; nn.conv2d(x4, w4[:, :1], None, 1, 1, 1, 16)",
    "nn.conv_transpose2d": "from fastconv import nn; nn.conv_transpose2d(x4, w4, None, 2, 1)",
    "nn.grad.conv2d_weight": "from fastconv import nn; "
                             "nn.grad.conv2d_weight(x4, w4.shape, x4, 1, 1)",
    "nn.Conv2d forward+backward": "from fastconv import nn; l = nn.Conv2d(16, 16, 3, padding=1); "
                                  "l.backward(l.forward(x4))",
    "nn.long_conv 1-D causal": "from fastconv import nn; nn.long_conv(x4[:, :, 0], x4[0, :, 0])",
    "nn.causal_conv1d silu": "from fastconv import nn; "
                             "nn.causal_conv1d(x4[:, :, 0], x4[0, :, 0, :4], activation='silu')",
    "nn.grad.long_conv": "from fastconv import nn; "
                         "nn.grad.long_conv(x4[:, :, 0], x4[:, :, 0], x4[0, :, 0])",
    "stats.pmf_power": "import fastconv.stats as s; s.pmf_power(abs(k1) / abs(k1).sum(), 50)",
    "stats.compound": "import fastconv.stats as s; "
                      "s.compound(abs(k1) / abs(k1).sum(), ('poisson', 20.0))",
    "stats.kde": "import fastconv.stats as s; s.kde(x1)(x1[:10])",
    "stats.moving_average": "import fastconv.stats as s; s.moving_average(xn, 5)",
    "stats.ewma": "import fastconv.stats as s; s.ewma(x1, alpha=0.1)",
    "physics.diffuse": "import fastconv.physics as s; s.diffuse(x2, 1.0, [1.0, 10.0])",
    "physics.anisotropic_diffusion": "import fastconv.physics as s; "
                                     "s.anisotropic_diffusion(x2, 2.0, 5)",
    "physics.free_particle": "import fastconv.physics as s; s.free_particle(x1, 10.0)",
}


def run(call, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, FASTCONV_WISDOM_DIR=cache)
    out = subprocess.run([sys.executable, "-c", SETUP.replace("{call}", call)], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return [float(v) for v in out.stdout.split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="cases whose name contains this")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    res = {}
    print(f"{'case':32s} {'cold':>7s} {'warm':>8s} {'cached':>7s}")
    for name, call in CASES.items():
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as d:
            cold, warm = run(call, d)
            cached, _ = run(call, d)
        res[name] = {"cold_s": cold, "warm_s": warm, "cached_s": cached}
        print(f"{name:32s} {cold:6.2f}s {warm * 1e3:6.1f}ms {cached:6.2f}s", flush=True)
    worst = max(res, key=lambda n: res[n]["cold_s"])
    print(f"worst cold first call: {worst} {res[worst]['cold_s']:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
