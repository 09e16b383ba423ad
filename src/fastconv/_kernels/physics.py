"""Kernels of the physics front end (``fastconv.physics``): one explicit
step of Perona-Malik diffusion.  No validation here (see
``algorithms/physics.py``)."""
import math

from numba import prange

from . import jit


@jit()
def _flux(d, k2, g):  # pragma: no cover - jitted
    q = d * d / k2
    if g == 0:
        c = math.exp(-q)
    elif g == 1:
        c = 1.0 / (1.0 + q)
    else:
        c = (1.0 - q / 5.0) ** 2 if q < 5.0 else 0.0
    return c * d


@jit(parallel=True)
def perona_malik_step(u, out, k2, dt, g):  # pragma: no cover - jitted
    """One explicit step of Perona-Malik diffusion of ``u`` (n0, n1, n2) into
    ``out``: each face's flux is c(|d|) * d for the difference d across it,
    ``g`` 0: c = exp(-d^2/k2), 1: c = 1 / (1 + d^2/k2), 2: Tukey's biweight
    c = (1 - d^2/(5 k2))^2 inside, 0 outside (Black et al. 1998); no flux
    through the grid's faces (insulated edges: the mean is kept)."""
    n0, n1, n2 = u.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                c0 = u[i, j, k]
                acc = 0.0
                if i > 0:
                    acc += _flux(u[i - 1, j, k] - c0, k2, g)
                if i < n0 - 1:
                    acc += _flux(u[i + 1, j, k] - c0, k2, g)
                if j > 0:
                    acc += _flux(u[i, j - 1, k] - c0, k2, g)
                if j < n1 - 1:
                    acc += _flux(u[i, j + 1, k] - c0, k2, g)
                if k > 0:
                    acc += _flux(u[i, j, k - 1] - c0, k2, g)
                if k < n2 - 1:
                    acc += _flux(u[i, j, k + 1] - c0, k2, g)
                out[i, j, k] = c0 + dt * acc
