"""Planning a streaming convolution: direct FIR or partitioned, the
partition sizes, and the working memory per channel (checked against the
budget before anything is allocated)."""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

#: IRs up to this many taps are applied by a direct FIR
DIRECT_TAPS = 64


def partition_plan(K: int, block_size: int, max_partition: Optional[int] = None,
                   growth: int = 4) -> List[Tuple[int, int, int]]:
    """Levels ``[(P, m, offset), ...]`` covering ``K`` taps.

    Level 0 has partitions of ``block_size``; each next level is ``growth``
    times larger, up to the largest ``block_size * growth**j`` that does not
    exceed ``max_partition`` (default ``max(block_size, 16384)``); a level
    of size ``P`` must start at a tap offset ``>= P - block_size`` (so it
    delivers in time), which fixes how many partitions
    each level needs before the next can start.  The last level takes as
    many partitions as the IR needs.  (Growth 4 measured faster here than
    Gardner's doubling: fewer levels to run per block, fewer multiply-adds.)
    """
    B = block_size
    # every partition size is B * growth**j, so that each level's period
    # (P samples) is a whole number of blocks and its output lands on a
    # block boundary; max_partition caps j (a cap that is not of that form,
    # e.g. 16384 with B = 1000, rounds down to 16000)
    cap = max(B, max_partition or 16384)
    Pmax = B
    while Pmax * growth <= cap:
        Pmax *= growth
    levels = []
    off, P = 0, B
    while off < K:
        nxt = min(P * growth, Pmax)
        if P < Pmax:
            m = max(1, -(-(nxt - B - off) // P))
            m = min(m, -(-(K - off) // P))
        else:
            m = -(-(K - off) // P)
        levels.append((P, m, off))
        off += m * P
        if P < Pmax and off >= nxt - B:
            P = nxt
    return levels


def choose(K, block_size, method, max_partition, backend):
    """(method, levels) for a ``K``-tap IR: 'auto' takes the direct FIR up to
    ``DIRECT_TAPS`` taps (numba backend), else partitions (non-uniform;
    'uniform': one level of ``block_size`` partitions)."""
    if method == "auto":
        method = "direct" if K <= DIRECT_TAPS and backend == "numba" else "partitioned"
    if method == "direct":
        return method, []
    return method, partition_plan(K, block_size,
                                  block_size if method == "uniform" else max_partition)


def bytes_per_channel(method, levels, block_size, K, itemsize):
    """Working memory per channel (bytes) that the engine will allocate."""
    B, it = block_size, itemsize
    if method == "direct":
        return (2 * B + K - 1 + B) * it + K * it
    Pmax = max(P for P, _, _ in levels)
    n = 2 * Pmax + max(4 * Pmax, 8 * B)                       # input history
    span = max(off + m * P for P, m, off in levels) + 2 * Pmax + B
    n += 2 ** int(np.ceil(np.log2(span))) + B                 # output ring, block
    for P, m, _ in levels:
        n += 2 * (m + 3) * (P + 1) + 2 * P + 2 * m * P        # spectra, delay line
    return n * it
