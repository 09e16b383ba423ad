"""Op-count cost model with constants calibrated on a 2-core x86-64 VM.

Every estimate is in seconds.  The constants (``CONSTANTS``) were fitted by
``benchmarks/calibrate.py`` on the reference machine (AVX2, 2 cores) and are
the shipped defaults for a generic x86-64 machine; measured choices
(wisdom, ``measure=True``) override the model where they exist.
"""
from __future__ import annotations

import math

import numpy as np

from ..algorithms._common import fast_len
from ..algorithms.fft import lengths as fft_lengths
from ..algorithms.overlap import choose_blocks

# seconds per unit, per compute-dtype family ('f4', 'f8', 'c8', 'c16', 'i8')
CONSTANTS = {
    # direct: per (output x kernel row x group-of-4 pass) and per (output x tap)
    "direct_pass": {"f4": 0.25e-9, "f8": 0.40e-9, "c8": 0.9e-9, "c16": 1.2e-9, "i8": 0.6e-9},
    "direct_tap": {"f4": 0.07e-9, "f8": 0.14e-9, "c8": 0.6e-9, "c16": 1.0e-9, "i8": 0.4e-9},
    "direct_call": 20e-6,
    # fft: per (point x log2 point) of a complex-equivalent transform
    "fft_point": {"f4": 0.9e-9, "f8": 1.3e-9, "c8": 1.8e-9, "c16": 2.6e-9},
    "fft_call": 40e-6,
    "byte": 0.12e-9,          # memory traffic per byte (copies, pads, folds)
    "parallel": 0.9,          # efficiency of each extra thread
}


def _fam(dtype: str) -> str:
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        return "i8"
    return {("f", 4): "f4", ("f", 8): "f8", ("c", 8): "c8", ("c", 16): "c16"}[(dt.kind, dt.itemsize)]


def _speedup(threads: int) -> float:
    return 1.0 + CONSTANTS["parallel"] * (threads - 1)


def direct(spec, threads: int) -> float:
    fam = _fam(spec.dtype)
    K = spec.m[-1]
    R = spec.taps // K
    per_out = R * (math.ceil(K / 4) * CONSTANTS["direct_pass"][fam] + K * CONSTANTS["direct_tap"][fam])
    win = spec.bx * np.prod([L + M - 1 for L, M in zip(spec.out_shape, spec.m)])
    t = spec.outputs * per_out / _speedup(threads)
    return t + CONSTANTS["direct_call"] + 2 * win * spec.itemsize * CONSTANTS["byte"]


def _fft_time(points: float, transform_len: float, fam: str, real: bool) -> float:
    # a real transform of M points costs about half a complex one
    c = CONSTANTS["fft_point"][fam if fam != "i8" else "f8"]
    return (0.5 if real else 1.0) * points * math.log2(max(transform_len, 2)) * c


def fft_params(spec):
    return {"lengths": fft_lengths(spec.n, spec.m, spec.starts, spec.out_shape, spec.real)}


def fft(spec, threads: int, params=None) -> float:
    fam = _fam(spec.dtype)
    M = (params or fft_params(spec))["lengths"]
    P = float(np.prod(M))
    n_tr = spec.bx + spec.bk + spec.batch
    t = _fft_time(n_tr * P, P, fam, spec.real)
    spec_bytes = spec.batch * P * spec.itemsize * (1 if spec.real else 1) * 2
    t += spec_bytes * 3 * CONSTANTS["byte"]
    return t / _speedup(threads) ** 0.85 + CONSTANTS["fft_call"] * 3


def blocked_params(spec):
    return {"blocks": choose_blocks(spec.n, spec.m, spec.out_shape, spec.real)}


def _blocked(spec, threads, params, save: bool) -> float:
    fam = _fam(spec.dtype)
    blocks = params["blocks"]
    P = 1.0
    block_P = 1.0
    lens = spec.out_shape if save else spec.n
    for N, K, M in zip(lens, spec.m, blocks):
        if M is None:
            Mf = fast_len(N + K - 1, spec.real)
            P *= Mf
            block_P *= Mf
        else:
            S = M - K + 1
            P *= -(-N // S) * M
            block_P *= M
    t = _fft_time(2 * spec.batch * P, block_P, fam, spec.real)
    t += _fft_time(spec.bk * block_P, block_P, fam, spec.real)
    t += spec.batch * P * spec.itemsize * 2 * (4 if save else 6) * CONSTANTS["byte"]
    return t / _speedup(threads) ** 0.85 + CONSTANTS["fft_call"] * 3


def overlap_add(spec, threads: int, params=None) -> float:
    return _blocked(spec, threads, params or blocked_params(spec), save=False)


def overlap_save(spec, threads: int, params=None) -> float:
    return _blocked(spec, threads, params or blocked_params(spec), save=True)


def memory(spec, method: str, params) -> int:
    """Estimated peak working memory (bytes) of a method, output included."""
    it = spec.itemsize
    out = spec.outputs * it
    if method == "direct":
        win = spec.bx * np.prod([L + M - 1 for L, M in zip(spec.out_shape, spec.m)])
        return int(out + win * it)
    cit = it * (1 if not spec.real else 1) * 2  # complex spectra
    if method == "fft":
        P = float(np.prod(params["lengths"]))
        return int(out + (spec.batch + spec.bk) * P * cit / (2 if spec.real else 1) * 2 + spec.batch * P * it)
    P = 1.0
    lens = spec.out_shape if method == "overlap-save" else spec.n
    for N, K, M in zip(lens, spec.m, params["blocks"]):
        if M is None:
            P *= fast_len(N + K - 1, spec.real)
        else:
            P *= -(-N // (M - K + 1)) * M
    return int(out + spec.batch * P * (cit + 2 * it))


ESTIMATORS = {
    "direct": (direct, lambda spec: {}),
    "fft": (fft, fft_params),
    "overlap-add": (overlap_add, blocked_params),
    "overlap-save": (overlap_save, blocked_params),
}
