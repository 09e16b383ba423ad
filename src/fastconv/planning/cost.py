"""Op-count cost model with constants calibrated per machine class.

Each method's time is a linear combination of features of the problem
(multiply-adds, FFT point-logs, bytes moved, rows, calls) whose coefficients
were fitted by non-negative least squares on measured times
(``benchmarks/calibrate.py``).  :data:`COEF` was fitted on the reference
machine, AVX2 with 2 cores, and serves the 'avx2' and 'generic' classes;
:data:`CLASS_COEF` holds what was fitted on other classes ('avx512': the
512-bit register-blocked kernels) and is laid over it at first use for the
class this process runs (``algorithms.direct.machine_class``).
``fastconv.tune()`` refits on the user's machine and stores the fit per
class.  Measured choices (wisdom, ``measure=True``) override the model.
Coefficients are per thread (single-thread equivalent); the estimate divides
by the parallel speed-up.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _config
from ..algorithms import direct as direct_alg
from ..algorithms._common import fast_len
from ..algorithms.fft import lengths as fft_lengths
from ..algorithms.overlap import choose_blocks

# fitted by benchmarks/calibrate.py (seconds per feature unit, one thread);
# 2026-12-03 refit after the FFT method's in-place transforms (its per-point
# cost fell ~40%): the calibration grid (seed 7, 300 problems) timed twice
# back to back, one fit on both (600 rows), every method refitted; features
# the grid never exercises (N-D overlap-save: "fft", "bytes") keep their
# earlier values.  Held out (bench-planner grid, seed 2026, two runs): within
# 1.2x 96.0 / 94.5% with only the FFT constants refitted -> 98.5 / 97.0%.
COEF = {
    "direct": {
        "c16": {"pass": 1.71e-09, "tap": 0, "rows": 3.67e-08, "bytes": 0, "call": 2.95e-05},
        "c8": {"pass": 7.42e-10, "tap": 3.69e-11, "rows": 8.12e-08, "bytes": 0,
               "call": 2.47e-05},
        "f4": {"tap2": 7.82e-11, "rows2": 1.52e-07, "bytes": 1.22e-11, "call": 3.17e-05,
               "tap3": 8.29e-11, "pass": 1.68e-10, "tap": 0, "rows": 2.29e-08,
               "tap1": 4.1e-11, "tap1s": 7.82e-11},
        "f8": {"tap2": 1.41e-10, "rows2": 1.67e-07, "bytes": 1.6e-11, "call": 2.73e-05,
               "pass": 1.88e-10, "tap": 2.14e-11, "rows": 2.58e-08, "tap3": 1.61e-10,
               "tap1": 7.0e-11, "tap1s": 1.41e-10},
    },
    "fft": {
        "c16": {"fft": 7.2e-10, "bytes": 0, "call": 7.65e-05, "axes": 0.000158},
        "c8": {"fft": 4.41e-10, "bytes": 0, "call": 0.000126, "axes": 9.27e-05},
        "f4": {"fft": 4.43e-10, "bytes": 0, "call": 0.000127, "axes": 0.000109},
        "f8": {"fft": 7.17e-10, "bytes": 0, "call": 9.44e-05, "axes": 0.000137},
    },
    # 'fftbig' (set by hand, 2026-12-05): row transforms whose spectrum
    # outgrows L2 (1 MiB a row), which the grid never has and the fit's
    # near-zero 'fft' terms do not price: (2, 2e6) x (2, 100) float64 took
    # 252 ms against an estimate of 26 (3.2e-9 a point-log, one thread);
    # (3, 1e6) x (3, 200) float32 78 ms (1.3e-9)
    "hybrid": {
        "c16": {"fft": 8.16e-10, "mac": 1.08e-09, "rows": 5.41e-09, "bytes": 0,
                "call": 0.00021, "fftbig": 5.6e-09},
        "c8": {"fft": 4.91e-10, "mac": 4.4e-10, "rows": 2.27e-08, "bytes": 0,
               "call": 0.000202, "fftbig": 2.4e-09},
        "f4": {"fft": 6.24e-11, "mac": 5.55e-10, "rows": 5.22e-09, "bytes": 3.2e-10,
               "call": 0.000219, "fftbig": 1.2e-09},
        "f8": {"fft": 0, "mac": 1.2e-09, "rows": 8.67e-10, "bytes": 3.15e-10,
               "call": 0.000208, "fftbig": 2.8e-09},
    },
    "overlap-add": {
        "c16": {"fft": 1.03e-09, "bytes": 0, "call": 0.00022},
        "c8": {"fft": 5.74e-10, "bytes": 0, "call": 0.000302},
        "f4": {"fft": 6.04e-10, "bytes": 0, "call": 0.000222},
        "f8": {"fft": 1.05e-09, "bytes": 2.6e-11, "call": 0.000199},
    },
    "overlap-save": {
        "c16": {"fft": 1.55e-09, "bytes": 0, "call": 0.000138, "fft1": 6.86e-10,
                "fft1t": 6.86e-10, "tiles": 3e-05},
        "c8": {"fft": 8.22e-10, "bytes": 0, "call": 0.000184, "fft1": 4.06e-10,
                "fft1t": 4.06e-10, "tiles": 3e-05},
        "f4": {"fft": 8.94e-10, "bytes": 0, "call": 0.000136, "fft1": 4.7e-10,
                "fft1t": 4.7e-10, "tiles": 3e-05},
        "f8": {"fft": 1.64e-09, "bytes": 0, "call": 0.00012, "fft1": 6.48e-10,
                "fft1t": 6.48e-10, "tiles": 3e-05},
    },
    # measured, not fitted (best of 7 on 2048^2 uint8 and float32, 1024^2
    # uint16 images, 3x3 to 31x31 kernels, 2 threads; AVX-512; 2026-12-04):
    # rank-1 taps, integer and float32 running box sums per output
    "fused": {
        "f4": {"tap": 3.8e-11, "box": 3.3e-10, "boxf": 9e-10, "call": 8e-05},
        "f8": {"tap": 7.5e-11, "box": 4e-10, "boxf": 9e-10, "call": 8e-05},
    },
}
#: COEF as shipped, before a machine class's or tune()'s coefficients
SHIPPED = {m: {f: dict(c) for f, c in fams.items()} for m, fams in COEF.items()}
# fitted on other machine classes, laid over COEF for the class this process
# runs (features not listed keep COEF's values).  'avx512': benchmarks/
# calibrate.py -n 200 (seed 7) on a 2-core Intel Xeon with AVX-512 (float32
# GEMM peak 304-338 GFLOP/s) after the 512-bit kernels, 2026-12-05; of that fit
# only what improved the held-out grid is kept (the bench-planner grid, seed
# 2026, its times replayed under each candidate set: the shipped COEF 94.5% within
# 1.2x, 99.0% within 2x, worst 3.54x (3-D direct underestimated); + direct
# f4/f8 94.5 / 99.5%, worst 2.03x; the whole fit 95.5 / 99.0%, worst
# 2.76x).  Of direct, only the terms of the register-blocked kernels (tap2,
# rows2, tap3: the 512-bit code): its 1-D terms also cost the separable
# passes, and the fit's 'bytes' (or its overlap-save terms) sent a 4096^2
# sigma-12 Gaussian to overlap-save (110 ms against separable's 70).  Live
# runs of `make bench-planner` with the final set (with the overlap-save and
# CLASS_SEPARABLE_SCALE corrections below): 96.5% / 100% (worst 1.75x) and
# 94.5% / 99.5% (worst 3.61x, a stalled call).
CLASS_COEF: dict = {
    "avx512": {
        "direct": {
            # tap3 f4 stays COEF's: the fit's 1.45e-10 (few 3-D float32
            # problems in its grid) sent 128^3 x 7^3 to the FFT (18.6 ms against
            # direct's 8.8); a lower 6e-11 sent 22^3 x 10^3 'full' to direct
            # (1.12 ms against the FFT's 0.32); 8e-11 gets both right
            # tap1: 1-D problems on the register blocks (one kernel row), set
            # 2026-12-05 from the bench-planner grid's 1-D times (measured /
            # estimated with tap2's terms: f4 0.71, f8 0.98 -> 0.65 with the
            # f8 'fft1' below); two timed runs of the grid replayed: 92.0 /
            # 93.5% within 1.2x before the 1-D lift, 94.0 / 95.5% after (100%
            # within 2x on the run without stalled calls).  Then (the fifth
            # session) the 1-D block (_kernels/simd._block1d: taps by residue,
            # one input vector per several multiply-adds) took the interior:
            # 1e6-1e7 outputs x 100-1000 taps 1.6-1.8x faster in float32,
            # 1.8-2.0x in float64 (2 threads), tap1 divided accordingly (the
            # AVX2 values in COEF by the 1.7-2.2x measured with 256-bit
            # vectors on this AVX-512 host: an AVX2 machine's own refit via
            # fastconv.tune() is the better figure); 'tap1s': rows of fewer
            # taps, which keep the 2-D blocks (simd.block_choice), the old tap1
            "f4": {"tap2": 4.74e-11, "rows2": 3.04e-07, "tap1": 2.0e-11, "tap1s": 3.4e-11},
            "f8": {"tap2": 8.38e-11, "rows2": 7.22e-07, "tap3": 7.3e-11, "tap1": 2.9e-11,
                   "tap1s": 5.5e-11},
        },
        # overlap-save in cache-sized N-D tiles ('fft1t') measured against
        # its estimate with COEF's term: 2048^2 x 31^2 float32 22 ms
        # (estimated 30.7), 4096^2 x 31^2 70 ms (97.8): times 0.72 (the
        # calibration fit above gave 3.91e-10 from its 1-D problems).  1-D
        # blocks ('fft1') keep COEF's f4 term (the 0.72 had them at 1.6x
        # their estimate on the bench-planner grid) and f8 x 1.3 (1.4x).
        "overlap-save": {"f4": {"fft1t": 3.4e-10}, "f8": {"fft1": 8.4e-10}},
    },
}
# other dtype families relative to the fitted ones: (base family, factor)
FAMILY_SCALE = {"c8": ("f4", {"direct": 4.0, "fft": 2.0}),
                "c16": ("f8", {"direct": 4.0, "fft": 2.0}),
                "i8": ("f8", {"direct": 1.6, "fft": 1.0})}
PARALLEL = 0.85    # efficiency of each extra thread
# separable's passes are costed with direct's 1-D coefficients, but its fused
# 2-D/3-D vector kernels run faster: best-of-3 times over estimates on 12
# Gaussian problems (512^2-4096^2, 64^3-128^3, f4/f8, sigma 2-12; 2026-12-03)
# were 0.33-0.78, median 0.58 (the random calibration grid has too few
# low-rank kernels to fit it); without it 4096^2 sigma-8 went to the FFT
# (1.4-3x slower than separable)
SEPARABLE_SCALE = 0.6
# and per machine class: on AVX-512 the separable passes take the 512-bit
# blocks; 4096^2 float32 Gaussians (reflect), measured / estimated: sigma 2
# 15.4 / 24.0, sigma 8 48.4 / 87.0, sigma 12 70-102 / 129.6 (2026-12-05)
CLASS_SEPARABLE_SCALE = {"avx512": 0.64}
EDGE_COST = 6.0    # a scalar edge tap vs a vectorised interior tap (measured ~5-8x)


def _fam(dtype: str) -> str:
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return "i8"
    return {("f", 4): "f4", ("f", 8): "f8", ("c", 8): "c8", ("c", 16): "c16"}[(dt.kind, dt.itemsize)]


#: measured speed-ups per thread count and method, ``{threads: {method:
#: speed-up over one thread}}``: what ``fastconv.tune()`` measured on this
#: machine at the thread count it ran with (kept with its fit); where a
#: count has no measurement the model below serves (PARALLEL, and the FFT's
#: ``threads ** par_exp``).  How methods scale differs by machine (16-core
#: host, 2026-12-04: 2-D direct 8.5x, 1-D overlap-save 5.3x, the 3-D FFT
#: 2.3x; this 2-core VM 1.8-1.9x for all), so the choice between methods on a
#: many-core machine is only as right as this table there.
SCALING: dict = {}


def speedup(threads: int, par=None, exp=None, method=None) -> float:
    """Parallel speed-up with ``threads`` over ``par`` independent work units
    (``exp``: a method that scales as ``threads ** exp`` instead); the
    measured speed-up of ``method`` at this thread count where
    :data:`SCALING` has one (capped by the work units)."""
    t = threads if par is None else max(1, min(threads, int(par)))
    measured = SCALING.get(int(threads), {}).get(method) if method and t > 1 else None
    if measured is not None:
        return float(min(measured, t))
    if exp is not None:
        return float(t) ** exp
    return 1.0 + PARALLEL * (t - 1)


# ----------------------------------------------------------------- features
def direct_features(spec, params=None):
    K = spec.m[-1]
    R = spec.taps // K
    L = spec.out_shape[-1]
    rows = spec.outputs // L
    lifted = spec.ndim == 1 and direct_alg.lifts_1d(spec.dtype, K, L)
    if lifted or direct_alg.uses_simd(len(spec.m), spec.dtype, spec.m):
        # register-blocked kernel (_kernels/simd.py): blocks of g output rows
        # read Kh + g - 1 input rows of K taps in each of the R / Kh kernel
        # planes; edges are vectorised
        # (3-D and more: 'tap3', the plane-summing blocks on a copy of the
        # input padded on its last two axes, counted in 'bytes')
        Kh = 1 if lifted else spec.m[-2]     # a 1-D problem: one kernel row
        g = min(4, Kh)
        tap = "tap3" if spec.ndim > 2 else "tap2"
        if lifted:     # one row: the 1-D block for 4 vectors' worth of taps ('tap1')
            lanes = direct_alg.vector_bits("rows", K) // (8 * spec.itemsize)
            tap = "tap1" if K >= 4 * lanes else "tap1s"
        pad = 0.0
        if spec.ndim > 2:
            pad = spec.bx * math.prod(spec.n[:-2]) * (spec.out_shape[-2] + Kh - 1) * (
                spec.out_shape[-1] + K - 1)
        return {tap: spec.outputs * K * (R // Kh) * (Kh + g - 1) / g, "rows2": rows,
                "bytes": (spec.outputs + spec.bx * math.prod(spec.n) + 2 * pad) * spec.itemsize,
                "call": 1.0,
                "par": 1 if spec.outputs * spec.taps < direct_alg.SMALL_WORK else None}
    tiles = -(-L // 1024)
    # unrolled kernels apply a whole kernel row in one pass
    fixed = K in direct_alg.FIXED_TAPS and spec.dtype in direct_alg.FIXED_DTYPES
    # zero-padded edge columns run a scalar loop, about EDGE_COST taps' worth each
    N, s = spec.n[-1], spec.starts[-1]
    p = min(max(K - 1 - s, 0), K - 1)
    q = min(max(s + L - N, 0), K - 1)
    edge = rows * R * (p * p + q * q) / 2.0 if not spec.padded else 0.0
    return {"pass": spec.outputs * R * (1 if fixed else math.ceil(K / 4)),
            "tap": spec.outputs * spec.taps + EDGE_COST * edge,
            "rows": rows * tiles * R,
            "bytes": (spec.outputs + spec.bx * math.prod(spec.n)) * spec.itemsize,
            "call": 1.0,
            "par": 1 if spec.outputs * spec.taps < direct_alg.SMALL_WORK else None}


def _plog(points, length):
    return points * math.log2(max(length, 2))


def fft_params(spec, threads=1):
    return {"lengths": fft_lengths(spec.n, spec.m, spec.starts, spec.out_shape, spec.real)}


def fft_features(spec, params):
    M = params["lengths"]
    P = float(math.prod(M)) * (0.5 if spec.real else 1.0)
    # pruned kernel transform: about one axis' worth of passes when small
    kfrac = min(1.0, (math.prod(spec.m) / math.prod(M)) * len(M) + 1.0 / len(M)) if len(M) > 1 else 1.0
    n_tr = spec.bx + spec.batch + spec.bk * kfrac
    # a 1-D transform is one unit of work for the FFT library's threads
    par = spec.batch if len(M) == 1 else None
    # 'axes': transformed axes beyond the first; each adds library calls,
    # copies and a pass over the kernel and the product (what tiny N-D
    # problems cost; set from the residuals of the fit, see COEF)
    # one large N-D transform: pocketfft threads its passes over lines, which
    # scales poorly (measured 1.5x from 1 to 2 threads here on 4096^2, 2.3x
    # from 1 to 16 on a 16-core host: 'par_exp', speed-up = threads ** 0.5),
    # and beyond BIG_SPECTRUM bytes its strided passes leave the caches
    # (measured: 8192^2 x 63^2 float32 0.94 s against 0.35 s in 512^2 tiles,
    # 16384^2 19 s against 2.0 s): the per-point cost grows with the size
    big = 1.0
    if len(M) > 1:
        sbytes = P * 2 * spec.itemsize * spec.batch
        big = 1.0 + max(0.0, math.log2(sbytes / BIG_SPECTRUM))
    return {"fft": _plog(n_tr * P, P) * big, "bytes": 3 * spec.batch * P * 2 * spec.itemsize * big,
            "call": 1.0, "axes": len(M) - 1.0, "par": par,
            "par_exp": 0.5 if len(M) > 1 else None}


#: spectrum bytes beyond which one large transform slows per point (see fft_features)
BIG_SPECTRUM = 64 << 20
#: a row spectrum beyond this many bytes leaves L2 (hybrid's 'fftbig')
BIG_ROW = 1 << 20


def blocked_params(spec, threads=1, tiled=True):
    return {"blocks": choose_blocks(spec.n, spec.m, spec.out_shape, spec.real, threads,
                                    spec.batch, tiled)}


def blocked_features(spec, params, save):
    P = 1.0
    block_P = 1.0
    lens = spec.out_shape if save else spec.n
    for N, K, M in zip(lens, spec.m, params["blocks"]):
        if M is None:
            Mf = fast_len(N + K - 1, spec.real)
            P *= Mf
            block_P *= Mf
        else:
            P *= -(-N // (M - K + 1)) * M
            block_P *= M
    h = 0.5 if spec.real else 1.0
    par = spec.batch * P / block_P if spec.ndim == 1 else None
    fft = _plog(2 * spec.batch * P * h, block_P) + _plog(spec.bk * block_P * h, block_P)
    feats = {"fft": fft, "bytes": spec.batch * P * spec.itemsize * 2 * 3, "call": 1.0,
             "par": par}
    if save:
        # blocked overlap-save runs in cache-sized chunks (algorithms/overlap:
        # _save_1d; N-D, _save_tiled, tile by tile, tiles shared among
        # threads): its own coefficient, no whole-array traffic
        chunked = any(M is not None for M in params["blocks"])
        if chunked and spec.ndim > 1:
            feats["par"] = spec.batch * P / block_P
            # the Python work of each tile task (slices, calls), serial
            feats["tiles"] = P / block_P
        # (1-D blocks 'fft1'; N-D tiles 'fft1t': the two scale apart by machine)
        feats["fft1t" if spec.ndim > 1 else "fft1"] = fft if chunked else 0.0
        if chunked:
            feats["fft"] = feats["bytes"] = 0.0
    return feats


def hybrid_params(spec, threads=1):
    from ..algorithms.hybrid import last_length

    return {"length": last_length(spec.n, spec.m, spec.starts, spec.out_shape, spec.real)}


def hybrid_features(spec, params):
    M = params["length"]
    F = M // 2 + 1 if spec.real else M
    h = 0.5 if spec.real else 1.0
    lead_in = float(math.prod(spec.n[:-1]))
    lead_out = float(math.prod(spec.out_shape[:-1]))
    R = float(math.prod(spec.m[:-1]))
    rows_tr = spec.bx * lead_in + spec.batch * lead_out + spec.bk * R
    big = F * 2 * spec.itemsize > BIG_ROW
    return {"fft": _plog(rows_tr * M * h, M),
            "fftbig": _plog(rows_tr * M * h, M) if big else 0.0,
            "mac": spec.batch * lead_out * R * F,
            "rows": spec.batch * lead_out * R,
            "bytes": (spec.bx * lead_in + 2 * spec.batch * lead_out) * F * 2 * spec.itemsize,
            "call": 1.0}


def separable_features(spec, params):
    """Direct-method features summed over the 1-D passes of every term."""
    terms = params.get("nterms") or 1
    shape = list(spec.n)
    tot = {"pass": 0.0, "tap": 0.0, "rows": 0.0, "bytes": 0.0, "call": 1.0}
    for d, (K, L) in enumerate(zip(spec.m, spec.out_shape)):
        shape[d] = L
        outs = spec.batch * float(math.prod(shape))
        last = d == spec.ndim - 1
        rows = outs / shape[-1] * -(-shape[-1] // 1024)
        tot["pass"] += outs * (math.ceil(K / 4) if last else K)
        tot["tap"] += outs * K
        tot["rows"] += rows * (1 if last else K)
        tot["bytes"] += 2 * outs * spec.itemsize
    return {k: v * terms if k != "call" else v for k, v in tot.items()}


def fused_params(spec, threads=1):
    return {"kind": None}


def fused_features(spec, params):
    """One pass over the image in its stored dtype: two 1-D passes of a
    rank-1 kernel ('tap'), or running sums, O(1) per output, integer
    ('box') or float32 ('boxf')."""
    kind = params.get("kind")
    if kind == "int-box":
        return {"box": spec.outputs, "call": 1.0}
    if kind == "box":
        return {"boxf": spec.outputs, "call": 1.0}
    return {"tap": spec.outputs * sum(spec.m), "call": 1.0}


#: seconds per output (one thread) of converting an 8/16-bit image to the
#: compute dtype and rounding and saturating the result back (the parallel
#: conversion kernels: ~1 ns per output on 2 threads, 2048^2 uint8 and
#: 1024^2 uint16, 2026-12-04): what every method but the fused filter adds
#: for an integer image filter
CONVERT = 1.8e-9


def conversion(spec, threads) -> float:
    """Estimated seconds of the image filter's dtype conversions."""
    return spec.outputs * CONVERT / speedup(threads) + 2e-5


