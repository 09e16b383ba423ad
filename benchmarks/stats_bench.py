"""make bench-stats (also run by make bench): fastconv.stats and
fastconv.physics against the tools their users have, in one run (issue 21).

* compound Poisson (lambda = 100, a discretised log-normal severity on 4096
  buckets) on 2^16 buckets: fastconv (tilted, tails resolved to 1e-10;
  and one pass, rtol=None) against the numpy/scipy FFT one-liner and the
  Panjer recursion (fastconv's, numba); each with its largest relative
  error over the entries >= 1e-12, against a long-double Panjer.
* KDE of 10^6 points on a 1024 grid against scipy.stats.gaussian_kde,
  statsmodels (FFT) and KDEpy (FFTKDE); 10^5 evaluations at arbitrary points
  against gaussian_kde (timed on 1000 points, scaled: its cost is linear in
  the points).
* moving_average on 10^7 float64, window 100, plain / weighted ('triang') /
  centred, against pandas rolling and bottleneck move_mean; ewma against
  pandas ewm.
* diffuse on 2048^2 float64 (sigma = 4 cells) against
  scipy.ndimage.gaussian_filter (its default truncation, 4 sigma).
Medians of interleaved rounds (benchmarks/harness.py); ratio = ours / anchor.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import scipy.fft as sf
import scipy.ndimage as ndi
import scipy.stats as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import measure  # noqa: E402

import fastconv  # noqa: E402
import fastconv.physics as fp  # noqa: E402
import fastconv.stats as fs  # noqa: E402


def rel_err(got, want, floor=1e-12):
    m = want >= floor
    return float(np.max(np.abs(got[m] - want[m]) / want[m]))


def panjer_ld(f, lam, n):
    """Long-double Panjer (Poisson): the accuracy reference."""
    f = f.astype(np.longdouble)
    m = f.size
    jf = np.arange(m, dtype=np.longdouble) * f
    g = np.zeros(n, np.longdouble)
    g[0] = np.exp(np.longdouble(lam) * (f[0] - 1))
    for s in range(1, n):
        k = min(s, m - 1)
        g[s] = np.longdouble(lam) / s * np.dot(jf[1:k + 1], g[s - 1::-1][:k])
    return g.astype(np.float64)


def row(res, group, case, name, t, ref=None, **extra):
    r = {"group": group, "case": case, "name": name, "ms": t * 1e3, **extra}
    if ref is not None:
        r["ratio"] = t / ref
    res.append(r)
    ratio = f"{t / ref:7.3f}x" if ref is not None else "        "
    more = "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in extra.items())
    print(f"  {case:34s} {name:34s} {t * 1e3:10.2f} ms  {ratio}  {more}")


def compound_case(res, threads):
    n, lam = 1 << 16, 100.0
    x = np.arange(4097)
    cdf = st.lognorm(0.8, scale=60.0).cdf(x)
    sev = np.diff(cdf)
    sev /= sev.sum()
    sev = np.r_[0.0, sev]
    ref = panjer_ld(sev, lam, n)
    N = 2 * n

    def oneliner():
        return sf.irfft(np.exp(lam * (sf.rfft(sev, N, workers=threads) - 1)), N,
                        workers=threads)[:n]

    c = {"fastconv.compound": lambda: fs.compound(sev, st.poisson(lam), n=n),
         "fastconv.compound rtol=None": lambda: fs.compound(sev, st.poisson(lam), n=n,
                                                            rtol=None),
         "scipy.fft one-liner": oneliner,
         "Panjer (fastconv, numba)": lambda: fs.compound(sev, st.poisson(lam), n=n,
                                                         method="panjer")}
    t = measure(c, rounds=5)
    base = t["scipy.fft one-liner"]
    print("compound Poisson (lambda 100, log-normal severity, 4096 buckets) on 2^16 buckets:")
    errs = {k: rel_err(np.maximum(f(), 0), ref) for k, f in c.items()}
    _, rep = fs.compound(sev, st.poisson(lam), n=n, full_output=True)
    for k in c:
        row(res, "compound", "compound 2^16", k, t[k],
            base if k != "scipy.fft one-liner" else None, max_rel_err=errs[k])
    row(res, "compound", "compound 2^16", "fastconv vs Panjer", t["fastconv.compound"],
        t["Panjer (fastconv, numba)"])
    print(f"    fastconv passes: {rep.passes}, unresolved {rep.unresolved}, "
          f"negative one-liner entries: {int((oneliner() < 0).sum())}")


def kde_case(res):
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, 600000), rng.normal(5, 0.5, 400000)]
    est = fs.kde(x, grid=1024)
    grid = est.grid[0]
    sk = st.gaussian_kde(x)
    c = {"fastconv.kde": lambda: fs.kde(x, grid=1024),
         "scipy gaussian_kde (grid)": lambda: sk(grid)}
    try:
        from statsmodels.nonparametric.kde import KDEUnivariate

        h = est.bandwidth
        c["statsmodels KDEUnivariate fft"] = lambda: KDEUnivariate(x).fit(
            kernel="gau", bw=h, fft=True, gridsize=1024)
    except ImportError:
        pass
    try:
        from KDEpy import FFTKDE

        c["KDEpy FFTKDE"] = lambda: FFTKDE(bw=est.bandwidth).fit(x).evaluate(1024)
    except ImportError:
        pass
    t = measure(c, rounds=3, slow_s=2.0, budget_s=40)
    print("KDE, 10^6 points, 1024-point grid:")
    for k in c:
        if k != "fastconv.kde":
            row(res, "kde", "kde 1e6 on 1024", k, t[k])
            row(res, "kde", "kde 1e6 on 1024", f"fastconv / {k}", t["fastconv.kde"], t[k])
    pts = rng.uniform(-4, 8, 100000)
    t2 = measure({"fastconv KDE(points)": lambda: est(pts),
                  "gaussian_kde 1000 points": lambda: sk(pts[:1000])}, rounds=3,
                 slow_s=2.0)
    sci = t2["gaussian_kde 1000 points"] * 100
    print("10^5 evaluations at arbitrary points (scipy: 1000 timed, x100):")
    row(res, "kde", "kde 1e5 evaluations", "fastconv", t2["fastconv KDE(points)"], sci,
        max_abs_err=float(np.abs(est(pts[:1000]) - sk(pts[:1000])).max()),
        peak=float(est.density.max()))


def rolling_case(res):
    import pandas as pd

    x = np.random.default_rng(0).normal(size=10 ** 7)
    s = pd.Series(x)
    c = {"plain": lambda: fs.moving_average(x, 100),
         "pandas plain": lambda: s.rolling(100).mean(),
         "weighted": lambda: fs.moving_average(x, 100, weights="triang"),
         "pandas weighted": lambda: s.rolling(100, win_type="triang").mean(),
         "centred": lambda: fs.moving_average(x, 100, center=True),
         "pandas centred": lambda: s.rolling(100, center=True).mean(),
         "ewma": lambda: fs.ewma(x, alpha=0.05),
         "pandas ewma": lambda: s.ewm(alpha=0.05).mean()}
    try:
        import bottleneck as bn

        c["bottleneck plain"] = lambda: bn.move_mean(x, 100)
    except ImportError:
        pass
    t = measure(c, rounds=5, slow_s=1.5)
    print("moving averages, 10^7 float64, window 100:")
    for k in ("plain", "weighted", "centred", "ewma"):
        row(res, "rolling", f"{k} 1e7 w100", "fastconv / pandas", t[k], t[f"pandas {k}"])
    if "bottleneck plain" in t:
        row(res, "rolling", "plain 1e7 w100", "fastconv / bottleneck", t["plain"],
            t["bottleneck plain"])
    row(res, "rolling", "weighted 1e7 w100", "weighted / plain (fastconv)", t["weighted"],
        t["plain"])
    row(res, "rolling", "centred 1e7 w100", "centred / plain (fastconv)", t["centred"],
        t["plain"])


def diffuse_case(res):
    img = np.random.default_rng(0).random((2048, 2048))
    c = {"fastconv diffuse": lambda: fp.diffuse(img, 1.0, 8.0),
         "scipy gaussian_filter": lambda: ndi.gaussian_filter(img, 4.0),
         "fastconv diffuse 4 times": lambda: fp.diffuse(img, 1.0, [2.0, 4.0, 8.0, 16.0])}
    t = measure(c, rounds=5)
    print("diffuse 2048^2 float64, sigma 4 (scipy: truncate 4 sigma; ours 8.6):")
    row(res, "diffuse", "diffuse 2048^2", "fastconv / gaussian_filter", t["fastconv diffuse"],
        t["scipy gaussian_filter"])
    row(res, "diffuse", "diffuse 2048^2 x4 times", "fastconv / 4 gaussian_filter calls",
        t["fastconv diffuse 4 times"], 4 * t["scipy gaussian_filter"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--only", nargs="*", default=["compound", "kde", "rolling", "diffuse"])
    args = ap.parse_args()
    threads = fastconv.get_threads()
    avx512 = "avx512f" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") \
        else False
    print(f"fastconv.stats / physics, {threads} threads, "
          f"{'AVX-512' if avx512 else 'AVX2 or other'} CPU")
    res = []
    for name in args.only:
        {"compound": lambda: compound_case(res, threads), "kde": lambda: kde_case(res),
         "rolling": lambda: rolling_case(res), "diffuse": lambda: diffuse_case(res)}[name]()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
