"""benchmarks/gpu.py: fastconv on CuPy and PyTorch CUDA arrays against
cupyx.scipy.signal / ndimage and torch (conv2d, torch.fft pipelines), on a
machine with an NVIDIA GPU (issue 22's cases).  Not part of `make bench`
(which runs where no GPU is); run it with `python benchmarks/gpu.py`.

Cases: 1-D 1e7 x 65536 float64; 2-D 4096^2 float32 with 3x3, 9x9, 31x31;
3-D 256^3 float32 with 7^3 and 15^3; long_conv B=8, H=768, L=65536 float32
(fastconv.torch.long_conv against torch.fft's irfft(rfft(u, 2L) rfft(k, 2L))
with its peak memory).  CUDA events, medians of 10 after 3 warm-ups; the
achieved rate (GB/s of input + output, or GFLOP/s of direct work) printed
next to each time.  The ratio is fastconv / the best anchor.
"""
import argparse
import json
import statistics
import time


class HostEvent:
    """A CPU stand-in for torch.cuda.Event (``--device cpu``: the script's
    own dry run, which checks every case's code without a GPU)."""

    def record(self):
        self.t = time.perf_counter()

    def synchronize(self):
        pass

    def elapsed_time(self, other):
        return (other.t - self.t) * 1e3


def cuda_time(fn, sync, event, reps=10, warm=3):
    for _ in range(warm):
        fn()
    sync()
    out = []
    for _ in range(reps):
        a, b = event(), event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) / 1e3)
    return statistics.median(out)


#: the cases' sizes, and the dry run's (``--small``)
SIZES = {False: dict(n1=10 ** 7, k1=65536, img=4096, vol=256, B=8, H=768, L=65536),
         True: dict(n1=10 ** 5, k1=4096, img=256, vol=32, B=2, H=16, L=4096)}


