"""Image filters in one fused pass over the image in its own dtype.

The planner offers this method (``'fused'``) only for the problems it
computes: 2-D, 'same' size with the usual centring, one real, finite kernel
of at least 2 x 2 taps for the whole batch, any boundary rule except a
non-zero constant:

* ``'int'`` and ``'int-box'``: 8/16-bit images (uint8, uint16, int16) whose
  result is rounded half to even and saturated back to the image dtype (the
  image filters' rule, ``ConvSpec.io``), with a rank-1 kernel (float32 sums
  for 8-bit, float64 for 16-bit: the numbers of the general path) or a
  constant one (exact integer running sums, O(1) work per pixel as in
  cv2.blur);
* ``'box'``: float32 images with a constant kernel: running float64 sums.

It reads the image once in its stored dtype and writes the result once: the
general path's float copies of the image and the conversion back are what
it saves.  ``run`` returns None when the data rule it out after all (NaN or
Inf in a float32 image stays in running sums); the engine then runs the
planner's runner-up.
"""
from __future__ import annotations

import numpy as np

from . import separable

#: image dtypes the integer variant reads and writes
INT_IMAGES = separable.INT_IMAGES


def kind(spec, k, src_dtype, raw_starts):
    """``'int'``, ``'int-box'``, ``'box'`` or None: which variant computes this problem.

    ``k`` is the canonical (convolution) kernel batch, ``src_dtype`` the
    input's stored dtype and ``raw_starts`` the output's start in the
    unextended input's coordinates.
    """
    if (spec.ndim != 2 or spec.mode != "same" or spec.bk != 1 or min(spec.m) < 2
            or (spec.padded and spec.boundary == "constant")
            or tuple(raw_starts) != tuple((K - 1) // 2 for K in spec.m)):
        return None
    src = np.dtype(src_dtype)
    if src.kind not in "iuf" or k.dtype.kind == "c":
        return None
    k2 = k[0]
    if not np.isfinite(np.sum(k2)):
        return None
    const = k2.min() == k2.max()
    if spec.io:
        if spec.io not in INT_IMAGES or src.str[1:] != spec.io:
            return None
        if spec.dtype != ("f4" if src.itemsize == 1 else "f8"):
            return None
        if const and k2.flat[0] != 0:
            return "int-box"
        terms = separable.factors(k2, np.dtype(spec.dtype))
        return "int" if terms is not None and len(terms) == 1 else None
    if spec.dtype == "f4" and src == np.float32 and const:
        return "box"
    return None


def run(src, k, boundary, params, nthreads):
    """The 'same' correlation of ``src`` (B, N0, N1) with the convolution
    kernel ``k`` (1, K0, K1), or None (see the module docstring)."""
    kc = k[0][::-1, ::-1]            # the fused kernels correlate
    if params["kind"].startswith("int"):
        return separable.filter_int_2d(src, kc, boundary, nthreads)
    return separable.box_float32_2d(src, kc, boundary, nthreads)
