"""Convolution of dask arrays: chunked, lazy, out of core, on a cluster.

``fastconv.dask.convolve`` / ``correlate`` take a dask array (``in1``; any
chunking) and an in-memory kernel (``in2``) with the top-level signatures
(mode, axes, boundary, cval, method, accuracy) and return a lazy dask array
with the values :func:`fastconv.convolve` gives on the computed arrays.
``fastconv.dask.ndimage`` has the scipy.ndimage / dask_image.ndfilters
names (``convolve``, ``correlate``, ``convolve1d``, ``correlate1d``,
``gaussian_filter``).

How (see :mod:`fastconv.dask._blocks`): the input is extended by the
boundary rule, and each output block is one task: the in-memory 'valid'
convolution of the block's piece of the extended input (the block plus
``K - 1`` samples on each convolved axis, gathered from every chunk the
kernel reaches, however deep).  So a kernel larger than a chunk is fine,
the planner chooses the method per block shape (direct, separable, FFT,
overlap-save), no global FFT is needed (chunked convolution axes are fine),
and a task's memory is the piece, its output and the plan's working set:
:func:`plan` states it, and it is checked against ``FASTCONV_MAX_MEMORY``
before the graph is built.

Decisions where numpy-land has none: ``in2`` is computed into memory (a
kernel is small); it must have ``in1``'s number of dimensions with extent 1
on the axes that are not convolved (one kernel for every batch entry); with
``mode='valid'`` the input must be at least as long as the kernel on every
convolution axis (the in-memory function would swap the roles; a dask array
cannot become the kernel).  Output chunks follow the input's chunks
('full' adds chunks of the same size at the end; 'valid' drops the tail).
"""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _validate as V
from . import _blocks, ndimage  # noqa: F401  (fastconv.dask.ndimage)

__all__ = ["convolve", "correlate", "plan", "BlockPlan", "store"]


class BlockPlan:
    """The blocked computation of one problem: block shapes, the method the
    planner picks for each, and the memory of one task (bytes, the largest
    over block shapes: input piece and its gathered copy, output, and the
    method's working set)."""

    def __init__(self, x: Any, k: np.ndarray, op: str, mode: str, axes: tuple, boundary: str,
                 cval: complex, method: str, accuracy: str) -> None:
        import fastconv

        self.op, self.mode, self.axes, self.boundary = op, mode, axes, boundary
        self.cval, self.method, self.accuracy = cval, method, accuracy
        self.k = k
        self.x = x
        nd = x.ndim
        self.reach = [0] * nd
        self.pads = [(0, 0)] * nd
        chunks = list(x.chunks)
        out_shape = list(x.shape)
        from .._core import geometry

        starts, lengths = geometry([x.shape[d] for d in axes], [k.shape[d] for d in axes], mode)
        for d, s, L in zip(axes, starts, lengths):
            N, K = x.shape[d], k.shape[d]
            self.pads[d] = (K - 1 - s, s + L - N)
            self.reach[d] = K - 1
            chunks[d] = _blocks.out_chunks(x.chunks[d], L)
            out_shape[d] = L
        self.chunks = tuple(chunks)
        self.shape = tuple(out_shape)
        self.dtype = np.dtype(V.dtype_policy(x.dtype, k.dtype)[1])
        # one plan per distinct piece shape, on a zero-stride stand-in (no data)
        self.blocks = []
        for shape in _blocks.piece_shapes(self.chunks, self.reach):
            dummy = np.broadcast_to(np.zeros((), x.dtype), shape)
            try:
                p = fastconv.plan(dummy, k, mode="valid", method=method, axes=axes,
                                  op=op, accuracy=accuracy)
            except ValueError as exc:
                if "FASTCONV_MAX_MEMORY" not in str(exc):
                    raise
                raise ValueError(f"in1's chunks are too large: a task's piece {shape} does "
                                 f"not fit FASTCONV_MAX_MEMORY ({exc}); rechunk in1 into "
                                 f"smaller chunks") from None
            ok = [c for c in p.candidates if "excluded" not in c]
            chosen = [c for c in ok if c["method"] == p.method] or ok
            # integer data may take another method than the stand-in's
            # (exactness is decided on each block's values): the largest
            mem = max(c["memory"] for c in (ok if x.dtype.kind in "iub" else chosen)) \
                if ok else 0
            piece = int(np.prod(shape)) * x.dtype.itemsize
            self.blocks.append((shape, p.method, 2 * piece + int(mem)))
        self.task_memory = max(m for _, _, m in self.blocks) if self.blocks else 0

    def explain(self) -> str:
        lines = [f"{self.op} of {self.x.shape} (chunks {tuple(max(c) for c in self.x.chunks)}) "
                 f"with {self.k.shape}, mode={self.mode!r}, boundary={self.boundary!r}: "
                 f"output {self.shape}, {int(np.prod([len(c) for c in self.chunks]))} tasks",
                 f"{'piece shape':<24}{'method':<14}{'task memory':>14}"]
        for shape, m, mem in self.blocks:
            lines.append(f"{str(shape):<24}{m:<14}{mem / 2**20:>11.1f} MiB")
        lines.append(f"largest task: {self.task_memory / 2**20:.1f} MiB")
        return "\n".join(lines)

    def __call__(self) -> Any:
        """The lazy dask array of the result."""
        import fastconv

        x = self.x
        for d in self.axes:
            lo, hi = self.pads[d]
            x = _blocks.extend(x, d, lo, hi, self.boundary,
                               np.asarray(self.cval).astype(x.dtype)
                               if self.boundary == "constant" else None)
        f = fastconv.convolve if self.op == "convolve" else fastconv.correlate
        k, axes, method, accuracy = self.k, self.axes, self.method, self.accuracy

        def block(piece):
            return f(piece, k, mode="valid", method=method, axes=axes, accuracy=accuracy)

        return _blocks.blocked(x, self.reach, self.chunks, block, self.dtype)


