"""Compile (and cache on disk) the numba kernels every public function uses.

numba compiles a kernel for each argument type on its first call and keeps
the machine code in its on-disk cache (``cache=True``), so a first call in a
later process only loads it.  :func:`warmup` makes those first calls on small
arrays: every method x dtype family of the engine, the image filters (float
and 8/16-bit fused paths), template matching, the stream convolver.
``fastconv warmup`` (run by ``make demo``) calls it.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["warmup"]


def _engine(dt):
    from . import _api

    rng = np.random.default_rng(0)
    cplx = np.dtype(dt).kind == "c"

    def arr(shape):
        a = rng.standard_normal(shape)
        return (a + 1j * rng.standard_normal(shape) if cplx else a).astype(dt)

    methods = ("direct", "fft", "overlap-add", "overlap-save", "hybrid", "separable")
    cases = [((300,), (7,)), ((300,), (64,)), ((64, 70), (3, 3)), ((64, 70), (5, 5)),
             ((64, 70), (7, 7)), ((64, 70), (9, 9)), ((64, 70), (4, 6)),
             ((64, 70), (17, 17)), ((20, 22, 24), (3, 3, 3)), ((20, 22, 24), (5, 4, 3)),
             ((24, 24, 24), (5, 5, 5)), ((48, 40, 40), (5, 5, 5)), ((48, 40, 40), (3, 3, 3)),
             ((6, 8, 200), (3, 3, 3)), ((6, 8, 200), (5, 5, 5))]
    # the generated fixed-tap row kernels, one per tap count (1-D passes of
    # every separable and row problem use them)
    for taps in range(2, 17):
        _api.convolve(arr((300,)), arr((taps,)), mode="same", method="direct")
    g = np.hanning(9)
    for n, m in cases:
        x, k = arr(n), arr(m)
        for method in methods:
            for boundary in ("constant", "reflect"):
                try:
                    _api.convolve(x, k, mode="same", method=method, boundary=boundary)
                except ValueError:           # a method that does not apply here
                    pass
        if len(m) == 3:
            sep = np.multiply.outer(np.outer(g[:5], g[:5]), g[:5]).astype(dt)
            _api.convolve(x, sep, mode="same", method="separable")
        if len(m) == 2:
            sep = np.outer(g, g).astype(dt)
            _api.convolve(x, sep, mode="same", method="separable", boundary="reflect")
            _api.convolve(x, sep, mode="same", method="separable")
            # long rows take the other vector width on 512-bit hosts
            # (algorithms.direct.WIDE_FROM)
            wide = np.outer(g, np.hanning(17)).astype(dt)
            _api.convolve(x, wide, mode="same", method="separable", boundary="reflect")
            _api.convolve(x, wide, mode="same", method="separable")


def warmup(verbose: bool = False) -> float:
    """Compile every kernel the public functions use; returns seconds taken.

    Parameters
    ----------
    verbose : bool
        Print each stage and its time.
    """
    from . import _api, feature, filters
    from .stream import Convolver

    t0 = time.perf_counter()
    stages = [(f"engine {dt}", lambda dt=dt: _engine(dt))
              for dt in (np.float32, np.float64, np.complex64, np.complex128)]
    stages.append(("integers", lambda: _api.convolve(np.arange(300), np.arange(9))))

    def images():
        rng = np.random.default_rng(1)
        for dt in (np.uint8, np.uint16, np.float32, np.float64):
            img = (rng.random((80, 90)) * 200).astype(dt)
            filters.gaussian(img, 1.5)
            filters.filter(img, filters.box_kernel(5))
            filters.filter(img, filters.sobel_kernel())
            filters.edges(img, "sobel")
        rgb = (rng.random((80, 90, 3)) * 200).astype(np.uint8)
        filters.gaussian(rgb, 1.5, channel_axis=-1)
        img = rng.random((80, 90))
        for m in feature.METHODS:
            feature.match_template(img, img[10:30, 20:45], method=m)
    stages.append(("images", images))

    def stream():
        for dt in (np.float32, np.float64):
            for K in (40, 3000):
                c = Convolver(np.hanning(K).astype(dt), block_size=256)
                c.process(np.ones(1000, dt))
                c.flush()
    stages.append(("stream", stream))

    def layers():
        from . import nn

        rng = np.random.default_rng(2)
        for dt in (np.float32, np.float64):
            x = rng.standard_normal((2, 8, 12, 40)).astype(dt)
            w = rng.standard_normal((8, 8, 3, 3)).astype(dt)
            nn.conv2d(x, w, None, 1, 1, method="winograd")
            nn.conv2d(x, w, None, 1, 1, method="winograd4")
            for hw in (x, x[:, :, :, :8]):                 # wide and narrow planes
                nn.conv2d(hw, w[:, :1], None, 1, 1, 1, 8)
                nn.conv2d(hw, w[:, :1], None, 2, 1, 1, 8)
            nn.conv_transpose2d(x, w, None, 2, 1, method="col2im")
            # the sequence convolutions: direct taps (every mode), the
            # partitioned products, the short causal filter and its gradient
            u = rng.standard_normal((2, 3, 600)).astype(dt)
            k = rng.standard_normal((3, 300)).astype(dt)
            for mode in ("causal", "circular"):
                nn.long_conv(u, k[:, :8], mode=mode, method="direct")
                nn.grad.long_conv(u, u, k[:, :8], mode=mode)
            nn.long_conv(u, (k[:, :8], k[:, :8]), mode="bidirectional", method="direct")
            nn.long_conv(u, k, method="partitioned")
            nn.grad.long_conv(u, u, k)
            # one long row: the planner takes the partitioned method, for its
            # gradient too
            long = rng.standard_normal((1, 1, 1 << 16)).astype(dt)
            nn.grad.long_conv(long, long, long[0])
            for act in (None, "silu"):
                nn.causal_conv1d(u, k[:, :4], activation=act)
                nn.grad.causal_conv1d(u, u, k[:, :4], activation=act)
    stages.append(("layers", layers))

    def stats():
        from . import physics
        from . import stats as fs

        rng = np.random.default_rng(3)
        p = rng.random(9)
        fs.pmf_convolve(p / p.sum(), p / p.sum(), method="direct")
        fs.compound(p / p.sum(), ("poisson", 3.0), n=64, method="panjer")
        x = rng.standard_normal(200)
        for d in (1, 2):
            fs.kde(x.reshape(-1, d), bw=0.5, grid=16)
        xn = x.copy()
        xn[3] = np.nan
        for dt in (np.float32, np.float64):
            fs.moving_average(xn.astype(dt), 5)
            fs.moving_average(xn.astype(dt), 5, weights="triang", nan_policy="omit")
            fs.moving_average(x.astype(dt), 5, weights="triang")
            fs.ewma(xn.astype(dt), alpha=0.3)
        physics.anisotropic_diffusion(rng.random((8, 8)), 1.0, 1)
    stages.append(("statistics and physics", stats))
    from ._core import kernel_variants

    # both variants of every parallel kernel: the serial one serves first
    # calls of small problems and threads=1, the parallel one the rest
    for variant in ("serial", "parallel"):
        with kernel_variants(variant):
            for name, run in stages:
                t = time.perf_counter()
                run()
                if verbose:
                    print(f"  {name} ({variant}): {time.perf_counter() - t:.1f} s", flush=True)
    return time.perf_counter() - t0
