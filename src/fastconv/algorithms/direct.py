"""Direct method: sliding-window sums in a parallel numba kernel.

Cost: ``B * prod(out_shape) * prod(m)`` multiply-adds.  Padding is virtual:
every axis has a map from padded coordinates to input indices (-1 for zero
padding; numpy.pad's rule for 'edge', 'symmetric', 'reflect', 'wrap'), so
no padded copy is made.  Exact for integers (64-bit accumulation); for floats each
output's error is bounded by about ``K * eps * sum(|x| |k|)`` over its own
window, which makes it the accurate choice for data of wide dynamic range.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from ._common import result

name = "direct"


def _grid(sizes, offsets=None):
    """All multi-indices of a grid (rows), as an (count, D) int64 array."""
    if not sizes:
        return np.zeros((1, 0), dtype=np.int64)
    g = np.indices(sizes, dtype=np.int64).reshape(len(sizes), -1).T
    if offsets is not None:
        g = g + np.asarray(offsets, dtype=np.int64)
    return np.ascontiguousarray(g)


def axis_map(N, K, s, L):
    """Padded coordinate t (0 <= t < L + K - 1) -> input index, zero padding."""
    t = np.arange(L + K - 1, dtype=np.int64) + (s - (K - 1))
    t[(t < 0) | (t >= N)] = -1
    return t


def pad_map(N, lo, hi, boundary):
    """Padded coordinate -> input index under numpy.pad's ``boundary`` rule."""
    return np.pad(np.arange(N, dtype=np.int64), (lo, hi), mode=boundary)


def row_layout(lead_maps, m_lead, out_lead, n_lead, bx, bk, unit):
    """Row bookkeeping shared by the row kernels (direct and hybrid).

    Output rows are the batch times the leading output axes; ``unit`` is
    the number of elements per input row (1 to address rows themselves);
    ``lead_maps[d]`` maps padded coordinates of leading axis d to input
    indices (-1: a zero row).  Returns ``obase, orow, krow, rmap, xstr,
    wdiv, rows`` as the kernels take them: output row o's batch base, its
    leading output coordinates, kernel-row offsets, the stacked maps,
    strides, the divisor mapping an output row to its kernel, and rows per
    batch.
    """
    B = max(bx, bk)
    D = len(n_lead)
    xstr = np.ones(D, dtype=np.int64) * unit
    for d in range(D - 2, -1, -1):
        xstr[d] = xstr[d + 1] * n_lead[d + 1]
    orow = _grid(tuple(out_lead))
    krow = _grid(tuple(m_lead))
    width = max([len(mp) for mp in lead_maps] + [1])
    rmap = np.full((D, width), -1, dtype=np.int64)
    for d, mp in enumerate(lead_maps):
        rmap[d, :len(mp)] = mp
    rows = orow.shape[0]
    bstride = int(np.prod(n_lead)) * unit if bx > 1 else 0
    obase = np.repeat(np.arange(B, dtype=np.int64) * bstride, rows)
    orow = np.tile(orow, (B, 1))
    wdiv = rows if bk > 1 else B * rows + 1
    return obase, orow, krow, rmap, xstr, wdiv, rows


#: last-axis tap counts with generated, unrolled kernels (_kernels/fixed.py,
#: made by tools/gen_fixed_kernels.py from this range); float32/float64 only
FIXED_TAPS = range(2, 17)
FIXED_DTYPES = ("f4", "f8")

def host_vector_fma():
    """Whether numba compiles for a CPU with 256-bit vectors and FMA (AVX2
    class), which the register-blocked kernels are written for.  Elsewhere
    LLVM still compiles them (vectors split, ``llvm.fma`` lowered to a libm
    call): correct but several times slower than the row kernels.  A named
    or feature-listed numba target (NUMBA_CPU_NAME / NUMBA_CPU_FEATURES)
    counts only if its feature list names avx2 and fma."""
    try:
        import llvmlite.binding as llvm
        from numba.core import config

        feats = getattr(config, "CPU_FEATURES", None)
        if feats:
            return "+fma" in feats and "+avx2" in feats
        if getattr(config, "CPU_NAME", None) not in (None, "", "host"):
            return False
        host = llvm.get_host_cpu_features()
        return bool(host.get("fma")) and bool(host.get("avx2"))
    except Exception:  # pragma: no cover - llvmlite without the query
        return False


@functools.lru_cache(maxsize=None)
def _simd_default():
    return host_vector_fma()