FEATURES = {
    "direct": (lambda spec, threads=1: {}, direct_features),
    "fft": (fft_params, fft_features),
    "overlap-add": (lambda spec, threads=1: blocked_params(spec, threads, False),
                    lambda s, p: blocked_features(s, p, False)),
    "overlap-save": (blocked_params, lambda s, p: blocked_features(s, p, True)),
    "hybrid": (hybrid_params, hybrid_features),
    "separable": (lambda spec, threads=1: {"nterms": None}, separable_features),
    "fused": (fused_params, fused_features),
}


_LOADED = {"done": False}
#: bumped whenever the coefficients change: the planner's caches are keyed by it
_GENERATION = [0]


def tuned_filename() -> str:
    """tune()'s file for this machine class (a wisdom directory shared by
    machines of different classes keeps one fit per class)."""
    return f"coefficients-v2-{direct_alg.machine_class()}.json"


def generation() -> int:
    return _GENERATION[0]


def tuned_path():
    """The file tune() writes its fit to (None when wisdom is disabled)."""
    import os

    d = _config.wisdom_dir()
    return None if d is None else os.path.join(d, tuned_filename())


def load_saved():
    """Coefficients saved by an earlier tune() (None when absent/disabled)."""
    import json

    path = tuned_path()
    if not path:
        return None
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def apply(coef: dict) -> None:
    """Overlay fitted coefficients (from tune()) on the shipped ones, and
    its measured speed-ups (``coef['_scaling']``: {threads: {method: x}})."""
    for t, per in (coef.get("_scaling") or {}).items():
        if isinstance(per, dict):
            SCALING.setdefault(int(t), {}).update(
                {m: float(v) for m, v in per.items() if m in COEF and float(v) >= 1.0})
    for method, fams in coef.items():
        if method in COEF and isinstance(fams, dict):
            for fam, c in fams.items():
                if isinstance(c, dict):
                    # merged: features newer than the saved fit keep their shipped values
                    COEF[method][fam] = {**COEF[method].get(fam, {}),
                                         **{k: float(v) for k, v in c.items()}}
    _GENERATION[0] += 1


