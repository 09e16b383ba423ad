"""make bench-seq (also run by make bench): fastconv.nn's sequence-model
convolutions against the torch.fft, scipy.fft (workers = all threads) and
numpy.fft pipelines, in the same run (issue 20's table).

* long_conv causal, float32, B=4, H=256, L = 1024, 8192, 65536; the
  pipelines compute ``irfft(rfft(u, 2L) * rfft(k, 2L))[..., :L]``; ours gets
  the kernel as an array (spectra made in the call) and as a prepared
  LongConvKernel; ratio = ours / best pipeline.
* backward (grad_u, grad_k) against our forward.
* peak extra memory of the forward (tracemalloc: numpy and scipy.fft
  allocate through it) against the output's size.
* causal_conv1d K=4 on (8, 1024, 4096) float32 against the copy bandwidth
  (``np.copyto`` of the same array, measured here): bytes read + written.
* the streaming decoder with an L=65536 kernel (H=256): per-token time
  against recomputing the whole prefix by long_conv at 65536 tokens.
Times are medians of interleaved rounds (benchmarks/harness.py).
"""
import argparse
import json
import os
import sys
import time
import tracemalloc

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import scipy.fft as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import measure  # noqa: E402

import fastconv  # noqa: E402
from fastconv import nn  # noqa: E402
from fastconv.nn import grad as G  # noqa: E402

B, H = 4, 256


def pipelines(u, k, L, threads):
    out = {}
    n = 2 * L
    out["scipy.fft"] = lambda: sf.irfft(sf.rfft(u, n=n, workers=threads) *
                                        sf.rfft(k, n=n, workers=threads), n=n,
                                        workers=threads)[..., :L]
    if L <= 8192:      # numpy.fft: float64 only, 4-10x slower; skipped at 65536 (~10 s)
        out["numpy.fft"] = lambda: np.fft.irfft(np.fft.rfft(u, n=n) * np.fft.rfft(k, n=n),
                                                n=n)[..., :L]
    try:
        import torch

        torch.set_num_threads(threads)
        ut, kt = torch.from_numpy(u), torch.from_numpy(k)
        out["torch.fft"] = lambda: torch.fft.irfft(torch.fft.rfft(ut, n=n) *
                                                   torch.fft.rfft(kt, n=n), n=n)[..., :L]
    except ImportError:
        pass
    return out


def peak_extra(f, out_bytes):
    # the result pool's idle blocks freed first: a result lent from a block
    # allocated before tracing would hide the output's own bytes
    from fastconv.algorithms._common import release_results

    release_results()
    tracemalloc.start()
    f()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - out_bytes) / out_bytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--lengths", type=int, nargs="*", default=[1024, 8192, 65536])
    args = ap.parse_args()
    threads = fastconv.get_threads()
    rng = np.random.default_rng(0)
    res = []
    print(f"fastconv.nn sequence convolutions, float32, B={B}, H={H}, {threads} threads")
    for L in args.lengths:
        u = rng.standard_normal((B, H, L)).astype(np.float32)
        k = (rng.standard_normal((H, L)) / np.sqrt(L)).astype(np.float32)
        kern = nn.LongConvKernel(k, L, batch=B)
        g = rng.standard_normal((B, H, L)).astype(np.float32)
        c = pipelines(u, k, L, threads)
        c["fastconv"] = lambda: nn.long_conv(u, k)
        c["fastconv (prepared kernel)"] = lambda: nn.long_conv(u, kern)
        c["fastconv backward"] = lambda: G.long_conv(g, u, k)
        t = measure(c, rounds=5)
        best = min(v for n, v in t.items() if not n.startswith("fastconv"))
        mem = peak_extra(lambda: nn.long_conv(u, kern), u.nbytes)
        row = {"L": L, "method": kern.method, "params": kern.params, "times": t,
               "ratio": t["fastconv"] / best, "ratio_prepared": t["fastconv (prepared kernel)"] / best,
               "backward_over_forward": t["fastconv backward"] / t["fastconv"],
               "peak_extra_over_output": mem}
        res.append(row)
        ts = ", ".join(f"{n} {v * 1e3:.1f} ms" for n, v in sorted(t.items(), key=lambda kv: kv[1]))
        print(f"L={L:6d} [{kern.method} {kern.params}] {ts}")
        print(f"         ratio {row['ratio']:.2f} (prepared {row['ratio_prepared']:.2f}; "
              f"target <= 0.5); backward / forward {row['backward_over_forward']:.2f} "
              f"(target <= 2); peak extra memory {mem:.2f}x the output (target <= 2)")
    # causal_conv1d against the copy bandwidth
    x = rng.standard_normal((8, 1024, 4096)).astype(np.float32)
    w = rng.standard_normal((1024, 4)).astype(np.float32)
    dst = np.empty_like(x)
    t = measure({"copy into an array": lambda: np.copyto(dst, x),
                 "copy to a new array": lambda: x.copy(),
                 "causal_conv1d": lambda: nn.causal_conv1d(x, w),
                 "causal_conv1d silu": lambda: nn.causal_conv1d(x, w, activation="silu")},
                rounds=7)
    for name in ("causal_conv1d", "causal_conv1d silu"):
        # the function returns a new array: its baseline is a copy to a new
        # array (both pay the page faults of fresh memory); the copy into an
        # existing array shown too
        share = t["copy to a new array"] / t[name]
        print(f"{name} K=4 (8, 1024, 4096) f32: {t[name] * 1e3:.1f} ms, "
              f"{2 * x.nbytes / t[name] / 1e9:.1f} GB/s read+written = {100 * share:.0f}% of a "
              f"copy to a new array ({t['copy to a new array'] * 1e3:.1f} ms), "
              f"{100 * t['copy into an array'] / t[name]:.0f}% of a copy into an existing one "
              f"({t['copy into an array'] * 1e3:.1f} ms) (target >= 50%)")
        res.append({"case": name, "seconds": t[name], "copy_new_s": t["copy to a new array"],
                    "copy_into_s": t["copy into an array"], "share_of_copy": share})
    # streaming decoder: per token vs recomputing the prefix
    L = 65536
    k = (rng.standard_normal((H, L)) / np.sqrt(L)).astype(np.float32)
    dec = nn.LongConvDecoder(k)
    tok = rng.standard_normal((1, H)).astype(np.float32)
    for _ in range(64):
        dec.step(tok)
    steps = 512
    t0 = time.perf_counter()
    for _ in range(steps):
        dec.step(tok)
    per_tok = (time.perf_counter() - t0) / steps
    u1 = rng.standard_normal((1, H, L)).astype(np.float32)
    kern1 = nn.LongConvKernel(k, L)
    t_pre = measure({"prefix": lambda: nn.long_conv(u1, kern1)}, rounds=3)["prefix"]
    print(f"decoder, H={H}, kernel L={L}: {per_tok * 1e3:.3f} ms per token; recomputing the "
          f"{L}-token prefix {t_pre * 1e3:.1f} ms: {t_pre / per_tok:.0f}x (target >= 20x)")
    res.append({"case": "decoder", "per_token_s": per_tok, "prefix_s": t_pre,
                "ratio": t_pre / per_tok})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": threads, "cases": res}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