def host_vector_bits():
    """512 where numba compiles for a CPU with AVX-512F (the register-blocked
    kernels then use 512-bit vectors, measured 1.3-1.6x faster on 9x9 and
    17x17 kernels), else 256.  A named or feature-listed numba target counts
    only if its feature list names avx512f."""
    try:
        import llvmlite.binding as llvm
        from numba.core import config

        feats = getattr(config, "CPU_FEATURES", None)
        if feats:
            return 512 if "+avx512f" in feats else 256
        if getattr(config, "CPU_NAME", None) not in (None, "", "host"):
            return 256
        return 512 if llvm.get_host_cpu_features().get("avx512f") else 256
    except Exception:  # pragma: no cover - llvmlite without the query
        return 256


@functools.lru_cache(maxsize=None)
def _bits_default():
    import os

    env = os.environ.get("FASTCONV_VECTOR_BITS", "").strip()
    if env:
        if env not in ("256", "512"):
            raise ValueError(f"FASTCONV_VECTOR_BITS must be 256 or 512, got {env!r}")
        return int(env)
    return host_vector_bits()


#: on a 512-bit host, the kernels that take 512-bit vectors from this many
#: taps along the rows (fewer: 256-bit, whose narrower blocks leave less to
#: the edge buffers).  Measured, 2048^2, 2 threads, same process, 512/256-bit
#: time: 2-D direct float32 3x3 1.09, 5x5 1.09, 7x7 0.87, 9x9 0.88, 17x17
#: 0.73; float64 3x3 0.95, 5x5 0.99, 9x9 0.83; separable rank-1 3 0.90,
#: 5 1.09, 9 1.03, 17 (Gaussian sigma 2) 0.90, 65 0.87; 3-D 128^3 3^3 0.83,
#: 7^3 0.73
WIDE_FROM = {"rows": 7, "separable": 13, "planes": 1}


def vector_bits(kind="rows", taps=None):
    """The vector width of the register-blocked kernels for a problem of
    ``kind`` ('rows': 2-D direct, 'separable', 'planes': 3-D and more) with
    ``taps`` taps along its rows: ``VECTOR_BITS`` if a caller assigned it
    (tests run both widths), else ``FASTCONV_VECTOR_BITS``, else the host's
    (:func:`host_vector_bits`) where :data:`WIDE_FROM` says 512-bit pays."""
    bits = globals().get("VECTOR_BITS")
    if bits is not None:
        return bits
    bits = _bits_default()
    if bits == 512 and taps is not None and taps < WIDE_FROM[kind]:
        return 256
    return bits


def machine_class():
    """'avx512', 'avx2' or 'generic': the kernels this process runs, which
    picks the planner's shipped constants (planning/cost.py)."""
    simd = globals().get("SIMD")
    if not (_simd_default() if simd is None else simd):
        return "generic"
    return "avx512" if vector_bits() == 512 else "avx2"


def __getattr__(name):
    # ``SIMD``: float problems of 2 or more axes use the register-blocked
    # kernels (_kernels/simd.py) where the CPU has vector FMA; assign
    # ``direct.SIMD = False`` to use the row kernels everywhere.  Decided on
    # first use, not at import (querying the CPU imports numba and llvmlite,
    # which planning alone does not need).
    if name == "SIMD":
        return _simd_default()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def uses_simd(ndim, dtype, m=None):
    """Whether a problem with ``ndim`` convolution axes (batch excluded) of
    ``dtype`` ('f4' or a numpy dtype) and kernel shape ``m`` runs the
    register-blocked kernels.  3-D and more only with at least 9 taps per
    kernel plane (2x2 planes ran faster on the row kernels: 256^3 x 2^3
    34 ms against 24)."""
    simd = globals().get("SIMD")                 # assigned by a caller, else the CPU's
    if simd is None:
        simd = _simd_default()
    if not (simd and ndim >= 2 and np.dtype(dtype).str[1:] in FIXED_DTYPES):
        return False
    return ndim == 2 or m is None or m[-2] * m[-1] >= 9

#: below this many multiply-adds the kernel runs on the calling thread only:
#: waking the worker threads costs more than the work, and a worker that has
#: to wait for a core (another pool still spinning) stalls for milliseconds
SMALL_WORK = 1 << 18


def threads_for(work, nthreads):
    return 1 if work < SMALL_WORK else nthreads


def apply_threads(work, nthreads):
    """Apply the thread count for a kernel of ``work`` multiply-adds (and the
    work, which picks a serial kernel while the parallel one is cold: see
    ``fastconv._kernels.Parallel``); returns the count."""
    from .._config import numba_threads

    n = threads_for(work, nthreads)
    numba_threads(n, work)
    return n


