"""`make bench`: fastconv against numpy / scipy / OpenCV, same run, same machine.

Prints, per case, the median time of every contender and the ratio
fastconv / anchor (below 1.0 = fastconv faster).  `--only 1d|2d|3d` runs a
subset; `--json PATH` also writes the numbers.  The 2-D direct cases report
GFLOP/s against the float32 GEMM twice: against the peak measured once at the
start (best of 5), and against the same GEMM timed inside the case's own
shuffled rounds (its median, like ours: the machine's speed meanwhile).
"""
import argparse
import json
import os
import platform
import sys
import time

# Thread pools that spin after a call steal the next contender's cores (two
# here): OpenBLAS's threads spin ~0.1 s after a GEMM (a 9x9 2048^2 filter run
# right after one took 9-17 ms instead of 5.3), libgomp's (numba's
# parallel loops, torch) several ms (cv2.filter2D after one of ours: 13 vs
# 9 ms).  Each contender is timed without the previous one's residue: both
# pools sleep as soon as their work is done.  Set before numpy loads BLAS.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402
import scipy.signal as ss  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import fastconv  # noqa: E402
from harness import fmt_ms, measure  # noqa: E402

try:
    import cv2
except ImportError:  # pragma: no cover - optional anchor
    cv2 = None


def case_1d(K, rng):
    x = rng.standard_normal(1_000_000)
    h = rng.standard_normal(K)
    c = {"fastconv": lambda: fastconv.convolve(x, h, mode="same")}
    if K <= 512:      # numpy.convolve is O(N*K) through BLAS dots: hopeless above
        c["numpy.convolve"] = lambda: np.convolve(x, h, mode="same")
    c["scipy.convolve(auto)"] = lambda: ss.convolve(x, h, mode="same")
    c["scipy.fftconvolve"] = lambda: ss.fftconvolve(x, h, mode="same")
    c["scipy.oaconvolve"] = lambda: ss.oaconvolve(x, h, mode="same")
    return c


def case_2d(K, rng):
    x = rng.standard_normal((2048, 2048)).astype(np.float32)
    h = rng.standard_normal((K, K)).astype(np.float32)
    c = {"fastconv": lambda: fastconv.convolve(x, h, mode="same")}
    c["scipy.convolve(auto)"] = lambda: ss.convolve(x, h, mode="same")
    if K <= 17:       # ndimage's direct loop takes tens of seconds above this
        c["ndimage.convolve"] = lambda: ndi.convolve(x, h, mode="constant")
    if cv2 is not None:
        hf = np.ascontiguousarray(h[::-1, ::-1])
        c["cv2.filter2D"] = lambda: cv2.filter2D(x, -1, hf, borderType=cv2.BORDER_CONSTANT)
    return c


def case_2d_4k(K, rng):
    x = rng.standard_normal((4096, 4096)).astype(np.float32)
    h = rng.standard_normal((K, K)).astype(np.float32)
    c = {"fastconv": lambda: fastconv.convolve(x, h, mode="same")}
    if cv2 is not None:
        hf = np.ascontiguousarray(h[::-1, ::-1])
        c["cv2.filter2D"] = lambda: cv2.filter2D(x, -1, hf, borderType=cv2.BORDER_CONSTANT)
    c["scipy.convolve(auto)"] = lambda: ss.convolve(x, h, mode="same")
    return c


def case_1d_long(K, rng):
    x = rng.standard_normal(10_000_000)
    h = rng.standard_normal(K)
    return {"fastconv": lambda: fastconv.convolve(x, h, mode="same"),
            "scipy.oaconvolve": lambda: ss.oaconvolve(x, h, mode="same"),
            "scipy.fftconvolve": lambda: ss.fftconvolve(x, h, mode="same")}


def case_3d_256(K, rng):
    x = rng.standard_normal((256, 256, 256)).astype(np.float32)
    h = rng.standard_normal((K, K, K)).astype(np.float32)
    c = {"fastconv": lambda: fastconv.convolve(x, h, mode="same"),
         "scipy.fftconvolve": lambda: ss.fftconvolve(x, h, mode="same")}
    if K <= 3:
        c["ndimage.convolve"] = lambda: ndi.convolve(x, h, mode="constant")
    return c


