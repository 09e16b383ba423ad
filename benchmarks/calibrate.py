"""Fit the planner's cost coefficients on this machine (non-negative least squares).

Times every method on a grid of problems (1-3-D, float32/float64, several
sizes and kernel sizes), then fits, per method and dtype family, the
coefficients of the features in fastconv.planning.cost.  Prints a COEF dict
to paste into cost.py (the shipped defaults) and the fit's median and worst
relative error.  Takes a few minutes; never part of the tests.
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import nnls

import fastconv
from fastconv._core import execute, prepare
from fastconv.planning import cost

GRID = []
for N in (10_000, 200_000, 1_000_000):
    for K in (4, 16, 64, 256, 1024, 8192):
        if K < N:
            GRID.append(((N,), (K,)))
for N in (256, 1024, 2048):
    for K in (3, 7, 15, 31):
        GRID.append(((N, N), (K, K)))
GRID.append(((2048, 2048), (1, 21)))
GRID.append(((512, 512), (63, 63)))
for N in (48, 128):
    for K in (3, 5, 9, 15):
        GRID.append(((N,) * 3, (K,) * 3))


def best_time(fn, repeat=3, budget=1.5):
    fn()
    ts = []
    t_end = time.perf_counter() + budget
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return min(ts)


def main():
    rng = np.random.default_rng(0)
    threads = fastconv.get_threads()
    rows = {}
    for dt in (np.float32, np.float64):
        for xs, ks in GRID:
            for mode in ("same", "full"):
                x = rng.standard_normal(xs).astype(dt)
                k = rng.standard_normal(ks).astype(dt)
                prep = prepare(x, k, mode=mode)
                spec = prep.spec
                fam = cost._fam(spec.dtype)
                for method, (mkparams, feats) in cost.FEATURES.items():
                    if method == "direct" and spec.outputs * spec.taps > 4e9:
                        continue
                    params = mkparams(spec)
                    if method in ("overlap-add", "overlap-save") and \
                            all(b is None for b in params["blocks"]):
                        continue
                    if method == "hybrid" and (spec.ndim < 2 or
                                               spec.outputs * spec.taps / ks[-1] > 2e10):
                        continue
                    t = best_time(lambda: execute(prep, method, params, threads))
                    f = feats(spec, params)
                    rows.setdefault((method, fam), []).append((f, t, xs, ks, mode))
                print(f"{np.dtype(dt).name} {xs} {ks} {mode} done", file=sys.stderr)
    coef = {}
    s = cost.speedup(threads)
    for (method, fam), data in sorted(rows.items()):
        names = list(data[0][0])
        A = np.array([[d[0][n] / (1 if n == "call" else s) for n in names] for d in data])
        b = np.array([d[1] for d in data])
        # relative least squares: weight each row by 1/t
        w = 1.0 / b
        c, _ = nnls(A * w[:, None], b * w)
        pred = A @ c
        rel = pred / b
        coef.setdefault(method, {})[fam] = {n: float(f"{v:.3g}") for n, v in zip(names, c)}
        print(f"{method:13s} {fam}: n={len(b)} median |pred/meas| "
              f"{np.median(np.abs(np.log(rel))):.2f} (log), worst {rel.min():.2f}..{rel.max():.2f}",
              file=sys.stderr)
    print(json.dumps(coef, indent=1))


if __name__ == "__main__":
    main()
