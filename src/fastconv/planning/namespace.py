"""Plans for the namespace engine (``fastconv.backends.namespace``): direct
or FFT by a cost model per device kind.

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
    est = {"direct": direct} if ints else {"direct": direct, "fft": fft}
    if method == "auto":
        chosen = min(est, key=est.get)
    elif method in est:
        chosen = method
    else:
        raise ValueError(f"method={method!r} does not apply to integer {backend} arrays "
                         f"(exact results need the direct method)")
    return NamespacePlan(chosen, backend, device, est)
