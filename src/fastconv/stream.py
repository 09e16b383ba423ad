"""Streaming convolution: a stateful, block-based LTI filter for long streams.

``Convolver(h, block_size=256)`` filters a stream chunk by chunk through an
impulse response ``h`` (one for all channels, or one per channel).  Every
``process(chunk)`` call returns exactly as many samples as it is given;
the output is the convolution delayed by ``latency = block_size`` samples,
whatever the IR length, and ``flush()`` returns the remaining
``block_size + len(h) - 1`` samples and resets the state.  So::

    c = Convolver(h, block_size=256)
    y = np.concatenate([c.process(x[a:b]) for a, b in chunks] + [c.flush()], axis=-1)
    # y[..., c.latency:] == fastconv.convolve(x, h)   (floating-point tolerance)

Algorithm (``method='auto'``): IRs up to ``DIRECT_TAPS`` taps are applied
directly (a 'valid' FIR over the block plus history); longer ones are
**non-uniformly partitioned** in the frequency domain (Gardner 1995; Garcia
2002; Wefers 2015).  Level 0 uses partitions of ``block_size`` taps, each
next level four times larger, with as few partitions per level as the
timing rule below allows (3 for a 256-sample block), up to ``max_partition``
(16384); the last level takes as many partitions of that size as the IR
needs (see :func:`partition_plan`).  A level with partition size ``P`` transforms the last ``2P``
input samples once every ``P`` samples (overlap-save), multiplies the spectra
of its last ``m`` input blocks by its ``m`` IR partition spectra (a
frequency-domain delay line) and adds ``P`` output samples into an
accumulator; a level starting at tap ``o >= P - block_size`` delivers in
time for the block emitted when its input completes, so every level works
on whole blocks only and the latency stays one block.  ``method='uniform'``
forces one level (``P = block_size``, for comparison); ``method='direct'``
forces the direct FIR.

Cost: a 3 s IR at 48 kHz with 256-sample blocks needs about 17 complex
multiply-adds per sample and channel (uniform partitioning: 563), plus the
transforms; see ``make bench`` for measured real-time factors.
"""
from __future__ import annotations

import operator
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from ._core import stream_engine
from .planning import stream as _plan
from .planning.stream import DIRECT_TAPS, partition_plan

__all__ = ["Convolver", "partition_plan"]


