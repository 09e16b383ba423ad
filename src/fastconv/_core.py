"""The engine behind every front end: validate once, canonicalise, plan, run.

``prepare`` turns public arguments into a :class:`Prepared` problem (a
ConvSpec plus canonical arrays), ``choose`` (planner) picks the algorithm,
``execute`` runs it and ``finish`` restores the caller's layout and dtype.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _config
from . import _validate as V
from .planning.spec import ConvSpec


class Prepared:
    """A validated problem: spec, canonical arrays and how to undo the layout."""

    __slots__ = ("spec", "raw", "pads", "_x", "k", "batch_shape", "axes", "ndim",
                 "result_dtype", "args", "_ints_ok")

    @property
    def x(self):
        """The canonical input, boundary extension applied (padded on first use).

        ``raw`` is the input before extension and ``pads`` the extension per
        axis; methods that apply the boundary rule virtually read those and
        never make the padded copy.
        """
        if self._x is None:
            boundary, cval = self.args["boundary"], self.args["cval"]
            if boundary == "constant":
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

            xmax = float(np.max(np.abs(self.raw)))
            if self.spec.padded and self.args["boundary"] == "constant":
                xmax = max(xmax, abs(complex(self.args["cval"])))
            kmax = float(np.max(np.abs(self.k))) if self.k.size else 0.0
            self._ints_ok = fft_exact_for_ints(self.spec, xmax, kmax)
        return self._ints_ok

    def separable_terms(self):
        """Number of rank-1 terms if the kernel is usefully low-rank, else None."""
        spec = self.spec
        if spec.dtype[0] in "iu" or spec.bk > 1 or spec.ndim < 2 or spec.taps < 9:
            return None
        from .algorithms.separable import factors

        t = factors(self.k[0], spec.dtype)
        return None if t is None else len(t)

    def finite(self) -> bool:
        if self.spec.dtype[0] in "iu":
            return True
        # a finite sum proves every term finite (no temporary); only an
        # overflowing sum needs the elementwise check
        if not np.isfinite(complex(self.args["cval"])):
            return False
        for a in (self.k, self.raw):
            if not np.isfinite(np.sum(a)) and not np.isfinite(a).all():
                return False
        return True

    def rebind(self, in1, in2):
        new = prepare(in1, in2, **self.args)
        if new.spec != self.spec or new.result_dtype != self.result_dtype:
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
    return a.reshape((-1,) + conv)


def prepare(in1, in2, *, mode="full", axes=None, boundary="constant", cval=0,
            op="convolve", dtypes=None) -> Prepared:
    """Validate and canonicalise; see module docstring."""
    a = V.as_array(in1, "in1")
    b = V.as_array(in2, "in2")
    mode = V.check_mode(mode)
    boundary = V.check_boundary(boundary)
    cval = V.check_cval(cval)
    V.check_operands(a, b)
    ax = V.check_axes(axes, a.ndim)
    nd = len(ax)
    for name, arr in (("in1", a), ("in2", b)):
        for d in ax:
            if arr.shape[d] == 0:
                raise ValueError(f"{name} has length 0 along convolution axis {d}; "
                                 f"convolution with an empty array is not defined")
    cd, rd = V.dtype_policy(a.dtype, b.dtype) if dtypes is None else map(np.dtype, dtypes)
    if cd.kind in "iu" and boundary == "constant" and cval != 0:
        if complex(cval).imag != 0 or float(np.real(cval)) != int(np.real(cval)):
            raise ValueError(f"cval={cval!r} is not an integer, but in1/in2 are "
                             f"integers (computed exactly as {cd}); pass float arrays")
    if cd.kind != "c" and complex(cval).imag != 0:
        raise ValueError(f"cval={cval!r} is complex but in1/in2 are real")
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
        if all(K >= N for N, K in zip(n, m)):
            a, b, n, m = b, a, m, n        # convolution commutes
        else:
            raise ValueError(
                f"mode='valid' needs one input at least as large as the other on "
                f"every convolution axis, got {n} and {m}")
    try:
        ba, bb = a.shape[:a.ndim - nd], b.shape[:b.ndim - nd]
        bshape = ba if ba == bb else np.broadcast_shapes(ba, bb)
    except ValueError:
        raise ValueError(
            f"the non-convolution (batch) axes of in1 {a.shape[:a.ndim - nd]} and "
            f"in2 {b.shape[:b.ndim - nd]} do not broadcast") from None
    x = _flatten_batch(a, bshape, nd, "in1").astype(cd, copy=False)
    k = _flatten_batch(b, bshape, nd, "in2").astype(cd, copy=False)
    if mode == "full":
        starts = (0,) * nd
        out_shape = tuple(N + K - 1 for N, K in zip(n, m))
    elif mode == "same":
        starts = tuple((K - 1) // 2 for K in m)
        out_shape = tuple(n)
    else:
        starts = tuple(K - 1 for K in m)
        out_shape = tuple(N - K + 1 for N, K in zip(n, m))
    padded = mode != "valid" and not (boundary == "constant" and cval == 0)
    p = Prepared()
    p.raw, p._x, p.pads = x, x, None
    if padded:                       # the padded copy is made lazily (see Prepared.x)
        p.pads = [(0, 0)] + [(K - 1 - s, s + L - N)
                             for N, K, s, L in zip(n, m, starts, out_shape)]
        p._x = None
        n = tuple(N + lo + hi for N, (lo, hi) in zip(n, p.pads[1:]))
        starts = tuple(K - 1 for K in m)
    p.spec = ConvSpec(n=tuple(n), m=tuple(m), batch=max(x.shape[0], k.shape[0]),
                      bx=x.shape[0], bk=k.shape[0], dtype=cd.str.lstrip("<>=|"),
                      starts=starts, out_shape=out_shape, mode=mode,
                      boundary=boundary, padded=padded)
    p.k = k
    p.batch_shape = tuple(bshape)
    p.axes = ax
    p.ndim = a.ndim
    p.result_dtype = np.dtype(rd)
    p.args = dict(mode=mode, axes=axes, boundary=boundary, cval=cval, op=op,
                  dtypes=dtypes)
    p._ints_ok = None
    return p


def execute(prep, method, params, threads):
    """Run one algorithm on the canonical arrays; returns (B, *L) in compute dtype.

    ``params['chunks'] > 1`` (set by the planner when a method's working
    memory would exceed the budget) runs the problem in that many pieces,
    over the batch or the first convolution axis, into one output array.
    """
    from .algorithms import FFT_METHODS, REGISTRY

    spec = prep.spec
    chunks = (params or {}).get("chunks", 1)
    lo, hi = prep.pads[-1] if prep.pads else (0, 0)
    # direct applies the rule per edge column (scalar work ~ pad x taps per
    # row): virtual only when the edge columns are a small part of the row,
    # else the padded copy is cheaper (and is what the cost model assumes);
    # the 2-D vector kernel copies edge columns into small buffers: always
    from .algorithms import direct as _direct

    virtual_ok = method == "separable" or (method == "direct" and (
        lo + hi <= max(16, spec.out_shape[-1] // 8)
        or _direct.uses_simd(len(spec.m), spec.dtype, spec.m)))
    if spec.padded and spec.boundary != "constant" and chunks == 1 and virtual_ok:
        # the boundary rule through index maps: no padded copy
        from .algorithms import direct, separable

        y = (separable if method == "separable" else direct).run_virtual(
            prep.raw, prep.k, prep.pads, spec.boundary, spec.out_shape, params, threads)
        if y is not None:
            return y
    x, k = prep.x, prep.k
    run = REGISTRY[method]
    if chunks > 1:
        sub = {kk: v for kk, v in params.items() if kk not in ("chunks", "lengths")}
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
    if out is not None:
        V.check_out(out, y.shape, prep.result_dtype)
        np.copyto(out, y, casting="unsafe")
        return out
    if y.dtype != prep.result_dtype:
        return y.astype(prep.result_dtype)
    return np.ascontiguousarray(y) if not y.flags.c_contiguous and y.base is not None else y


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
                    f"method={method!r} with NaN or Inf in the input spreads them to "
                    "every output; use method='direct' (or 'auto') to keep them local",
                    RuntimeWarning, stacklevel=3)
    return finish(prep, execute(prep, method, params, threads), out)


def convolve_impl(in1, in2, mode, method, axes, boundary, cval, out, accuracy,
                  op, dtypes=None, measure=False):
    from .planning.planner import choose

    method = V.check_method(method)
    accuracy = V.check_accuracy(accuracy)
    prep = prepare(in1, in2, mode=mode, axes=axes, boundary=boundary, cval=cval,
                   op=op, dtypes=dtypes)
    if out is not None:  # fail before computing
        V.check_out(out, result_shape(prep), prep.result_dtype)
    plan = choose(prep, method, accuracy, measure)
    return run_prepared(prep, plan, out)
