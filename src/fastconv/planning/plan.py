"""Plan: the planner's answer for one problem (light: importable by the
façade for its annotations without loading the algorithms)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import ArrayLike


class Plan:
    """An executable choice of algorithm for one convolution problem.

    Build it with :func:`fastconv.plan`.  ``p(in1, in2)`` computes the
    convolution with the plan's method and parameters (arrays must have the
    shapes and dtypes the plan was made for); ``p.method`` names the
    algorithm; ``p.explain()`` returns every candidate with its estimated
    cost, memory, measured time (if measured) and why it was or was not
    chosen.
    """

    def __init__(self, prep, method: str, params: dict, candidates: list, reason: str,
                 requested: str) -> None:
        self._prep = prep
        self.spec = prep.spec
        self.method = method
        # this plan's own copy; '_kcache' keeps the kernel spectrum between calls
        self.params = dict(params or {}, _kcache={})
        self.candidates = candidates
        self.reason = reason
        self._requested = requested

    def __repr__(self):
        s = self.spec
        return (f"<fastconv.Plan method={self.method!r} n={s.n} m={s.m} "
                f"batch={s.batch} dtype={s.dtype} mode={s.mode!r}>")

    def explain(self) -> str:
        """Human-readable table of candidates, estimates and the choice."""
        s = self.spec
        lines = [
            f"problem: input {s.n} x kernel {s.m}, batch {s.batch}, "
            f"{s.dtype}, mode={s.mode!r}, boundary={s.boundary!r}, "
            f"{s.outputs} outputs x {s.taps} taps",
            f"{'method':<14}{'estimate':>12}{'measured':>12}{'memory':>12}  note",
        ]
        for c in self.candidates:
            est = f"{c['estimate'] * 1e3:.3f} ms"
            meas = "-" if c.get("measured") is None else f"{c['measured'] * 1e3:.3f} ms"
            mem = f"{c['memory'] / 2**20:.1f} MiB"
            mark = "<- chosen" if c["method"] == self.method else c.get("excluded", "")
            if c.get("note"):
                mark = f"{mark} ({c['note']})".strip()
            lines.append(f"{c['method']:<14}{est:>12}{meas:>12}{mem:>12}  {mark}")
        lines.append(f"chosen: {self.method} ({self.reason})")
        return "\n".join(lines)

    def __call__(self, in1: ArrayLike, in2: ArrayLike,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        # the prepared problem knows how to run (the engine, above the
        # planner, made it): the planner never imports the engine
        prep = self._prep.rebind(in1, in2)
        return prep.run(self, out)