def case_3d(K, rng):
    x = rng.standard_normal((128, 128, 128)).astype(np.float32)
    h = rng.standard_normal((K, K, K)).astype(np.float32)
    c = {"fastconv": lambda: fastconv.convolve(x, h, mode="same")}
    c["scipy.convolve(auto)"] = lambda: ss.convolve(x, h, mode="same")
    c["scipy.fftconvolve"] = lambda: ss.fftconvolve(x, h, mode="same")
    c["scipy.oaconvolve"] = lambda: ss.oaconvolve(x, h, mode="same")
    if K <= 7:
        c["ndimage.convolve"] = lambda: ndi.convolve(x, h, mode="constant")
    return c


def _gauss(sigma):
    r = int(4 * sigma + 0.5)            # ndimage.gaussian_filter's default truncate=4
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return (g / g.sum()).astype(np.float32)


def case_sep(sigma, rng):
    x = rng.standard_normal((4096, 4096)).astype(np.float32)
    g = _gauss(sigma)
    k = np.outer(g, g)
    c = {"fastconv": lambda: fastconv.convolve(x, k, mode="same", boundary="symmetric")}
    c["ndimage.gaussian_filter"] = lambda: ndi.gaussian_filter(x, sigma, mode="reflect")
    if cv2 is not None:
        c["cv2.sepFilter2D"] = lambda: cv2.sepFilter2D(x, -1, g, g, borderType=cv2.BORDER_REFLECT)
    return c


# ------------------------------------------------------------ images (issue 4)
def _scene(dtype, n=2048, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.random((n, n)).astype(np.float32)
    if dtype == np.uint8:
        return (x * 255).astype(np.uint8)
    return x


def case_filters(name, rng):
    from fastconv import filters

    kind, dt = name.split("-")
    dtype = np.uint8 if dt == "u8" else np.float32
    x = _scene(dtype)
    c = {}
    if kind == "gauss2":
        g = filters.gaussian_kernel(2, ndim=1).astype(np.float32)
        c["fastconv"] = lambda: filters.gaussian(x, 2.0, mode="mirror")
        c["cv2.GaussianBlur"] = lambda: cv2.GaussianBlur(x, (len(g), len(g)), 2.0,
                                                         borderType=cv2.BORDER_REFLECT_101)
        c["ndimage.gaussian_filter"] = lambda: ndi.gaussian_filter(x, 2.0, mode="mirror")
    elif kind == "box5":
        k = filters.box_kernel(5)
        c["fastconv"] = lambda: filters.filter(x, k, mode="mirror")
        c["cv2.blur"] = lambda: cv2.blur(x, (5, 5), borderType=cv2.BORDER_REFLECT_101)
        c["ndimage.uniform_filter"] = lambda: ndi.uniform_filter(x, 5, mode="mirror")
    elif kind == "sobel":
        k = filters.sobel_kernel("x")
        c["fastconv"] = lambda: filters.filter(x, k, mode="mirror")
        ddepth = cv2.CV_8U if dtype == np.uint8 else cv2.CV_32F
        c["cv2.Sobel"] = lambda: cv2.Sobel(x, ddepth, 1, 0, ksize=3,
                                           borderType=cv2.BORDER_REFLECT_101)
        c["ndimage.correlate"] = lambda: ndi.correlate(x, k.astype(np.float32), mode="mirror")
    else:   # dense 7x7
        k = np.random.default_rng(1).standard_normal((7, 7)).astype(np.float32)
        c["fastconv"] = lambda: filters.filter(x, k, mode="mirror")
        c["cv2.filter2D"] = lambda: cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT_101)
        c["ndimage.correlate"] = lambda: ndi.correlate(x, k, mode="mirror")
    return c


def case_match(T, rng):
    from fastconv.feature import match_template

    x = _scene(np.float32)
    t = x[700:700 + T, 900:900 + T].copy()
    c = {"fastconv": lambda: match_template(x, t),
         "cv2.matchTemplate": lambda: cv2.matchTemplate(x, t, cv2.TM_CCOEFF_NORMED)}
    try:
        from skimage.feature import match_template as sk
        c["skimage.match_template"] = lambda: sk(x, t)
    except ImportError:  # pragma: no cover
        pass
    return c


