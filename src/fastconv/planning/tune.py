"""Fit the cost model's coefficients on this machine: ``fastconv.tune()``.

Times every method on a set of problems (random but reproducible: 1-3-D,
float32/float64/complex64/complex128, output modes, boundaries), fits per
method and dtype family the non-negative coefficients of the features in
:mod:`fastconv.planning.cost` (least squares relative to the measured time)
and stores them next to the wisdom (``coefficients-v2-<class>.json``, one
file per machine class: 'avx512', 'avx2', 'generic'), where the planner
loads them in later processes.  ``benchmarks/calibrate.py`` runs the
same fit on a larger set to produce the shipped defaults.
"""
from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np

from .. import _config
from . import cost

FAMILIES = {"float32": "f4", "float64": "f8", "complex64": "c8", "complex128": "c16"}


def random_problem(rng):
    """One random problem: (n, m, dtype, mode, boundary)."""
    nd = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
    if nd == 1:
        N = int(10 ** rng.uniform(3, 6.3))
        K = int(min(N, 10 ** rng.uniform(0.3, 4.5)))
        n, m = (N,), (K,)
    elif nd == 2:
        N = int(10 ** rng.uniform(1.8, 3.3))
        n = (N, max(1, int(N * rng.uniform(0.5, 1.5))))
        K = int(10 ** rng.uniform(0.3, 1.8))
        m = (min(K, n[0]), max(1, min(int(K * rng.uniform(0.5, 1.5)), n[1])))
    else:
        N = int(10 ** rng.uniform(1.3, 2.2))
        n = (N,) * 3
        K = int(min(N, 10 ** rng.uniform(0.3, 1.2)))
        m = (K,) * 3
    dtype = np.dtype(rng.choice(["float32", "float64", "complex64", "complex128"]))
    mode = str(rng.choice(["full", "same", "valid"]))
    boundary = str(rng.choice(["constant", "reflect"]))
    return n, m, dtype, mode, boundary


def _best_time(fn, budget):
    """Best of up to three runs after a warm-up, stopping after ``budget`` s."""
    fn()
    best = np.inf
    t_end = time.perf_counter() + budget
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return best


def _problems(problems, seed):
    """``problems`` random problems, prepared: (prep, its spec)."""
    from .._core import prepare

    rng = np.random.default_rng(seed)
    for _ in range(problems):
        n, m, dtype, mode, boundary = random_problem(rng)
        x = rng.standard_normal(n).astype(dtype)
        k = rng.standard_normal(m).astype(dtype)
        prep = prepare(x, k, mode=mode, boundary=boundary)
        yield prep, prep.spec


def _methods(prep, spec, threads):
    """(method, params, features) of every method that applies to ``prep``
    (the fused filter never does: image filters only)."""
    terms = prep.separable_terms()
    for method, (mkparams, feats) in cost.FEATURES.items():
        if method == "fused" or (method == "separable" and terms is None):
            continue
        params = {"nterms": terms} if method == "separable" else mkparams(spec, threads)
        if method in ("overlap-add", "overlap-save") and all(
                b is None for b in params["blocks"]):
            continue
        if method == "hybrid" and spec.ndim < 2:
            continue
        yield method, params, feats


def measure(problems, seed=7, per_call_budget=0.3, skip_slow=0.5, log=None):
    """Time every method on ``problems`` random problems; rows for fitting."""
    from .._core import execute
    from ..algorithms._common import shared_spectra_off

    threads = _config.get_threads()
    rows = {}
    for i, (prep, spec) in enumerate(_problems(problems, seed)):
        fam = FAMILIES[np.dtype(spec.dtype).name]
        for method, params, feats in _methods(prep, spec, threads):
            if method in cost.COEF and fam in cost.COEF[method] and \
                    cost.estimate(method, spec, threads, params) > skip_slow:
                continue          # far too slow to be chosen; keeps tuning short
            with shared_spectra_off():     # a one-off call, as the model predicts
                t = _best_time(lambda: execute(prep, method, params, threads),
                               per_call_budget)
            rows.setdefault((method, fam), []).append((feats(spec, params), t))
        if log:
            log(f"{i + 1}/{problems} {spec.n} {spec.m} {spec.dtype} {spec.mode}")
    return rows


