"""ConvSpec: *what* to compute (frozen, hashable), independent of *how*."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConvSpec:
    """A convolution problem in canonical form.

    ``n`` and ``m`` are the input and kernel lengths along the convolution
    axes (after any swap for 'valid'), ``batch`` the broadcast batch size and
    ``bx``/``bk`` the batch sizes of the two operands (1 or ``batch``).
    ``starts``/``out_shape`` select the outputs from the full convolution of
    the (boundary-extended) input; ``padded`` says whether a boundary
    extension is applied before the algorithm runs.  ``copies`` counts the
    bytes that preparing the problem and restoring the caller's layout and
    dtype allocate, whatever the method (part of every memory estimate).
    ``io`` names the integer dtype the result is rounded and saturated to
    (the image filters' rule: an 8-bit image stays 8-bit), '' otherwise.
    """

    n: tuple
    m: tuple
    batch: int
    bx: int
    bk: int
    dtype: str            # compute dtype
    starts: tuple
    out_shape: tuple
    mode: str
    boundary: str
    padded: bool
    copies: int = 0       # bytes of the canonical copies and result conversion
    io: str = ""          # integer result dtype (rounded, saturated), or ''

    @property
    def ndim(self) -> int:
        return len(self.n)

    @property
    def real(self) -> bool:
        return np.dtype(self.dtype).kind != "c"

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize

    @property
    def taps(self) -> int:
        return int(math.prod(self.m))

    @property
    def outputs(self) -> int:
        return int(math.prod(self.out_shape)) * self.batch

    def key(self) -> str:
        """Bucketed key for wisdom: sizes rounded to powers of two."""
        def b(v):
            return int(2 ** round(np.log2(max(v, 1))))
        return "|".join([
            self.dtype, self.mode, str(self.ndim),
            "x".join(str(b(v)) for v in self.n),
            "x".join(str(b(v)) for v in self.m),
            str(b(self.batch)), str(self.bk > 1)])
