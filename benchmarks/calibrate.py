"""Fit the shipped cost coefficients (a larger fastconv.tune()), never part of the tests.

Prints a COEF dict (JSON) to paste into src/fastconv/planning/cost.py and the
fit's quality per method and dtype family.  Uses a different seed from
`make bench-planner`, which evaluates the result.
"""
import argparse
import json
import sys

import fastconv
from fastconv.planning.tune import fit, measure


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = measure(args.n, seed=args.seed, per_call_budget=0.5, skip_slow=1.0,
                   log=lambda s: print(s, file=sys.stderr))
    coef, report = fit(rows, fastconv.get_threads())
    for (method, fam), (nb, med, lo, hi) in report.items():
        print(f"{method:13s} {fam:4s} n={nb:3d} median |log(pred/meas)| {med:.2f}, "
              f"range {lo:.2f}..{hi:.2f}", file=sys.stderr)
    print(json.dumps(coef, indent=1))


if __name__ == "__main__":
    main()