def case_restore(name, rng):
    from fastconv import filters, restoration

    r = np.random.default_rng(2)
    img = r.random((512, 512))
    psf = filters.gaussian_kernel(1.5)
    psf /= psf.sum()
    blurred = ss.fftconvolve(img, psf, mode="same")
    c = {"fastconv": lambda: restoration.richardson_lucy(blurred, psf, 50)}
    try:
        from skimage.restoration import richardson_lucy as sk
        c["skimage.richardson_lucy"] = lambda: sk(blurred, psf, 50)
    except ImportError:  # pragma: no cover
        pass
    return c


# ------------------------------------------------------------- signals (issue 5)
_FS = 48000
_SECONDS = 10


def _audio():
    rng = np.random.default_rng(4)
    h = rng.standard_normal((2, 3 * _FS)) * np.exp(-np.arange(3 * _FS) / _FS)
    x = rng.standard_normal((2, _SECONDS * _FS))
    return x, h


def _stream_all(c, x, B):
    """One pass over the stream in blocks of B, tail included (flush resets)."""
    out = [c.process(x[:, i:i + B]) for i in range(0, x.shape[1], B)]
    out.append(c.flush())
    return out


def case_stream(B, rng):
    from fastconv.stream import Convolver

    x, h = _audio()
    if isinstance(B, str):                    # "16384-f32": single precision
        B = int(B.split("-")[0])               # (what the CLI uses for 16-bit WAV)
        x, h = x.astype(np.float32), h.astype(np.float32)
    conv = Convolver(h, block_size=B)      # made once, like a plug-in; IR spectra kept
    c = {"fastconv": lambda: _stream_all(conv, x, B)}
    if B >= 4096:
        c["scipy.oaconvolve (whole signal)"] = lambda: ss.oaconvolve(x, h, axes=-1)
    return c


def case_lfilter(K, rng):
    from fastconv import signal as fsig

    r = np.random.default_rng(5)
    x = r.standard_normal((2, _SECONDS * _FS))
    b = r.standard_normal(K)
    return {"fastconv": lambda: fsig.lfilter(b, [1.0], x),
            "scipy.lfilter": lambda: ss.lfilter(b, [1.0], x)}