class Convolver:
    """Stateful block convolution of a stream with a fixed impulse response.

    Parameters
    ----------
    h : array_like
        Impulse response, shape ``(K,)`` or ``(..., K)`` (one per channel;
        its leading axes broadcast against the stream's channel axes).
    block_size : int
        Processing block and latency in samples (default 256).
    axis : int
        Time axis of the chunks (default -1); the other axes are channels.
    method : {'auto', 'direct', 'partitioned', 'uniform'}
        'auto': direct for IRs up to ``DIRECT_TAPS`` taps, else non-uniformly
        partitioned.
    max_partition : int, optional
        Largest partition size of the non-uniform scheme (default 16384 or
        ``block_size`` if larger).
    backend : {'numba', 'numpy'}
        'numba' (default): compiled kernels; with two or more channels and
        threads, partitions of at least ``BIG_BLOCK`` samples run one task
        per channel on a thread pool.  'numpy': numpy kernels only (no numba
        import, about 100 MB less resident memory; single-threaded
        multiply-adds, about 1.5x slower for long blocks; the command line
        uses it).  Both give the same results to floating-point tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.stream import Convolver
    >>> c = Convolver([1.0, 0.5], block_size=4)
    >>> np.concatenate([c.process([1.0, 0, 0]), c.process([0, 2.0]), c.flush()])[c.latency:]
    array([1. , 0.5, 0. , 0. , 2. , 1. ])
    """

    def __init__(self, h: ArrayLike, *, block_size: int = 256, axis: int = -1,
                 method: str = "auto", max_partition: Optional[int] = None,
                 backend: str = "numba") -> None:
        h = V.as_array(h, "h")
        if h.ndim == 0 or h.shape[-1] == 0:
            raise ValueError("h must have at least one sample along its last axis")
        if h.dtype.kind == "c":
            raise TypeError("complex impulse responses are not supported by the stream "
                            "convolver; filter real and imaginary parts separately")
        if not np.isfinite(h).all():
            raise ValueError("h contains NaN or Inf")
        try:
            B = operator.index(block_size)
        except TypeError:
            raise TypeError(f"block_size must be an int, got {block_size!r}") from None
        if B < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        if method not in ("auto", "direct", "partitioned", "uniform"):
            raise ValueError(f"method must be 'auto', 'direct', 'partitioned' or 'uniform', "
                             f"got {method!r}")
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"axis must be an int, got {axis!r}")
        if backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        if backend == "numpy" and method == "direct":
            raise ValueError("backend='numpy' needs a partitioned method ('auto' with a "
                             "long IR, 'partitioned' or 'uniform')")
        self.backend = backend
        self.dtype = np.dtype(np.float32) if h.dtype == np.float32 else np.dtype(np.float64)
        self.h = np.ascontiguousarray(h, dtype=self.dtype)
        self.K = self.h.shape[-1]
        self.block_size = B
        self.latency = B
        self.axis = int(axis)
        if max_partition is not None:
            try:
                max_partition = operator.index(max_partition)
            except TypeError:
                raise TypeError(f"max_partition must be an int or None, "
                                f"got {max_partition!r}") from None
            if max_partition < 1:
                raise ValueError(f"max_partition must be >= 1, got {max_partition}")
        self.method, self.levels = _plan.choose(self.K, B, method, max_partition, backend)
        self.max_partition = max_partition
        per_channel = self._bytes_per_channel()
        from ._config import max_memory

        if per_channel > max_memory():
            raise ValueError(
                f"block_size={B} with a {self.K}-tap h needs about "
                f"{per_channel / 2**30:.2f} GiB per channel, more than FASTCONV_MAX_MEMORY "
                f"({max_memory() / 2**30:.2f} GiB)")
        self._chan = None
        self._hcache = {}
        self.reset()

    def _bytes_per_channel(self):
        """Working memory per channel (bytes) that the engine will allocate."""
        return _plan.bytes_per_channel(self.method, self.levels, self.block_size, self.K,
                                       self.dtype.itemsize)

    # -------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the stream: zero history, next sample is time 0."""
        self._chan = None
        self._engine = None

    def _setup(self, chan):
        hch = self.h.shape[:-1]
        try:
            full = np.broadcast_shapes(chan, hch)
        except ValueError:
            raise ValueError(f"the chunk's channel shape {chan} does not broadcast with "
                             f"h's {hch}") from None
        if full != chan:
            raise ValueError(f"h's channel shape {hch} needs chunks with channel shape "
                             f"{full}, got {chan}")
        C = int(np.prod(chan)) if chan else 1
        from ._config import max_memory

        if C * self._bytes_per_channel() > max_memory():
            raise ValueError(
                f"chunk has {C} channels; with block_size={self.block_size} and a "
                f"{self.K}-tap h that needs about "
                f"{C * self._bytes_per_channel() / 2**30:.2f} GiB, more than "
                f"FASTCONV_MAX_MEMORY ({max_memory() / 2**30:.2f} GiB)")
        hh = self.h.reshape(-1, self.K)
        if hh.shape[0] not in (1, C):
            hh = np.broadcast_to(self.h, chan + (self.K,)).reshape(C, self.K)
        self._engine = stream_engine(hh, C, self.block_size, self.method, self.levels,
                                     self.backend, self.dtype, self._hcache)
        self._chan = chan
        self._C = C

    # ------------------------------------------------------------ process
    def process(self, chunk: ArrayLike) -> np.ndarray:
        """Filter the next chunk; returns as many samples (delayed by ``latency``)."""
        if (self._chan is not None and type(chunk) is np.ndarray and self.axis == -1
                and chunk.dtype == self.dtype and chunk.shape[:-1] == self._chan):
            return self._engine.run(chunk.reshape(self._C, -1)).reshape(chunk.shape)   # fast path
        x = V.as_array(chunk, "chunk")
        if x.ndim == 0:
            raise ValueError("chunk must have a time axis")
        if x.dtype.kind == "c":
            raise TypeError("complex chunks are not supported")
        ax = self.axis if -x.ndim <= self.axis < x.ndim else None
        if ax is None:
            raise ValueError(f"axis={self.axis} is out of range for a {x.ndim}-d chunk")
        x = np.moveaxis(x, ax, -1)
        chan = x.shape[:-1]
        if self._chan is None:
            self._setup(chan)
        elif chan != self._chan:
            raise ValueError(f"chunk channel shape {chan} differs from the stream's "
                             f"{self._chan}")
        n = x.shape[-1]
        xs = np.ascontiguousarray(x.reshape(self._C, n), dtype=self.dtype)
        out = self._engine.run(xs)
        return np.moveaxis(out.reshape(chan + (n,)), -1, ax)

    def flush(self) -> np.ndarray:
        """Return the rest of the output (``latency + len(h) - 1`` samples) and reset."""
        if self._chan is None:
            chan = self.h.shape[:-1]
            self._setup(chan)
        chan = self._chan
        need = self.latency + self.K - 1
        y = self._engine.run(None, need)
        self.reset()
        return np.moveaxis(y.reshape(chan + (need,)), -1, self.axis)
