"""Plans for the sequence-model convolutions (``fastconv.nn.long_conv``):
direct taps, one FFT per row, or a uniformly partitioned FFT convolution,
with time and memory estimates; the memory is checked against the budget
before anything is allocated.

Cost terms, measured on the 2-core AVX-512 VM (float32, 2026-12-05):
a batched rFFT costs about ``FFT_C * n * log2(n)`` per row (transforms
alone: 2048 1.3e-10, 16384 1.1e-10, 131072 2.5e-10 s, hence the
``FFT_BIG`` factor past L2; FFT_C is set from whole calls, which also
multiply, pad and copy); the partitioned product about ``MAC_C`` per complex
multiply-add (3.3 per ns measured); direct taps ``TAP_C`` per multiply-add.
float64 doubles each.  Only ratios between the methods matter for the choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import _config

FFT_C = 1.6e-10
#: a transform length with factors 3 and 5 costs this much more per point-log
#: (pocketfft; measured with the whole long_conv, 4 x 256 x 4096 and 64 taps,
#: n = 4320: 20.5 ms against 8.4 estimated with FFT_C 1.2e-10, where the
#: power-of-two lengths ran 1.25-1.3x their estimates)
MIXED_RADIX = 1.8
FFT_BIG = 2.2           # per-point factor once a row's spectrum passes L2_BYTES
L2_BYTES = 1 << 19
MAC_C = 3.0e-10
TAP_C = 4.5e-11         # the register-block causal filter: 16-256 taps, 4 x 256 x 4096
CALL = 2e-5             # per task (Python and pocketfft set-up)
#: the partitioned method's per-row extra (padding, the blocks' overlap-add
#: and copies): 4 x 256 x 8192 ran 63 ms against 45 estimated without it
PART_ROW = 2e-5
#: direct taps only up to this many (longer: an FFT method wins by far)
DIRECT_MAX_TAPS = 256
#: rows' spectra one FFT task holds at most (bytes), and the transforms a
#: task should hold at least
TASK_BYTES = 8 << 20
VECTOR_ROWS = 32
MODES = ("causal", "bidirectional", "circular")


@dataclass
class SeqPlan:
    method: str
    params: dict
    estimates: dict = field(default_factory=dict)
    memory: int = 0

    def explain(self) -> str:
        lines = ["method          estimate"]
        for m, t in sorted(self.estimates.items(), key=lambda kv: kv[1]):
            lines.append(f"{m:14s} {t * 1e3:9.3f} ms" + ("  <- chosen" if m == self.method else ""))
        lines.append(f"memory beyond input and output: {self.memory / 2**20:.1f} MiB")
        return "\n".join(lines)


def fast_len(n: int) -> int:
    from scipy.fft import next_fast_len

    return next_fast_len(n, real=True)


def _fft_row(n: int, item: int) -> float:
    big = FFT_BIG if n * item * 2 > L2_BYTES else 1.0
    mixed = 1.0 if n & (n - 1) == 0 else MIXED_RADIX
    return FFT_C * big * mixed * n * math.log2(max(n, 2)) * (item / 4)


def _rows(per_row: int, transforms: int = 1) -> int:
    """Rows per task: enough transforms for pocketfft to vectorise across
    them (at least ``VECTOR_ROWS``; measured, L = 8192 float32: 7 rows per
    task 66 ms, 16: 46, 32: 43), within ``TASK_BYTES`` of spectra."""
    want = -(-VECTOR_ROWS // max(transforms, 1))
    return max(1, min(want, TASK_BYTES // max(per_row, 1)))


def candidates(B, H, L, Lk, item, mode, threads, prepared):
    """{method: (estimate s, params, memory bytes)} for every method that applies."""
    rows = B * H
    kh = H if prepared is None else 0        # kernel rows to transform this call
    out = {}
    par = 1 + 0.85 * (threads - 1)
    if Lk <= DIRECT_MAX_TAPS:
        taps = Lk * (2 if mode == "bidirectional" else 1)
        out["direct"] = (TAP_C * (item / 4) * rows * L * taps / par + CALL, {}, 8 * L * threads)
    n = L if mode == "circular" else fast_len(L + Lk - 1)
    R = _rows((n + 2) * item * 3)
    tasks = -(-H // min(R, H)) * B
    spec = H * (n // 2 + 1) * 2 * item
    t = _fft_row(n, item) * (2 * rows + kh) / par + CALL * tasks
    out["fft"] = (t, {"n": n, "rows": min(R, H)}, spec * (kh > 0) + threads * R * (n + 2) * item * 3)
    if mode == "causal" and Lk > 256:
        best = None
        M = 256
        while M <= max(256, L // 2):
            nb, P = -(-L // M), -(-Lk // M)
            macs = (M + 1) * sum(min(j + 1, P) for j in range(nb))
            tt = (_fft_row(2 * M, item) * nb * 2 * rows + MAC_C * (item / 4) * macs * rows
                  + _fft_row(2 * M, item) * P * kh + PART_ROW * rows) / par
            Rp = min(H, _rows(nb * (M + 1) * 2 * item * 3, nb))
            tt += CALL * (-(-H // Rp) * B)
            mem = H * P * (M + 1) * 2 * item * (kh > 0) + threads * Rp * nb * (M + 1) * 2 * item * 3
            if best is None or tt < best[0]:
                best = (tt, {"M": M, "rows": Rp}, mem)
            M *= 2
        if best is not None:
            out["partitioned"] = best
    return out


def plan(B, H, L, Lk, item, mode, method="auto", prepared=None, threads=None) -> SeqPlan:
    """Choose the method (or take ``method``) and check its memory against
    ``FASTCONV_MAX_MEMORY`` (MemoryError, before any allocation).
    ``prepared``: the method and params of a kernel's spectra made earlier
    (:class:`fastconv.nn.LongConvKernel`): the plan keeps them."""
    threads = threads or _config.get_threads()
    cands = candidates(B, H, L, Lk, item, mode, threads, prepared)
    est = {m: c[0] for m, c in cands.items()}
    if prepared is not None:
        m, params = prepared
        chosen = m
        mem = cands[m][2] if m in cands else 0
        if m in cands:
            params = {**cands[m][1], **params}
    else:
        if method == "auto":
            chosen = min(cands, key=lambda m: cands[m][0])
        elif method in cands:
            chosen = method
        else:
            raise ValueError(f"method={method!r} does not apply here (mode={mode!r}, "
                             f"{Lk} taps); choose from {sorted(cands)}")
        params, mem = cands[chosen][1], cands[chosen][2]
    budget = _config.max_memory()
    if mem > budget:
        raise MemoryError(f"long_conv needs about {mem / 2**20:.0f} MiB beyond its input and "
                          f"output with method {chosen!r}; FASTCONV_MAX_MEMORY allows "
                          f"{budget / 2**20:.0f} MiB")
    return SeqPlan(chosen, params, est, int(mem))
