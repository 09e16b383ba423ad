"""make bench-nn: fastconv.nn layers against torch CPU in the same run.

float32, N=8, the thread count of fastconv (default all cores) given to torch
too (``torch.set_num_threads``).  Prints times (medians of interleaved
rounds, benchmarks/harness.py), fastconv / torch ratios, GFLOP/s (2 flops per
multiply-add of the direct product) and the share of this machine's SGEMM
peak (numpy's float32 matmul, measured here).  The issue-19 targets are in
the last column.  torch's OpenMP threads are told not to spin between calls
(``OMP_WAIT_POLICY=PASSIVE`` unless set): on 2 cores, threads of one library
still spinning after its call took the cores from the next contender's
threads and made single figures of either side vary 3x from run to run.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import measure  # noqa: E402

import fastconv  # noqa: E402
from fastconv import nn  # noqa: E402
from fastconv.nn import grad as G  # noqa: E402

N = 8


def gemm_peak():
    a = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
    t = measure({"gemm": lambda: a @ a}, rounds=5)["gemm"]
    return 2 * 4096 ** 3 / t


def cases():
    # name, kind, x shape, w shape, kwargs, target ratio
    out = []
    for hw, c in ((56, 64), (28, 128), (14, 256), (7, 512)):
        out.append((f"3x3 {hw}x{hw}x{c}", "fwd", (N, c, hw, hw), (c, c, 3, 3),
                    {"padding": 1}, 1.0))
    for hw, ci, co in ((56, 64, 256), (28, 512, 128), (14, 256, 1024)):
        out.append((f"1x1 {hw}x{hw} {ci}->{co}", "fwd", (N, ci, hw, hw), (co, ci, 1, 1), {}, 1.0))
    out.append(("7x7/2 stem 224x224x3->64", "fwd", (N, 3, 224, 224), (64, 3, 7, 7),
                {"stride": 2, "padding": 3}, 1.0))
    for hw, c in ((112, 32), (56, 128), (14, 512)):
        out.append((f"depthwise 3x3 {hw}x{hw}x{c}", "fwd", (N, c, hw, hw), (c, 1, 3, 3),
                    {"padding": 1, "groups": c}, 0.5))
    out.append(("conv1d 64->64 L=16384 K=1024", "fwd1", (N, 64, 16384), (64, 64, 1024), {}, 0.2))
    for hw, ci, co in ((4, 512, 256), (8, 256, 128), (16, 128, 64)):
        out.append((f"transpose 4x4/2 {hw}->{2 * hw} {ci}->{co}", "t", (N, ci, hw, hw),
                    (ci, co, 4, 4), {"stride": 2, "padding": 1}, 1.0))
    for hw, c in ((56, 64), (28, 128), (14, 256)):
        out.append((f"backward 3x3 {hw}x{hw}x{c}", "bwd", (N, c, hw, hw), (c, c, 3, 3),
                    {"padding": 1}, 1.0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="cases whose name contains this")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as TF

    threads = fastconv.get_threads()
    torch.set_num_threads(threads)
    peak = gemm_peak()
    print(f"{threads} threads, float32 SGEMM peak {peak / 1e9:.0f} GFLOP/s; N={N}")
    print(f"{'case':36s} {'fastconv':>10s} {'torch':>10s} {'ratio':>6s} {'GFLOP/s':>8s} "
          f"{'%peak':>6s} {'target':>7s}")
    rng = np.random.default_rng(0)
    res = {}
    for name, kind, xs, ws, kw, target in cases():
        if args.only and args.only not in name:
            continue
        x = rng.standard_normal(xs).astype(np.float32)
        w = (rng.standard_normal(ws) * 0.05).astype(np.float32)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        D = len(xs) - 2
        if kind == "t":
            y = nn.conv_transpose2d(x, w, None, **kw)
            macs = x.size // xs[1] * ws[0] * ws[1] * ws[2] * ws[3]
            ours = lambda: nn.conv_transpose2d(x, w, None, **kw)  # noqa: E731
            theirs = lambda: TF.conv_transpose2d(tx, tw, None, **kw)  # noqa: E731
        elif kind == "bwd":
            y = nn.conv2d(x, w, None, **kw)
            gy = rng.standard_normal(y.shape).astype(np.float32)
            tgy = torch.from_numpy(gy)
            txg = tx.clone().requires_grad_()
            twg = tw.clone().requires_grad_()
            macs = 2 * y.size * ws[1] * ws[2] * ws[3]

            def ours():
                G.conv2d_input(x.shape, w, gy, **kw)
                G.conv2d_weight(x, w.shape, gy, **kw)

            def theirs():
                out = TF.conv2d(txg, twg, None, **kw)
                torch.autograd.grad(out, (txg, twg), tgy)
                # (torch's time includes its forward; subtract it below)
            fwd = measure({"f": lambda: TF.conv2d(tx, tw, None, **kw)}, rounds=5)["f"]
        else:
            f = nn.conv1d if D == 1 else nn.conv2d
            tf = TF.conv1d if D == 1 else TF.conv2d
            y = f(x, w, None, **kw)
            macs = y.size * ws[1] * int(np.prod(ws[2:]))
            ours = lambda: f(x, w, None, **kw)  # noqa: E731
            theirs = lambda: tf(tx, tw, None, **kw)  # noqa: E731
        t = measure({"fastconv": ours, "torch": theirs}, rounds=7, budget_s=15)
        if kind == "bwd":
            t["torch"] = max(t["torch"] - fwd, 1e-9)
        ratio = t["fastconv"] / t["torch"]
        gf = 2 * macs / t["fastconv"]
        res[name] = dict(t, ratio=ratio, gflops=gf / 1e9, peak=gf / peak, target=target)
        ok = "ok" if ratio <= target else "MISS"
        print(f"{name:36s} {t['fastconv'] * 1e3:8.2f}ms {t['torch'] * 1e3:8.2f}ms "
              f"{ratio:6.2f} {gf / 1e9:8.1f} {100 * gf / peak:5.0f}% <={target:.1f} {ok}",
              flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"peak_gflops": peak / 1e9, "threads": threads, "cases": res}, fh, indent=1)


if __name__ == "__main__":
    main()