def _load_tuned():
    _LOADED["done"] = True
    shipped = CLASS_COEF.get(direct_alg.machine_class())
    if shipped:
        apply(shipped)
    saved = load_saved()
    if saved:
        apply(saved)


def coefficients(method: str, fam: str) -> dict:
    if not _LOADED["done"]:
        _load_tuned()
    if method == "separable":          # its passes are direct passes
        method = "direct"
    if fam in COEF[method]:
        return COEF[method][fam]
    base, factors = FAMILY_SCALE[fam]
    f = factors["direct" if method == "direct" else "fft"]
    return {k: (v * f if k in ("pass", "tap", "fft", "fft1", "fft1t", "fftbig", "mac") else v)
            for k, v in COEF[method][base].items()}


def estimate(method: str, spec, threads: int, params) -> float:
    feats = FEATURES[method][1](spec, params)
    coef = coefficients(method, _fam(spec.dtype))
    t = sum(coef.get(k, 0.0) * v for k, v in feats.items()
            if k not in SERIAL + ("par", "par_exp"))
    serial = sum(coef.get(k, 0.0) * feats.get(k, 1.0 if k == "call" else 0.0) for k in SERIAL)
    if method == "separable":
        t *= SEPARABLE_SCALE * CLASS_SEPARABLE_SCALE.get(direct_alg.machine_class(), 1.0)
    return float(t / speedup(threads, feats.get("par"), feats.get("par_exp"), method) + serial)