def torch_cases(res, dev="cuda", small=False):
    import torch
    import torch.nn.functional as F

    import fastconv
    import fastconv.torch as ft

    z = SIZES[small]
    if dev == "cuda":
        sync = torch.cuda.synchronize

        def event():
            return torch.cuda.Event(enable_timing=True)
    else:
        import fastconv.backends

        # CPU tensors take the namespace engine, as CUDA tensors do
        fastconv.backends.TORCH_CPU_VIA_NUMPY = False
        sync, event = (lambda: None), HostEvent
    g = torch.Generator(device=dev).manual_seed(0)
    cases = []
    x1 = torch.randn(z["n1"], device=dev, dtype=torch.float64, generator=g)
    k1 = torch.randn(z["k1"], device=dev, dtype=torch.float64, generator=g)
    n = z["n1"] + z["k1"] - 1
    cases.append((f"1-D {z['n1']:.0e} x {z['k1']} f64", lambda: fastconv.convolve(x1, k1),
                  {"torch.fft": lambda: torch.fft.irfft(torch.fft.rfft(x1, n) *
                                                        torch.fft.rfft(k1, n), n)}))
    S = z["img"]
    img = torch.randn(S, S, device=dev, generator=g)
    for K in (3, 9, 31):
        k = torch.randn(K, K, device=dev, generator=g)
        cases.append((f"2-D {S}^2 x {K}x{K} f32",
                      lambda k=k: fastconv.convolve(img, k, mode="same"),
                      {"torch.conv2d": lambda k=k: F.conv2d(img[None, None], k[None, None],
                                                            padding=k.shape[0] // 2)}))
    V = z["vol"]
    vol = torch.randn(V, V, V, device=dev, generator=g)
    for K in (7, 15):
        k = torch.randn(K, K, K, device=dev, generator=g)
        cases.append((f"3-D {V}^3 x {K}^3 f32", lambda k=k: fastconv.convolve(vol, k, mode="same"),
                      {"torch.conv3d": lambda k=k: F.conv3d(vol[None, None], k[None, None],
                                                            padding=K // 2)}))
    for name, ours, anchors in cases:
        t = cuda_time(ours, sync, event)
        ta = {a: cuda_time(f, sync, event) for a, f in anchors.items()}
        best = min(ta.values())
        res.append({"case": name, "fastconv_s": t, "anchors": ta, "ratio": t / best})
        print(f"{name:28s} fastconv {t * 1e3:9.3f} ms  best anchor {best * 1e3:9.3f} ms  "
              f"ratio {t / best:6.2f}x")
    B, H, L = z["B"], z["H"], z["L"]
    u = torch.randn(B, H, L, device=dev, generator=g)
    k = torch.randn(H, L, device=dev, generator=g) / L ** 0.5

    def pipeline():
        return torch.fft.irfft(torch.fft.rfft(u, n=2 * L) * torch.fft.rfft(k, n=2 * L),
                               n=2 * L)[..., :L]

    peaks = {}
    for name, f in (("fastconv.torch.long_conv", lambda: ft.long_conv(u, k)),
                    ("torch.fft pipeline", pipeline)):
        if dev != "cuda":           # (device memory statistics: CUDA only)
            f()
            peaks[name] = float("nan")
            continue
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        f()
        sync()
        peaks[name] = torch.cuda.max_memory_allocated() - base
    t = cuda_time(lambda: ft.long_conv(u, k), sync, event)
    tp = cuda_time(pipeline, sync, event)
    res.append({"case": f"long_conv B{B} H{H} L{L}", "fastconv_s": t, "torch_fft_s": tp,
                "ratio": t / tp, "peak_bytes": peaks})
    print(f"long_conv {B}x{H}x{L} f32: fastconv {t * 1e3:.2f} ms, torch.fft {tp * 1e3:.2f} ms "
          f"({t / tp:.2f}x); peak {peaks['fastconv.torch.long_conv'] / 2**30:.2f} GiB vs "
          f"{peaks['torch.fft pipeline'] / 2**30:.2f} GiB")


def cupy_cases(res):
    import cupy as cp
    import cupyx.scipy.ndimage as cnd
    import cupyx.scipy.signal as csig

    import fastconv

    sync = cp.cuda.Device().synchronize

    def event():
        return cp.cuda.Event()

    class Ev:                      # cupy events: the torch-like interface above
        def __init__(self):
            self.e = event()

        def record(self):
            self.e.record()

        def synchronize(self):
            self.e.synchronize()

        def elapsed_time(self, other):
            return cp.cuda.get_elapsed_time(self.e, other.e)

    rng = cp.random.default_rng(0)
    img = rng.standard_normal((4096, 4096), dtype=cp.float32)
    for K in (3, 9, 31):
        k = rng.standard_normal((K, K), dtype=cp.float32)
        t = cuda_time(lambda: fastconv.convolve(img, k, mode="same"), sync, Ev)
        ta = {"cupyx.ndimage.convolve": cuda_time(lambda: cnd.convolve(img, k), sync, Ev),
              "cupyx.signal.fftconvolve": cuda_time(lambda: csig.fftconvolve(img, k, "same"),
                                                    sync, Ev)}
        best = min(ta.values())
        res.append({"case": f"cupy 2-D 4096^2 x {K}", "fastconv_s": t, "anchors": ta,
                    "ratio": t / best})
        print(f"cupy 2-D 4096^2 x {K}x{K}: fastconv {t * 1e3:.3f} ms, best {best * 1e3:.3f} ms "
              f"({t / best:.2f}x)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                    help="cpu: a dry run of the torch cases on CPU tensors through the "
                         "namespace engine (checks the script; its times are no GPU figures)")
    ap.add_argument("--small", action="store_true", help="small sizes (the dry run's)")
    args = ap.parse_args()
    res = []
    try:
        import torch

        if args.device == "cpu" or torch.cuda.is_available():
            torch_cases(res, args.device, args.small)
        else:
            print("torch: no CUDA device here; nothing to time")
    except ImportError:
        print("torch is not installed")
    if args.device == "cuda":
        try:
            cupy_cases(res)
        except ImportError:
            print("cupy is not installed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