def plan(in1: Any, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
         axes: Union[int, Sequence[int], None] = None, boundary: str = "constant",
         cval: complex = 0, op: str = "convolve", accuracy: str = "default") -> BlockPlan:
    """Validate and plan the blocked problem (see :class:`BlockPlan`);
    ``plan(...)()`` builds the lazy result."""
    from .._config import max_memory

    if op not in ("convolve", "correlate"):
        raise ValueError(f"op must be 'convolve' or 'correlate', got {op!r}")
    x = _blocks.as_dask(in1, "in1")
    kd = in2.compute() if _blocks.is_dask(in2) else in2
    k = V.as_array(kd, "in2")
    mode = V.check_mode(mode)
    boundary = V.check_boundary(boundary)
    cval = V.check_cval(cval)
    method = V.check_method(method)
    accuracy = V.check_accuracy(accuracy)
    if x.dtype.kind not in "biufc" or k.dtype.kind not in "biufc":
        raise TypeError(f"in1 and in2 must be numeric, got {x.dtype} and {k.dtype}")
    if k.ndim != x.ndim:
        raise ValueError(f"in1 and in2 must have the same number of dimensions, got "
                         f"{x.ndim} and {k.ndim}")
    ax = V.check_axes(axes, x.ndim)
    for d in range(x.ndim):
        if d not in ax and k.shape[d] != 1:
            raise ValueError(f"in2 must have extent 1 on axis {d} (not convolved): "
                             f"fastconv.dask applies one kernel to every batch entry")
    for d in ax:
        if k.shape[d] == 0 or x.shape[d] == 0:
            raise ValueError(f"{'in2' if k.shape[d] == 0 else 'in1'} has length 0 along "
                             f"convolution axis {d}; convolution with an empty array is "
                             f"not defined")
        if mode == "valid" and x.shape[d] < k.shape[d]:
            raise ValueError(f"mode='valid' needs in1 at least as long as in2 on every "
                             f"convolution axis (axis {d}: {x.shape[d]} < {k.shape[d]})")
    if np.dtype(V.dtype_policy(x.dtype, k.dtype)[0]).kind != "c" and complex(cval).imag:
        raise ValueError(f"cval={cval!r} is complex but in1/in2 are real")
    p = BlockPlan(x, k, op, mode, tuple(ax), boundary, cval, method, accuracy)
    if p.task_memory > max_memory():
        raise ValueError(
            f"in1's chunks are too large: one task needs about "
            f"{p.task_memory / 2**30:.2f} GiB, more than FASTCONV_MAX_MEMORY "
            f"({max_memory() / 2**30:.2f} GiB); rechunk in1 into smaller chunks")
    return p