#: features that cost the same whatever the thread count (Python and library calls)
SERIAL = ("call", "axes", "tiles")


def memory(spec, method: str, params) -> int:
    """Estimated peak working memory (bytes) of a method, output included,
    with the copies every method shares (``spec.copies``: dtype conversion,
    broadcast, the result's conversion back) and, for the FFT methods on
    integers, their float64 copies of the operands and the result."""
    extra = spec.copies
    if method not in ("direct", "separable"):
        if spec.dtype[0] in "iu":
            extra += 8 * (spec.bx * float(math.prod(spec.n)) + spec.bk * spec.taps
                          + 2 * spec.outputs)
        tiled_virtual = (method == "overlap-save" and spec.ndim > 1 and spec.dtype[0] in "fc"
                         and any(M is not None for M in params.get("blocks", ())))
        if spec.padded and spec.boundary != "constant" and not tiled_virtual:
            extra += spec.bx * float(math.prod(spec.n)) * spec.itemsize  # prep.x pads a copy
    return int(extra + _memory(spec, method, params))


def _memory(spec, method, params):
    it = spec.itemsize
    out = spec.outputs * it
    # a padded copy is made only for a non-zero constant boundary; the other
    # rules are applied through index maps by direct and separable
    copy = spec.bx * math.prod(spec.n) * it if spec.padded and spec.boundary == "constant" else 0
    # the direct kernels take the kernel reversed (a copy) and int64 index maps
    # of every axis's padded extent
    kcopy = spec.bk * spec.taps * it
    maps = 8.0 * sum(L + K - 1 for L, K in zip(spec.out_shape[:-1], spec.m[:-1]))
    if method == "direct":
        lifted = spec.ndim == 1 and direct_alg.lifts_1d(spec.dtype, spec.m[-1],
                                                        spec.out_shape[-1])
        if lifted or direct_alg.uses_simd(len(spec.m), spec.dtype, spec.m):
            # no padded copy; each thread holds an edge buffer of Kh + 3 input
            # rows per kernel plane by about 2 K + 48 columns and its output
            # (counted for 8 threads; a 1-D problem: one kernel row)
            Kh, K = (1,) + spec.m if lifted else spec.m[-2:]
            P = spec.taps // (Kh * K)
            edge = 8 * P * (Kh + 3) * (2 * K + 48) * it * 2
            if spec.ndim > 2:      # the input padded on its last two axes:
                plane = (spec.out_shape[-2] + Kh - 1) * (spec.out_shape[-1] + K - 1) * it
                if spec.ndim == 3:  # per thread, planes of one kernel's depth
                    # (or one copy, when there are few output planes)
                    copy += max(8 * spec.m[0], spec.bx * spec.n[0]) * plane
                else:               # one copy
                    copy += spec.bx * math.prod(spec.n[:-2]) * plane
            return int(out + copy + kcopy + maps + edge)
        if spec.padded and not copy:
            # direct pads after all when the last axis' edges are wide (see _core)
            K = spec.m[-1]
            pads = (K - 1) if spec.mode == "same" else 2 * (K - 1)
            if pads > max(16, spec.out_shape[-1] // 8):
                copy = spec.bx * math.prod(spec.n) * it
        return int(out + copy + kcopy + maps)
    if method == "fused":
        # the result, and a contiguous copy of a strided image (as an upper
        # bound, both in the compute dtype)
        return int(out + spec.bx * math.prod(spec.n) * it)
    if method == "separable":
        mid = spec.batch * float(math.prod(spec.out_shape[:1] + spec.n[1:])) * it
        cols = 8.0 * (spec.out_shape[-1] + spec.m[-1] - 1)   # its column map
        return int(2 * out + mid + copy + kcopy + maps + cols)
    cit = 2 * it   # complex spectra
    h = 0.5 if spec.real else 1.0
    if method == "hybrid":
        M = params["length"]
        lead = float(math.prod(spec.n[:-1])) + 2 * float(math.prod(spec.out_shape[:-1]))
        return int(out + spec.batch * lead * M * it * 2)
    if method == "fft":
        # the spectra of the input(s) and the kernel(s) (the transforms run in
        # place, the inverse too), a broadcast product's new array, the output
        M = params["lengths"]
        S = float(math.prod(M[:-1])) * (M[-1] // 2 + 1 if spec.real else M[-1]) * cit
        prod = spec.batch * S if spec.bx < spec.batch else 0.0
        return int(out + (spec.bx + spec.bk) * S + prod)
    if method == "overlap-save" and spec.ndim == 1 and params["blocks"][0] is not None:
        # chunked (algorithms/overlap._save_1d): the kernel spectrum, and per
        # thread one chunk's windows (a copy at the ends), spectra and inverse
        from .._config import get_threads
        from ..algorithms.overlap import chunk_blocks

        M = params["blocks"][0]
        per = chunk_blocks(M) * M
        chunk = per * (2 * it + h * cit) + M * it
        return int(out + spec.bk * M * h * cit + get_threads() * chunk)
    if method == "overlap-save" and any(M is not None for M in params["blocks"]):
        # tiled (algorithms/overlap._save_tiled): the kernel spectrum, and per
        # thread one tile task's window, spectrum and inverse (batch entries
        # grouped up to TILE_TASK_BYTES of spectrum); a virtual boundary
        # gathers edge windows through index maps (two more window copies)
        from .._config import get_threads
        from ..algorithms.overlap import TILE_TASK_BYTES

        Ms = [M if M is not None else fast_len(L + K - 1, spec.real)
              for L, K, M in zip(spec.out_shape, spec.m, params["blocks"])]
        tp = float(math.prod(Ms))
        per = tp * (h * cit + (4 if spec.padded else 2) * it)
        group = max(1, min(spec.batch, TILE_TASK_BYTES // max(tp * h * cit, 1)))
        return int(out + spec.bk * tp * h * cit + get_threads() * group * per)
    P = 1.0
    # overlap-add also pads the input to whole blocks and folds the block
    # outputs into a buffer of the output's size
    add = (spec.bx * float(math.prod(spec.n)) * it + out) if method == "overlap-add" else 0
    lens = spec.out_shape if method == "overlap-save" else spec.n
    for N, K, M in zip(lens, spec.m, params["blocks"]):
        if M is None:
            P *= fast_len(N + K - 1, spec.real)
        else:
            P *= -(-N // (M - K + 1)) * M
    return int(out + add + spec.batch * P * (h * cit + 2 * it))
