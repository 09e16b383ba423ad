"""Layer convolutions (fastconv.nn) as problems the planner answers.

A :class:`LayerSpec` is a convolution with channel contraction: ``N`` images
of ``cin`` channels, ``cout`` output channels in ``groups`` groups, stride,
dilation and the (already resolved) padding per spatial dimension, and which
of the three products of a layer it is: the forward convolution ('forward'),
its adjoint ('transpose': the transposed convolution and the input
gradient) or the weight gradient ('weight').  :func:`plan_layer` estimates
each algorithm that applies (``fastconv.algorithms.layer``) and picks the
cheapest; :meth:`LayerPlan.explain` shows the estimates.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

#: multiply-adds per second of the per-tap GEMMs and of the complex
#: frequency-domain products, and seconds per element-pass of memory traffic
#: (2-core AVX-512 VM, float32, 2026-12-05; float64 at half the rate)
GEMM_RATE = 60e9
SPECTRAL_RATE = 8e9
PASS_COST = 0.4e-9
IM2COL_PASS = 0.4e-9
FFT_COST = 2.5e-9      # seconds per n log2 n of a real transform line


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One layer product (see module doc); ``n``: input spatial shape before
    padding, ``k``: kernel spatial shape, ``pads``: (low, high) per dim."""

    op: str                 # 'forward' | 'transpose' | 'weight'
    batch: int
    cin: int
    cout: int
    groups: int
    n: tuple
    k: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    dtype: str

    @property
    def ndim(self) -> int:
        return len(self.n)

    def out_shape(self) -> tuple:
        """Forward output spatial shape."""
        return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, k, s, d, (lo, hi)
                     in zip(self.n, self.k, self.stride, self.dilation, self.pads))

    def macs(self) -> int:
        """Multiply-adds of the direct product (the same for all three ops)."""
        o = self.out_shape() if self.op != "transpose" else self.n
        return (self.batch * self.cout * (self.cin // self.groups) * math.prod(o)
                * math.prod(self.k))


@dataclasses.dataclass
class LayerPlan:
    spec: LayerSpec
    method: str
    candidates: list        # (method, estimated seconds, note, estimated bytes)
    budget: int = 0

    def explain(self) -> str:
        s = self.spec
        lines = [f"layer {s.op}: N={s.batch} C_in={s.cin} C_out={s.cout} groups={s.groups} "
                 f"spatial={s.n} kernel={s.k} stride={s.stride} dilation={s.dilation} "
                 f"pads={s.pads} dtype={s.dtype}; {s.macs():,} multiply-adds; memory budget "
                 f"{self.budget / 2**20:.0f} MiB"]
        for name, t, note, mem in self.candidates:
            mark = "*" if name == self.method else " "
            over = " (over the budget)" if mem > self.budget else ""
            lines.append(f" {mark} {name:10s} est {t * 1e3:9.3f} ms {mem / 2**20:9.1f} MiB  "
                         f"{note}{over}")
        return "\n".join(lines)


def _fast_len(n):
    from scipy import fft

    return fft.next_fast_len(int(n), real=True)


def _fft_geometry(spec):
    """(transform lengths, frequencies per transform, transforms per input
    channel) of the layer FFT (algorithms.layer.forward_fft / transpose_fft)."""
    from ..algorithms.layer import fft_frame

    kd = [d * (k - 1) + 1 for k, d in zip(spec.k, spec.dilation)]
    if spec.op == "transpose":
        L = [_fast_len(n + k - 1) for n, k in zip(spec.n, kd)]
        return L, math.prod(L[:-1]) * (L[-1] // 2 + 1), spec.batch
    padded = [n + lo + hi for n, (lo, hi) in zip(spec.n, spec.pads)]
    frame = fft_frame(padded[0], kd[0]) if len(padded) == 1 else 0
    if frame:
        hop = frame - kd[0] + 1
        return [frame], frame // 2 + 1, spec.batch * -(-(padded[0] - kd[0] + 1) // hop)
    L = [_fast_len(p) for p in padded]
    return L, math.prod(L[:-1]) * (L[-1] // 2 + 1), spec.batch


def _memory(spec, method):
    """Bytes an algorithm allocates for ``spec`` (output included): every
    array that grows with the data (algorithms/layer.py), estimated before
    any is allocated."""
    b = np.dtype(spec.dtype).itemsize
    out = spec.out_shape() if spec.op != "transpose" else tuple(
        s * (n - 1) + d * (k - 1) + 1 for n, k, s, d in zip(spec.n, spec.k, spec.stride,
                                                          spec.dilation))
    padded = math.prod(n + lo + hi + 1 for n, (lo, hi) in zip(spec.n, spec.pads))
    x_in = spec.batch * spec.cin * padded
    y = spec.batch * spec.cout * math.prod(out)
    if spec.op == "weight":
        y = spec.batch * spec.cout * math.prod(spec.out_shape())
    taps = math.prod(spec.k)
    if method == "fft":
        L, F, rows = _fft_geometry(spec)
        spectra = 2 * F * (rows * spec.cin + spec.cout * spec.cin // spec.groups
                           + rows * spec.cout)
        frames = rows * spec.cin * math.prod(L) if rows > spec.batch else 0
        return b * (2 * x_in + frames + spectra + 2 * rows * spec.cout * math.prod(L) + 2 * y)
    if method == "im2col":
        from .. import _config
        from ..algorithms.layer import IM2COL_BLOCK, IM2COL_THREAD_BLOCK

        # a patch matrix block (one thread) or one per thread
        return b * (x_in + 2 * y) + max(2 * IM2COL_BLOCK,
                                        _config.get_threads() * IM2COL_THREAD_BLOCK)
    if method in ("winograd", "winograd4"):
        from .. import _config
        from ..algorithms.layer import IM2COL_BLOCK, WINOGRAD_TASK

        a2 = 16 if method == "winograd" else 36
        # the transformed weights, and per thread its blocks' tiles and padded
        # rows (or the one-thread path's image blocks)
        per_thread = 2 * WINOGRAD_TASK
        return (b * (x_in + 2 * y + a2 * spec.cout * spec.cin)
                + max(4 * IM2COL_BLOCK, _config.get_threads() * per_thread))
    if method == "col2im":
        return b * (spec.batch * spec.cout * taps * math.prod(spec.n) + 2 * y)
    if method == "depthwise":
        return b * (x_in + 3 * y)
    return b * (2 * x_in + 3 * y)          # taps-gemm: phases, wide output, one tap's product


#: Winograd F(m x m, 3x3)'s error bounds by m, as multiples of
#: ``eps * sum_c ||w[o, c]||_1 * max |x[n, c]|`` (algorithms/layer.py)
WINOGRAD_ERRORS = {2: 8.0, 4: 128.0}

#: seconds per output of the 2-D depthwise kernel (_kernels/layer.py), float32,
#: fitted to forced runs on 8 x C x H x W, 3x3-11x11, stride 1 and 2 (2
#: threads, AVX-512 host): the padded copy per output, and per tap
DW_COPY = 0.2e-9
DW_TAP_ROW = 0.025e-9      # 3-, 5-, 7-tap rows summed in registers (3x3: one pass)
DW_ROW_PASS = 0.05e-9      # each kernel row's pass over the output row
DW_TAP_PASS = 0.06e-9      # other widths: a pass per tap
DW_PHASE_COPY = 0.4e-9     # strided columns: the phase copy, per input read
DW_STRIDED_TAP = 0.1e-9    # strided: a pass per tap over a short output row


def _depthwise2d_cost(spec):
    """Seconds per output of ``depthwise2d`` (before the float64 factor)."""
    (K0, K1), taps = spec.k, math.prod(spec.k)
    if spec.stride != (1, 1):
        return DW_PHASE_COPY * spec.stride[0] * spec.stride[1] + taps * DW_STRIDED_TAP
    if spec.k == (3, 3) and spec.dilation == (1, 1):
        return DW_COPY + taps * DW_TAP_ROW
    if K1 in (3, 5, 7) and spec.dilation[1] == 1:
        return DW_COPY + taps * DW_TAP_ROW + K0 * DW_ROW_PASS
    return DW_COPY + taps * DW_TAP_PASS


def estimates(spec: LayerSpec, accuracy: str = "default") -> list:
    """(method, estimated seconds, note, estimated bytes) for each algorithm
    that applies (Winograd not under ``accuracy='high'``)."""
    scale = 2.0 if np.dtype(spec.dtype).itemsize == 8 else 1.0
    out = spec.out_shape()
    cg, og = spec.cin // spec.groups, spec.cout // spec.groups
    taps = math.prod(spec.k)
    cands = []
    if cg == 1 and og == 1:
        elems = spec.batch * spec.cout * math.prod(out)
        if len(spec.k) == 2:
            cands.append(("depthwise", scale * elems * _depthwise2d_cost(spec),
                          "padded plane in cache, taps summed in registers"))
        else:
            # the engine's direct correlation: a broadcast multiply-add pass per tap
            cands.append(("depthwise", scale * taps * elems * 3 * PASS_COST,
                          "one multiply-add pass over the output per tap"))
    else:
        gemm = scale * spec.macs() / GEMM_RATE
        # the first tap writes the output, every other one adds a pass over it
        passes = scale * (taps - 1) * spec.batch * spec.cout * math.prod(out) * 2 * PASS_COST
        if spec.op == "transpose":
            # a pass per tap over an input-sized phase, and the phases' scatter
            cols = scale * taps * spec.batch * spec.cout * math.prod(spec.n) * PASS_COST
            full = math.prod(s * n for s, n in zip(spec.stride, spec.n))
            passes = 2 * cols + scale * spec.batch * spec.cout * full * 2 * PASS_COST
        cands.append(("taps-gemm", gemm + passes,
                      "a BLAS GEMM per kernel tap over channels, no im2col copy"))
        if spec.op == "transpose":
            cands.append(("col2im", gemm + 2 * cols,
                          "one GEMM into (channels x taps, positions), a strided add per tap"))
        wino = (spec.op in ("forward", "weight") and spec.k == (3, 3) and spec.stride == (1, 1)
                and spec.dilation == (1, 1) and spec.groups == 1 and accuracy != "high")
        for name, m in (("winograd", 2), ("winograd4", 4)):
            T = spec.batch * math.prod(-(-o // m) for o in out)
            if not wino or (spec.op == "weight" and (m == 4 or T < max(spec.cin, spec.cout))):
                # (the weight gradient's GEMMs sum over the tiles: few tiles
                # against many channels make them write more than they sum)
                continue
            a2 = (m + 2) ** 2
            # GEMMs with few tiles (columns) run below the rate
            t = scale * (a2 * spec.cout * spec.cin * T / (GEMM_RATE * min(1.0, T / 256))
                         + a2 * (spec.cin + spec.cout) * T * 2 * PASS_COST
                         + a2 * spec.cout * spec.cin * 9 / GEMM_RATE)
            err = WINOGRAD_ERRORS[m]
            cands.append((name, t, f"F({m}x{m},3x3): {a2} GEMMs on transformed {m + 2}x{m + 2} "
                          f"tiles, {9 * m * m / a2:.2f}x fewer multiplies; error <= {err:g} eps "
                          f"sum_c |w|_1 max|x|"))
        if spec.op in ("forward", "weight"):
            copy = scale * spec.batch * spec.cin * taps * math.prod(out) * IM2COL_PASS
            cands.append(("im2col", gemm + copy,
                          "patch matrix per block of output rows, one GEMM (memory bounded)"))
    if all(s == 1 for s in spec.stride) and spec.op != "weight":
        L, F, rows = _fft_geometry(spec)
        tot = math.prod(L)
        lines = rows * (spec.cin + spec.cout) + spec.cin * spec.cout // spec.groups
        t_fft = scale * FFT_COST * lines * tot * math.log2(max(tot, 2)) / max(len(L), 1)
        t_mul = scale * F * rows * cg * spec.cout / SPECTRAL_RATE
        cands.append(("fft", t_fft + t_mul,
                      f"transforms of length {tuple(L)}"
                      f"{' (overlap-save frames)' if rows > spec.batch else ''}, "
                      f"a complex product per frequency"))
    return [c + (_memory(spec, c[0]),) for c in cands]


#: algorithms that mix values across positions (transforms): a NaN or an
#: infinity in their input reaches outputs the direct sum keeps finite, and
#: Inf - Inf turns an infinite output into NaN
MIXING = ("winograd", "winograd4", "fft")


def plan_layer(spec: LayerSpec, method: str = "auto", accuracy: str = "default",
               finite: bool = True) -> LayerPlan:
    """The cheapest algorithm for ``spec`` whose memory estimate fits the
    budget (``fastconv``'s ``FASTCONV_MAX_MEMORY``), or ``method`` if it
    applies; ``MemoryError`` when none fits (nothing allocated yet).
    ``finite=False`` (the data hold NaN or infinities) leaves out
    :data:`MIXING` (asked for by name: ValueError)."""
    from .. import _config

    budget = _config.max_memory()
    key = (spec, method, accuracy, finite, budget, _config.get_threads(), _constants())
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan_layer(spec, method, accuracy, finite, budget)
        if len(_PLANS) >= 512:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


#: plans by (spec, method, accuracy, finite, budget, constants): a layer
#: called in a loop pays the estimates once (measured 0.1 ms a call, a
#: tenth of a small depthwise layer); errors are not cached
_PLANS: dict = {}


def _constants():
    """This module's cost constants (a changed constant is a new plan)."""
    return (GEMM_RATE, SPECTRAL_RATE, PASS_COST, IM2COL_PASS, FFT_COST, DW_COPY, DW_TAP_ROW,
            DW_ROW_PASS, DW_TAP_PASS, DW_PHASE_COPY, DW_STRIDED_TAP)


def _plan_layer(spec, method, accuracy, finite, budget):
    cands = estimates(spec, accuracy)
    if not finite:
        if method in MIXING:
            raise ValueError(f"method={method!r} cannot give the right result for an input "
                             f"or weight holding NaN or infinity (its transforms spread them); "
                             f"use method='auto'")
        cands = [c for c in cands if c[0] not in MIXING]
    names = [c[0] for c in cands]
    if method != "auto":
        if method not in names:
            raise ValueError(f"method {method!r} does not apply to this layer "
                             f"(candidates: {names})")
        chosen = [c for c in cands if c[0] == method]
    else:
        chosen = sorted(cands, key=lambda c: c[1])
    fits = [c for c in chosen if c[3] <= budget]
    if not fits:
        need = min(c[3] for c in chosen)
        raise MemoryError(f"this layer needs at least {need / 2**30:.2f} GiB, over the memory "
                          f"budget of {budget / 2**30:.2f} GiB (FASTCONV_MAX_MEMORY)")
    return LayerPlan(spec, fits[0][0], cands, budget)