def convolve(in1: Any, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
             axes: Union[int, Sequence[int], None] = None, boundary: str = "constant",
             cval: complex = 0, accuracy: str = "default") -> Any:
    """Lazy convolution of a dask array with an in-memory kernel
    (:func:`fastconv.convolve`'s semantics; see the module docstring).

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from fastconv import dask as fd
    >>> x = da.arange(10.0, chunks=3)
    >>> fd.convolve(x, np.ones(4), mode="same").compute()
    array([ 1.,  3.,  6., 10., 14., 18., 22., 26., 30., 24.])
    """
    return plan(in1, in2, mode, method, axes=axes, boundary=boundary, cval=cval,
                op="convolve", accuracy=accuracy)()


def correlate(in1: Any, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
              axes: Union[int, Sequence[int], None] = None, boundary: str = "constant",
              cval: complex = 0, accuracy: str = "default") -> Any:
    """Lazy cross-correlation of a dask array with an in-memory kernel
    (:func:`fastconv.correlate`'s semantics)."""
    return plan(in1, in2, mode, method, axes=axes, boundary=boundary, cval=cval,
                op="correlate", accuracy=accuracy)()



def store(result: Any, target: Any, *, max_bytes: int = 256 << 20,
          progress: bool = False) -> Any:
    """Compute ``result`` (a dask array) and write it into ``target`` (a
    zarr array, or a path for a new zarr store), group by group of its
    chunks along the leading axes, each group at most about ``max_bytes``
    of output (at least one chunk).

    Dask's scheduler, given a whole blocked convolution at once, loads input
    chunks ahead of the blocks that need them (measured: a 0.5 GiB volume
    peaked at 0.9 GiB); group by group, memory stays near a group's output,
    its input with halos and the tasks in flight.  Returns the zarr array.
    """
    import itertools
    import sys

    import zarr

    y = _blocks.as_dask(result, "result")
    if isinstance(target, str):
        chunks = tuple(max(c) if c else 1 for c in y.chunks)
        target = zarr.open(target, mode="w-", shape=y.shape, chunks=chunks, dtype=y.dtype)
    if tuple(target.shape) != tuple(y.shape):
        raise ValueError(f"target has shape {tuple(target.shape)}, result {y.shape}")
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in y.chunks]
    # group the chunk grid's leading axes so that a group fits max_bytes
    item = y.dtype.itemsize
    per = [len(c) for c in y.chunks]
    group = list(per)
    big = [max(c) if c else 1 for c in y.chunks]

    def size():
        return item * float(np.prod([b * g for b, g in zip(big, group)]))

    for d in range(y.ndim):          # halve the leading axes' groups until it fits
        while group[d] > 1 and size() > max_bytes:
            group[d] = -(-group[d] // 2)
        if size() <= max_bytes:
            break
    ranges = [range(0, n, g) for n, g in zip(per, group)]
    total = int(np.prod([len(r) for r in ranges]))
    for done, ix in enumerate(itertools.product(*ranges), 1):
        region = tuple(slice(int(starts[d][i]), int(starts[d][min(i + group[d], per[d])]))
                       for d, i in enumerate(ix))
        target[region] = np.asarray(y[region].compute())
        if progress:
            print(f"\r[{'#' * (40 * done // total):<40}] {done}/{total} groups", end="",
                  file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return target
