"""The planner: which algorithm (and its parameters) for a ConvSpec.

Candidates are every registered algorithm.  Each gets an estimated time
(:mod:`.cost`) and memory; some are excluded for accuracy:

* integer data never take an FFT path unless a rounding-error bound proves
  that rounding the float64 result recovers the exact integers;
* ``accuracy='high'`` keeps only the direct method (per-output error bound);
* with ``method='auto'``, data holding NaN or Inf take the direct method, so
  a non-finite value only spoils the outputs whose window contains it (an
  FFT spreads it everywhere);
* a method whose memory estimate exceeds ``FASTCONV_MAX_MEMORY`` is skipped.

Measured choices (``measure=True``) are kept as wisdom and preferred over
the model for problems of the same bucketed shape.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import _config
from ..algorithms import FFT_METHODS
from . import cost, wisdom
from .plan import Plan

EPS64 = np.finfo(np.float64).eps


def fft_exact_for_ints(spec, xmax: float, kmax: float) -> bool:
    """True when float64 FFT round-off is provably below 0.25 for these data.

    Bound used: ``3 * eps * log2(P) * ||x||_2 * ||k||_2`` with
    ``||x||_2 <= max|x| * sqrt(size)``.
    """
    P = float(math.prod([N + K for N, K in zip(spec.n, spec.m)]))
    bound = (3 * EPS64 * np.log2(max(P, 2)) * xmax * np.sqrt(math.prod(spec.n))
             * kmax * np.sqrt(math.prod(spec.m)))
    return bool(bound < 0.25)


#: direct is kept when its estimate is within this factor of the best: its
#: error is bounded per output (tiny problems then give exact-looking results)
DIRECT_MARGIN = 1.1
#: below TINY_S (estimated seconds) the FFT-based methods' fixed costs (library
#: calls per axis, threads) dominate and the model is least sure of them
TINY_S = 5e-4
TINY_DIRECT_MARGIN = 1.3


def candidates_for(spec, threads, *, ints_fft_ok, accuracy, sep_terms=None, fused=None):
    """Estimate every method; mark exclusions (a fresh list of dicts).

    ``sep_terms``: number of rank-1 terms of the kernel (None: not low-rank
    or not known), which decides whether the separable method is a candidate;
    ``fused``: the fused image filter's variant for this problem (None: it
    does not apply, and is not listed).
    """
    key = (spec, threads, ints_fft_ok, accuracy, sep_terms, fused, _config.max_memory(),
           cost.generation())
    cached = _CANDIDATES.get(key)
    if cached is None:
        cached = _estimate(spec, threads, ints_fft_ok, accuracy, sep_terms, fused, key[-2])
        if len(_CANDIDATES) > 512:
            _CANDIDATES.clear()
        _CANDIDATES[key] = cached
    return [dict(c) for c in cached]


_CANDIDATES = {}


def _estimate(spec, threads, ints_fft_ok, accuracy, sep_terms, fused, budget):
    cands = []
    for name, (mkparams, _) in cost.FEATURES.items():
        params = mkparams(spec, threads)
        if name == "separable":
            params = {"nterms": sep_terms}
        if name == "fused":
            if fused is None:
                continue
            params = {"kind": fused, "const": fused.endswith("box")}
        c = {"method": name, "params": params,
             "estimate": cost.estimate(name, spec, threads, params),
             "memory": cost.memory(spec, name, params)}
        if fused and fused.startswith("int") and name != "fused":
            # the image's conversion to the compute dtype and back, which
            # only the fused filter (reading the stored dtype) avoids
            c["estimate"] += cost.conversion(spec, threads)
        if name in FFT_METHODS:
            if np.dtype(spec.dtype).kind in "iu" and not ints_fft_ok:
                c["excluded"] = "integers: exactness not provable"
            elif accuracy == "high":
                c["excluded"] = "accuracy='high'"
            if name == "hybrid" and spec.ndim < 2:
                c["excluded"] = c.get("excluded") or "needs >= 2 convolution axes"
            if name in ("overlap-add", "overlap-save") and all(b is None for b in params["blocks"]):
                c["excluded"] = c.get("excluded") or "no axis benefits from blocking"
        if name == "separable" and sep_terms is None:
            c["excluded"] = "kernel not low-rank (or integer, or one per batch)"
        if c["memory"] > budget:
            _fit_budget(spec, c, budget)
        cands.append(c)
    return cands


def _fit_budget(spec, c, budget):
    """Run a method in pieces when its working memory exceeds the budget.

    The output (always whole) plus 1/chunks of the rest must fit; pieces are
    whole batch entries or slabs of the first convolution axis.  Excluded
    when no split fits.
    """
    # what pieces cannot share: the output, the problem's copies, and (a
    # chunked run reads the extended input) the whole padded copy
    out = spec.outputs * spec.itemsize + spec.copies
    if spec.padded:
        out += spec.bx * float(math.prod(spec.n)) * spec.itemsize
    rest = max(c["memory"] - spec.outputs * spec.itemsize - spec.copies, 0)
    room = budget - out
    limit = max(spec.batch, spec.out_shape[0])
    chunks = int(np.ceil(rest / room)) if room > 0 and rest > 0 else limit + 1
    if chunks > limit:
        c["excluded"] = f"memory {c['memory'] / 2**30:.2f} GiB > budget"
        return
    # slabs along a convolution axis re-read K - 1 rows of overlap each
    while True:
        over = 1.0 if spec.batch >= chunks else 1.0 + chunks * (spec.m[0] - 1) / spec.n[0]
        if out + rest / chunks * over <= budget or chunks >= limit:
            break
        chunks += 1
    if out + rest / chunks * over > budget:
        c["excluded"] = f"memory {c['memory'] / 2**30:.2f} GiB > budget"
        return
    c["params"] = dict(c["params"], chunks=chunks)
    c["memory"] = int(out + rest / chunks * over)
    c["estimate"] = c["estimate"] * over + chunks * 50e-6
    c["note"] = f"blocked in {chunks} pieces to fit the memory budget"


#: decisions of ``choose`` without measuring, keyed by everything they depend
#: on (the problem, the method asked for, threads, the memory budget, the
#: wisdom file and its generation): a repeated call skips the estimates
_DECISIONS = {}


def clear_caches() -> None:
    """Forget cached estimates and decisions (after the cost model changed)."""
    _CANDIDATES.clear()
    _DECISIONS.clear()


def choose(prep, method, accuracy, measure):
    """Return a Plan for the prepared problem."""
    spec = prep.spec
    if spec.batch == 0:
        return Plan(prep, "direct", {}, [], "empty batch: nothing to compute", method)
    threads = _config.get_threads()
    ints_fft_ok = prep.ints_fft_ok()
    sep_terms = prep.separable_terms()
    fused = prep.fused_kind() if method == "auto" else None
    if measure:
        return _choose(prep, method, accuracy, True, threads, ints_fft_ok, sep_terms, fused)
    key = (spec, method, accuracy, threads, ints_fft_ok, sep_terms, fused,
           _config.max_memory(), wisdom.state(), cost.generation())
    hit = _DECISIONS.get(key)
    if hit is None:
        plan = _choose(prep, method, accuracy, False, threads, ints_fft_ok, sep_terms, fused)
        if len(_DECISIONS) > 512:
            _DECISIONS.clear()
        params = {k: v for k, v in plan.params.items() if k != "_kcache"}
        _DECISIONS[key] = (plan.method, params, [dict(c) for c in plan.candidates],
                           plan.reason, plan._requested)
        return plan
    m, params, cands, reason, requested = hit
    return Plan(prep, m, params, [dict(c) for c in cands], reason, requested)


def _choose(prep, method, accuracy, measure, threads, ints_fft_ok, sep_terms, fused=None):
    plan = _choose_one(prep, method, accuracy, measure, threads, ints_fft_ok, sep_terms,
                       fused)
    if plan.method == "fused":
        # the fused filter can find NaN in a float32 image only while it
        # runs: the best other candidate is its fallback
        rest = [c for c in plan.candidates if c["method"] != "fused" and "excluded" not in c]
        alt = min(rest, key=lambda c: c["estimate"]) if rest else \
            {"method": "direct", "params": {}}
        plan.params["fallback"] = (alt["method"], dict(alt["params"]))
    return plan


def _choose_one(prep, method, accuracy, measure, threads, ints_fft_ok, sep_terms, fused):
    spec = prep.spec
    cands = candidates_for(spec, threads, ints_fft_ok=ints_fft_ok, accuracy=accuracy,
                           sep_terms=sep_terms, fused=fused)
    by_name = {c["method"]: c for c in cands}
    if method != "auto":
        c = by_name[method]
        if c["memory"] > _config.max_memory() or (
                "memory" in c.get("excluded", "")):
            raise ValueError(
                f"method={method!r} would need about {c['memory'] / 2**30:.2f} GiB "
                f"(FASTCONV_MAX_MEMORY allows {_config.max_memory() / 2**30:.2f} GiB); "
                f"use method='auto' or a blocked method")
        return Plan(prep, method, c["params"], cands, "requested", method)
    ok = [c for c in cands if "excluded" not in c]
    if not ok:
        need = min(c["memory"] for c in cands)
        raise ValueError(
            f"in1/in2 too large: every method needs at least {need / 2**30:.2f} GiB, "
            f"more than FASTCONV_MAX_MEMORY ({_config.max_memory() / 2**30:.2f} GiB)")
    if measure:
        for c in ok:
            c["measured"] = _time_candidate(prep, c, threads)
        best = min(ok, key=lambda c: c["measured"])
        wisdom.record(spec.key(), {"method": best["method"],
                                   "times": {c["method"]: c["measured"] for c in ok}})
        return Plan(prep, best["method"], best["params"], cands, "fastest measured", "auto")
    w = wisdom.lookup(spec.key())
    if w is not None and w.get("method") in {c["method"] for c in ok}:
        for c in ok:
            c["measured"] = w.get("times", {}).get(c["method"])
        best = by_name[w["method"]]
        return Plan(prep, best["method"], best["params"], cands, "wisdom (measured earlier)", "auto")
    best = min(ok, key=lambda c: c["estimate"])
    direct = by_name["direct"]
    margin = TINY_DIRECT_MARGIN if best["estimate"] < TINY_S else DIRECT_MARGIN
    if best is not direct and "excluded" not in direct and \
            direct["estimate"] <= margin * best["estimate"]:
        return Plan(prep, "direct", direct["params"], cands,
                    f"direct within {margin}x of the lowest estimate (exact "
                    "per-output error)", "auto")
    return Plan(prep, best["method"], best["params"], cands, "lowest estimated cost", "auto")


def _time_candidate(prep, c, threads, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        prep.execute(c["method"], c["params"], threads)
        best = min(best, time.perf_counter() - t0)
    return best
