"""Running window sums and template-matching scores (2-D, 'valid').

The normalised template-matching scores need, besides the correlation of
the image with the template (planned like any convolution), the sum and the
sum of squares of the image over every template-sized window.  Running sums
give both in O(1) work per output, in float64, in one parallel pass, and the
scores are formed from them in a second (the compiled kernels are in
``_kernels/window.py``).
"""
from __future__ import annotations

import numpy as np

#: score codes of the compiled kernel
CODES = {"sqdiff": 1, "sqdiff_normed": 2, "ccorr_normed": 3, "ccoeff_normed": 5}

#: the work of one output of these memory-bound passes, counted in the
#: multiply-adds of the direct kernels (``direct.apply_threads``: the thread
#: count, and the serial kernel while the parallel one is cold)
PER_OUTPUT = 32


def window_sums(x, tshape, nthreads):
    """(s1, s2): sums of ``x`` and ``x**2`` over every ``tshape`` window."""
    from .._kernels.window import box_sums_2d
    from .direct import apply_threads

    L0, L1 = x.shape[0] - tshape[0] + 1, x.shape[1] - tshape[1] + 1
    s1 = np.empty((L0, L1))
    s2 = np.empty((L0, L1))
    apply_threads(x.size * PER_OUTPUT, nthreads)
    chunk = max(tshape[0] * 2, -(-L0 // (8 * nthreads)), 16)
    box_sums_2d(np.ascontiguousarray(x), tshape[0], tshape[1], s1, s2, chunk)
    return s1, s2


def match_scores(x, xc, tshape, method, n, t_ss, t_ssd, tol, dtype, nthreads):
    """Scores of ``method`` from the image ``x``, its correlation ``xc``
    with the template, the template's sum of squares ``t_ss`` and of
    squared deviations ``t_ssd``, over windows of ``n`` pixels."""
    from .._kernels.window import scores
    from .direct import apply_threads

    s1, s2 = window_sums(x, tshape, nthreads)
    floor = tol * float(np.max(s2)) if method in ("sqdiff_normed", "ccorr_normed") else 0.0
    out = np.empty(xc.shape, dtype=dtype)
    apply_threads(out.size * PER_OUTPUT, nthreads)
    scores(np.ascontiguousarray(xc), s1, s2, n, t_ss, t_ssd, tol, floor, CODES[method], out)
    return out
