"""Physics by convolution: diffusion (the heat kernel), edge-preserving
anisotropic diffusion (Perona-Malik), and the free quantum particle (its
propagator).

A front end over the engine (DESIGN.md): validation here, the transforms
and kernels in ``algorithms/physics.py`` and ``_kernels/physics.py``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _core

__all__ = ["anisotropic_diffusion", "diffuse", "free_particle", "gradient_scale"]

BOUNDARIES = ("reflect", "wrap", "constant")
#: the sampled Gaussian's aliasing, exp(-pi^2 sigma^2 / 2), is below 1e-19
#: from this sigma (in cells) on: the separable filter and the spectral
#: solution then agree to rounding
GAUSS_MIN_SIGMA = 3.0
#: truncate the separable Gaussian where its tail is below 1e-16
GAUSS_TRUNCATE = 8.6


def _real(u, name):
    if isinstance(u, (str, bytes)) or u is None:
        raise TypeError(f"{name} must be an array, got {type(u).__name__}")
    a = np.asarray(u)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 0 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty array with at least one dimension")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return a


def _positive(v, name, zero_ok=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or \
            not (v > 0 or (zero_ok and v == 0)):
        raise ValueError(f"{name} must be a finite number {'>=' if zero_ok else '>'} 0, "
                         f"got {v!r}")
    return float(v)


def _spacing(dx, ndim):
    vals = [dx] * ndim if np.ndim(dx) == 0 else list(dx)
    if len(vals) != ndim:
        raise ValueError(f"dx must be a number or one spacing per axis ({ndim}), got {dx!r}")
    return [_positive(v, "dx") for v in vals]


def _times(t):
    many = np.ndim(t) == 1
    vals = list(t) if many else [t]
    if np.ndim(t) > 1 or (many and not vals):
        raise ValueError(f"t must be a number or a 1-D sequence of times, got {t!r}")
    return [_positive(v, "t", zero_ok=True) for v in vals], many


def _out_dtype(a):
    return np.float32 if a.dtype in (np.float32, np.float16) else np.float64


def diffuse(u0, D: float, t, *, boundary: str = "reflect", dx=1.0,
            method: str = "auto") -> np.ndarray:
    """Solve the heat (diffusion) equation ``du/dt = D laplacian(u)``.

    Parameters
    ----------
    u0 : array_like
        Initial field, any number of dimensions (all diffuse).
    D : float
        Diffusion coefficient (> 0), in units of dx^2 per unit time.
    t : float or 1-D sequence of floats
        Time(s) >= 0.  A sequence gives one field per time, all from one
        transform of ``u0`` (output shape ``(len(t),) + u0.shape``).
    boundary : 'reflect', 'wrap' or 'constant'
        'reflect': insulated walls half a cell beyond the outermost values
        (zero flux; total mass conserved exactly).  'wrap': periodic (mass
        conserved).  'constant': free space, zero outside the grid (heat
        flows out; the grid is a window on the infinite line).
    dx : float or sequence
        Grid spacing (per axis).
    method : 'auto', 'spectral' or 'gaussian'
        'spectral': each mode of the boundary's eigenbasis (DCT for
        reflect, DFT for wrap, DFT of the zero-padded grid for constant)
        decays by ``exp(-D k^2 t)``: exact for the data's band-limited
        interpolant.  'gaussian': the separable heat kernel (sigma =
        sqrt(2 D t) per axis) through the engine's Gaussian filter with the
        same boundary, truncated at 8.6 sigma; equal to the spectral
        solution to rounding when sigma >= 3 cells (a sampled Gaussian's
        aliasing is exp(-pi^2 sigma^2 / 2)), refused below.  'auto':
        spectral when some sigma is below 3 cells, else the cheaper by
        the estimates (one transform plus one inverse per time, against one
        filter per time).

    Returns
    -------
    ndarray: float64 (float32 for float32 input).

    Examples
    --------
    >>> import numpy as np, fastconv.physics as fp
    >>> u = np.zeros(64); u[32] = 1.0
    >>> v = fp.diffuse(u, D=0.5, t=10.0)
    >>> round(float(v.sum()), 12), round(float((v * (np.arange(64) - 32) ** 2).sum()), 6)
    (1.0, 10.0)
    """
    a = _real(u0, "u0")
    D = _positive(D, "D")
    times, many = _times(t)
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    if method not in ("auto", "spectral", "gaussian"):
        raise ValueError(f"method must be 'auto', 'spectral' or 'gaussian', got {method!r}")
    dxs = _spacing(dx, a.ndim)
    sig = [[math.sqrt(2 * D * tt) / d for d in dxs] for tt in times]
    small = min(min(s) for s in sig) < GAUSS_MIN_SIGMA
    if method == "gaussian" and small:
        raise ValueError(f"method='gaussian' needs sigma = sqrt(2 D t) / dx >= "
                         f"{GAUSS_MIN_SIGMA} cells (got {min(min(s) for s in sig):.3g}); "
                         f"use method='spectral'")
    from ..planning.stats import check_memory

    size = a.size
    grow = 1.0
    if boundary == "constant":
        pad = _core.heat_pad(D, max(times), dxs)
        grow = float(np.prod([(n + 2 * p) / n for n, p in zip(a.shape, pad)]))
    check_memory(8 * size * (len(times) + 3 * grow + 1), "diffuse")
    if method == "auto":
        method = "spectral" if small else _cheaper(a.shape, sig, grow)
    # headroom: transforms sum up to size x the largest value; powers of two
    # scale exactly (a field of 1e308s stays 1e308, not inf)
    u = a.astype(np.float64)
    top = float(np.abs(u).max())
    undo = 1.0
    if top > 2.0 ** 1000 / (u.size * grow):
        k = int(math.ceil(math.log2(top) + math.log2(u.size * grow))) - 1000
        u, undo = u * 2.0 ** -k, 2.0 ** k
    if method == "gaussian":
        from .. import filters

        out = np.stack([filters.gaussian(u, sigma=s, mode=boundary,
                                         truncate=GAUSS_TRUNCATE) for s in sig])
    else:
        out = _core.heat(u, D, times, boundary, dxs)
    if undo != 1.0:
        out *= undo
    out = out.astype(_out_dtype(a), copy=False)
    return out if many else out[0]


#: measured on the 2-core AVX-512 VM (2048^2 float64, sigma 4, 2026-12-05):
#: the spectral solution 143 ms (reflect: DCT and inverse) ~7.6e-10 s per
#: point-log2 per transform, the separable filter 51 ms ~8.5e-11 s per point
#: per tap (both axes' taps counted)
SPECTRAL_C = 7.6e-10
TAP_C = 8.5e-11


def _cheaper(shape, sigmas, grow):
    """'spectral' (one forward transform, one inverse per time) or
    'gaussian' (one separable filter per time), by estimated cost."""
    n = float(np.prod(shape))
    spectral = (1 + len(sigmas)) * SPECTRAL_C * n * grow * math.log2(max(n * grow, 2))
    taps = sum(2 * math.ceil(GAUSS_TRUNCATE * s) + 1 for sig in sigmas for s in sig)
    return "spectral" if spectral < TAP_C * n * taps else "gaussian"


_SCHEMES = {"exponential": 0, "rational": 1, "tukey": 2}


def gradient_scale(image) -> float:
    """The robust scale of an image's differences between neighbours:
    1.4826 * MAD (Black, Sapiro, Marimont and Heeger 1998), over the
    forward differences along every axis; the mean absolute difference of
    the non-zero ones when more than half are zero; 0 for a constant image."""
    a = np.asarray(image, np.float64)
    d = np.concatenate([np.diff(a, axis=ax).ravel() for ax in range(a.ndim) if a.shape[ax] > 1]
                       or [np.zeros(1)])
    mad = float(np.median(np.abs(d - np.median(d))))
    if mad > 0:
        return 1.4826 * mad
    nz = np.abs(d[d != 0])
    return float(nz.mean()) if nz.size else 0.0


def anisotropic_diffusion(image, kappa: float, n_iter: int, *, scheme: str = "exponential",
                          dt: float | None = None) -> np.ndarray:
    """Perona-Malik edge-preserving diffusion.

    Each step moves every pixel toward its 2 * ndim neighbours by
    ``dt * c(d) * d`` per neighbour difference ``d``: ``c`` is near 1 for
    differences small against the edge threshold ``K`` (noise is smoothed)
    and near 0 for large ones (edges stay).  ``K = kappa * s``, with ``s``
    the image's own robust gradient scale (:func:`gradient_scale`), so the
    result does not depend on the image's units: ``anisotropic_diffusion(c
    * img) == c * anisotropic_diffusion(img)`` for any c > 0 (medpy#76,
    where K is absolute).

    Parameters
    ----------
    image : array_like, 1-D to 3-D
    kappa : float
        Edge threshold in units of the gradient scale (> 0; 1-3 is usual).
    n_iter : int
        Steps (>= 0).
    scheme : 'exponential', 'rational' or 'tukey'
        ``c = exp(-(d/K)^2)``, ``1 / (1 + (d/K)^2)`` (Perona and Malik's two)
        or Tukey's biweight ``(1 - d^2/(5 K^2))^2`` inside ``sqrt(5) K``, 0
        beyond (Black et al.: edges stop diffusing entirely).
    dt : float, optional
        Step, in (0, 1/(2 ndim)] (stable; default the largest).

    Returns
    -------
    ndarray, the image's shape; float32 for float32 input, else float64.
    No flux through the image's borders: the mean is kept.
    """
    a = _real(image, "image")
    if a.ndim > 3:
        raise ValueError(f"image must be 1-D to 3-D, got {a.ndim} dimensions")
    kappa = _positive(kappa, "kappa")
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 0:
        raise ValueError(f"n_iter must be an integer >= 0, got {n_iter!r}")
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(_SCHEMES)}, got {scheme!r}")
    top = 1.0 / (2 * a.ndim)
    dt = top if dt is None else _positive(dt, "dt")
    if dt > top * (1 + 1e-12):
        raise ValueError(f"dt must be <= 1/(2 ndim) = {top} for a stable step, got {dt!r}")
    s = gradient_scale(a)
    if s == 0 or n_iter == 0:
        return a.astype(_out_dtype(a), copy=True)
    K = kappa * s
    u3 = a.astype(np.float64).reshape(a.shape + (1,) * (3 - a.ndim))
    out = _core.perona_malik(u3, K * K, dt, _SCHEMES[scheme], int(n_iter))
    return out.reshape(a.shape).astype(_out_dtype(a), copy=False)


#: the absorbing layer's damping rate is this many times (the wave's rms
#: speed / the layer's thickness): a wave at that speed crossing the layer
#: and back is damped by about e^-(2/3 * ABSORB) ~ 1e-12
ABSORB = 40.0


def free_particle(psi0, t, *, mass: float = 1.0, hbar: float = 1.0, dx=1.0,
                  absorbing: int = 0) -> np.ndarray:
    """A free quantum particle's wave function at time(s) ``t``.

    The Schroedinger equation ``i hbar dpsi/dt = -hbar^2/(2m) laplacian psi``
    is solved by its propagator, a convolution that is a product in the
    frequency domain: each plane wave turns by ``exp(-i hbar k^2 t / 2m)``.

    Parameters
    ----------
    psi0 : array_like, complex or real, any number of dimensions
    t : float or 1-D sequence (non-decreasing when absorbing)
    mass, hbar : float
    dx : float or sequence
    absorbing : int
        0: the grid is periodic (exact: a packet leaving one edge comes back
        at the other).  n > 0: a complex absorbing layer n cells thick at
        every face (damping rising as depth^2, its rate from the packet's
        rms speed), time-stepped by split steps, so a packet leaving the
        grid is absorbed instead of wrapping around (trotter-suzuki-mpi#160).

    Returns
    -------
    complex128 ndarray (``(len(t),) + shape`` for a sequence of times).

    Examples
    --------
    >>> import numpy as np, fastconv.physics as fp
    >>> x = np.arange(512) - 256.0
    >>> psi = np.exp(-x ** 2 / 4) / (2 * np.pi) ** 0.25          # sigma0 = 1
    >>> p = fp.free_particle(psi, 4.0)                            # width sqrt(1 + 2^2)
    >>> round(float(np.sqrt((np.abs(p) ** 2 * x ** 2).sum())), 6)
    2.236068
    """
    if isinstance(psi0, (str, bytes)) or psi0 is None:
        raise TypeError(f"psi0 must be an array, got {type(psi0).__name__}")
    a = np.asarray(psi0)
    if a.dtype == object or a.dtype.kind not in "biufc":
        raise TypeError(f"psi0 must hold numbers, got dtype {a.dtype}")
    if a.ndim == 0 or a.size == 0:
        raise ValueError("psi0 must be a non-empty array with at least one dimension")
    if not np.isfinite(a).all():
        raise ValueError("psi0 has NaN or infinite values")
    times, many = _times(t)
    mass = _positive(mass, "mass")
    hbar = _positive(hbar, "hbar")
    dxs = _spacing(dx, a.ndim)
    if isinstance(absorbing, bool) or not isinstance(absorbing, numbers.Integral) or \
            absorbing < 0:
        raise ValueError(f"absorbing must be an integer >= 0 (cells), got {absorbing!r}")
    if absorbing and 2 * absorbing >= min(a.shape):
        raise ValueError(f"absorbing={absorbing} layers leave no interior in a grid of "
                         f"shape {a.shape}")
    if absorbing and any(t2 < t1 for t1, t2 in zip(times, times[1:])):
        raise ValueError("t must be non-decreasing with an absorbing layer (it is time-stepped)")
    from ..planning.stats import check_memory

    check_memory(16 * a.size * (len(times) + 4), "free_particle")
    psi = a.astype(np.complex128)
    strength = 0.0
    if absorbing:
        P = np.abs(np.fft.fftn(psi)) ** 2
        k2 = 0.0
        for ax, n in enumerate(a.shape):
            k = 2 * np.pi * np.fft.fftfreq(n, dxs[ax])
            sh = [1] * a.ndim
            sh[ax] = n
            k2 = k2 + (k * k).reshape(sh)
        krms = math.sqrt(float((P * k2).sum() / P.sum()))
        v = max(hbar * krms / mass, 1e-12)
        strength = ABSORB * v / (absorbing * min(dxs))
    out = _core.free_particle(psi, times, mass, hbar, dxs, int(absorbing), strength, 1.0)
    return out if many else out[0]
