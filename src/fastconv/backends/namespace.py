"""The namespace engine: convolution for any array-API array (PyTorch CPU or
CUDA, CuPy, JAX, array-api-strict), with the array's own FFT and ops, the
result the same type on the same device.

Semantics are the NumPy engine's (``fastconv.convolve``): the convolution
axes are ``axes`` (default all), the other axes broadcast as batches; the
boundary rule extends the input (numpy.pad's names) before a 'valid'
convolution, so every method gives the same answer for every boundary;
'full' / 'same' / 'valid' as scipy.  The dtype policy: float32 stays
float32, complex stays complex, integers are exact (int64 accumulation,
a ValueError naming the parameters when the result could exceed it).

Methods (the planner in ``planning/namespace.py`` chooses by a cost model
per device kind):

* ``direct``: one multiply-add of a shifted view per kernel tap, or, for
  PyTorch float tensors with 1-3 convolution axes, ``torch.nn.functional``'s
  convolution (oneDNN on the CPU, cuDNN on CUDA).
* ``fft``: ``rfftn`` / ``fftn`` of both at a fast length, product, inverse.
* ``overlap-save``: the input gathered into overlapping frames on every
  convolution axis (one index gather per axis, no loop, no item
  assignment), all frames transformed as one batch, multiplied by the
  kernel's spectrum (computed once), inverse transformed, the valid part of
  every frame kept: transforms of a few times the kernel's length instead
  of the whole signal's (a long signal with a long kernel).  Overlap-add
  needs a scatter-add the array API lacks (and JAX arrays are immutable):
  not offered here.

NaN and infinity give the products of the definition for every method
(:func:`nonfinite_guard`), as the NumPy engine does.

What a backend cannot do raises a TypeError / ValueError naming the backend
and the parameter (``out=``, ``nan_policy``, masks: NumPy arrays only).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as V
from .._core import geometry

#: dtype names the engine knows, in the array API's vocabulary
_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64", "complex64", "complex128")


def namespace(*arrays):
    """The array API namespace of ``arrays`` (array-api-compat wraps torch,
    cupy and jax); arrays of two libraries are a TypeError."""
    # (JAX's arrays and tracers live in both jax and jaxlib)
    roots = {type(a).__module__.split(".")[0].replace("jaxlib", "jax") for a in arrays
             if hasattr(a, "shape")}
    if len(roots) > 1:
        raise TypeError(f"in1/in2 are arrays of different libraries ({', '.join(sorted(roots))})"
                        f"; convert one to the other's type")
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - depends on the environment
        raise TypeError(f"fastconv needs array-api-compat for {type(arrays[0]).__module__} "
                        f"arrays: pip install 'fastconv[torch]' (or [cupy])") from None
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as e:
        raise TypeError(f"in1/in2: arrays of different libraries or unsupported types "
                        f"({type(arrays[0]).__name__}, {type(arrays[-1]).__name__}): {e}") \
            from None


def backend_name(xp) -> str:
    name = getattr(xp, "__name__", str(xp))
    for key in ("torch", "cupy", "jax", "array_api_strict", "numpy"):
        if key in name:
            return key
    return name


def np_dtype(xp, dt) -> np.dtype:
    """The NumPy dtype of the namespace dtype ``dt``."""
    for n in _NAMES:
        if hasattr(xp, n) and dt == getattr(xp, n):
            return np.dtype(n)
    raise TypeError(f"in1/in2: dtype {dt} of the {backend_name(xp)} backend is not supported "
                    f"(use a float, complex or integer dtype)")


def xp_dtype(xp, dt: np.dtype):
    return getattr(xp, np.dtype(dt).name)


def device_kind(x) -> str:
    """'cpu' or 'cuda' (or the device's own name)."""
    import array_api_compat

    d = array_api_compat.device(x)
    s = str(getattr(d, "type", d)).lower()
    if "cuda" in s or "gpu" in s:
        return "cuda"
    return "cpu" if "cpu" in s or s in ("", "none") else s


# ----------------------------------------------------------- boundaries
def _extend(xp, x, axis, lo, hi, boundary, cval):
    """``x`` extended by ``lo`` / ``hi`` samples along ``axis`` by the rule."""
    if lo == 0 and hi == 0:
        return x
    n = x.shape[axis]
    if boundary == "constant":
        parts = []
        for k in (lo, hi):
            shape = list(x.shape)
            shape[axis] = k
            parts.append(xp.full(tuple(shape), cval, dtype=x.dtype, device=_dev(x)))
        return xp.concat([parts[0], x, parts[1]], axis=axis)
    # where each extended sample comes from: numpy.pad's rule on indices (as
    # fastconv.dask extends its chunks)
    idx = np.pad(np.arange(n, dtype=np.int64), (lo, hi), mode=boundary)
    return xp.take(x, xp.asarray(idx, device=_dev(x)), axis=axis)


def _dev(x):
    import array_api_compat

    return array_api_compat.device(x)


# ----------------------------------------------------------- the engine
def plan(in1, in2, mode="full", method="auto", axes=None, boundary="constant", cval=0,
         op="convolve"):
    """The plan :func:`convolve` would run, bound to these arguments."""
    got = convolve(in1, in2, mode, method, axes, boundary, cval, op, _plan_only=True)
    chosen = got.method
    got.run = lambda a, b: convolve(a, b, mode, chosen, axes, boundary, cval, op)
    return got


def convolve(in1, in2, mode="full", method="auto", axes=None, boundary="constant", cval=0,
             op="convolve", _plan_only=False, **unsupported):
    bad = {k: v for k, v in unsupported.items()
           if not (v is None or v is False or (isinstance(v, str)
                                               and v in ("propagate", "default")))}
    xp = namespace(in1, in2)
    name = backend_name(xp)
    if bad:
        k = sorted(bad)[0]
        v = bad[k] if isinstance(bad[k], (str, bool, int, float)) else type(bad[k]).__name__
        raise TypeError(f"{k}={v!r} is not available for {name} arrays (the namespace "
                        f"engine); pass NumPy arrays for it")
    mode = V.check_mode(mode)
    boundary = V.check_boundary(boundary)
    method = V.check_method(method)
    cval = V.check_cval(cval)
    if method not in ("auto", "direct", "fft", "overlap-save"):
        raise ValueError(f"method={method!r} is not available for {name} arrays (the "
                         f"namespace engine has 'direct', 'fft' and 'overlap-save'); use "
                         f"'auto'")
    a, b = in1, in2
    if not hasattr(a, "shape") or not hasattr(b, "shape"):
        a = xp.asarray(a)
        b = xp.asarray(b, device=_dev(a))
    if a.ndim != b.ndim:
        raise ValueError(f"in1 and in2 should have the same dimensionality, got {a.ndim} and "
                         f"{b.ndim}")
    if a.ndim == 0:
        raise ValueError("in1 and in2 must have at least one dimension")
    ax = V.check_axes(axes, a.ndim)
    nd = len(ax)
    V.check_conv_lengths((("in1", a), ("in2", b)), ax)
    cd, rd = V.dtype_policy(np_dtype(xp, a.dtype), np_dtype(xp, b.dtype))
    if cd.kind != "c" and complex(cval).imag != 0:
        raise ValueError(f"cval={cval!r} is complex but in1/in2 are real")
    ints = cd.kind in "iu"
    if ints:
        if cd == np.uint64 and name != "numpy":
            # int64 accumulation: a uint64 value above its range would wrap
            top = np.iinfo(np.int64).max
            for arr, what in ((a, "in1"), (b, "in2")):
                if (np_dtype(xp, arr.dtype) == np.uint64 and math.prod(arr.shape)
                        and int(xp.max(arr)) > top):
                    raise ValueError(f"{what} holds uint64 values above 2**63 - 1, beyond the "
                                     f"int64 accumulator of the {name} backend; convert it to "
                                     f"float64 (rounded results) or pass NumPy arrays")
            cd = np.dtype(np.int64)
        if boundary == "constant" and cval != 0:
            V.check_int_cval(cval, cd)
    if cd.kind != "c":
        cval = int(complex(cval).real) if ints else float(complex(cval).real)
    dest = tuple(range(a.ndim - nd, a.ndim))
    if ax != dest:
        a = xp.moveaxis(a, ax, dest) if hasattr(xp, "moveaxis") else _moveaxis(xp, a, ax)
        b = xp.moveaxis(b, ax, dest) if hasattr(xp, "moveaxis") else _moveaxis(xp, b, ax)
    a = xp.astype(a, xp_dtype(xp, cd))
    b = xp.astype(b, xp_dtype(xp, cd))
    if op == "correlate":
        b = xp.flip(b, axis=dest)
        if cd.kind == "c":
            b = xp.conj(b)
    n = a.shape[a.ndim - nd:]
    m = b.shape[b.ndim - nd:]
    if mode == "valid" and not all(N >= K for N, K in zip(n, m)):
        if all(K >= N for N, K in zip(n, m)):
            a, b, n, m = b, a, m, n
        else:
            raise ValueError(f"mode='valid' needs one input at least as large as the other "
                             f"on every convolution axis, got {n} and {m}")
    try:
        np.broadcast_shapes(a.shape[:a.ndim - nd], b.shape[:b.ndim - nd])
    except ValueError:
        raise ValueError(f"the non-convolution (batch) axes of in1 {a.shape[:a.ndim - nd]} "
                         f"and in2 {b.shape[:b.ndim - nd]} do not broadcast") from None
    starts, out_shape = geometry(n, m, mode)
    padded = mode != "valid" and not (boundary == "constant" and cval == 0)
    if ints:
        xmax = int(xp.max(xp.abs(a))) if math.prod(a.shape) else 0
        if padded:
            xmax = max(xmax, abs(int(np.real(cval))))
        ksum = int(xp.sum(xp.abs(b))) if math.prod(b.shape) else 0
        if xmax * ksum > np.iinfo(np.int64).max:
            raise ValueError(f"in1/in2: an exact integer result can reach {float(xmax * ksum):.3g}"
                             f" in magnitude, beyond the int64 accumulator of the {name} "
                             f"backend; convert the inputs to float64")
    if padded:
        # the boundary's extension, then a 'valid' convolution for the kept outputs
        for i, (N, K, s, L) in enumerate(zip(n, m, starts, out_shape)):
            a = _extend(xp, a, a.ndim - nd + i, K - 1 - s, s + L - N, boundary, cval)
        n = a.shape[a.ndim - nd:]
        starts = tuple(K - 1 for K in m)
    from ..planning.namespace import choose

    plan = choose(n, m, out_shape, math.prod(np.broadcast_shapes(
        a.shape[:a.ndim - nd], b.shape[:b.ndim - nd])), cd, device_kind(a), name, method,
        ints)
    if _plan_only:
        return plan

    def run(a, b):
        if plan.method == "fft":
            return _fft(xp, a, b, n, m, starts, out_shape, cd)
        if plan.method == "overlap-save":
            return _overlap_save(xp, a, b, n, m, starts, out_shape, cd, plan.frames)
        return _direct(xp, a, b, n, m, starts, out_shape, name)

    y = run(a, b) if ints else nonfinite_guard(xp, a, b, run, name, "in1/in2")
    if rd != cd:
        y = xp.astype(y, xp_dtype(xp, rd if not (ints and name != "numpy" and rd == np.uint64)
                                   else np.int64))
    if ax != dest:
        y = xp.moveaxis(y, dest, ax) if hasattr(xp, "moveaxis") else _moveaxis(xp, y, dest, ax)
    return y


# ----------------------------------------------------------- NaN and infinity
def _traced(a) -> bool:
    """Whether ``a`` is a JAX tracer (its values unknown while tracing)."""
    if not type(a).__module__.startswith("jax"):
        return False
    import jax

    return isinstance(a, jax.core.Tracer)


def nonfinite_guard(xp, a, b, run, name, what, stack=True):
    """``run(a, b)`` (a convolution, linear in each argument, whose sums are
    over the products ``a[i] * b[j]`` of its definition) right where ``a``
    or ``b`` hold NaN or infinity, as the NumPy engine gives it: an output
    is NaN where one of its products is NaN (NaN, or infinity times zero)
    or where products of both infinite signs meet, +-inf where only
    products of one infinite sign occur, and the sum of the finite products
    elsewhere (a transform would spread one NaN over every output, and a
    padded zero is no sample: it makes no product).

    Finite data (checked with two reductions) run as they are.  Otherwise
    the finite parts run (non-finite entries as zeros), and 12 convolutions
    of 0/1 indicator arrays in one batch count, for each output, the
    products that are NaN, +inf and -inf (exact counts: float64 sums of
    ones, rounded).  Under ``jax.jit`` the check is a ``lax.cond`` (both
    branches traced, one run).  Complex data with NaN or infinity: a
    ValueError (their products' NaN patterns are not reproduced here).
    ``stack=False``: ``run`` takes no extra leading batch axis (the layers:
    (N, C, *S) by (O, C / G, *K)), the 12 counts run one by one."""
    if _traced(a) or _traced(b):
        import jax
        import jax.numpy as jnp

        if jnp.iscomplexobj(a) or jnp.iscomplexobj(b):
            return run(a, b)
        ok = jnp.all(jnp.isfinite(a)) & jnp.all(jnp.isfinite(b))
        return jax.lax.cond(ok, run, lambda a, b: _nonfinite_run(xp, a, b, run, stack), a, b)
    if bool(xp.all(xp.isfinite(a))) and bool(xp.all(xp.isfinite(b))):
        return run(a, b)
    if xp.isdtype(a.dtype, "complex floating"):
        raise ValueError(f"{what} hold NaN or infinity in complex values, which the {name} "
                         f"backend does not convolve; pass NumPy arrays")
    return _nonfinite_run(xp, a, b, run, stack)


def _nonfinite_run(xp, a, b, run, stack=True):
    dev = _dev(a)
    fa, fb = xp.isfinite(a), xp.isfinite(b)
    zero = xp.zeros((), dtype=a.dtype, device=dev)
    y = run(xp.where(fa, a, zero), xp.where(fb, b, zero))

    def classes(v, f):
        pinf = v == math.inf
        ninf = v == -math.inf
        return dict(nan=xp.isnan(v), inf=pinf | ninf, zero=v == 0, pinf=pinf, ninf=ninf,
                    pos=f & (v > 0), neg=f & (v < 0), plus=v > 0, minus=v < 0,
                    one=xp.ones(v.shape, dtype=xp.bool, device=dev))
    A, B = classes(a, fa), classes(b, fb)
    # (a's class, b's class) pairs whose products are NaN, +inf, -inf: the
    # NumPy engine's table, four pairs each
    from .._core import NONFINITE_PAIRS

    pairs = [pair for group in NONFINITE_PAIRS for pair in group]
    f64 = xp.float64
    if stack:
        cnt = run(xp.stack([xp.astype(A[p], f64) for p, _ in pairs]),
                  xp.stack([xp.astype(B[q], f64) for _, q in pairs]))
    else:
        cnt = xp.stack([run(xp.astype(A[p], f64), xp.astype(B[q], f64)) for p, q in pairs])
    nan, pinf, ninf = (xp.sum(cnt[i:i + 4, ...], axis=0) > 0.5 for i in (0, 4, 8))

    def const(v):
        return xp.full((), v, dtype=y.dtype, device=dev)
    y = xp.where(ninf, const(-math.inf), y)
    y = xp.where(pinf, const(math.inf), y)
    return xp.where(nan | (pinf & ninf), const(math.nan), y)


def _moveaxis(xp, a, src, dst=None):
    nd = a.ndim
    dst = tuple(range(nd - len(src), nd)) if dst is None else dst
    order = [i for i in range(nd) if i not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return xp.permute_dims(a, tuple(perm))


def _fft(xp, a, b, n, m, starts, out_shape, cd):
    """Linear convolution by transforms of at least n + m - 1 per axis; the
    outputs ``starts`` .. ``+ out_shape`` of the full result."""
    from scipy.fft import next_fast_len

    nd = len(n)
    axes = tuple(range(a.ndim - nd, a.ndim))
    real = cd.kind != "c"
    shape = tuple(next_fast_len(N + K - 1, real=real) for N, K in zip(n, m))
    if real:
        Y = xp.fft.rfftn(a, s=shape, axes=axes) * xp.fft.rfftn(b, s=shape, axes=axes)
        y = xp.fft.irfftn(Y, s=shape, axes=axes)
    else:
        Y = xp.fft.fftn(a, s=shape, axes=axes) * xp.fft.fftn(b, s=shape, axes=axes)
        y = xp.fft.ifftn(Y, s=shape, axes=axes)
    sl = (Ellipsis,) + tuple(slice(s, s + L) for s, L in zip(starts, out_shape))
    y = y[sl]
    if cd.kind in "iu":
        y = xp.astype(xp.round(y), xp_dtype(xp, cd))
    elif y.dtype != xp_dtype(xp, cd):
        y = xp.astype(y, xp_dtype(xp, cd))
    return y


def _overlap_save(xp, a, b, n, m, starts, out_shape, cd, F):
    """Outputs ``starts .. + out_shape`` of the full convolution by frames of
    ``F`` (per axis) hopping ``F - K + 1``.  With ``ae`` the input extended
    by ``K - 1`` zeros on the left, full output ``j`` is the 'valid' sum
    over ``ae[j .. j + K - 1]``; frame ``f`` starts at ``ae[s + f * hop]``
    and its circular convolution with the kernel holds outputs ``s + f*hop
    + r`` at ``r + K - 1`` (``r < hop``), no wrap-around there.  Axis by
    axis (last first, so earlier axes keep their positions) the input is
    extended and gathered into (frames, F); the spectra's product is
    inverse transformed over the F axes and each frame's valid part kept."""
    nd = len(n)
    lead = a.ndim - nd
    dev = _dev(a)
    real = cd.kind != "c"
    for i in reversed(range(nd)):
        N, K, s, L, f = n[i], m[i], starts[i], out_shape[i], F[i]
        hop = f - K + 1
        nb = -(-L // hop)
        ax = lead + i
        a = _extend(xp, a, ax, K - 1, max(0, s + nb * hop - N), "constant", 0)
        idx = (s + hop * np.arange(nb, dtype=np.int64))[:, None] + np.arange(f, dtype=np.int64)
        a = xp.take(a, xp.asarray(idx.reshape(-1), device=dev), axis=ax)
        a = xp.reshape(a, tuple(a.shape[:ax]) + (nb, f) + tuple(a.shape[ax + 1:]))
    faxes = tuple(lead + 2 * i + 1 for i in range(nd))
    kaxes = tuple(range(b.ndim - nd, b.ndim))
    if real:
        B = xp.fft.rfftn(b, s=tuple(F), axes=kaxes)
        X = xp.fft.rfftn(a, s=tuple(F), axes=faxes)
    else:
        B = xp.fft.fftn(b, s=tuple(F), axes=kaxes)
        X = xp.fft.fftn(a, s=tuple(F), axes=faxes)
    # the kernel's spectrum against every frame: a unit frames axis per axis
    bshape = tuple(B.shape[:b.ndim - nd])
    for i in range(nd):
        bshape += (1, B.shape[b.ndim - nd + i])
    X = X * xp.reshape(B, bshape)
    y = xp.fft.irfftn(X, s=tuple(F), axes=faxes) if real else xp.fft.ifftn(X, axes=faxes)
    keep = (slice(None),) * lead
    for K, f in zip(m, F):
        keep += (slice(None), slice(K - 1, f))
    y = y[keep]
    shape = tuple(y.shape[:lead])
    for i in range(nd):
        shape += (y.shape[lead + 2 * i] * y.shape[lead + 2 * i + 1],)
    y = xp.reshape(y, shape)
    y = y[(Ellipsis,) + tuple(slice(0, L) for L in out_shape)]
    if y.dtype != xp_dtype(xp, cd):
        y = xp.astype(y, xp_dtype(xp, cd))
    return y


def _direct(xp, a, b, n, m, starts, out_shape, name):
    """One shifted view per tap: ``y += b[tap] * a[window]`` on the input
    extended by zeros (no item assignment: JAX arrays are immutable), or
    torch's convolution for float tensors."""
    nd = len(n)
    if name == "torch" and 1 <= nd <= 3 and a.dtype in (xp.float32, xp.float64):
        return _torch_direct(a, b, n, m, starts, out_shape)
    for i, K in enumerate(m):
        a = _extend(xp, a, a.ndim - nd + i, K - 1, K - 1, "constant", 0)
    y = None
    for tap in np.ndindex(*m):
        # full output j reads the extended input at j - tap + K - 1
        win = tuple(slice(s - t + K - 1, s - t + K - 1 + L)
                    for s, t, K, L in zip(starts, tap, m, out_shape))
        w = b[(Ellipsis,) + tuple(tap)]
        w = xp.reshape(w, tuple(w.shape) + (1,) * nd)
        part = w * a[(Ellipsis,) + win]
        y = part if y is None else y + part
    return y


def _torch_direct(a, b, n, m, starts, out_shape):
    """torch.nn.functional.conv{1,2,3}d: a correlation, so the kernel is
    flipped; batches flattened (one kernel each through groups)."""
    import torch
    import torch.nn.functional as F

    nd = len(n)
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    bshape = tuple(np.broadcast_shapes(a.shape[:a.ndim - nd], b.shape[:b.ndim - nd]))
    B = math.prod(bshape)
    pad = [K - 1 for K in m]
    w = torch.flip(b, dims=tuple(range(b.ndim - nd, b.ndim)))
    kb = math.prod(b.shape[:b.ndim - nd])
    x = a.broadcast_to(bshape + tuple(n)).reshape((1, B) + tuple(n)) if kb > 1 else \
        a.broadcast_to(bshape + tuple(n)).reshape((B, 1) + tuple(n))
    if kb > 1:
        wk = w.broadcast_to(bshape + tuple(m)).reshape((B, 1) + tuple(m))
        y = conv(x, wk, padding=pad, groups=B)
    else:
        y = conv(x, w.reshape((1, 1) + tuple(m)), padding=pad)
    y = y.reshape(bshape + tuple(N + K - 1 for N, K in zip(n, m)))
    sl = (Ellipsis,) + tuple(slice(s, s + L) for s, L in zip(starts, out_shape))
    return y[sl]


def ndimage_correlate(input, weights, pad_mode, cval, origins, axes, flip):
    """scipy.ndimage.correlate (``flip``: convolve) for real floating arrays
    of any namespace: the input extended by the mode (numpy.pad's name
    ``pad_mode``) by ``L//2 + origin`` before and the rest after each
    filtered axis, then a 'valid' correlation.  ``origins`` per filtered
    axis, as scipy's (convolve's adjustment applied here)."""
    xp = namespace(input, weights)
    name = backend_name(xp)
    x, w = input, weights
    cd = np.result_type(np_dtype(xp, x.dtype), np_dtype(xp, w.dtype))
    if cd.kind != "f":
        raise TypeError(f"fastconv.ndimage on {name} arrays takes real floating input and "
                        f"weights (got {np_dtype(xp, x.dtype)} and {np_dtype(xp, w.dtype)}); "
                        f"pass NumPy arrays for the others")
    ax = V.check_axes(axes, x.ndim)
    if w.ndim != len(ax):
        raise RuntimeError(f"weights.ndim ({w.ndim}) must match len(axes) ({len(ax)})")
    origins = list(origins) if np.ndim(origins) else [int(origins)] * len(ax)
    if len(origins) != len(ax):
        raise RuntimeError("sequence argument must have length equal to input rank")
    if flip:
        w = xp.flip(w, axis=tuple(range(w.ndim)))
        origins = [-o - (1 - (L & 1)) for o, L in zip(origins, w.shape)]
    for o, L in zip(origins, w.shape):
        if o < -(L // 2) or o > (L - 1) // 2:
            raise ValueError("Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= "
                             "origin[k] <= (weights.shape[k]-1) // 2")
    out_dt = np_dtype(xp, x.dtype)
    x = xp.astype(x, xp_dtype(xp, cd))
    w = xp.astype(w, xp_dtype(xp, cd))
    cval = float(complex(cval).real)
    for d, o, L in zip(ax, origins, w.shape):
        before = L // 2 + o
        x = _extend(xp, x, d, before, L - 1 - before, pad_mode, cval)
    # weights to full rank (size 1 on the axes not filtered)
    wshape = [1] * x.ndim
    for d, L in zip(ax, w.shape):
        wshape[d] = L
    w = xp.reshape(w, tuple(wshape))
    y = convolve(x, w, "valid", "auto", None, "constant", 0, "correlate")
    return xp.astype(y, xp_dtype(xp, out_dt if out_dt.kind == "f" else cd))
