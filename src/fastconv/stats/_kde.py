"""Kernel density estimation by linear binning and convolution."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _api, _core

# unit-variance kernel profiles k(u) (u in standard deviations) and the
# radius (in standard deviations) beyond which they are 0 (the Gaussian:
# where e^{-u^2/2} < 1e-16 of its peak)
_SQ5, _SQ6, _SQ7, _SQ3 = math.sqrt(5), math.sqrt(6), math.sqrt(7), math.sqrt(3)
_COS_S = 1 / math.sqrt(1 - 8 / math.pi ** 2)
_TRIC_S = 1 / math.sqrt(35 / 243)


def _gauss(u):
    return np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)


def _poly(c, s, f):
    def k(u):
        t = np.abs(u) / s
        return np.where(t < 1, c * f(t) / s, 0.0)
    return k


KERNELS = {
    "gaussian": (_gauss, 8.6),
    "epanechnikov": (_poly(0.75, _SQ5, lambda t: 1 - t * t), _SQ5),
    "biweight": (_poly(15 / 16, _SQ7, lambda t: (1 - t * t) ** 2), _SQ7),
    "triweight": (_poly(35 / 32, 3.0, lambda t: (1 - t * t) ** 3), 3.0),
    "triangular": (_poly(1.0, _SQ6, lambda t: 1 - t), _SQ6),
    "cosine": (_poly(math.pi / 4, _COS_S, lambda t: np.cos(math.pi * t / 2)), _COS_S),
    "uniform": (_poly(0.5, _SQ3, lambda t: np.ones_like(t)), _SQ3),
    "tricube": (_poly(70 / 81, _TRIC_S, lambda t: (1 - t ** 3) ** 3), _TRIC_S),
}
#: the default grid's margin beyond the data, in kernel standard deviations
#: (compact kernels: their whole support)
GAUSS_CUT = 4.0
DEFAULT_POINTS = {1: 1024, 2: 256, 3: 64}


def _data(x, weights):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"x must be an array of data points, got {type(x).__name__}")
    a = np.asarray(x)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"x must be real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2, 3):
        raise ValueError(f"x must have shape (n,) or (n, d) with d in 1..3, got {np.shape(x)}")
    a = np.asarray(a, np.float64)
    if a.shape[0] == 0:
        raise ValueError("x is empty: no data to estimate a density from")
    if not np.isfinite(a).all():
        raise ValueError("x has NaN or infinite values; drop them first")
    if weights is None:
        w = np.ones(a.shape[0])
    else:
        w = np.asarray(weights)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"weights must be real numbers, got dtype {w.dtype}")
        w = w.astype(np.float64).ravel()
        if w.size != a.shape[0]:
            raise ValueError(f"weights has {w.size} entries for {a.shape[0]} data points")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and >= 0")
        if not w.sum() > 0:
            raise ValueError("weights sum to 0")
    return a, w


def _cov(a, w, unit=False):
    if unit:
        n = a.shape[0]
        return (np.atleast_2d(np.cov(a.T)) if n > 1 else None), float(n)
    W = w.sum()
    mu = (w[:, None] * a).sum(0) / W
    d = a - mu
    neff = W * W / (w * w).sum()
    # scipy's gaussian_kde: np.cov with aweights (unbiased for weights)
    c = (w[:, None] * d).T @ d / (W - (w * w).sum() / W) if neff > 1 else None
    return c, neff


def isj_bandwidth(x, weights=None, grid_points: int = 1 << 14) -> float:
    """The Improved Sheather-Jones bandwidth (Botev, Grotowski and Kroese
    2010) of 1-D data: the fixed point of the plug-in equation for the
    Gaussian kernel, from the DCT of the data's histogram (no normal
    reference assumption, so multimodal data are not over-smoothed).

    Raises ValueError when the data have no spread or the fixed point does
    not exist (a few distinct values)."""
    import scipy.fft as sf
    from scipy.optimize import brentq

    a, w = _data(x, weights)
    if a.shape[1] != 1:
        raise ValueError("bw='isj' is defined for 1-D data only")
    v = a[:, 0]
    lo, hi = v.min(), v.max()
    if not hi > lo:
        raise ValueError("x has no spread (all values equal): no bandwidth fits")
    R = hi - lo
    lo, hi = lo - R / 10, hi + R / 10
    R = hi - lo
    n = grid_points
    W = w.sum()
    N = W * W / (w * w).sum()
    hist = _core.bin_linear(v[:, None], w / W, np.array([lo]), np.array([R / (n - 1)]), (n,))
    # cosine coefficients of the density on [0, 1]
    c = sf.dct(hist, type=2)
    c[0] /= 2
    a2 = (c[1:] / 2) ** 2
    k2 = np.arange(1, n, dtype=np.float64) ** 2

    def fixed_point(t):
        ell = 7
        f = 2 * math.pi ** (2 * ell) * np.sum(k2 ** ell * a2 * np.exp(-k2 * math.pi ** 2 * t))
        for s in range(ell - 1, 1, -1):
            K0 = np.prod(np.arange(1, 2 * s, 2)) / math.sqrt(2 * math.pi)
            const = (1 + 0.5 ** (s + 0.5)) / 3
            tj = (2 * const * K0 / (N * f)) ** (2 / (3 + 2 * s))
            f = 2 * math.pi ** (2 * s) * np.sum(k2 ** s * a2 * np.exp(-k2 * math.pi ** 2 * tj))
        return t - (2 * N * math.sqrt(math.pi) * f) ** (-0.4)

    # the root lies below 0.1 (in units of the range squared); search up
    for top in (0.01, 0.05, 0.1, 0.2):
        try:
            t = brentq(fixed_point, 1e-12, top, xtol=1e-14)
            return float(math.sqrt(t) * R)
        except ValueError:
            continue
    raise ValueError("bw='isj': the plug-in equation has no root for these data (too few "
                     "distinct values); give bw as a number or 'scott'")


def _bandwidth(bw, a, w, kernel, unit=False):
    """The kernel's covariance H (d, d); ``unit``: the weights are all 1."""
    d = a.shape[1]
    if isinstance(bw, str):
        if bw not in ("scott", "silverman", "isj"):
            raise ValueError(f"bw must be 'isj', 'scott', 'silverman', a number or a "
                             f"covariance matrix, got {bw!r}")
        if bw == "isj":
            if d != 1:
                raise ValueError("bw='isj' is defined for 1-D data only; use 'scott' or "
                                 "'silverman'")
            h = isj_bandwidth(a[:, 0], w)
            return np.array([[h * h]])
        c, neff = _cov(a, w, unit=unit)
        if c is None:
            raise ValueError(f"bw={bw!r} needs more than one (effective) data point; give bw "
                             f"as a number")
        f = neff ** (-1 / (d + 4)) if bw == "scott" else (neff * (d + 2) / 4) ** (-1 / (d + 4))
        H = c * f * f
    elif isinstance(bw, numbers.Real) and not isinstance(bw, bool):
        if not (math.isfinite(bw) and bw > 0):
            raise ValueError(f"bw must be > 0, got {bw!r}")
        H = np.eye(d) * float(bw) ** 2
    else:
        H = np.asarray(bw, np.float64)
        if H.shape != (d, d):
            raise ValueError(f"bw as an array must be a ({d}, {d}) covariance matrix, got "
                             f"shape {H.shape}")
    if not np.isfinite(H).all() or not np.allclose(H, H.T):
        raise ValueError("bw: the covariance matrix must be finite and symmetric")
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise ValueError("bw: the bandwidth covariance is not positive definite (data on a "
                         "line or a point?); give bw as a number") from None
    if kernel != "gaussian" and d > 1 and np.count_nonzero(H - np.diag(np.diag(H))):
        # product kernels: one standard deviation per axis
        H = np.diag(np.diag(H))
    return H


