"""Plans for the probability and statistics front end (``fastconv.stats``):
exact direct sums or recursions against tilted transforms, transform
lengths, and memory checked against the budget before anything is
allocated.

Cost terms (measured on the 2-core AVX-512 VM, float64, 2026-12-05): the
engine's direct convolution of non-negative float64 vectors ``TAP_C`` per
multiply-add; one tilted pass (forward transforms of the parts, the
spectrum's arithmetic, one inverse) ``PASS_C * N log2 N`` per transform; the
Panjer recursion ``PANJER_C`` per (bucket x severity point), serial.
Tilted sums take ``PASSES`` passes in the estimate (one untilted pass and
one or two aimed at the tails: measured 1-3 on dice, binomials and compound
Poisson).  Only ratios between methods matter for the choice.
"""
from __future__ import annotations

import math
from .. import _config
from .sequence import SeqPlan

TAP_C = 6e-11
PASS_C = 2.0e-9
PANJER_C = 7e-10
PASSES = 3
CALL = 3e-5


class StatsPlan(SeqPlan):
    """The method chosen, its parameters, every candidate's estimate and the
    memory (the sequence planner's record, explained the same way)."""

    def explain(self) -> str:
        return super().explain().replace("memory beyond input and output", "memory")


def fast_len(n: int) -> int:
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _fft(N: int, transforms: int) -> float:
    return PASS_C * N * math.log2(max(N, 2)) * transforms / 2


def check_memory(nbytes: int, what: str) -> None:
    budget = _config.max_memory()
    if nbytes > budget:
        raise MemoryError(f"{what} needs about {nbytes / 2**20:.0f} MiB; FASTCONV_MAX_MEMORY "
                          f"allows {budget / 2**20:.0f} MiB")


def _choose(cands, method, what):
    est = {m: c[0] for m, c in cands.items()}
    if method == "auto":
        chosen = min(cands, key=lambda m: cands[m][0])
    elif method in cands:
        chosen = method
    else:
        raise ValueError(f"method={method!r} does not apply to {what}; choose from "
                         f"{['auto'] + sorted(cands)}")
    t, params, mem = cands[chosen]
    check_memory(mem, f"{what} (method {chosen!r})")
    return StatsPlan(chosen, params, est, int(mem))


def sum_plan(lengths, method="auto") -> StatsPlan:
    """The sum of independent variables with supports of ``lengths``: the
    direct convolutions one after another (exact to rounding in every entry,
    all terms non-negative), or one tilted transform at N >= the sum's
    support."""
    total = sum(n - 1 for n in lengths) + 1
    macs, acc = 0, lengths[0]
    for n in sorted(lengths)[1:]:
        macs += acc * n
        acc += n - 1
    N = fast_len(total)
    k = len(lengths)
    cands = {
        "direct": (TAP_C * macs + CALL * k, {}, 8 * 2 * total),
        "fft": (PASSES * _fft(N, k + 1) + CALL * k, {"N": N}, 8 * N * (k + 4)),
    }
    return _choose(cands, method, "the sum's distribution")


def power_plan(m, n, method="auto") -> StatsPlan:
    """The n-fold sum of a variable with support length ``m``: direct
    convolutions by repeated squaring, or one tilted transform."""
    total = n * (m - 1) + 1
    N = fast_len(total)
    macs, cur, e = 0, m, n
    # squaring: the lengths double; each step costs about len^2 / 2
    while e > 1:
        macs += cur * cur + cur * m
        cur = 2 * cur - 1
        e //= 2
    cands = {
        "direct": (TAP_C * macs + CALL * math.log2(max(n, 2)), {}, 8 * 3 * total),
        "fft": (PASSES * _fft(N, 2) + CALL, {"N": N}, 8 * N * 5),
    }
    return _choose(cands, method, "the n-fold sum's distribution")


def compound_plan(m, n, N, panjer_ok, splits, method="auto") -> StatsPlan:
    """A compound distribution on ``n`` buckets with a severity of ``m``
    points: the Panjer recursion (for the (a, b, 0) family; ``splits``
    squarings after it when P(S=0) would underflow) or a tilted transform
    at ``N``."""
    cands = {"fft": (PASSES * _fft(N, 2) + CALL, {"N": N}, 8 * N * 6)}
    if panjer_ok:
        t = PANJER_C * n * min(m, n) + splits * TAP_C * n * n / 2 + CALL
        cands["panjer"] = (t, {"splits": splits}, 8 * 3 * n)
    return _choose(cands, method, "the compound distribution")


def compound_max_len(n, N) -> int:
    """The longest transform the compound's fft method may grow to when its
    tail's tilts alias (16x the buckets, within the memory budget)."""
    per = 8 * 6
    return int(max(N, min(16 * n, _config.max_memory() // per)))
