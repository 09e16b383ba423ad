"""Plans for the namespace engine (``fastconv.backends.namespace``): direct,
FFT or overlap-save by a cost model per device kind.

Constants (seconds per unit; only ratios matter for the choice):
CPU (PyTorch / array-api-strict on the 2-core AVX-512 VM, 2026-12-05):
torch's conv2d on one channel 2.3-2.5e-9 s per multiply-add at 2 threads
(4096^2 x 3x3: 0.38 s; oneDNN is tuned for many channels), the generic
one-view-per-tap path ~1.5e-9, torch.fft's whole convolution ~2.3e-10 per
point-log2 of each of its three transforms (4096^2 x 31^2: 0.29 s).  CUDA: placeholders
from the issue's H200 figures (cuDNN 3x3 ~ 20 TFLOP/s, FFT 1e7 x 65536 in
0.84 ms); no GPU was available to calibrate them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

COEF = {
    "cpu": {"direct_native": 2.5e-9, "direct_taps": 1.5e-9, "fft": 2.3e-10, "call": 3e-5},
    "cuda": {"direct_native": 5e-14, "direct_taps": 2e-12, "fft": 2e-12, "call": 3e-5},
}


@dataclass
class NamespacePlan:
    method: str
    backend: str
    device: str
    estimates: dict = field(default_factory=dict)

    run: object = None          # set by the engine that made the plan (backends)
    frames: tuple = ()          # overlap-save: the frame length per axis

    def __call__(self, in1, in2):
        """Run this plan's method on arrays like those it was made for."""
        if self.run is None:
            raise TypeError("this plan was not made by fastconv.plan(); nothing to run")
        return self.run(in1, in2)

    def explain(self) -> str:
        lines = [f"namespace engine: {self.backend} on {self.device}", "method     estimate"]
        for m, t in sorted(self.estimates.items(), key=lambda kv: kv[1]):
            lines.append(f"{m:10s} {t * 1e3:9.3f} ms" + ("  <- chosen" if m == self.method
                                                          else ""))
        return "\n".join(lines)


def frames(n, m, out_shape):
    """Overlap-save's frame length per axis: a fast length of about 8 kernel
    lengths (at least 64), or one frame of the whole output's reach where
    that is not longer (then the axis is one transform, as the FFT's)."""
    from scipy.fft import next_fast_len

    out = []
    for K, L in zip(m, out_shape):
        whole = next_fast_len(L + K - 1, real=True)
        f = next_fast_len(max(8 * (K - 1), 64), real=True)
        out.append(f if f < whole and f > K - 1 else whole)
    return tuple(out)


def choose(n, m, out_shape, batch, dtype, device, backend, method="auto", ints=False):
    """The method for convolving (batch, *n) with (*m) into (batch, *out_shape)."""
    c = COEF.get(device, COEF["cpu"])
    taps = math.prod(m)
    outs = math.prod(out_shape) * batch
    native = backend == "torch" and 1 <= len(n) <= 3 and dtype.kind == "f"
    direct = c["direct_native" if native else "direct_taps"] * taps * outs + c["call"] * (
        1 if native else taps)
    size = math.prod(N + K - 1 for N, K in zip(n, m))
    fft = c["fft"] * 3 * batch * size * math.log2(max(size, 2)) + c["call"] * 3
    F = frames(n, m, out_shape)
    nframes = math.prod(-(-L // (f - K + 1)) for L, K, f in zip(out_shape, m, F))
    fsize = math.prod(F)
    # two transforms per frame (the kernel's once) and, per axis, the
    # extension's and the gather's copies of the frames, worse with every axis
    # (torch CPU, 2026-12-05: 1-D 1e6 x 4096 15-17 ms against the FFT's 23-26,
    # 4e6 x 65536 84-89 against 98; 2048^2 x 31^2 38-55 against 44-46, x 63^2
    # 53 against 41-43; 128^3 x 15^3 198-228 against 22: N-D goes to the FFT)
    ols = (c["fft"] * (2 * batch * nframes + 1) * fsize * math.log2(max(fsize, 2))
           + c["fft"] * 8 * len(n) ** 2 * batch * nframes * fsize + c["call"] * (4 + 2 * len(n)))
    est = {"direct": direct} if ints else {"direct": direct, "fft": fft}
    if not ints and nframes > 1:
        est["overlap-save"] = ols
    if method == "auto":
        chosen = min(est, key=est.get)
    elif method in est:
        chosen = method
    elif method == "overlap-save" and not ints:
        chosen = method             # one frame per axis: the FFT by frames
        est[method] = ols
    else:
        raise ValueError(f"method={method!r} does not apply to integer {backend} arrays "
                         f"(exact results need the direct method)")
    return NamespacePlan(chosen, backend, device, est, frames=F)


def choose_layer(N, C, O, G, n, k, out, device, method="auto"):
    """'taps' or 'fft' for a layer convolution of (N, C, *n) by (O, C / G,
    *k) into (N, O, *out) in the namespace engine (``backends.layers``):
    taps cost a multiply-add per tap, output and input channel of the group
    (plus a call and a strided copy per tap); the FFT transforms every
    input and output channel and the kernels once at a fast length of the
    padded input, and sums the channels per frequency (complex
    multiply-adds).  ``frames``: the FFT's lengths."""
    from scipy.fft import next_fast_len

    c = COEF.get(device, COEF["cpu"])
    Cg = C // G
    taps = math.prod(k)
    P = N * math.prod(out)
    est = {"taps": c["direct_taps"] * P * O * Cg * taps
           + c["direct_taps"] * P * C * taps / 4 + c["call"] * taps}
    L = tuple(next_fast_len(int(nn), real=True) for nn in n)
    size = math.prod(L)
    F = size // L[-1] * (L[-1] // 2 + 1)
    est["fft"] = (c["fft"] * (N * C + N * O + O * Cg) * size * math.log2(max(size, 2))
                  + c["direct_taps"] * 4 * N * O * Cg * F + c["call"] * 8)
    if method == "auto":
        chosen = min(est, key=est.get)
    elif method in est:
        chosen = method
    else:
        raise ValueError(f"method={method!r} is not available for arrays other than NumPy's "
                         f"and PyTorch's (the namespace engine's layers have 'taps' and 'fft');"
                         f" use 'auto'")
    return NamespacePlan(chosen, "layers", device, est, frames=L)
