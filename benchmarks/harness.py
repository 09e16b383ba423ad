"""Interleaved timing: ours and the anchors in one process, medians, ratios.

Each round times every contender, in a freshly shuffled order, so drift
of the machine's speed hits all of them alike and no contender always runs
right after the same one (a predecessor that frees large buffers makes the
next call pay fresh page faults); inside a round a contender is warmed
(``WARM_S``) and then timed back to back (``TIMED`` calls); the median over
rounds is reported.  A contender slower than ``slow_s`` on its warm-up run
gets fewer rounds.
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


#: inside a round each fast contender first runs untimed for WARM_S (at
#: least once), then TIMED calls are timed back to back.  Measured on these
#: VMs: after a pause or a long single-threaded stretch (a garbage
#: collection takes 88 ms with torch imported) the first calls run up to
#: 2x slower (a 12.8 MB copy: 1.85, 1.80, then 0.9 ms; a parallel depthwise
#: layer needs ~5 calls), and another library's thread pool may still hold
#: the cores (the benchmarks set OMP_WAIT_POLICY=passive and
#: OPENBLAS_THREAD_TIMEOUT; not every pool reads them).  Before (one timed
#: call per round after gc.collect()), a depthwise layer timed 2.1-2.4 ms
#: against 1.2 in a loop, torch's 3x3 layers 11 ms against 6.
WARM_S = 0.02
TIMED = 2


def measure(contenders, rounds=7, slow_s=1.0, budget_s=20.0):
    """contenders: dict name -> zero-arg callable.  Returns name -> median s.

    Rounds in a shuffled order; inside a round each contender runs untimed
    for ``WARM_S`` and then ``TIMED`` calls are timed back to back (one
    timed call, after a garbage collection, for contenders slower than
    ``slow_s / 10``)."""
    names = list(contenders)
    first = {}
    for n in names:                      # warm-up: JIT, plan caches, page faults
        t0 = time.perf_counter()
        contenders[n]()
        first[n] = time.perf_counter() - t0
        if first[n] <= 10 * slow_s:
            # a second call: the first may have compiled (how fast it is)
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
            fast = first[n] <= slow_s / 10
            if fast:
                t0 = time.perf_counter()
                while True:
                    contenders[n]()
                    if time.perf_counter() - t0 >= WARM_S:
                        break
                spent += time.perf_counter() - t0
            for _ in range(TIMED if fast else 1):
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