#: 1-D outputs at least this long take the 2-D register blocks (shorter
#: rows: the 2-D row layout cost more than it saved; 1000 rows of 64, 3 taps:
#: 0.27 -> 0.44 ms; 100 samples: +18 us)
LIFT_1D_MIN = 2048


def lifts_1d(dtype, K, out_len):
    """Whether a 1-D problem (``K`` taps, outputs ``out_len``) runs as 2-D
    with one kernel row: the register blocks (_kernels/simd.py) keep U
    output vectors in registers across the taps, where the 1-D row kernels
    add every tap's products into the output row in memory.  Measured (2
    threads, AVX-512, 'same'): 1e7 x 100 float64 58.5 -> 44.1 ms, 1e6 x
    300 14.4 -> 9.7, 1e6 x 64 float32 3.1 -> 2.4, 1e6 x 8 float64 2.0 -> 1.8."""
    return out_len >= LIFT_1D_MIN and uses_simd(2, dtype, (1, K))


def run(x, k, starts, out_shape, params, nthreads):
    """Compute the canonical problem by direct summation (see _common)."""
    if k.ndim == 2 and lifts_1d(x.dtype, k.shape[1], out_shape[-1]):
        y = run(x[:, None], k[:, None], (0,) + tuple(starts), (1,) + tuple(out_shape), params,
                nthreads)
        return y.reshape(y.shape[:1] + y.shape[2:])
    m = k.shape[1:]
    n = x.shape[1:]

    def maps():
        return [axis_map(N, K, s, L) for N, K, s, L in zip(n[:-1], m[:-1], starts[:-1],
                                                          out_shape[:-1])]
    return _run(x, k, out_shape, maps, ("zero", tuple(starts[:-1])), 0,
                m[-1] - 1 - starts[-1], params, nthreads)


def run_virtual(x, k, pads, boundary, out_shape, params, nthreads):
    """Direct summation on the unpadded input, the boundary rule applied
    through index maps (no padded copy).  ``pads``: (before, after) per axis
    of the canonical array, batch axis first."""
    if k.ndim == 2 and lifts_1d(x.dtype, k.shape[1], out_shape[-1]):
        y = run_virtual(x[:, None], k[:, None], [pads[0], (0, 0)] + list(pads[1:]), boundary,
                        (1,) + tuple(out_shape), params, nthreads)
        return y.reshape(y.shape[:1] + y.shape[2:])

    def maps():
        return [pad_map(N, lo, hi, boundary) for N, (lo, hi) in zip(x.shape[1:-1], pads[1:-1])]
    return _run(x, k, out_shape, maps, (boundary, tuple(map(tuple, pads[1:-1]))),
                COLUMN_MODES[boundary], pads[-1][0], params, nthreads)


#: the last axis' boundary rule is computed in the kernels (no O(N) map)
COLUMN_MODES = {"constant": 0, "edge": 1, "symmetric": 2, "reflect": 3, "wrap": 4}


#: row layouts of recent small problems (at most LAYOUT_ROWS output rows),
#: so that repeated small calls skip building them (the lock: calls from
#: several threads evict and insert safely)
_LAYOUTS = {}
_LAYOUTS_LOCK = threading.Lock()
LAYOUT_ROWS = 4096


def _layout(maps, key, m, out_shape, n, bx, bk):
    """``row_layout`` of the leading-axis maps ``maps()``, kept for small problems."""
    key = key + (m, tuple(out_shape), n, bx, bk)
    hit = _LAYOUTS.get(key)
    if hit is None:
        hit = row_layout(maps(), m[:-1], out_shape[:-1], n[:-1], bx, bk, n[-1])
        if hit[0].shape[0] <= LAYOUT_ROWS:
            with _LAYOUTS_LOCK:
                if len(_LAYOUTS) >= 64:
                    _LAYOUTS.pop(next(iter(_LAYOUTS)))
                _LAYOUTS[key] = hit
    return hit


