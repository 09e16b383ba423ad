"""Template matching: cross-correlation as a feature detector.

:func:`match_template` takes scikit-image's signature (a drop-in for
``skimage.feature.match_template``) and adds the six scores of
``cv2.matchTemplate`` through ``method``; :func:`best_matches` picks the
best, well-separated locations of a score map.

Scores, with ``T`` the template, ``I`` the image window under it, sums over
the template (over its ``mask`` when given, a boolean array of the
template's shape), ``n`` the number of template pixels used:

==================  ===========================================================
method              score
==================  ===========================================================
'sqdiff'            ``sum (T - I)**2``                       (0 = perfect)
'sqdiff_normed'     ``sqdiff / sqrt(sum T**2 * sum I**2)``   (0 = perfect)
'ccorr'             ``sum T * I``
'ccorr_normed'      ``ccorr / sqrt(sum T**2 * sum I**2)``    in [0, 1] for
                                                            non-negative data
'ccoeff'            ``sum (T - mean T) * (I - mean I)``
'ccoeff_normed'     ``ccoeff / sqrt(sum (T - mean T)**2 * sum (I - mean I)**2)``
                    in [-1, 1] (the default; scikit-image's score)
==================  ===========================================================

cv2's constants (``cv2.TM_CCOEFF_NORMED`` ...) and names (``'TM_SQDIFF'``)
are accepted for ``method``.  The cross-correlation goes through fastconv's
planner (FFT for large templates); window sums use running sums in
float64, and every normalisation (means, variances, denominators) is
computed in float64; normalised scores are clipped to their mathematical
range ([-1, 1] for the correlation coefficients, [0, inf) for
'sqdiff_normed', which exceeds 2 where a window is much brighter or darker
than the template; cv2 clamps its unmasked 'sqdiff_normed' at 1, its masked
one not) so round-off cannot produce 1.0000001.

Zero-variance windows (documented choices; the anchors disagree):

* 'ccoeff_normed': 0 where the window or the template is constant (no
  correlation is defined).  scikit-image does the same; cv2 returns 1 for a
  constant template.
* 'ccorr_normed': 0 where the window or the template is all zeros (both
  anchors agree).
* 'sqdiff_normed': 1 where the window or the template is all zeros (as cv2).

"Constant" means a sum of squared deviations below ``1e3 * eps`` times
the sum of squares (the round-off floor of the running sums), so flat
regions of real images do not produce noise-driven scores.

Images are computed in float32 when they are float32 (or float16), in
float64 otherwise; scores have that dtype.
"""
from __future__ import annotations

import operator
from typing import Any, List, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V

__all__ = ["match_template", "best_matches", "METHODS"]

METHODS = ("sqdiff", "sqdiff_normed", "ccorr", "ccorr_normed", "ccoeff", "ccoeff_normed")
_TOL = 1e3 * np.finfo(np.float64).eps


def _method(method):
    if isinstance(method, (int, np.integer)) and not isinstance(method, bool):
        if 0 <= method < 6:
            return METHODS[method]          # cv2.TM_SQDIFF = 0 ... TM_CCOEFF_NORMED = 5
    elif isinstance(method, str):
        m = method.lower()
        m = m[3:] if m.startswith("tm_") else m
        if m in METHODS:
            return m
    raise ValueError(f"method must be one of {METHODS} (or a cv2.TM_* constant), "
                     f"got {method!r}")


def _box_sums(a, shape):
    """Sums of ``a`` over every window of ``shape`` ('valid'), float64."""
    s = a.astype(np.float64, copy=False)
    for ax, K in enumerate(shape):
        c = np.cumsum(s, axis=ax)
        lead = [slice(None)] * s.ndim
        lead[ax] = slice(K - 1, None)
        out = c[tuple(lead)].copy()
        tail = [slice(None)] * s.ndim
        tail[ax] = slice(0, c.shape[ax] - K)
        dst = [slice(None)] * s.ndim
        dst[ax] = slice(1, None)
        out[tuple(dst)] -= c[tuple(tail)]
        s = out
    return s


