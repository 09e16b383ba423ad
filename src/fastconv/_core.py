"""The engine behind every front end: validate once, canonicalise, plan, run.

``prepare`` turns public arguments into a :class:`Prepared` problem (a
ConvSpec plus canonical arrays), ``choose`` (planner) picks the algorithm,
``execute`` runs it and ``finish`` restores the caller's layout and dtype.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import warnings

import numpy as np

from . import _config
from . import _validate as V
from .planning.spec import ConvSpec


class Prepared:
    """A validated problem: spec, canonical arrays and how to undo the layout."""

    __slots__ = ("spec", "src", "_raw", "pads", "_x", "k", "batch_shape", "axes", "ndim",
                 "result_dtype", "args", "_ints_ok", "_imax", "_terms", "_fused", "ksrc")

    @property
    def raw(self):
        """The canonical input in the compute dtype, before boundary extension
        (``src``, the input in its stored dtype, converted on first use: a
        method that reads the stored dtype itself never makes this copy)."""
        if self._raw is None:
            self._raw = to_compute(self.src, np.dtype(self.spec.dtype))
        return self._raw

    @property
    def x(self):
        """The canonical input, boundary extension applied (padded on first use).

        ``raw`` is the input before extension and ``pads`` the extension per
        axis; methods that apply the boundary rule virtually read those and
        never make the padded copy.
        """
        if self._x is None:
            boundary, cval = self.args["boundary"], self.args["cval"]
            if self.pads is None:
                self._x = self.raw
            elif boundary == "constant":
                self._x = np.pad(self.raw, self.pads, mode="constant",
                                 constant_values=np.asarray(cval).astype(self.raw.dtype))
            else:
                self._x = np.pad(self.raw, self.pads, mode=boundary)
        return self._x

    def ints_fft_ok(self) -> bool:
        if np.dtype(self.spec.dtype).kind not in "iu":
            return True
        if self._ints_ok is None:
            from .planning.planner import fft_exact_for_ints

            # the extents found by prepare (exact Python ints: INT64_MIN's
            # magnitude does not overflow), cval included
            xmax, kmax = self._imax
            self._ints_ok = fft_exact_for_ints(self.spec, float(xmax), float(kmax))
        return self._ints_ok

    def factors(self):
        """The kernel's low-rank factors (one computation per problem), or None."""
        if self._terms is False:
            spec = self.spec
            self._terms = None
            if not (spec.dtype[0] in "iu" or spec.bk > 1 or spec.ndim < 2 or spec.taps < 9):
                from .algorithms.separable import factors

                self._terms = factors(self.k[0], spec.dtype)
        return self._terms

    def separable_terms(self):
        """Number of rank-1 terms if the kernel is usefully low-rank, else None."""
        t = self.factors()
        return None if t is None else len(t)

    def fused_kind(self):
        """Which variant of the fused image filter computes this problem, or
        None (see :mod:`fastconv.algorithms.fused`)."""
        if self._fused is False:
            from .algorithms import fused

            spec = self.spec
            starts = spec.starts if self.pads is None else tuple(
                K - 1 - lo for K, (lo, _) in zip(spec.m, self.pads[1:]))
            self._fused = None if spec.batch == 0 else fused.kind(
                spec, self.ksrc, self.src.dtype, starts)
        return self._fused

    def finite(self) -> bool:
        """True when the input (and cval) hold no NaN/Inf (non-finite kernel
        taps are taken apart by ``execute``, whatever the method)."""
        if self.spec.dtype[0] in "iu":
            return True
        # a finite sum proves every term finite (no temporary); only an
        # overflowing sum needs the elementwise check
        if not np.isfinite(complex(self.args["cval"])):
            return False
        for a in (self.raw,):
            if not _finite_sum(a) and not np.isfinite(a).all():
                return False
        return True

    def run(self, plan, out=None):
        """Run ``plan`` on this problem (what :class:`Plan` calls)."""
        return run_prepared(self, plan, out)

    def execute(self, method, params, threads):
        """One algorithm on this problem's arrays (the planner times this)."""
        return execute(self, method, params, threads)

    def rebind(self, in1, in2):
        new = prepare(in1, in2, **self.args)
        # the same problem, whatever the arrays' layout (which only changes
        # the copies preparing it makes)
        same = dataclasses.replace(new.spec, copies=self.spec.copies) == self.spec
        if not same or new.result_dtype != self.result_dtype:
            raise ValueError(
                "in1/in2 do not match the plan: it was made for input "
                f"{self.spec.n} x kernel {self.spec.m} (batch {self.spec.batch}, "
                f"{self.spec.dtype}), got input {new.spec.n} x kernel {new.spec.m} "
                f"(batch {new.spec.batch}, {new.spec.dtype})")
        return new


def _flatten_batch(a, bshape, nd, name):
    """(batch..., conv...) -> (B or 1, conv...), broadcasting if needed."""
    own = a.shape[:a.ndim - nd]
    conv = a.shape[a.ndim - nd:]
    if all(s == 1 for s in own):
        return a.reshape((1,) + conv)
    if own != bshape:
        a = np.broadcast_to(a, bshape + conv)
    return a.reshape((int(math.prod(bshape)),) + conv)


def _copy_bytes(a, bshape, nd, dtype):
    """Bytes that ``_flatten_batch(a).astype(dtype)`` allocates (0: a view)."""
    own = a.shape[:a.ndim - nd]
    rows = 1 if all(s == 1 for s in own) else int(math.prod(bshape))
    size = rows * int(math.prod(a.shape[a.ndim - nd:]))
    view = (a.dtype == dtype and (rows == 1 or own == bshape)
            and (a.flags.c_contiguous or a.size <= 1))
    return 0 if view else size * dtype.itemsize


def unbroadcast(a):
    """The part of ``a`` that holds its distinct elements: axes of stride 0
    (a broadcast view) cut to length 1; a view, for scans that should not
    visit the same memory a million times."""
    if not any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape)):
        return a
    return a[tuple(slice(0, 1) if st == 0 and n > 1 else slice(None)
                   for st, n in zip(a.strides, a.shape))]


def int_extent(a) -> int:
    """Largest ``|value|`` of a bool/integer array as a Python int (exact for
    INT64_MIN and uint64; one pass, no temporaries)."""
    u = unbroadcast(a)
    if u.size == 0:
        return 0
    if u.dtype.kind == "b":
        return int(bool(u.any()))
    return max(abs(int(u.min())), abs(int(u.max())))


