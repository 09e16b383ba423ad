"""Physics on the engine: the heat equation solved in its eigenbasis (one
spectrum for any number of times), Perona-Malik steps, and the free
Schroedinger equation's propagator in the frequency domain.

The heat flow of the data's band-limited interpolant is exact in the basis
that diagonalises the Laplacian with the boundary's condition: the DFT for
'wrap' (periodic), the DCT-II for 'reflect' (the even extension about the
half-sample edge: zero flux, mass kept), the DFT of the zero-padded grid for
'constant' (free space, zero outside; padded until the heat kernel's wrap
is below 1e-16).  Each mode decays by ``exp(-D k^2 t)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _config

#: the heat kernel's reach (in standard deviations) that the 'constant'
#: boundary pads: e^{-r^2/2} < 1e-16
REACH = 8.6


def _k2(shape, dx, kind):
    """Sum over axes of the squared wavenumbers, broadcast to the spectrum."""
    out = 0.0
    nd = len(shape)
    for ax, n in enumerate(shape):
        if kind == "dct":
            k = np.pi * np.arange(n) / (n * dx[ax])
        elif ax == nd - 1:
            k = 2 * np.pi * np.fft.rfftfreq(n, dx[ax])
        else:
            k = 2 * np.pi * np.fft.fftfreq(n, dx[ax])
        sh = [1] * nd
        sh[ax] = k.size
        out = out + (k * k).reshape(sh)
    return out


def heat(u0, D, times, boundary, dx):
    """The heat flow of ``u0`` (float64, N-D) at each of ``times``:
    (len(times), *u0.shape)."""
    import scipy.fft as sf

    w = _config.get_threads()
    out = np.empty((len(times),) + u0.shape)
    if boundary == "reflect":
        U = sf.dctn(u0, type=2, workers=w)
        k2 = _k2(u0.shape, dx, "dct")
        for i, t in enumerate(times):
            out[i] = sf.idctn(U * np.exp(-D * t * k2), type=2, workers=w)
        return out
    if boundary == "wrap":
        U = sf.rfftn(u0, workers=w)
        k2 = _k2(u0.shape, dx, "fft")
        for i, t in enumerate(times):
            out[i] = sf.irfftn(U * np.exp(-D * t * k2), s=u0.shape, workers=w)
        return out
    pad = pad_cells(D, max(times), dx)
    big = tuple(sf.next_fast_len(n + 2 * p, real=True) for n, p in zip(u0.shape, pad))
    U = sf.rfftn(u0, s=big, workers=w)
    k2 = _k2(big, dx, "fft")
    sl = tuple(slice(0, n) for n in u0.shape)
    for i, t in enumerate(times):
        out[i] = sf.irfftn(U * np.exp(-D * t * k2), s=big, workers=w)[sl]
    return out


def pad_cells(D, t, dx):
    """Cells of zeros per axis that keep the heat kernel's wrap below 1e-16."""
    s = math.sqrt(2 * D * t)
    return [int(math.ceil(REACH * s / d)) + 1 for d in dx]


def perona_malik(u, k2, dt, g, n_iter):
    """``n_iter`` explicit steps on ``u`` (float64, 3-D view)."""
    from .._kernels.physics import perona_malik_step

    a = np.ascontiguousarray(u, dtype=np.float64).copy()
    b = np.empty_like(a)
    _config.numba_threads(_config.get_threads(), a.size * 6)
    for _ in range(n_iter):
        perona_malik_step(a, b, float(k2), float(dt), int(g))
        a, b = b, a
    return a


def free_particle(psi0, times, mass, hbar, dx, absorbing, strength, max_phase):
    """psi at each of ``times`` (complex128, (len(times), *shape)): the exact
    propagator ``exp(-i hbar k^2 t / 2m)`` on the periodic grid, or, with an
    absorbing layer of ``absorbing`` cells at every face, split steps of
    kinetic propagation and the layer's damping ``exp(-strength (s/w)^2 dt)``
    (s: depth into the layer)."""
    import scipy.fft as sf

    w = _config.get_threads()
    shape = psi0.shape
    k2 = 0.0
    for ax, n in enumerate(shape):
        k = 2 * np.pi * np.fft.fftfreq(n, dx[ax])
        sh = [1] * len(shape)
        sh[ax] = n
        k2 = k2 + (k * k).reshape(sh)
    rate = hbar * k2 / (2 * mass)
    vmax = hbar * math.sqrt(float(np.max(k2))) / mass
    out = np.empty((len(times),) + shape, np.complex128)
    if absorbing == 0:
        P = sf.fftn(psi0, workers=w)
        for i, t in enumerate(times):
            out[i] = sf.ifftn(P * np.exp(-1j * rate * t), workers=w)
        return out
    depth = 0.0
    for ax, n in enumerate(shape):
        i = np.arange(n)
        s = np.maximum(absorbing - i, 0) + np.maximum(i - (n - 1 - absorbing), 0)
        sh = [1] * len(shape)
        sh[ax] = n
        depth = np.maximum(depth, (s / absorbing).reshape(sh))
    cap = strength * depth ** 2
    psi = psi0.astype(np.complex128)
    now = 0.0
    for i, t in enumerate(times):
        span = t - now
        if span > 0:
            # steps short enough that one step's damping stays below
            # max_phase and the fastest wave on the grid crosses at most a
            # quarter of the layer per step (the kinetic step itself is
            # exact for any length; the splitting errs only in the layer)
            cross = vmax / (0.25 * absorbing * min(dx))
            steps = max(1, int(math.ceil(span * max(cross, strength) / max_phase)))
            dt = span / steps
            half = np.exp(-1j * rate * dt)
            damp = np.exp(-cap * dt)
            for _ in range(steps):
                psi = sf.ifftn(sf.fftn(psi, workers=w) * half, workers=w) * damp
            now = t
        out[i] = psi
    return out