def match_template(image: ArrayLike, template: ArrayLike, pad_input: bool = False,
                   mode: str = "constant", constant_values: float = 0, *,
                   method: Any = "ccoeff_normed",
                   mask: Optional[ArrayLike] = None) -> np.ndarray:
    """Match a template over an image (2-D or 3-D; any N-D works).

    Parameters
    ----------
    image, template : array_like
        Same number of dimensions; the template no larger than the image.
    pad_input : bool
        False: scores for the positions where the template lies inside the
        image (shape ``image - template + 1``), indexed by the template's
        top-left corner.  True: the image is padded (``mode``,
        ``constant_values``, numpy.pad's names) so the result has the
        image's shape, indexed by the template's centre (``shape // 2``),
        as scikit-image does.
    mode, constant_values
        Padding for ``pad_input=True``.
    method : str or int
        One of :data:`METHODS` (see the module docstring) or a cv2.TM_*
        constant.
    mask : array_like of bool, optional
        Template pixels to use (True); as cv2.matchTemplate's mask.

    Returns
    -------
    ndarray
        The score map.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.feature import match_template
    >>> img = np.random.default_rng(0).random((40, 50))
    >>> score = match_template(img, img[10:18, 20:30])
    >>> np.unravel_index(np.argmax(score), score.shape), round(float(score.max()), 6)
    ((np.int64(10), np.int64(20)), 1.0)
    """
    from ._core import convolve_impl

    x = V.as_array(image, "image")
    t = V.as_array(template, "template")
    meth = _method(method)
    for name, a in (("image", x), ("template", t)):
        if a.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got complex")
        if a.size == 0:
            raise ValueError(f"{name} is empty")
    if x.ndim != t.ndim:
        raise ValueError(f"image and template must have the same number of dimensions, "
                         f"got {x.ndim} and {t.ndim}")
    if any(n < k for n, k in zip(x.shape, t.shape)):
        raise ValueError(f"image {x.shape} must be at least as large as the template "
                         f"{t.shape} on every axis")
    if not isinstance(pad_input, (bool, np.bool_)):
        raise TypeError(f"pad_input must be a bool, got {pad_input!r}")
    fdt = np.dtype(np.float32) if x.dtype in (np.float32, np.float16) else np.dtype(np.float64)
    xf = x.astype(fdt, copy=False)
    if not np.isfinite(xf.sum()) and not np.isfinite(xf).all():
        raise ValueError("image contains NaN or Inf; template scores are undefined there "
                         "(fill or mask them first, e.g. with fastconv.convolve(nan_policy=...))")
    tf = t.astype(np.float64)
    if not np.isfinite(tf).all():
        raise ValueError("template contains NaN or Inf")
    if pad_input:
        pads = [(K // 2, K - 1 - K // 2) for K in t.shape]
        if mode == "constant":
            xf = np.pad(xf, pads, mode="constant", constant_values=constant_values)
        else:
            try:
                xf = np.pad(xf, pads, mode=mode)
            except ValueError as exc:
                raise ValueError(f"mode={mode!r}: {exc}") from None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != t.shape:
            raise ValueError(f"mask must have the template's shape {t.shape}, got {m.shape}")
        m = m.astype(bool)
        if not m.any():
            raise ValueError("mask selects no template pixel")
        w = m.astype(np.float64)
    else:
        w = None
    n = float(t.size if w is None else w.sum())
    tw = tf if w is None else tf * w
    t_mean = tw.sum() / n
    need_ccoeff = meth.startswith("ccoeff")
    if need_ccoeff:
        tk = (tf - t_mean) if w is None else (tf - t_mean) * w
    else:
        tk = tw
    # the cross-correlation with the (centred, masked) template
    xc = convolve_impl(xf, tk.astype(fdt), "valid", "auto", None, "constant", 0, None,
                       "default", "correlate", dtypes=(fdt, fdt))
    if meth == "ccorr" or meth == "ccoeff":
        return xc
    # window sums over the template (or its mask), float64
    if w is None and xf.ndim == 2:
        return _scores_2d(xf, xc, t.shape, meth, n, tw, tf, tk, fdt)
    if w is None:
        s1 = _box_sums(xf, t.shape) if need_ccoeff else None
        s2 = _box_sums(np.square(xf, dtype=np.float64), t.shape)
    else:
        sq = np.square(xf, dtype=np.float64)
        both = convolve_impl(np.stack([xf.astype(np.float64), sq]), w[None], "valid", "auto",
                             tuple(range(1, xf.ndim + 1)), "constant", 0, None, "default",
                             "correlate", dtypes=(np.float64, np.float64))
        s1, s2 = both[0], both[1]
    xc64 = xc.astype(np.float64)
    if meth == "ccoeff_normed":
        t_ssd = float(np.sum(tk * tk if w is None else (tf - t_mean) ** 2 * w))
        w_ssd = s2 - s1 * s1 / n
        den = np.sqrt(np.maximum(w_ssd, 0.0) * t_ssd)
        flat = (w_ssd <= _TOL * s2) | (t_ssd <= _TOL * float(np.sum(tw * tf)))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(flat, 0.0, xc64 / den)
        return np.clip(r, -1.0, 1.0).astype(fdt)
    t_ss = float(np.sum(tw * tf))
    den = np.sqrt(s2 * t_ss)
    # an all-zero window or template (the masked path's FFT leaves
    # round-off, hence the relative floor)
    zero = (s2 <= _TOL * float(np.max(s2, initial=0.0))) | (t_ss == 0.0)
    if meth == "ccorr_normed":
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(zero, 0.0, xc64 / den)
        return np.clip(r, -1.0, 1.0).astype(fdt)
    # sqdiff family: sum T^2 - 2 sum T I + sum I^2 (never below zero)
    sqd = np.maximum(t_ss - 2.0 * xc64 + s2, 0.0)
    if meth == "sqdiff":
        return sqd.astype(fdt)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(zero, 1.0, sqd / den)
    # >= 0 (no upper bound: a window much brighter or darker than the
    # template scores far above 2, as cv2 and the exact value do)
    return np.maximum(r, 0.0).astype(fdt)


def _scores_2d(xf, xc, tshape, meth, n, tw, tf, tk, fdt):
    """2-D, no mask: running window sums and the score in two parallel passes."""
    from ._config import get_threads
    from ._core import match_scores

    t_ss = float(np.sum(tw * tf))
    t_ssd = float(np.sum(tk * tk))
    if t_ssd <= _TOL * t_ss:
        t_ssd = 0.0                 # constant template: no correlation defined
    return match_scores(xf, xc, tshape, meth, n, t_ss, t_ssd, _TOL, fdt, get_threads())


def best_matches(score: ArrayLike, n: int = 1, *, min_distance: int = 1,
                 method: Any = "ccoeff_normed", threshold: Optional[float] = None
                 ) -> List[Tuple[Tuple[int, ...], float]]:
    """The ``n`` best, mutually separated positions of a score map.

    Maxima for every method except the 'sqdiff' ones (minima).  A pick is
    the best score within ``min_distance`` of it (Chebyshev distance), and
    two picks are at least that far apart, so one match is not reported
    many times; ``threshold`` drops weaker scores.

    Returns
    -------
    list of (tuple of int, float)
        ``(position, score)``, best first.

    Examples
    --------
    >>> import numpy as np
    >>> best_matches(np.array([[0, 3, 0, 0, 0], [1, 0, 0, 0, 5.0]]), n=2)
    [((1, 4), 5.0), ((0, 1), 3.0)]
    """
    from scipy import ndimage as ndi

    s = np.asarray(score, dtype=np.float64)
    n = operator.index(n)
    md = operator.index(min_distance)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if md < 0:
        raise ValueError(f"min_distance must be >= 0, got {md}")
    if s.size == 0:
        return []
    md = min(md, max(s.shape))       # farther than the map is wide: one pick per map
    lower = _method(method).startswith("sqdiff")
    v = -s if lower else s
    v = np.where(np.isnan(v), -np.inf, v)
    size = 2 * md + 1
    peaks = (v == ndi.maximum_filter(v, size=size, mode="nearest")) & np.isfinite(v)
    if threshold is not None:
        peaks &= (v >= (-threshold if lower else threshold))
    idx = np.flatnonzero(peaks)
    order = idx[np.argsort(-v.ravel()[idx], kind="stable")]
    # a pick blocks the positions closer than max(md, 1) to it (a box), so
    # each candidate is one lookup: O(picks x box), not O(picks^2)
    r = max(md, 1) - 1
    blocked = np.zeros(s.shape, bool)
    chosen = []
    for flat in order:
        p = np.unravel_index(flat, s.shape)
        if blocked[p]:
            continue
        chosen.append(p)
        if len(chosen) == n:
            break
        blocked[tuple(slice(max(0, i - r), i + r + 1) for i in p)] = True
    return [(tuple(int(i) for i in p), float(s[p])) for p in chosen]