def abs_sum(a) -> float:
    """``sum |a|`` in float64, through pieces of at most 2^20 elements (no
    temporary that grows with the data; broadcast axes counted once per
    repeat)."""
    u = unbroadcast(a)
    reps = a.size // u.size if u.size else 0
    if u.size <= 1 << 20 or u.ndim == 0:
        return reps * float(np.abs(u.astype(np.float64)).sum())
    if u.shape[0] == 1:
        return reps * abs_sum(u[0])
    step = max(1, (1 << 20) // max(1, u.size // u.shape[0]))
    return reps * sum(abs_sum(u[i:i + step]) for i in range(0, u.shape[0], step))


def geometry(n, m, mode):
    """(starts, out_shape): where each axis' output begins in the full
    convolution of lengths ``n`` and ``m``, and how long it is, for ``mode``."""
    if mode == "full":
        return (0,) * len(n), tuple(N + K - 1 for N, K in zip(n, m))
    if mode == "same":
        return tuple((K - 1) // 2 for K in m), tuple(n)
    return tuple(K - 1 for K in m), tuple(N - K + 1 for N, K in zip(n, m))


def unit_axes_dropped(a, b, ax):
    """``ax`` without the axes along which ``b`` (the kernel) has one sample:
    along such an axis every mode and boundary rule gives output = input
    times that sample, so it is a batch axis (an image filtered by a 1 x K
    row, a (1, L) signal: planned as what they are, a batch of 1-D
    problems).  Kept where the kernel's own batch axes would then have to be
    copied for each of the input's samples along it; at least one axis is
    kept."""
    if len(ax) < 2:
        return ax
    kbatch1 = all(b.shape[d] == 1 for d in range(b.ndim) if d not in ax)
    keep = tuple(d for d in ax if not (b.shape[d] == 1 and (kbatch1 or a.shape[d] == 1)))
    return keep if keep else ax[-1:]


def prepare(in1, in2, *, mode="full", axes=None, boundary="constant", cval=0,
            op="convolve", dtypes=None, saturate=False) -> Prepared:
    """Validate and canonicalise; see module docstring.

    Before anything that grows with the data is allocated, integer problems
    are checked for an exact result (``max|x| * max|k| * terms`` within the
    accumulator's range) and the bytes of the canonical copies (dtype
    conversion, broadcast, layout) plus the output are checked against
    ``FASTCONV_MAX_MEMORY``; those bytes ride in ``spec.copies`` so that
    every method's estimate includes them.  Kernel taps that reach no kept
    output (a 'same' result shorter than the kernel) are dropped.
    ``saturate=True`` (with ``dtypes=(float compute, integer result)``)
    rounds the result half to even and saturates it to the integer dtype,
    as image filters store an integer image (``ConvSpec.io``).
    """
    a = V.as_array(in1, "in1")
    b = V.as_array(in2, "in2")
    mode = V.check_mode(mode)
    boundary = V.check_boundary(boundary)
    cval = V.check_cval(cval)
    V.check_operands(a, b)
    ax = V.check_axes(axes, a.ndim)
    V.check_conv_lengths((("in1", a), ("in2", b)), ax)
    if mode == "valid":         # scipy's rule, on every axis named
        nf, mf = [a.shape[d] for d in ax], [b.shape[d] for d in ax]
        if not (all(N >= K for N, K in zip(nf, mf)) or all(K >= N for N, K in zip(nf, mf))):
            raise ValueError(
                f"mode='valid' needs one input at least as large as the other on "
                f"every convolution axis, got {tuple(nf)} and {tuple(mf)}")
    ax = unit_axes_dropped(a, b, ax)
    nd = len(ax)
    cd, rd = V.dtype_policy(a.dtype, b.dtype) if dtypes is None else map(np.dtype, dtypes)
    if saturate and not (rd.kind in "iu" and cd.kind == "f"):
        raise ValueError(f"saturate=True needs a float compute dtype and an integer "
                         f"result dtype, got {cd} and {rd}")
    ints = cd.kind in "iu"
    if cd.kind != "c" and complex(cval).imag != 0:
        raise ValueError(f"cval={cval!r} is complex but in1/in2 are real")
    if ints and boundary == "constant" and cval != 0:
        V.check_int_cval(cval, cd)
    dest = tuple(range(a.ndim - nd, a.ndim))
    if ax != dest:
        a = np.moveaxis(a, ax, dest)
        b = np.moveaxis(b, ax, dest)
    if op == "correlate":
        b = b[(Ellipsis,) + (slice(None, None, -1),) * nd]
        if b.dtype.kind == "c":
            b = np.conj(b)
    n = a.shape[a.ndim - nd:]
    m = b.shape[b.ndim - nd:]
    if mode == "valid" and not all(N >= K for N, K in zip(n, m)):
        a, b, n, m = b, a, m, n        # convolution commutes (checked above)
    try:
        ba, bb = a.shape[:a.ndim - nd], b.shape[:b.ndim - nd]
        bshape = ba if ba == bb else np.broadcast_shapes(ba, bb)
    except ValueError:
        raise ValueError(
            f"the non-convolution (batch) axes of in1 {a.shape[:a.ndim - nd]} and "
            f"in2 {b.shape[:b.ndim - nd]} do not broadcast") from None
    starts, out_shape = geometry(n, m, mode)
    padded = mode != "valid" and not (boundary == "constant" and cval == 0)
    if not padded:
        # taps that meet no input sample for any kept output: output i reads
        # taps i + s - (N - 1) .. i + s
        cut = [(max(0, s - (N - 1)), min(K - 1, s + L - 1))
               for N, K, s, L in zip(n, m, starts, out_shape)]
        if any(lo > 0 or hi < K - 1 for (lo, hi), K in zip(cut, m)):
            b = b[(Ellipsis,) + tuple(slice(lo, hi + 1) for lo, hi in cut)]
            m = tuple(hi - lo + 1 for lo, hi in cut)
            starts = tuple(s - lo for s, (lo, _) in zip(starts, cut))
    imax = None
    if ints:
        xmax, kmax = int_extent(a), int_extent(b)
        if padded:                      # the boundary value is input data too
            xmax = max(xmax, abs(int(np.real(cval))))
        imax = (xmax, kmax)
        terms = int(math.prod([min(N, K) for N, K in zip(n, m)]))
        bound = xmax * kmax * terms
        top = int(np.iinfo(cd).max)
        if bound > top and dtypes is None:
            # (front ends that name their dtypes, the scipy.signal drop-in's
            # int8 -> int8 say, ask for modular integer results, as their
            # originals give: the 64-bit accumulator wraps exactly like theirs)
            # tighter: no output sums more than max|x| * sum|k| (float64 sum,
            # with a margin for its rounding)
            # (over every kernel of a batch: still a bound for each)
            bound = min(bound, int(xmax * abs_sum(b) * (1 + 1e-6)) + 1)
        if bound > top and dtypes is None:
            raise ValueError(
                f"in1/in2: an exact integer result can reach {float(bound):.3g} in "
                f"magnitude (max|in1| {xmax} x sum|in2| or max|in2| {kmax} x "
                f"{terms} terms), beyond the {cd} accumulator; convert the inputs to "
                f"float64 (rounded results) or to smaller values")
    B = int(math.prod(bshape))
    outputs = B * int(math.prod(out_shape))
    copies = _copy_bytes(a, bshape, nd, cd) + _copy_bytes(b, bshape, nd, cd)
    if rd != cd or ax != dest:      # the result converted or moved back (finish)
        copies += outputs * rd.itemsize
    need = copies + outputs * cd.itemsize
    if need > _config.max_memory():
        raise ValueError(
            f"in1/in2 too large: the result and the inputs' working copies need "
            f"{need / 2**30:.2f} GiB before any method runs, more than "
            f"FASTCONV_MAX_MEMORY ({_config.max_memory() / 2**30:.2f} GiB)")
    src = _flatten_batch(a, bshape, nd, "in1")
    ksrc = _flatten_batch(b, bshape, nd, "in2")
    k = ksrc.astype(cd, copy=False)
    p = Prepared()
    p.src, p._raw, p._x, p.pads = src, (src if src.dtype == cd else None), None, None
    if padded:                       # the padded copy is made lazily (see Prepared.x)
        p.pads = [(0, 0)] + [(K - 1 - s, s + L - N)
                             for N, K, s, L in zip(n, m, starts, out_shape)]
        p._x = None
        n = tuple(N + lo + hi for N, (lo, hi) in zip(n, p.pads[1:]))
        starts = tuple(K - 1 for K in m)
    p.spec = ConvSpec(n=tuple(n), m=tuple(m),
                      batch=B if B == 0 else max(src.shape[0], k.shape[0]),
                      bx=src.shape[0], bk=k.shape[0], dtype=cd.str.lstrip("<>=|"),
                      starts=starts, out_shape=out_shape, mode=mode,
                      boundary=boundary, padded=padded, copies=int(copies),
                      io=rd.str[1:] if saturate else "")
    p.k = k
    p.ksrc = ksrc           # as given (the fused filter keeps its precision)
    p.batch_shape = tuple(bshape)
    p.axes = ax
    p.ndim = a.ndim
    p.result_dtype = np.dtype(rd)
    p.args = dict(mode=mode, axes=axes, boundary=boundary, cval=cval, op=op,
                  dtypes=dtypes, saturate=saturate)
    p._ints_ok = None
    p._imax = imax
    p._terms = False
    p._fused = False
    return p


#: arrays at least this large are converted by the parallel kernels
_PARALLEL_CONVERT = 1 << 16


def to_compute(a, cd):
    """``a`` in the compute dtype ``cd`` (large integer arrays in parallel)."""
    if a.dtype == cd:
        return a
    if a.dtype.kind in "iu" and cd.kind == "f" and a.flags.c_contiguous \
            and a.size >= _PARALLEL_CONVERT:
        from ._kernels.window import to_float
        from .algorithms._common import result

        out = result(a.shape, cd)
        _config.numba_threads(_config.get_threads())
        to_float(a, out)
        return out
    return a.astype(cd)


def saturate(y, dt):
    """Float results rounded half to even and saturated to the integer dtype
    ``dt`` (how image filters store an integer image's result); other dtypes
    converted as numpy does."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        return y.astype(np.float32, copy=False)
    if dt.kind not in "iu" or y.dtype.kind in "iu":
        return y.astype(dt, copy=False)
    info = np.iinfo(dt)
    if y.flags.c_contiguous and y.size >= _PARALLEL_CONVERT:
        from ._kernels.window import to_int_saturated

        from .algorithms._common import result

        out = result(y.shape, dt)
        _config.numba_threads(_config.get_threads())
        to_int_saturated(y, float(info.min), float(info.max), out)   # one pass
        return out
    y = np.rint(y, out=y if y.flags.writeable else None)
    np.clip(y, info.min, info.max, out=y)
    return y.astype(dt)


def execute(prep, method, params, threads):
    """Run one algorithm on the canonical arrays; returns (B, *L) in compute dtype.

    ``params['chunks'] > 1`` (set by the planner when a method's working
    memory would exceed the budget) runs the problem in that many pieces,
    over the batch or the first convolution axis, into one output array.
    """
    spec = prep.spec
    if spec.batch == 0:               # an empty batch axis: nothing to compute
        return np.empty((0,) + tuple(spec.out_shape), dtype=spec.dtype)
    k = prep.k
    if spec.dtype[0] in "fc" and not np.isfinite(np.sum(k)):
        bad = ~np.isfinite(k)
        if bad.any() and spec.dtype[0] == "f" and not prep.finite():
            from .algorithms import FFT_METHODS

            if method not in FFT_METHODS:
                return _classified(prep, method, params, threads)
        if bad.any():
            # NaN/Inf taps: the method runs on the finite taps, and each
            # non-finite tap adds its own products with the (extended) input,
            # so a non-finite tap spoils exactly the outputs whose window
            # meets an input sample through it, whatever the method
            y = _execute(prep, np.where(bad, 0, k), method, params, threads)
            _add_taps(prep, y, bad)
            return y
    return _execute(prep, k, method, params, threads)


#: (input class, kernel class) pairs whose products are NaN, +inf, -inf (NaN,
#: or infinity times zero; infinities of each sign): the NumPy engine's
#: ``_core._classified`` and the namespace engine's ``nonfinite_guard`` count
#: them per output, four pairs each
NONFINITE_PAIRS = (
    (("nan", "one"), ("one", "nan"), ("inf", "zero"), ("zero", "inf")),
    (("pinf", "plus"), ("ninf", "minus"), ("pos", "pinf"), ("neg", "ninf")),
    (("pinf", "minus"), ("ninf", "plus"), ("pos", "ninf"), ("neg", "pinf")))


def _classes(v):
    """0/1 masks of ``v``'s values by the class its products fall in."""
    f = np.isfinite(v)
    pinf, ninf = v == np.inf, v == -np.inf
    return dict(nan=np.isnan(v), inf=pinf | ninf, zero=v == 0, pinf=pinf, ninf=ninf,
                pos=f & (v > 0), neg=f & (v < 0), plus=v > 0, minus=v < 0,
                one=np.ones(np.shape(v), bool))


def _classified(prep, method, params, threads):
    """Real data with NaN or infinity in both the input and the kernel: the
    sum of the finite products (non-finite values as zeros), and per output
    the count of products that are NaN (NaN, or infinity times zero), +inf
    and -inf, each a run of the same method on 0/1 arrays (exact sums of
    ones): NaN where a NaN product or both infinite signs occur, else the
    one infinite sign, else the finite sum.  (Zeroing only the kernel's
    non-finite taps made infinity x 0 = NaN where an infinite input sample
    met an infinite tap, whose product is an infinity.)  The boundary's
    constant ``cval`` is input data and is classified with it."""
    raw, k = prep.raw, prep.k
    cval = complex(prep.args["cval"]).real
    dt = raw.dtype
    # beyond the plan's estimate: the masks of both operands' classes (bytes),
    # a converted copy of each at a time, and three results at a time
    out = prep.spec.outputs * dt.itemsize
    need = 11 * (raw.size + k.size) + 2 * (raw.nbytes + k.nbytes) + 3 * out
    if need > _config.max_memory():
        raise ValueError(f"in1/in2 hold NaN or infinity on both sides: counting their products "
                         f"needs {need / 2**20:.1f} MiB more, over FASTCONV_MAX_MEMORY "
                         f"({_config.max_memory() / 2**20:.1f} MiB)")

    def run(a, c, kk):
        q = copy.copy(prep)
        q.src = q._raw = a
        q._x = q._fused = None
        q.args = dict(prep.args, cval=c)
        return _execute(q, kk, method, params, threads)

    y = run(np.where(np.isfinite(raw), raw, 0).astype(dt), cval if np.isfinite(cval) else 0.0,
            np.where(np.isfinite(k), k, 0).astype(k.dtype))
    A, B, C = _classes(raw), _classes(k), _classes(np.array(cval))
    hit = []
    for group in NONFINITE_PAIRS:
        cnt = sum(run(A[p].astype(dt), float(C[p]), B[q].astype(k.dtype)) for p, q in group)
        hit.append(cnt > 0.5)
    nan, pinf, ninf = hit
    y[ninf] = -np.inf
    y[pinf] = np.inf
    y[nan | (pinf & ninf)] = np.nan
    return y


def _add_taps(prep, y, bad):
    """``y += `` the products of the taps marked in ``bad`` with the input."""
    spec, raw, k = prep.spec, prep.raw, prep.k
    n, starts, L = spec.n, spec.starts, spec.out_shape
    maps = None
    if prep.pads is not None:
        # padded coordinates -> raw index (-1: the constant cval)
        maps = [np.pad(np.arange(N, dtype=np.int64), p,
                       **({"mode": "constant", "constant_values": -1}
                          if spec.boundary == "constant" else {"mode": spec.boundary}))
                for N, p in zip(raw.shape[1:], prep.pads[1:])]
    for pos in np.argwhere(bad):
        b, j = int(pos[0]), [int(v) for v in pos[1:]]
        osl, xsl = [], []
        for d in range(len(j)):
            lo, hi = max(0, j[d] - starts[d]), min(L[d], n[d] + j[d] - starts[d])
            if lo >= hi:
                break
            osl.append(slice(lo, hi))
            xsl.append(slice(lo + starts[d] - j[d], hi + starts[d] - j[d]))
        else:
            yb = slice(None) if spec.bk == 1 else slice(b, b + 1)
            xb = slice(None) if spec.bx == 1 or spec.bk == 1 else slice(b, b + 1)
            if maps is None:
                seg = raw[(xb,) + tuple(xsl)]
            else:
                idx = [mp[sl] for mp, sl in zip(maps, xsl)]
                seg = raw[(xb,) + np.ix_(*[np.maximum(i, 0) for i in idx])]
                if spec.boundary == "constant":
                    out = np.zeros(seg.shape[1:], bool)
                    for d, i in enumerate(idx):
                        shp = [1] * len(idx)
                        shp[d] = -1
                        out = out | (i < 0).reshape(shp)
                    seg = np.where(out, np.asarray(prep.args["cval"]).astype(seg.dtype), seg)
            y[(yb,) + tuple(osl)] += k[(b,) + tuple(j)] * seg


def _execute(prep, k, method, params, threads):
    from .algorithms import FFT_METHODS, REGISTRY

    spec = prep.spec
    if method == "fused":
        from .algorithms import fused

        y = fused.run(prep.src, prep.ksrc, spec.boundary, params, threads)
        if y is not None:
            return y
        # the data ruled it out (NaN in a float32 image): the runner-up
        method, params = params["fallback"]
    if method == "separable" and prep.factors() is not None:
        params = dict(params or {}, _terms=prep.factors())
    chunks = (params or {}).get("chunks", 1)
    lo, hi = prep.pads[-1] if prep.pads else (0, 0)
    # direct applies the rule per edge column (scalar work ~ pad x taps per
    # row): virtual only when the edge columns are a small part of the row,
    # else the padded copy is cheaper (and is what the cost model assumes);
    # the 2-D vector kernel copies edge columns into small buffers: always
    from .algorithms import direct as _direct

    virtual_ok = method in ("separable", "overlap-save") or (method == "direct" and (
        lo + hi <= max(16, spec.out_shape[-1] // 8)
        or _direct.uses_simd(len(spec.m), spec.dtype, spec.m)))
    if spec.padded and spec.boundary != "constant" and chunks == 1 and virtual_ok:
        # the boundary rule through index maps: no padded copy (overlap-save:
        # when tiled, float data)
        from .algorithms import direct, overlap, separable

        alg = {"separable": separable, "overlap-save": overlap}.get(method, direct)
        y = alg.run_virtual(prep.raw, k, prep.pads, spec.boundary, spec.out_shape, params,
                            threads)
        if y is not None:
            return y
    x = prep.x
    run = REGISTRY[method]
    if chunks > 1:
        sub = {kk: v for kk, v in params.items() if kk not in ("chunks", "lengths", "_terms")}
        run = _chunked(REGISTRY[method], chunks, sub)
    if method in FFT_METHODS and spec.dtype[0] in "iu":
        y = run(x.astype(np.float64), k.astype(np.float64), spec.starts,
                spec.out_shape, params, threads)
        return np.rint(y).astype(spec.dtype)
    return run(x, k, spec.starts, spec.out_shape, params, threads)


def _chunked(run, chunks, sub):
    """Wrap an algorithm so it computes the output in ``chunks`` pieces."""
    def run_chunks(x, k, starts, out_shape, params, threads):
        B = max(x.shape[0], k.shape[0])
        y = None
        if B >= chunks:
            step = -(-B // chunks)
            for a in range(0, B, step):
                sl = slice(a, min(a + step, B))
                part = run(x[sl] if x.shape[0] > 1 else x, k[sl] if k.shape[0] > 1 else k,
                           starts, out_shape, sub, threads)
                if y is None:
                    y = np.empty((B,) + tuple(out_shape), dtype=part.dtype)
                y[sl] = part
            return y
        L0, K0, N0, s0 = out_shape[0], k.shape[1], x.shape[1], starts[0]
        step = -(-L0 // chunks)
        for a in range(0, L0, step):
            b = min(a + step, L0)
            lo = max(s0 + a - (K0 - 1), 0)       # input rows these outputs read
            hi = min(s0 + b - 1, N0 - 1)
            if y is None:
                y = np.zeros((B,) + tuple(out_shape), dtype=np.result_type(x, k))
            if lo > hi:
                y[:, a:b] = 0
                continue
            y[:, a:b] = run(x[:, lo:hi + 1], k, (s0 + a - lo,) + tuple(starts[1:]),
                            (b - a,) + tuple(out_shape[1:]), sub, threads)
        return y
    return run_chunks


def result_shape(prep):
    """Shape of the result in the caller's layout (conv axes back in place)."""
    conv = dict(zip(prep.axes, prep.spec.out_shape))
    batch = iter(prep.batch_shape)
    return tuple(conv[d] if d in conv else next(batch) for d in range(prep.ndim))


def finish(prep, y, out):
    """Back to the caller's layout and result dtype (into ``out`` if given)."""
    nd = len(prep.axes)
    y = y.reshape(prep.batch_shape + prep.spec.out_shape)
    conv = tuple(range(y.ndim - nd, y.ndim))
    if conv != prep.axes:
        y = np.moveaxis(y, conv, prep.axes)
    if prep.spec.io and y.dtype.kind == "f":
        y = saturate(np.ascontiguousarray(y), prep.result_dtype)
    if out is not None:
        V.check_out(out, y.shape, prep.result_dtype)
        if not (y.dtype == out.dtype and y.strides == out.strides
                and y.__array_interface__["data"][0] == out.__array_interface__["data"][0]):
            np.copyto(out, y, casting="unsafe")   # (else the algorithm wrote into out)
        return out
    if y.dtype != prep.result_dtype:
        return y.astype(prep.result_dtype)
    if not y.flags.c_contiguous and y.base is not None:
        return _contiguous(y)
    return y


def _new(shape, dtype):
    """An uninitialised result array, from the pool of faulted-in blocks
    when large (``algorithms._common.result``): a fresh 134 MB array costs
    its page faults on every call (causal_conv1d on (8, 1024, 4096) float32:
    12.3 ms with them, 5.6 ms for the filter itself)."""
    from .algorithms._common import result

    return result(shape, dtype)


def _contiguous(y):
    """A C-contiguous copy of ``y``, made in parallel pieces when large."""
    from .algorithms._common import split_apply

    out = _new(y.shape, y.dtype)
    if y.ndim == 0:
        out[...] = y
        return out
    threads = _config.get_threads()
    ax = 1 if y.shape[0] < threads and y.ndim > 1 else 0   # split an axis with room

    def copy(a, b):
        sl = (slice(None),) * ax + (slice(a, b),)
        out[sl] = y[sl]

    split_apply(threads, y.shape[ax], y.size, copy)
    return out

    def copy(a, b):
        out[a:b] = y[a:b]

    ax0 = y.shape[0]
    if ax0 < _config.get_threads() and y.ndim > 1:
        def copy(a, b):          # noqa: F811  (too few rows: split the next axis)
            out[:, a:b] = y[:, a:b]
        ax0 = y.shape[1]
    split_apply(_config.get_threads(), ax0, y.size, copy)
    return out


def run_prepared(prep, plan, out):
    from .algorithms import FFT_METHODS

    method, params = plan.method, plan.params
    threads = _config.get_threads()
    if method in FFT_METHODS:
        if prep.spec.dtype[0] in "iu" and not prep.ints_fft_ok():
            method, params = "direct", {}
        elif not prep.finite():
            if plan._requested == "auto":
                method, params = "direct", {}
            else:
                warnings.warn(
                    f"Use of fft convolution on input with NaN or Inf results in NaN "
                    f"or Inf output: method={method!r} spreads them to every output; "
                    "use method='direct' (or 'auto') to keep them local",
                    RuntimeWarning, stacklevel=3)
    dest = _destination(prep, out)
    if dest is None:
        return finish(prep, execute(prep, method, params, threads), out)
    from .algorithms._common import destination

    with destination(dest):
        y = execute(prep, method, params, threads)
    return finish(prep, y, out)


def _destination(prep, out):
    """``out`` as the canonical (batch, *outputs) result array, when the
    algorithm can write into it directly: C-contiguous, writeable, the
    result's dtype (no cast, no rounding to an integer image), the
    convolution axes last and in order, and sharing no memory with anything
    the algorithm reads (else None: computed, then copied)."""
    if out is None or not (out.flags.c_contiguous and out.flags.writeable):
        return None
    spec = prep.spec
    nd = len(prep.axes)
    if (spec.io or out.dtype != np.dtype(spec.dtype) or out.dtype != prep.result_dtype
            or prep.axes != tuple(range(prep.ndim - nd, prep.ndim))):
        return None
    if any(isinstance(a, np.ndarray) and np.may_share_memory(a, out)
           for a in (prep.src, prep.ksrc, prep.k, prep._raw, prep._x)):
        return None
    return out.reshape((-1,) + tuple(spec.out_shape))


def convolve_impl(in1, in2, mode, method, axes, boundary, cval, out, accuracy,
                  op, dtypes=None, measure=False, saturate=False):
    from .planning.planner import choose

    method = V.check_method(method)
    accuracy = V.check_accuracy(accuracy)
    prep = prepare(in1, in2, mode=mode, axes=axes, boundary=boundary, cval=cval,
                   op=op, dtypes=dtypes, saturate=saturate)
    if out is not None:  # fail before computing
        V.check_out(out, result_shape(prep), prep.result_dtype)
    plan = choose(prep, method, accuracy, measure)
    return run_prepared(prep, plan, out)


def match_scores(x, xc, tshape, method, n, t_ss, t_ssd, tol, dtype, threads):
    """Template-matching scores from running window sums (the engine's entry
    to :func:`fastconv.algorithms.window.match_scores`; O(1) per output,
    no alternative to plan)."""
    from .algorithms import window

    return window.match_scores(x, xc, tshape, method, n, t_ss, t_ssd, tol, dtype, threads)


def stream_engine(hh, C, block_size, method, levels, backend, dtype, hcache):
    """The state machine of a streaming convolution (``fastconv.stream``),
    for the method and partition levels the planner chose
    (:mod:`fastconv.planning.stream`)."""
    from .algorithms.partitioned import Engine

    return Engine(hh, C, block_size, method, levels, backend, dtype, _config.get_threads(),
                  hcache)


def plan_impl(in1, in2, mode, method, axes, boundary, cval, op, accuracy, measure,
              dtypes=None):
    """Validate, prepare and plan (the engine behind :func:`fastconv.plan`)."""
    from .planning.planner import choose

    if op not in ("convolve", "correlate"):
        raise ValueError(f"op must be 'convolve' or 'correlate', got {op!r}")
    method = V.check_method(method)
    accuracy = V.check_accuracy(accuracy)
    if not isinstance(measure, bool):
        raise TypeError(f"measure must be a bool, got {measure!r}")
    prep = prepare(in1, in2, mode=mode, axes=axes, boundary=boundary, cval=cval, op=op,
                   dtypes=dtypes)
    return choose(prep, method, accuracy, measure)


def kernel_variants(variant):
    """Context manager: every parallel kernel in ``variant`` ("serial" or
    "parallel") inside the block, process-wide (warmup compiles both)."""
    from ._kernels import forced

    return forced(variant)


# ---------------------------------------------------------------- layers
# fastconv.nn reduces every layer product to one of these three calls: the
# planner (planning/layer.py) picks the algorithm, algorithms/layer.py runs it


def _layer_plan(op, x, w, stride, dilation, groups, pads, n, k, cin, cout, method,
                accuracy="default", data=None):
    """The layer's plan; ``data``: the arrays it will read, checked for NaN
    and infinities (a sum each) only when the plan is a transform method."""
    from .planning.layer import MIXING, LayerSpec, plan_layer

    spec = LayerSpec(op, x.shape[0], cin, cout, groups, tuple(n), tuple(k), tuple(stride),
                     tuple(dilation), tuple(tuple(p) for p in pads), x.dtype.str)
    plan = plan_layer(spec, method, accuracy)
    if data is not None and plan.method in MIXING:
        if any(_nonfinite(a) for a in data):
            plan = plan_layer(spec, method, accuracy, finite=False)
    return plan


def _finite_sum(a) -> bool:
    """Whether ``np.sum(a)`` is finite, the sum split over the threads for a
    large ``a`` (numpy's sums release the GIL): a single-threaded pass over a
    4096^2 float32 input was 5 ms of a 64 ms two-thread overlap-save, the
    part that did not scale (1 -> 2 threads 1.75x, the tiles 1.87x)."""
    from .algorithms._common import split_apply

    threads = _config.get_threads()
    axis = next((d for d in range(a.ndim) if a.shape[d] >= threads), None)
    if threads < 2 or a.size < (1 << 20) or axis is None:
        return bool(np.isfinite(np.sum(a)))
    sums = []

    def part(i, j):
        sl = (slice(None),) * axis + (slice(i, j),)
        sums.append(np.sum(a[sl]))
    with np.errstate(over="ignore", invalid="ignore"):
        split_apply(threads, a.shape[axis], a.size, part)
        return bool(np.isfinite(sum(sums)))


def _nonfinite(a):
    """Whether ``a`` holds a NaN or an infinity: a finite sum proves every
    term finite; an infinite one may be an overflow of finite terms, then
    each is checked."""
    with np.errstate(invalid="ignore", over="ignore"):
        return not (_finite_sum(a) or np.isfinite(a).all())


def _padded_products(pads, padding_mode, a):
    """Whether products of ``a`` with padded zeros must be left out: zero
    padding, some padding, and ``a`` (the factor that meets the padded
    zeros) holds a NaN or an infinity (``inf * 0`` would be NaN where
    torch's direct sums, skipping the padding, keep an infinity)."""
    return padding_mode == "zeros" and any(lo or hi for lo, hi in pads) and _nonfinite(a)


def layer_forward(x, w, stride, dilation, groups, pads, padding_mode="zeros",
                  method="auto", plan_only=False, accuracy="default"):
    """(N, C, *S) x (Co, C/g, *K) -> (N, Co, *O) with the input padded by
    ``pads`` under ``padding_mode``; arrays already in the compute dtype."""
    from .algorithms import layer

    plan = _layer_plan("forward", x, w, stride, dilation, groups, pads, x.shape[2:],
                       w.shape[2:], x.shape[1], w.shape[0], method, accuracy,
                       None if plan_only else (x, w))
    if plan_only:
        return plan
    K = w.shape[2:]
    if _padded_products(pads, padding_mode, w):
        return layer.forward_valid(x, w, stride, dilation, groups, pads, plan.spec.out_shape())
    if plan.method == "depthwise" and len(K) == 2 and not _depthwise2d_cold(x, w, K):
        return _depthwise2d(x, w, stride, dilation, pads, padding_mode)
    if plan.method == "depthwise" and all(s == 1 and d == 1 and k % 2 and lo == hi == k // 2
                                          for s, d, k, (lo, hi) in zip(stride, dilation, K, pads)):
        # 'same' with the padding applied virtually by the engine (no padded copy)
        return convolve_impl(x, w[None, :, 0], "same", "auto", tuple(range(2, x.ndim)),
                             layer.PAD_MODES[padding_mode], 0, None, "default", "correlate")
    wino = {"winograd": 2, "winograd4": 4}.get(plan.method)
    if wino and padding_mode == "zeros":
        return layer.forward_winograd(x, w, pads, _config.get_threads(), wino)
    xp = layer.pad(x, pads, padding_mode)
    if plan.method == "fft":
        return layer.forward_fft(xp, w, dilation, groups, _config.get_threads())
    if plan.method == "depthwise" and not any(s > 1 and d > 1 for s, d in zip(stride, dilation)):
        return _depthwise(xp, w[:, 0], stride, dilation)
    if plan.method == "im2col":
        return layer.forward_im2col(xp, w, stride, dilation, groups, _config.get_threads())
    if wino:
        return layer.forward_winograd(xp, w, nthreads=_config.get_threads(), m=wino)
    return layer.forward(xp, w, stride, dilation, groups)


def _depthwise2d_cold(x, w, K):
    """Whether the 2-D depthwise kernel would be compiled for this call
    while little work has asked for it: then the engine's per-tap path runs
    (compiled in a fraction of a second), as the cold-start rule of
    ``_kernels.Parallel`` does for serial loops (the kernel's first compile
    took 8.5 s, the issue-17 budget for a first call is 3 s)."""
    from ._kernels.layer import depthwise2d

    probe = np.empty((0,) * 4, x.dtype)
    args = (probe, np.empty((0,) * 3, x.dtype), probe, 0, 0, 0, 0, 0, 0)
    return depthwise2d.cold(args, x.size * K[0] * K[1])


def _depthwise2d(x, w, stride, dilation, pads, padding_mode):
    """2-D depthwise layers on their own kernel (``_kernels.layer``): zero
    padding applied virtually, other modes padded first."""
    from ._kernels.layer import depthwise2d
    from .algorithms import layer
    from .algorithms.direct import apply_threads

    if padding_mode != "zeros":
        x = layer.pad(x, pads, padding_mode)
        pads = [(0, 0), (0, 0)]
    K = w.shape[2:]
    O = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, k, s, d, (lo, hi)
              in zip(x.shape[2:], K, stride, dilation, pads))
    y = layer.touched(x.shape[:2] + O, x.dtype)
    apply_threads(y.size * K[0] * K[1], _config.get_threads())
    depthwise2d(np.ascontiguousarray(x), np.ascontiguousarray(w[:, 0]), y, pads[0][0],
                pads[1][0], stride[0], stride[1], dilation[0], dilation[1])
    return y


def _depthwise2d_wgrad(x, gy, kshape, dilation, pads, padding_mode):
    """The weight gradient of a stride-1 2-D depthwise layer on its own
    kernel (``_kernels.layer.depthwise2d_wgrad``: per channel, flattened
    multiply-adds into per-tap partial sums, float64 totals): 8 x 32 x
    112^2 3x3 float32 24 -> 3 ms, against a dot product per tap over all
    channels (numpy's einsum) before.  Memory: per running channel a padded
    plane, a gradient plane and the partial sums (below the input's size)."""
    from ._kernels.layer import depthwise2d_wgrad
    from .algorithms import layer
    from .algorithms.direct import apply_threads

    if padding_mode != "zeros":
        x = layer.pad(x, pads, padding_mode)
        pads = [(0, 0), (0, 0)]
    out = np.zeros((x.shape[1],) + tuple(kshape))
    apply_threads(gy.size * kshape[0] * kshape[1], _config.get_threads())
    depthwise2d_wgrad(np.ascontiguousarray(x), np.ascontiguousarray(gy), out, pads[0][0],
                      pads[1][0], dilation[0], dilation[1])
    return out.astype(x.dtype)[:, None]


def _depthwise(xp, wk, stride, dilation):
    """Depthwise forward (one channel per group) on the engine's direct
    correlation, channel ``c`` of every image with kernel ``wk[c]``: a dim
    with dilation ``d`` splits the output into its ``d`` phases (phase ``r``
    is the dense correlation of input phase ``r``), a dim with stride ``s``
    splits the input into ``s`` phases, each correlated with the kernel's
    taps of that phase and summed; no output is computed and thrown away,
    no tap is a zero.  (A dim with both takes ``algorithms.layer.forward``.)"""
    D = wk.ndim - 1
    K = wk.shape[1:]
    Sp = xp.shape[2:]
    O = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(Sp, K, stride, dilation))
    y = np.zeros(xp.shape[:2] + O, dtype=xp.dtype)
    axes = tuple(range(2, 2 + D))
    if all(s == 1 and d == 1 for s, d in zip(stride, dilation)):
        return convolve_impl(xp, wk[None], "valid", "auto", axes, "constant", 0, None, "default",
                             "correlate")
    outer = [range(d) if d > 1 else range(1) for d in dilation]        # output phases
    inner = [range(s) if s > 1 else range(1) for s in stride]          # input phases
    for rho in itertools.product(*outer):
        for r in itertools.product(*inner):
            xsel, wsel, ysel, crop = [], [], [], []
            for i in range(D):
                if dilation[i] > 1:
                    xsel.append(slice(rho[i], None, dilation[i]))
                    wsel.append(slice(None))
                    ysel.append(slice(rho[i], None, dilation[i]))
                    crop.append(-(-(O[i] - rho[i]) // dilation[i]))
                else:
                    s = stride[i]
                    xsel.append(slice(r[i], None, s))
                    wsel.append(slice(r[i], None, s))
                    ysel.append(slice(None))
                    crop.append(O[i])
            xs = xp[(slice(None), slice(None)) + tuple(xsel)]
            ws = wk[(slice(None),) + tuple(wsel)]
            if 0 in ws.shape or 0 in crop:
                continue
            part = convolve_impl(xs, ws[None], "valid", "auto", axes, "constant", 0, None,
                                 "default", "correlate")
            y[(slice(None), slice(None)) + tuple(ysel)] += \
                part[(Ellipsis,) + tuple(slice(0, c) for c in crop)]
    return y


def layer_transpose(g, w, stride, dilation, groups, pads, out_shape, method="auto",
                    plan_only=False, accuracy="default"):
    """The adjoint of :func:`layer_forward` with zero padding: (N, Ci, *L) and
    weights (Ci, Co/g, *K) -> (N, Co, *out_shape), the full result cropped
    from ``pads[i][0]`` (zeros past its end: output padding)."""
    from .algorithms import layer

    K = w.shape[2:]
    reach = [d * (k - 1) for k, d in zip(K, dilation)]
    if method == "auto" and not plan_only and all(s == 1 for s in stride) and \
            all(lo <= r for (lo, _), r in zip(pads, reach)):
        # stride 1: the forward correlation of the input padded by d*(K-1) - p
        # with the weights' channels exchanged per group and taps reversed
        # (planned as a forward product: im2col, taps-gemm, depthwise, fft)
        ci, og = w.shape[:2]
        cg = ci // groups
        wf = w.reshape((groups, cg, og) + K).swapaxes(1, 2).reshape((groups * og, cg) + K)
        wf = np.ascontiguousarray(wf[(slice(None), slice(None)) + (slice(None, None, -1),) * len(K)])
        fpads = [(r - lo, o - (n + r - lo) + r) for (lo, _), r, n, o
                 in zip(pads, reach, g.shape[2:], out_shape)]
        if all(hi >= 0 for _, hi in fpads):
            return layer_forward(g, wf, stride, dilation, groups, fpads, accuracy=accuracy)
    plan = _layer_plan("transpose", g, w, stride, dilation, groups, pads, g.shape[2:],
                       w.shape[2:], g.shape[1], w.shape[1] * groups, method, accuracy,
                       None if plan_only else (g, w))
    if plan_only:
        return plan
    if plan.method == "fft":
        full = layer.transpose_fft(g, w, dilation, groups, _config.get_threads())
    elif plan.method == "col2im":
        full = layer.transpose_col2im(g, w, stride, dilation, groups)
    else:
        full = layer.transpose(g, w, stride, dilation, groups)
    out = np.zeros(g.shape[:1] + (full.shape[1],) + tuple(out_shape), dtype=full.dtype)
    src = tuple(slice(lo, min(lo + o, f)) for (lo, _), o, f in zip(pads, out_shape,
                                                                   full.shape[2:]))
    dst = tuple(slice(0, s.stop - s.start) for s in src)
    out[(slice(None), slice(None)) + dst] = full[(slice(None), slice(None)) + src]
    return out


def layer_weight_grad(x, gy, kshape, stride, dilation, groups, pads, padding_mode="zeros",
                      method="auto", accuracy="default"):
    """d(loss)/d(weights) of :func:`layer_forward` from its input and output
    gradient: (Co, C/g, *kshape)."""
    from .algorithms import layer

    # an infinite or NaN output gradient next to zero padding: no product
    # with a padded zero, whatever the method (checked once: the plan's own
    # check for its transform methods then reads only x)
    zero_pad = padding_mode == "zeros" and any(lo or hi for lo, hi in pads)
    if zero_pad and _nonfinite(gy):
        return layer.weight_grad_valid(x, gy, tuple(kshape), stride, dilation, groups, pads)
    plan = _layer_plan("weight", x, gy, stride, dilation, groups, pads, x.shape[2:], kshape,
                       x.shape[1], gy.shape[1], method, accuracy, (x,) if zero_pad else (x, gy))
    if plan.method == "depthwise" and len(kshape) == 2 and tuple(stride) == (1, 1):
        # (the plan's estimate, checked against the budget above, covers
        # this kernel's: a padded input at most)
        return _depthwise2d_wgrad(x, gy, kshape, dilation, pads, padding_mode)
    xp = layer.pad(x, pads, padding_mode)
    if plan.method == "winograd":
        return layer.weight_grad_winograd(xp, gy, _config.get_threads())
    if plan.method == "im2col":
        return layer.weight_grad_im2col(xp, gy, tuple(kshape), stride, dilation, groups)
    return layer.weight_grad(xp, gy, tuple(kshape), stride, dilation, groups)


def layer_input_grad(gy, w, in_shape, stride, dilation, groups, pads, padding_mode="zeros",
                     method="auto", accuracy="default"):
    """d(loss)/d(input) of :func:`layer_forward`: the adjoint of the padded
    convolution, the padding's adjoint included (other modes than zeros
    fold the padded border back onto the input positions it copied)."""
    from .algorithms import layer

    if padding_mode == "zeros":
        return layer_transpose(gy, w, stride, dilation, groups, pads, in_shape, method,
                               accuracy=accuracy)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_shape, pads))
    gp = layer_transpose(gy, w, stride, dilation, groups, [(0, 0)] * len(pads), padded, method,
                         accuracy=accuracy)
    return layer.pad_adjoint(gp, in_shape, pads, padding_mode)


def layer_transpose_input_grad(gy, w, in_shape, stride, dilation, groups, padding):
    """d(loss)/d(input) of the transposed convolution (:func:`layer_transpose`
    cropped at ``padding``): its adjoint is the forward correlation of ``gy``
    padded by ``padding``, whose first ``in_shape`` outputs are the gradient
    (output padding's extra rows got no contribution, so they are never read)."""
    gi = layer_forward(gy, w, stride, dilation, groups, [(p, p) for p in padding])
    return np.ascontiguousarray(gi[(Ellipsis,) + tuple(slice(0, n) for n in in_shape)])


def layer_transpose_weight_grad(x, gy, kshape, stride, dilation, groups, padding):
    """d(loss)/d(weights) of the transposed convolution: the forward
    product's weight gradient with the roles exchanged (its input is ``gy``
    padded by ``padding``, its output gradient ``x``)."""
    return layer_weight_grad(gy, x, kshape, stride, dilation, groups,
                             [(p, p) for p in padding])


# ----------------------------------------------------- sequence models
def long_conv_plan(u, Lk, mode, method="auto", prepared=None):
    """The plan (planning.sequence) for ``u`` (B, H, L) and ``Lk`` taps."""
    from .planning import sequence as ps

    B, H, L = u.shape
    return ps.plan(B, H, L, Lk, u.dtype.itemsize, mode, method, prepared)


def long_conv_spectra(k1, k2, mode, method, params):
    from .algorithms import sequence as alg

    return alg.spectra(k1, k2, mode, method, params)


def long_conv(u, k1, k2, mode, skip, method="auto", prepared=None):
    """``u`` (B, H, L) with kernels ``k1`` (and ``k2``, bidirectional) of
    (H or 1, Lk) in the compute dtype; ``prepared``: (method, params,
    spectra) made earlier for this length.  Returns y (B, H, L), or None
    when a transform method saw NaN or infinity (in its zero-frequency
    bins): the front end then runs the namespace engine's products of the
    definition (``backends.layers.long_conv``) instead of one NaN spread
    over every output."""
    from .algorithms import sequence as alg

    Lk = k1.shape[1]
    if prepared is not None:
        pm, params, spec = prepared
        plan = long_conv_plan(u, Lk, mode, prepared=(pm, params))
    else:
        plan = long_conv_plan(u, Lk, mode, method)
        spec = alg.kept_spectra(k1, k2, mode, plan.method, plan.params)
    # NaN / infinity in the kernels or u, seen in the transforms' DC bins (the
    # sums of the kernel's taps and of u's rows or blocks): the direct sums
    # need no check, the transforms would spread them
    bad = [] if plan.method == "direct" or np.isfinite(spec[0][..., 0]).all() else [True]
    y = _new(u.shape, u.dtype)
    if not bad:
        alg.forward(u, spec, mode, plan.method, plan.params, y, bad)
    if bad:
        return None
    if skip is not None:
        y += u * skip[:, None]
    return y


def long_conv_grads(g, u, k1, k2, mode, skip):
    """(grad_u, grad_k1, grad_k2, grad_skip) of :func:`long_conv`, or None
    when NaN or infinity was seen (as :func:`long_conv`)."""
    from .algorithms import sequence as alg
    from .planning.sequence import fast_len

    B, H, L = u.shape
    Hk, Lk = k1.shape
    plan = long_conv_plan(u, Lk, mode)
    bad = []      # NaN / infinity seen in the transforms' DC bins (see long_conv)
    if plan.method == "partitioned":
        # the forward's method: the input's gradient is the same convolution
        # backwards in time, the kernel's from the blocks' spectra
        spec = alg.kept_spectra(k1, None, mode, plan.method, plan.params)
        if not np.isfinite(spec[0][..., 0]).all():
            bad.append(True)
        else:
            gu, gk1 = alg.grads_partitioned(g, u, spec, plan.params, Hk, Lk, bad=bad)
        gk2 = None
    else:
        n = L if mode == "circular" else fast_len(L + Lk - 1)
        gu, gk1, gk2 = alg.grads(g, u, k1, k2, mode, n, Hk, Lk, bad=bad)
    if bad:
        return None
    gs = None
    if skip is not None:
        gu += g * skip[:, None]
        gs = np.einsum("bht,bht->h", g, u, dtype=np.float64).astype(u.dtype)
    return gu, gk1, gk2, gs


def causal_conv1d(x, w, bias, act):
    """(B, D, L) rows filtered causally by (D, K) taps, bias, act (0/1 SiLU)."""
    from .algorithms.sequence import causal_filter

    B, D, L = x.shape
    y = _new(x.shape, x.dtype)
    _config.numba_threads(_config.get_threads(), x.size * w.shape[1])
    b = bias if bias is not None else np.zeros(0, x.dtype)
    causal_filter(x.reshape(-1, L), w, b, y.reshape(-1, L), act)
    return y


def causal_conv1d_step(x, state, w, bias, act):
    """One token of :func:`causal_conv1d`: ``x`` (B, D), ``state`` (B, D,
    K-1) the last inputs (updated in place), ``w`` (D, K) in torch's order
    (the last tap on the newest input); returns (B, D) in ``x``'s dtype."""
    window = np.concatenate([state.astype(x.dtype, copy=False), x[:, :, None]], axis=2)
    y = np.einsum("bdk,dk->bd", window, w, dtype=np.float64)
    if bias is not None:
        y += bias
    if act:
        y = y / (1 + np.exp(-y))
    if w.shape[1] > 1:
        state[...] = window[:, :, 1:]
    return y.astype(x.dtype)


def causal_conv1d_grads(g, x, w, bias, act):
    """(grad_x, grad_w, grad_bias) of :func:`causal_conv1d`."""
    from ._kernels.sequence import tap_grads, taps_rows

    B, D, L = x.shape
    K = w.shape[1]
    _config.numba_threads(_config.get_threads(), x.size * K)
    if act:
        from .algorithms.sequence import causal_filter

        z = np.empty_like(x)
        b = bias if bias is not None else np.zeros(0, x.dtype)
        causal_filter(x.reshape(-1, L), w, b, z.reshape(-1, L), 0)
        s = 1.0 / (1.0 + np.exp(-z))
        g = g * (s * (1 + z * (1 - s)))
    gx = _new(x.shape, x.dtype)
    taps_rows(g.reshape(-1, L), w, gx.reshape(-1, L), -1, False, False)
    gw = tap_grads(x.reshape(-1, L), g.reshape(-1, L), D, K, 1, False).astype(x.dtype)
    gb = g.sum(axis=(0, 2), dtype=np.float64).astype(x.dtype) if bias is not None else None
    return gx, gw, gb


# ----------------------------------------------- probability and statistics
def _direct_full(a, b):
    """Full 1-D convolution by the engine's direct method (non-negative
    float64 in, every entry to rounding)."""
    return convolve_impl(a, b, "full", "direct", None, "constant", 0, None, "default",
                         "convolve")


def pmf_sum(parts, method, rtol):
    """(pmf, info) of the sum of independent variables (float64 pmfs, or
    int64 counts: exact)."""
    from .algorithms import stats as alg
    from .planning import stats as ps

    if parts[0].dtype.kind in "iu":
        acc = parts[0]
        for p in parts[1:]:
            acc = convolve_impl(acc, p, "full", "auto", None, "constant", 0, None, "default",
                                "convolve")
        return acc, {"method": "exact-integer"}
    plan = ps.sum_plan([p.size for p in parts], method)
    if plan.method == "direct":
        acc = parts[0]
        for p in sorted(parts[1:], key=len):
            acc = _direct_full(acc, p)
        return acc, {"method": "direct", "plan": plan}
    g, info = alg.sum_tilted(parts, plan.params["N"], rtol)
    return g, {"method": "fft", "plan": plan, **info}


def pmf_power(p, n, method, rtol):
    from .algorithms import stats as alg
    from .planning import stats as ps

    if p.dtype.kind in "iu":
        return _power_direct(p, n, lambda a, b: convolve_impl(
            a, b, "full", "auto", None, "constant", 0, None, "default", "convolve")), \
            {"method": "exact-integer"}
    plan = ps.power_plan(p.size, n, method)
    if plan.method == "direct":
        return _power_direct(p, n, _direct_full), {"method": "direct", "plan": plan}
    g, info = alg.power_tilted(p, n, plan.params["N"], rtol)
    return g, {"method": "fft", "plan": plan, **info}


def _power_direct(p, n, conv, limit=None):
    """p^{*n} by repeated squaring (truncated to ``limit`` entries)."""
    out, base, e = None, p, n
    while True:
        if e & 1:
            out = base if out is None else conv(out, base)[:limit]
        e >>= 1
        if not e:
            return out
        base = conv(base, base)[:limit]


def compound(f, freq, n, N, method, rtol):
    """(pmf on n buckets, info) of the compound sum with severity ``f`` and
    frequency ``freq`` (see ``algorithms.stats``); N: transform length."""
    from .algorithms import stats as alg
    from .planning import stats as ps

    panjer_ok, splits = freq[0] in ("poisson", "nbinom", "binom"), 0
    if panjer_ok:
        a, b, lg0 = panjer_ab(freq)
        # P(S=0) must be a normal float: split the frequency into 2^k
        # copies whose P(S=0) is, run the recursion, square k times
        while lg0(f[0]) < -600 and splits < 60:
            splits += 1
            sub = alg.split_frequency(freq, splits)
            if freq[0] == "binom" and (freq[1] % 2 ** splits or sub[1] == 0):
                panjer_ok = False
                break
            a, b, lg0 = panjer_ab(sub)
    plan = ps.compound_plan(f.size, n, N, panjer_ok, splits, method)
    if plan.method == "panjer":
        sub = alg.split_frequency(freq, splits) if splits else freq
        a, b, lg0 = panjer_ab(sub)
        g = alg.panjer(f, a, b, lg0(f[0]), n)
        if splits:
            g = _power_direct(g, 2 ** splits, _direct_full, limit=n)
        return g, {"method": "panjer", "plan": plan, "splits": splits}
    g, info = alg.compound_adaptive(f, freq, n, N, rtol, ps.compound_max_len(n, N))
    return g, {"method": "fft", "plan": plan, **info}


def panjer_ab(freq):
    from .algorithms.stats import panjer_ab as ab

    return ab(freq)


def compound_tail(f, freq, lt, N):
    """log of a Chernoff bound on P(S >= N) (tilt ``lt``)."""
    from .algorithms.stats import tail_log_bound

    return tail_log_bound(f, freq, lt, N)


def bin_linear(points, weights, lo, delta, shape):
    from .algorithms.stats import bin_linear as b

    return b(points, weights, lo, delta, shape)


def rolling_mean(x2, window, offset, min_periods, omit):
    from .algorithms.stats import rolling_mean as r

    return r(x2, window, offset, min_periods, omit)


def finite_scan(x2):
    from .algorithms.stats import finite_scan as f

    return f(x2)


def weighted_edges(num, w, off, min_periods):
    from .algorithms.stats import weighted_edges as f

    return f(num, w, off, min_periods)


def weighted_finish(x2, num, den, w, off, min_periods, omit, out=None):
    from .algorithms.stats import weighted_finish as f

    return f(x2, num, den, w, off, min_periods, omit, out)


def ewm_mean(x2, decay, adjust, ignore_na, min_periods):
    from .algorithms.stats import ewm_mean as e

    return e(x2, decay, adjust, ignore_na, min_periods)


# ------------------------------------------------------------------ physics
def heat(u0, D, times, boundary, dx):
    from .algorithms.physics import heat as h

    return h(u0, D, times, boundary, dx)


def heat_pad(D, t, dx):
    from .algorithms.physics import pad_cells

    return pad_cells(D, t, dx)


def perona_malik(u, k2, dt, g, n_iter):
    from .algorithms.physics import perona_malik as pm

    return pm(u, k2, dt, g, n_iter)


def free_particle(psi0, times, mass, hbar, dx, absorbing, strength, max_phase):
    from .algorithms.physics import free_particle as fp

    return fp(psi0, times, mass, hbar, dx, absorbing, strength, max_phase)