def _kernel_array(kernel, H, delta, radius_cells):
    """The kernel's density on the grid offsets (-r..r per axis)."""
    d = H.shape[0]
    axes = [np.arange(-r, r + 1) * dl for r, dl in zip(radius_cells, delta)]
    if kernel == "gaussian":
        mesh = np.meshgrid(*axes, indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=1)
        Hi = np.linalg.inv(H)
        q = np.einsum("ni,ij,nj->n", pts, Hi, pts)
        norm = 1 / math.sqrt((2 * math.pi) ** d * np.linalg.det(H))
        return (np.exp(-0.5 * q) * norm).reshape([len(ax) for ax in axes])
    prof = KERNELS[kernel][0]
    out = None
    for i, ax in enumerate(axes):
        s = math.sqrt(H[i, i])
        k1 = prof(ax / s) / s
        out = k1 if out is None else np.multiply.outer(out, k1)
    return out


class KDE:
    """A kernel density estimate: the density on a grid, and a callable
    that evaluates it anywhere.

    Attributes
    ----------
    grid : tuple of 1-D arrays
        The cell centres along each axis (``grid[0]`` for 1-D data).
    density : ndarray
        The estimate at the grid's points (shape: the grid's lengths).
    covariance : ndarray (d, d)
        The kernel's covariance (1-D: ``bandwidth ** 2``).
    bandwidth : float
        1-D: the kernel's standard deviation.
    """

    def __init__(self, grid, density, H, kernel, boundary, bounds, data, weights, counts,
                 cgrid):
        self.grid = grid
        self.density = density
        self.covariance = H
        self.bandwidth = float(math.sqrt(H[0, 0])) if H.shape == (1, 1) else None
        self.kernel = kernel
        self.boundary = boundary
        self.bounds = bounds
        self._data, self._w = data, weights
        self._counts, self._cgrid = counts, cgrid

    def __repr__(self):
        shape = "x".join(str(len(g)) for g in self.grid)
        return (f"KDE(kernel={self.kernel!r}, grid={shape}, boundary={self.boundary!r}, "
                f"covariance={self.covariance.tolist()!r})")

    def __call__(self, points):
        return self.evaluate(points)

    def evaluate(self, points, exact: bool = False):
        """The density at ``points`` ((m,) for 1-D data, else (m, d)).

        Inside the grid: cubic-spline interpolation of :attr:`density`
        (error of order the grid spacing^4 on top of the binning's).
        Outside it (``boundary=None``): interpolated on the grid extended by
        the kernel's reach, which holds every point's contribution when the
        grid (so extended) covers the data (0 beyond it: below the kernel's
        truncation); with a user grid that leaves data out, the kernel
        summed over the data directly (O(n) per point).  A point beyond the
        grid is not an error and not a guess.  Outside the bounds of a bounded estimate: 0.
        ``exact=True``: the kernel summed over the data themselves, no
        binning (O(n) per point, the definition itself)."""
        from scipy import ndimage

        d = len(self.grid)
        p = np.asarray(points, np.float64)
        shape = p.shape[:-1] if d > 1 else p.shape
        p = p.reshape(-1, d)
        if not np.isfinite(p).all():
            raise ValueError("points has NaN or infinite values")
        if exact:
            if self.boundary == "renormalize":
                raise ValueError("exact=True is available for boundary=None and 'reflect'")
            return self._direct(p, self._data, self._w).reshape(shape)
        lo = np.array([g[0] for g in self.grid])
        hi = np.array([g[-1] for g in self.grid])
        delta = np.array([(g[-1] - g[0]) / max(len(g) - 1, 1) for g in self.grid])
        inside = np.all((p >= lo) & (p <= hi), axis=1)
        out = np.zeros(p.shape[0])
        if inside.any():
            coords = ((p[inside] - lo) / delta).T
            v = ndimage.map_coordinates(self.density, coords, order=3, mode="nearest")
            out[inside] = np.maximum(v, 0.0)
        rest = ~inside
        if rest.any() and self.boundary is None and self._counts is not None:
            elo, edl, edens = self._counts
            ehi = elo + (np.array(edens.shape) - 1) * edl
            inx = rest & np.all((p >= elo) & (p <= ehi), axis=1)
            if inx.any():
                coords = ((p[inx] - elo) / edl).T
                out[inx] = np.maximum(ndimage.map_coordinates(edens, coords, order=3,
                                                              mode="nearest"), 0.0)
            rest = rest & ~inx          # beyond every point's reach: 0
            out[rest] = 0.0
        elif rest.any():
            if self.boundary is None:
                out[rest] = self._direct(p[rest], self._data, self._w)
            else:
                blo = np.array([b[0] for b in self.bounds])
                bhi = np.array([b[1] for b in self.bounds])
                # between the outermost cell centres and the bounds: the
                # nearest cell's value (half a cell); outside the bounds: 0
                inb = rest & np.all((p >= blo) & (p <= bhi), axis=1)
                if inb.any():
                    coords = ((np.clip(p[inb], lo, hi) - lo) / delta).T
                    out[inb] = np.maximum(ndimage.map_coordinates(
                        self.density, coords, order=3, mode="nearest"), 0.0)
        return out.reshape(shape)

    def _direct(self, p, pts, w, chunk=1 << 22):
        """sum_i w_i K_H(p - pts_i) / sum w (reflected about the bounds with
        boundary='reflect'), in chunks of about ``chunk`` pairs."""
        H = self.covariance
        d = H.shape[0]
        W = self._w.sum()
        srcs = [pts]
        if self.boundary == "reflect":
            for ax, (blo, bhi) in enumerate(self.bounds):
                for edge in (blo, bhi):
                    q = pts.copy()
                    q[:, ax] = 2 * edge - q[:, ax]
                    srcs.append(q)
        out = np.zeros(p.shape[0])
        if self.kernel == "gaussian":
            L = np.linalg.cholesky(np.linalg.inv(H))
            norm = 1 / math.sqrt((2 * math.pi) ** d * np.linalg.det(H))
        step = max(1, chunk // max(pts.shape[0], 1))
        for s in srcs:
            for i in range(0, p.shape[0], step):
                diff = p[i:i + step, None, :] - s[None, :, :]
                if self.kernel == "gaussian":
                    z = diff @ L
                    k = np.exp(-0.5 * np.einsum("mnd,mnd->mn", z, z)) * norm
                else:
                    prof = KERNELS[self.kernel][0]
                    k = np.ones(diff.shape[:2])
                    for ax in range(d):
                        sd = math.sqrt(H[ax, ax])
                        k = k * prof(diff[:, :, ax] / sd) / sd
                out[i:i + step] += k @ w
        return out / W


def _grid_axes(grid, a, H, kernel, boundary, bounds):
    """Per axis: (cell centres, (lo, hi) bounds or None)."""
    d = a.shape[1]
    sd = np.sqrt(np.diag(H))
    reach = GAUSS_CUT if kernel == "gaussian" else KERNELS[kernel][1]
    if grid is None or isinstance(grid, numbers.Integral):
        counts = [int(grid) if grid is not None else DEFAULT_POINTS[d]] * d
        arrays = None
    elif isinstance(grid, (tuple, list)) and grid and all(
            isinstance(g, numbers.Integral) and not isinstance(g, bool) for g in grid):
        if len(grid) != d:
            raise ValueError(f"grid gives {len(grid)} axis sizes for {d}-D data")
        counts, arrays = [int(g) for g in grid], None
    else:
        arrays = [np.asarray(grid, np.float64)] if d == 1 and np.ndim(grid) == 1 and \
            not isinstance(grid[0], (list, tuple, np.ndarray)) else \
            [np.asarray(g, np.float64) for g in grid]
        if len(arrays) != d or any(g.ndim != 1 for g in arrays):
            raise ValueError("grid must be an int, a tuple of ints, or one equally spaced "
                             "1-D array per axis")
        counts = [g.size for g in arrays]
    if any(c < 2 for c in counts):
        raise ValueError(f"grid needs at least 2 points per axis, got {counts}")
    axes, bnds = [], []
    for i in range(d):
        if arrays is not None:
            g = arrays[i]
            if not np.isfinite(g).all():
                raise ValueError("grid has NaN or infinite values")
            step = np.diff(g)
            if not (step > 0).all() or np.ptp(step) > 1e-6 * step.mean():
                raise ValueError("grid must be increasing and equally spaced; evaluate the "
                                 "estimate at other points with KDE.evaluate")
            g = g[0] + np.arange(g.size) * step.mean()
        if boundary is None:
            if arrays is None:
                lo = a[:, i].min() - reach * sd[i]
                hi = a[:, i].max() + reach * sd[i]
                g = np.linspace(lo, hi, counts[i])
            axes.append(g)
            bnds.append(None)
            continue
        if bounds is not None:
            blo, bhi = bounds[i]
        elif arrays is not None:
            dl = g[1] - g[0]
            blo, bhi = g[0] - dl / 2, g[-1] + dl / 2
        else:
            blo, bhi = a[:, i].min(), a[:, i].max()
        if not bhi > blo:
            raise ValueError(f"bounds on axis {i} must have lo < hi, got ({blo!r}, {bhi!r})")
        if (a[:, i] < blo).any() or (a[:, i] > bhi).any():
            raise ValueError(f"x has points outside bounds on axis {i} ({blo!r}, {bhi!r}); "
                             f"a bounded estimate needs the data inside its domain")
        if arrays is None:
            dl = (bhi - blo) / counts[i]
            g = blo + (np.arange(counts[i]) + 0.5) * dl
        else:
            dl = g[1] - g[0]
            if abs(g[0] - dl / 2 - blo) > 1e-9 * dl or abs(g[-1] + dl / 2 - bhi) > 1e-9 * dl:
                raise ValueError("with boundary and a grid, the grid's points must be the "
                                 "cell centres of the bounds (lo + (i + 1/2) * step)")
        axes.append(g)
        bnds.append((float(blo), float(bhi)))
    return axes, bnds


def kde(x, weights=None, bw="scott", kernel: str = "gaussian", boundary=None, grid=None, *,
        bounds=None) -> KDE:
    """Kernel density estimate in 1 to 3 dimensions, by linear binning and
    convolution (direct or FFT, as the planner chooses).

    Parameters
    ----------
    x : array, shape (n,) or (n, d), d <= 3
        The data (one row per point, as scikit-learn and KDEpy take them).
    weights : array (n,), optional
        Non-negative weights (frequency or importance weights).
    bw : 'scott', 'silverman', 'isj', float or array (d, d)
        'scott' and 'silverman': scipy.stats.gaussian_kde's rules (the
        weighted data covariance times ``n_eff^(-2/(d+4))`` or
        ``(n_eff (d+2)/4)^(-2/(d+4))``, ``n_eff`` the effective sample size);
        'isj': Improved Sheather-Jones (1-D; Botev et al. 2010), for
        multimodal data; a float: the kernel's standard deviation (as
        KDEpy, statsmodels and scikit-learn's bandwidth), on every axis; an
        array: the kernel's covariance matrix.
    kernel : str
        'gaussian' (any covariance), 'epanechnikov', 'biweight',
        'triweight', 'triangular', 'cosine', 'uniform', 'tricube' (scaled
        to unit variance, so ``bw`` is their standard deviation; in 2-D and
        3-D product kernels with the covariance's diagonal).
    boundary : None, 'reflect' or 'renormalize'
        None: the density on the whole line/plane/space.  'reflect': the
        data are mirrored at the bounds (the kernel's mass that would leave
        the domain is folded back in; Neumann condition, mass 1 inside);
        'renormalize': each point's kernel is divided by its mass inside
        the domain (Jones 1993).  The grid is not grown: the reflection is
        the convolution's own boundary rule.
    grid : int, tuple of ints, or equally spaced 1-D array(s)
        Points per axis (default 1024, 256x256 or 64^3) or the grid itself.
        Data outside a given grid still count: they are binned on the
        kernel's reach around it (and beyond that contribute < 1e-16).
    bounds : sequence of (lo, hi) per axis, optional
        The domain for a boundary (default: the data's range, or the
        given grid's cells).

    Returns
    -------
    KDE
        ``.grid``, ``.density``, callable at arbitrary points.

    Notes
    -----
    Linear binning puts each point's weight on the corners of its grid cell;
    the binned estimate differs from the exact one by at most
    ``sum_a delta_a^2 / 8 * sup |d^2 K / dx_a^2|`` (Wand 1994), for the
    Gaussian in 1-D ``delta^2 / (8 sqrt(2 pi) h^3)``.  Cost: O(n) binning
    plus one convolution of the grid (O(G log G)), against O(n G) for
    scipy.stats.gaussian_kde.

    Examples
    --------
    >>> import numpy as np, fastconv.stats as fs
    >>> x = np.random.default_rng(0).normal(size=1000)
    >>> est = fs.kde(x, bw=0.3)
    >>> float(est.density.sum() * (est.grid[0][1] - est.grid[0][0])).__round__(6)
    1.0
    """
    a, w = _data(x, weights)
    if not isinstance(kernel, str) or kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    if boundary not in (None, "reflect", "renormalize"):
        raise ValueError(f"boundary must be None, 'reflect' or 'renormalize', got {boundary!r}")
    d = a.shape[1]
    if bounds is not None:
        try:
            bounds = [(float(lo), float(hi)) for lo, hi in
                      ([bounds] if d == 1 and np.ndim(bounds) == 1 else bounds)]
        except (TypeError, ValueError):
            raise ValueError(f"bounds must be (lo, hi) per axis, got {bounds!r}") from None
        if len(bounds) != d:
            raise ValueError(f"bounds gives {len(bounds)} axes for {d}-D data")
    H = _bandwidth(bw, a, w, kernel, unit=weights is None)
    axes, bnds = _grid_axes(grid, a, H, kernel, boundary, bounds)
    delta = np.array([g[1] - g[0] for g in axes])
    sd = np.sqrt(np.diag(H))
    kreach = KERNELS[kernel][1]
    rad = [int(math.ceil(kreach * s / dl)) for s, dl in zip(sd, delta)]
    sizes = [len(g) for g in axes]
    from ..planning.stats import check_memory

    if boundary is None:
        ext = [n + 2 * r for n, r in zip(sizes, rad)]
    else:
        ext = sizes
    kcells = int(np.prod([2 * r + 1 for r in rad]))
    check_memory(8 * (2 * int(np.prod(ext)) + kcells) + 40 * a.shape[0], "kde")
    lo = np.array([g[0] for g in axes]) - (np.array(rad) * delta if boundary is None else 0)
    W = w.sum()
    if boundary is None:
        counts = _core.bin_linear(a, w if weights is not None or d > 1 else np.zeros(0), lo,
                                  delta, tuple(ext))
        k = _kernel_array(kernel, H, delta, rad)
        ext_dens = np.maximum(_api.convolve(counts, k, mode="same") / W, 0.0)
        dens = ext_dens[tuple(slice(r, r + n) for r, n in zip(rad, sizes))]
        # every point binned (the grid with the kernel's reach around it
        # holds the data): the density is known on the whole extended grid
        # and is 0 (below the kernel's truncation) beyond it
        binned = (lo, delta, ext_dens) if abs(counts.sum() - W) <= 1e-12 * W else None
    else:
        # one cell beyond each side, folded back: the half cells between the
        # bounds and the outermost centres (mirror images about the bounds)
        lo1 = lo - delta
        c1 = _core.bin_linear(a, w, lo1, delta, tuple(n + 2 for n in sizes))
        for ax in range(d):
            c1 = np.moveaxis(c1, ax, 0)
            c1[1] += c1[0]
            c1[-2] += c1[-1]
            c1 = np.moveaxis(c1[1:-1], 0, ax)
        counts = c1
        k = _kernel_array(kernel, H, delta, rad)
        if boundary == "reflect":
            dens = _api.convolve(counts, k, mode="same", boundary="symmetric") / W
        else:
            num = _api.convolve(counts, k, mode="same")
            inside = _api.convolve(np.ones_like(counts), k, mode="same") * float(np.prod(delta))
            dens = num / (inside * W)
        dens = np.maximum(dens, 0.0)
        binned = None
    return KDE(tuple(axes), dens, H, kernel, boundary, bnds if boundary else None, a, w,
               binned, None)
