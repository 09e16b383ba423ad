"""make bench-dask: chunked convolution of dask arrays, fastconv.dask against
dask_image.ndfilters on the same chunks, and against in-memory fastconv.

Each (case, implementation) runs in its own process, so that its peak RSS
(VmHWM) is its own.  The input is generated into memory first (a persisted
dask array, or a numpy array for the in-memory run) and is not timed; the
timed part computes the result and reduces it to a scalar (the sum: a
negligible pass), with dask's threaded scheduler on every core.  A run that
takes longer than --max-seconds for one repetition is timed once.

    python benchmarks/dask_bench.py               # the issue's sizes
    python benchmarks/dask_bench.py --scale 0.25  # each axis a quarter
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

CASES = {
    # name: (shape, chunks, kernel kind, kernel size / sigma)
    "2d-gaussian": ((16384, 16384), (2048, 2048), "gaussian", 8.0),
    "2d-dense63": ((16384, 16384), (2048, 2048), "dense", (63, 63)),
    "3d-dense15": ((512, 512, 512), (128, 128, 128), "dense", (15, 15, 15)),
}
IMPLS = ("fastconv.dask", "dask_image", "fastconv (in memory)")


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_one(case, impl, scale, reps, max_s):
    import dask
    import dask.array as da

    shape, chunks, kind, ksize = CASES[case]
    shape = tuple(max(int(s * scale), 16) for s in shape)
    chunks = tuple(max(int(c * scale), 8) for c in chunks)
    rng = np.random.default_rng(0)
    if kind == "dense":
        k = rng.standard_normal(ksize).astype(np.float32)
    threads = os.cpu_count()
    dask.config.set(scheduler="threads", num_workers=threads)
    if impl == "fastconv (in memory)":
        import fastconv
        from fastconv import filters

        x = da.random.default_rng(1).standard_normal(shape, chunks=chunks,
                                                     dtype=np.float32).compute()
        if kind == "gaussian":
            def go():
                return float(filters.gaussian(x, ksize, mode="reflect").sum())
        else:
            def go():
                return float(fastconv.ndimage.correlate(x, k, mode="reflect").sum())
    else:
        xd = da.random.default_rng(1).standard_normal(shape, chunks=chunks,
                                                      dtype=np.float32).persist()
        if impl == "fastconv.dask":
            from fastconv.dask import ndimage as mod
        else:
            from dask_image import ndfilters as mod
        if kind == "gaussian":
            def go():
                return float(mod.gaussian_filter(xd, ksize, mode="reflect").sum().compute())
        else:
            def go():
                return float(mod.correlate(xd, k, mode="reflect").sum().compute())
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        go()
        times.append(time.perf_counter() - t0)
        if times[-1] > max_s:
            break
    return {"case": case, "impl": impl, "shape": shape, "chunks": chunks,
            "seconds": float(np.median(times)), "runs": len(times), "peak_rss": peak_rss(),
            "threads": threads}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--json")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one[0], a.one[1], a.scale, a.reps, a.max_seconds)))
        return
    rows = []
    avx512 = "avx512f" in open("/proc/cpuinfo").read()
    print(f"fastconv.dask vs dask_image.ndfilters vs in-memory fastconv; {os.cpu_count()} "
          f"threads; {'AVX-512' if avx512 else 'AVX2'}; scale {a.scale}")
    print(f"{'case':<14}{'impl':<22}{'shape':<22}{'chunks':<18}{'seconds':>9}{'runs':>5}"
          f"{'peak RSS':>11}")
    for case in a.cases.split(","):
        for impl in a.impls.split(","):
            cmd = [sys.executable, __file__, "--scale", str(a.scale), "--reps", str(a.reps),
                   "--max-seconds", str(a.max_seconds), "--one", case, impl]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(f"{case:<14}{impl:<22}FAILED: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"{case:<14}{impl:<22}{str(r['shape']):<22}{str(r['chunks']):<18}"
                  f"{r['seconds']:>9.2f}{r['runs']:>5}{r['peak_rss'] / 2**30:>9.2f} GiB",
                  flush=True)
        by = {r["impl"]: r for r in rows if r["case"] == case}
        if "fastconv.dask" in by:
            f = by["fastconv.dask"]["seconds"]
            for other in ("dask_image", "fastconv (in memory)"):
                if other in by:
                    print(f"{'':<14}ratio fastconv.dask / {other}: {f / by[other]['seconds']:.2f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
