"""Interleaved timing: ours and the anchors in one process, medians, ratios.

Each round times every contender once, in a freshly shuffled order, so drift
of the machine's speed hits all of them alike and no contender always runs
right after the same one (a predecessor that frees large buffers makes the
next call pay fresh page faults); the median over rounds is reported.
A contender slower than ``slow_s`` on its warm-up run gets fewer rounds.
"""
import gc
import time

import numpy as np

# Steady state: the parallel variant of every kernel, as a process gets once
# its kernels are warm (`fastconv warmup`, or the serial work past
# COLD_WORK); a benchmark's few calls would otherwise time the serial loops
# that serve cold first calls (fastconv._kernels.Parallel)
import fastconv._kernels as _fc_kernels  # noqa: E402

_fc_kernels.FORCE = "parallel"


def measure(contenders, rounds=7, slow_s=1.0, budget_s=20.0):
    """contenders: dict name -> zero-arg callable.  Returns name -> median s."""
    names = list(contenders)
    first = {}
    for n in names:                      # warm-up: JIT, plan caches, page faults
        t0 = time.perf_counter()
        contenders[n]()
        first[n] = time.perf_counter() - t0
    times = {n: [] for n in names}
    spent = 0.0
    rng = np.random.default_rng(12345)
    for r in range(rounds):
        order = [names[i] for i in rng.permutation(len(names))]
        for n in order:
            if first[n] > slow_s and len(times[n]) >= 2:
                continue
            gc.collect()
            t0 = time.perf_counter()
            contenders[n]()
            dt = time.perf_counter() - t0
            times[n].append(dt)
            spent += dt
        if spent > budget_s and all(len(v) >= 3 for v in times.values()):
            break
    return {n: float(np.median(v)) for n, v in times.items()}


def fmt_ms(t):
    return f"{t * 1e3:9.2f}"