def measure_scaling(threads, problems=24, seed=11, min_time=2e-3, per_method=6, log=None):
    """``{method: speed-up}`` at ``threads`` over one thread: each method
    timed both ways (same plan parameters) on up to ``per_method`` random
    problems whose estimate is at least ``min_time`` (small calls say more
    about waking threads than about scaling); the median ratio, at least 1."""
    from .._core import execute
    from ..algorithms._common import shared_spectra_off

    ratios = {}
    for prep, spec in _problems(problems, seed):
        for method, params, _ in _methods(prep, spec, threads):
            if method == "separable" or len(ratios.get(method, ())) >= per_method:
                continue
            if not min_time <= cost.estimate(method, spec, threads, params) <= 0.5:
                continue
            with shared_spectra_off():
                tt = _best_time(lambda: execute(prep, method, params, threads), 0.3)
                t1 = _best_time(lambda: execute(prep, method, params, 1), 0.3)
            ratios.setdefault(method, []).append(t1 / tt)
    out = {m: max(1.0, float(f"{np.median(r):.3g}")) for m, r in ratios.items() if r}
    if log:
        log(f"speed-up at {threads} threads: {out}")
    return out


def fit(rows, threads):
    """NNLS fit of coefficients per (method, family), relative errors."""
    from scipy.optimize import nnls

    coef = {}
    report = {}
    for (method, fam), data in sorted(rows.items()):
        if len(data) < 4:
            continue
        names = []          # union over the rows (2-D direct has its own features)
        for d in data:
            names += [n for n in d[0] if n not in ("par", "par_exp") and n not in names]
        A = np.array([[d[0].get(n, 0.0) / (1 if n in cost.SERIAL else
                                           cost.speedup(threads, d[0].get("par"),
                                                        d[0].get("par_exp"), method))
                       for n in names] for d in data])
        b = np.array([d[1] for d in data])
        w = 1.0 / b
        c, _ = nnls(A * w[:, None], b * w)
        rel = (A @ c) / b
        coef.setdefault(method, {})[fam] = {n: float(f"{v:.3g}") for n, v in zip(names, c)}
        report[(method, fam)] = (len(b), float(np.median(np.abs(np.log(rel)))),
                                 float(rel.min()), float(rel.max()))
    return coef, report


# where the fit is kept and how it is read live with the cost model (which
# reads it at first use and must not import this module, which times runs)
_path = cost.tuned_path
load_saved = cost.load_saved


def tune(problems=40, *, seed=7, save=True, verbose=False):
    """Measure this machine and refit the planner's cost model.

    Takes seconds (about 0.1-0.3 s per problem).  The fitted coefficients
    replace the shipped ones in this process and, with ``save=True`` and
    wisdom enabled, in later processes too.

    Parameters
    ----------
    problems : int
        Number of random problems to time (>= 10).
    seed : int
        Seed of the problem set.
    save : bool
        Store the coefficients next to the wisdom file.
    verbose : bool
        Print progress and the fit quality.

    Returns
    -------
    dict
        ``{method: {family: {feature: seconds}}}`` for the pairs fitted, and
        ``'_scaling'``: ``{threads: {method: speed-up over one thread}}``,
        measured at this thread count (with several threads) and used by the
        planner for it (the model's scaling serves other counts: tune again
        under ``fastconv.threads(n)`` to measure another).
    """
    if isinstance(problems, bool) or not isinstance(problems, int) or problems < 10:
        raise ValueError(f"problems must be an int >= 10, got {problems!r}")
    log = print if verbose else None
    threads = _config.get_threads()
    if threads > 1:
        # how each method scales here, at this thread count: the fit below
        # divides by it, and the planner uses it (cost.SCALING)
        scaling = measure_scaling(threads, problems=min(24, problems), log=log)
        cost.apply({"_scaling": {str(threads): scaling}})
    rows = measure(problems, seed=seed, log=log)
    coef, report = fit(rows, threads)
    if threads > 1:
        coef["_scaling"] = {str(t): dict(v) for t, v in cost.SCALING.items()}
    if verbose:
        for (method, fam), (nb, med, lo, hi) in report.items():
            print(f"{method:13s} {fam:4s} n={nb:3d} median |log(pred/meas)| {med:.2f}, "
                  f"range {lo:.2f}..{hi:.2f}")
    cost.apply(coef)
    if save:
        path = _path()
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".coef-")
            with os.fdopen(fd, "w") as f:
                json.dump(coef, f, indent=1)
            os.replace(tmp, path)
    return coef
