"""Out of core: a zarr volume larger than memory, Gaussian-filtered chunk by
chunk with fastconv.dask, written back to zarr, with a progress bar.

    python examples/out_of_core.py --shape 256 256 256          # make demo (small)
    python examples/out_of_core.py --shape 2048 2048 1536 --chunks 256 --sigma 4

The input is generated chunk by chunk straight into a zarr store (never
whole in memory); the filter reads, computes and writes one task at a time
per core.  At the end it checks a sub-volume against the in-memory
scipy.ndimage result and prints the volume's size next to this process's
peak resident memory.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=[256, 256, 256])
    ap.add_argument("--chunks", type=int, default=64)
    ap.add_argument("--sigma", type=float, default=3.0)
    ap.add_argument("--dir", default=None, help="where the zarr stores go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the zarr stores")
    a = ap.parse_args(argv)
    try:
        import dask
        import dask.array as da
        import zarr  # noqa: F401
        from dask.diagnostics import ProgressBar
    except ImportError:
        print("out_of_core: needs dask and zarr (pip install 'fastconv[dask]' zarr)")
        return 0
    from scipy import ndimage as ndi

    import fastconv.dask as fd
    from fastconv.dask import ndimage as fdn

    root = a.dir or tempfile.mkdtemp(prefix="fastconv-ooc-")
    src, dst = os.path.join(root, "input.zarr"), os.path.join(root, "filtered.zarr")
    shape, chunks = tuple(a.shape), (a.chunks,) * 3
    nbytes = int(np.prod(shape)) * 4
    dask.config.set(scheduler="threads")
    try:
        print(f"writing a {shape} float32 volume ({nbytes / 2**30:.2f} GiB) to {src}")
        x = da.random.default_rng(0).standard_normal(shape, chunks=chunks, dtype=np.float32)
        with ProgressBar(dt=1.0):
            x.to_zarr(src, overwrite=True)
        xin = da.from_zarr(src)
        y = fdn.gaussian_filter(xin, a.sigma, mode="reflect")
        print(f"filtering (sigma {a.sigma}, chunks {chunks}) into {dst}")
        t0 = time.perf_counter()
        # group by group of output chunks: memory stays near one group's
        # output and input, not the scheduler's read-ahead of the whole volume
        fd.store(y, dst, max_bytes=64 << 20, progress=True)
        dt = time.perf_counter() - t0
        rss = peak_rss()        # writing and filtering (before the check below)
        # check a sub-volume against scipy.ndimage (enough halo around it)
        r = int(4.0 * a.sigma + 0.5)
        c = tuple(min(s // 2, 128) for s in shape)
        lo = tuple(max(s // 2 - cc // 2, 0) for s, cc in zip(shape, c))
        sl = tuple(slice(max(l0 - r, 0), min(l0 + cc + r, s)) for l0, cc, s in zip(lo, c, shape))
        inner = tuple(slice(l0 - s.start, l0 - s.start + cc) for l0, cc, s in zip(lo, c, sl))
        got = np.asarray(da.from_zarr(dst)[tuple(slice(l0, l0 + cc) for l0, cc in zip(lo, c))])
        ref = ndi.gaussian_filter(np.asarray(xin[sl], dtype=np.float64), a.sigma,
                                  mode="reflect")       # scipy, the anchor
        err = float(np.abs(got - ref[inner]).max())
        print(f"filtered {nbytes / 2**30:.2f} GiB in {dt:.1f} s "
              f"({nbytes / 2**20 / dt:.0f} MiB/s); peak RSS while writing and filtering "
              f"{rss / 2**30:.2f} GiB; max |error| on a {c} sub-volume {err:.2e}")
        if not err < 1e-4:
            print("out_of_core: the check against scipy.ndimage failed")
            return 1
    finally:
        if not a.keep and a.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