def _run(x, k, out_shape, maps, key, cmode, p, params, nthreads):
    """``maps()``: the leading axes' index maps; ``key``: what they depend on
    besides the shapes (the boundary rule and offsets)."""
    from .._kernels.direct import corr_rows

    x = np.ascontiguousarray(x)
    m = k.shape[1:]
    n = x.shape[1:]
    B = max(x.shape[0], k.shape[0])
    if len(m) >= 3 and uses_simd(len(m), x.dtype, m):
        return _run_planes(x, k, out_shape, maps(), cmode, p, B, nthreads)
    obase, orow, krow, rmap, xstr, wdiv, rows = _layout(
        maps, key, m, out_shape, n, x.shape[0], k.shape[0])
    # correlation weights: the kernel reversed on every convolution axis
    flip = (slice(None),) + (slice(None, None, -1),) * len(m)
    w = np.ascontiguousarray(k[flip]).reshape(k.shape[0], -1, m[-1])
    y = result((B * rows, out_shape[-1]), x.dtype)
    tile = params.get("tile", 1024) if params else 1024
    kernel = corr_rows
    apply_threads(y.size * w.shape[1] * w.shape[2], nthreads)
    if uses_simd(len(m), x.dtype, m):
        from .._kernels.simd import block_choice, simd_rows, vector_arg   # 2-D: vector IR

        bits = vector_bits("rows", m[-1])
        simd_rows(x.reshape(-1), obase, orow, krow, rmap, xstr, n[-1], p, cmode, w, wdiv, y,
                  tile, vector_arg(bits), block_choice(*w.shape[1:], bits // (8 * w.itemsize)))
        return y.reshape((B,) + tuple(out_shape))
    if x.dtype.str[1:] in FIXED_DTYPES and m[-1] in FIXED_TAPS:
        from .._kernels.fixed import FIXED    # taps unrolled: one pass per kernel row

        kernel = FIXED[m[-1]]
    kernel(x.reshape(-1), obase, orow, krow, rmap, xstr, n[-1], p, cmode, w, wdiv, y, tile)
    return y.reshape((B,) + tuple(out_shape))


#: 3-D+ output rows at least this wide take the kernel planes one at a time
#: (sums kept in the output between planes) instead of all planes per block:
#: fewer input rows in flight.  Measured, 7^3 float32, 2 threads, GFLOP/s
#: (all planes in registers -> one at a time): 128-wide 64 -> 64, 256-wide
#: 43 -> 51, 512-wide 29 -> 47, 2048-wide 24 -> 56
PLANE_OUTER_COLS = 192


def _run_planes(x, k, out_shape, maps, cmode, p, B, nthreads):
    """3-D and more: the plane-summing vector blocks see the input padded on
    its last two axes (the boundary rule applied), so every row and column
    is in range; the other leading axes keep their virtual maps (zero planes
    are skipped).  3-D with enough planes: ``simd_volume`` pads each input
    plane into a per-unit buffer (no padded copy, the planes hot in cache);
    otherwise one gathered copy and ``simd_planes``."""
    from .._config import numba_threads
    from .._kernels.simd import col_map, pad_rows_cols, simd_planes, simd_volume, vector_arg

    m = k.shape[1:]
    n = x.shape[1:]
    Ly, L = out_shape[-2:]
    ymap = maps[-1]
    cmap = col_map(L + m[-1] - 1, p, n[-1], cmode)
    vec = vector_arg(vector_bits("planes", m[-1]))
    flip = (slice(None),) + (slice(None, None, -1),) * len(m)   # correlation weights
    w = np.ascontiguousarray(k[flip]).reshape(k.shape[0], -1, m[-1])
    work = B * int(np.prod(out_shape)) * int(np.prod(m))
    units = B * out_shape[0]
    if len(m) == 3 and units >= 4 * nthreads:
        # padded planes made per unit of work, in cache (no padded copy)
        nt = apply_threads(work, nthreads)
        y = result((B,) + tuple(out_shape), x.dtype)
        slab = max(1, min(32, units // (4 * nt)))
        simd_volume(x.reshape(-1), x.shape[0], n[0], n[1], n[2], maps[0], ymap, cmap, w, m[1],
                    y, vec, slab, L >= PLANE_OUTER_COLS)
        return y
    numba_threads(nthreads, x.size)
    lead = x.size // (n[-2] * n[-1])
    xp = pad_rows_cols(x.reshape(lead, n[-2], n[-1]), ymap, cmap)
    n2 = tuple(n[:-2]) + (len(ymap), len(cmap))
    maps2 = list(maps[:-1]) + [np.arange(len(ymap), dtype=np.int64)]
    obase, orow, krow, rmap, xstr, wdiv, rows = row_layout(
        maps2, m[:-1], out_shape[:-1], n2[:-1], x.shape[0], k.shape[0], n2[-1])
    y = result((B * rows, L), x.dtype)
    apply_threads(work, nthreads)
    simd_planes(xp.reshape(-1), obase, orow, krow, rmap, xstr, n2[-1], w, wdiv, y, vec,
                L >= PLANE_OUTER_COLS)
    return y.reshape((B,) + tuple(out_shape))