GROUPS = {
    "1d": ("1-D float64 N=1e6, mode='same'", case_1d, [8, 64, 512, 4096, 65536]),
    "2d": ("2-D float32 2048x2048, KxK, mode='same'", case_2d, [3, 5, 9, 17, 31]),
    "3d": ("3-D float32 128^3, K^3, mode='same'", case_3d, [3, 7, 15]),
    "2d4k": ("2-D float32 4096x4096, KxK, mode='same'", case_2d_4k, [3, 5, 9, 17, 31, 63]),
    "1d1e7": ("1-D float64 N=1e7, mode='same'", case_1d_long, [65536]),
    "3d256": ("3-D float32 256^3, K^3, mode='same'", case_3d_256, [3, 7, 15]),
    "sep": ("separable Gaussian, float32 4096x4096, sigma (K = 8 sigma + 1), reflect",
            case_sep, [2, 8]),
    "filters": ("image filters, 2048x2048 (mode mirror = BORDER_REFLECT_101)", case_filters,
                ["gauss2-f32", "gauss2-u8", "box5-f32", "box5-u8", "sobel-f32", "sobel-u8",
                 "dense7-f32", "dense7-u8"]),
    "match": ("match_template ccoeff_normed, float32 2048x2048 scene, TxT template",
              case_match, [16, 64, 256]),
    "restore": ("richardson_lucy, 50 iterations, 512x512 float64, Gaussian PSF 13x13",
                case_restore, ["rl50"]),
    "stream": (f"stream: {_SECONDS} s of 48 kHz stereo through a 3 s IR, block size B "
               "(real-time factor = 10 s / time)", case_stream, [256, 16384, "16384-f32"]),
    "lfilter": (f"lfilter FIR, {_SECONDS} s of 48 kHz stereo, K taps", case_lfilter, [512]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=sorted(GROUPS), action="append")
    ap.add_argument("--issue2", action="store_true",
                    help="only the groups of the core issue (1d, 2d, 3d)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"fastconv {fastconv.__version__}, threads={fastconv.get_threads()}, "
          f"{platform.processor() or platform.machine()}, numpy {np.__version__}")
    results = []
    keys = args.only or (["1d", "2d", "3d"] if args.issue2 else list(GROUPS))
    peak = None
    if "2d" in keys or "2d4k" in keys:
        peak = _gemm_peak()
        print(f"float32 GEMM peak (numpy matmul 2048^2, best of 5): {peak:.0f} GFLOP/s")
        results.append({"group": "peak", "K": "sgemm", "gflops": peak})
    for key in keys:
        title, make, Ks = GROUPS[key]
        print(f"\n## {title}")
        for K in Ks:
            cont = make(K, rng)
            if key in ("2d", "2d4k"):
                cont[_GEMM] = _gemm_call()      # timed in the same shuffled rounds
            t = measure(cont, rounds=args.rounds)
            ours = t.pop("fastconv")
            gemm_now = t.pop(_GEMM, None)
            best_name = min(t, key=t.get) if t else None
            method = _method(key, K, rng) if key in _SHAPES else "-"
            gflops = None
            if key in ("2d", "2d4k"):
                side = 2048 if key == "2d" else 4096
                gflops = 2.0 * side * side * K * K / ours / 1e9
                gflops_pct = 100 * gflops / peak
            row = {"group": key, "K": K, "fastconv_s": ours, "method": method, "gflops": gflops,
                   "anchors_s": t, "best_anchor": best_name,
                   "ratio_best": ours / t[best_name] if best_name else None}
            results.append(row)
            parts = "  ".join(f"{n} {fmt_ms(v).strip()} ms ({ours / v:.2f}x)"
                              for n, v in t.items())
            gf = f" ({gflops:.0f} GFLOP/s)" if gflops else ""
            if gflops:
                row["peak_pct"] = gflops_pct
                gf = f" ({gflops:.0f} GFLOP/s, {gflops_pct:.0f}% of GEMM peak"
                if gemm_now:
                    # the same GEMM timed in the same rounds (median, like ours):
                    # the machine's speed while this case ran
                    row["gemm_same_rounds"] = 2.0 * 2048 ** 3 / gemm_now / 1e9
                    row["peak_pct_same_rounds"] = 100 * gflops / row["gemm_same_rounds"]
                    gf += (f", {row['peak_pct_same_rounds']:.0f}% of the GEMM interleaved with "
                           f"it, {row['gemm_same_rounds']:.0f} GFLOP/s")
                gf += ")"
            if key == "stream":
                row["realtime_x"] = _SECONDS / ours
                gf = f" ({_SECONDS / ours:.0f}x real time)"
            best = (f"vs best ({best_name}): {ours / t[best_name]:.2f}x" if best_name
                    else "no anchor")
            print(f"K={K:<6} fastconv[{method}] {fmt_ms(ours).strip()} ms{gf} | {parts} | "
                  f"{best}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


_GEMM = "_sgemm 2048^2"


def _gemm_call():
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    return lambda: a @ a


def _gemm_peak():
    """float32 GEMM throughput of this machine now (numpy's BLAS, all threads)."""
    f = _gemm_call()
    f()
    best = min(_timed(f) for _ in range(5))
    return 2.0 * 2048 ** 3 / best / 1e9


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


_SHAPES = ("1d", "2d", "3d", "2d4k", "1d1e7", "3d256", "sep")


def _method(key, K, rng):
    shapes = {"1d": ((1_000_000,), (K,), np.float64),
              "2d": ((2048, 2048), (K, K), np.float32),
              "3d": ((128,) * 3, (K,) * 3, np.float32),
              "2d4k": ((4096, 4096), (K, K), np.float32),
              "1d1e7": ((10_000_000,), (K,), np.float64),
              "3d256": ((256,) * 3, (K,) * 3, np.float32),
              "sep": ((4096, 4096), None, np.float32)}[key]
    xs, ks, dt = shapes
    if key == "sep":
        g = _gauss(K)
        return fastconv.plan(np.empty(xs, dt), np.outer(g, g), mode="same",
                             boundary="symmetric").method
    k = rng.standard_normal(ks).astype(dt)      # like the timed kernels: not separable
    return fastconv.plan(np.empty(xs, dt), k, mode="same").method


if __name__ == "__main__":
    main()
