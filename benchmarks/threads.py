"""make bench-threads: how each method scales with threads.

For each case, fastconv's methods at 1, 2, 4, ... up to all cores (medians
of interleaved rounds, benchmarks/harness.py), then scipy.signal
(fftconvolve or oaconvolve under ``scipy.fft.set_workers(all cores)``) and
cv2.filter2D (``cv2.setNumThreads(all cores)``, 2-D only) on all cores.
Prints times, the speed-up over one thread and the ratio to the anchors.
Run it on a bigger machine to see the many-core picture.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import measure  # noqa: E402

import fastconv  # noqa: E402

CASES = [
    # name, input shape, kernel shape, methods
    ("3-D 256^3 x 15^3 f32", (256, 256, 256), (15, 15, 15), ("auto", "fft", "overlap-save")),
    ("2-D 4096^2 x 63^2 f32", (4096, 4096), (63, 63), ("auto", "fft", "overlap-save")),
    ("2-D 4096^2 x 31^2 f32", (4096, 4096), (31, 31), ("auto", "fft", "overlap-save")),
    ("2-D 4096^2 x 9^2 f32", (4096, 4096), (9, 9), ("auto", "direct")),
    ("1-D 1e7 x 65536 f64", (10_000_000,), (65536,), ("auto", "overlap-save")),
]


def thread_counts(n):
    out, t = [], 1
    while t < n:
        out.append(t)
        t *= 2
    return out + [n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", default=None, help="comma-separated case numbers (0-based)")
    a = ap.parse_args()
    ncores = os.cpu_count()
    avx512 = "avx512f" in open("/proc/cpuinfo").read()
    print(f"fastconv thread scaling; {ncores} cores; {'AVX-512' if avx512 else 'AVX2'}")
    rng = np.random.default_rng(0)
    picks = range(len(CASES)) if a.cases is None else [int(c) for c in a.cases.split(",")]
    for i in picks:
        name, xs, ks, methods = CASES[i]
        dt = np.float64 if name.endswith("f64") else np.float32
        x = rng.standard_normal(xs).astype(dt)
        k = rng.standard_normal(ks).astype(dt)
        cont = {}
        for m in methods:
            for t in thread_counts(ncores):
                def run(m=m, t=t):
                    with fastconv.threads(t):
                        fastconv.convolve(x, k, mode="same", method=m)
                cont[(m, t)] = run
        import scipy.fft
        import scipy.signal as ss

        sp = ss.oaconvolve if len(xs) == 1 else ss.fftconvolve

        def scipy_run():
            with scipy.fft.set_workers(ncores):
                sp(x, k, mode="same")
        cont[("scipy", ncores)] = scipy_run
        if len(xs) == 2:
            import cv2

            def cv_run():
                cv2.setNumThreads(ncores)
                cv2.filter2D(x, -1, k[::-1, ::-1], borderType=cv2.BORDER_CONSTANT)
            cont[("cv2", ncores)] = cv_run
        times = measure({f"{m}@{t}": f for (m, t), f in cont.items()}, rounds=a.rounds,
                        slow_s=2.0, budget_s=60.0)
        print(f"\n{name}")
        print(f"  {'method':<14}" + "".join(f"{t:>9}t" for t in thread_counts(ncores))
              + "   speed-up 1->2, 1->all")
        for m in methods:
            row = [times[f"{m}@{t}"] for t in thread_counts(ncores)]
            s2 = row[0] / row[1] if len(row) > 1 else 1.0
            print(f"  {m:<14}" + "".join(f"{v * 1e3:>8.1f}ms" for v in row)
                  + f"   {s2:.2f}x, {row[0] / row[-1]:.2f}x")
        best = min(times[f"{m}@{ncores}"] for m in methods)
        for anchor in ("scipy", "cv2"):
            key = f"{anchor}@{ncores}"
            if key in times:
                print(f"  {anchor:<14}{times[key] * 1e3:>8.1f}ms on {ncores} threads; "
                      f"fastconv best / {anchor} = {best / times[key]:.2f}")


if __name__ == "__main__":
    main()
