"""Numba kernels: no validation, no Python objects, no raising.

``jit`` is the one place numba's flags are chosen: compiled code is cached on
disk (``cache=True``) so the first-call compile cost is paid once per machine,
releases the GIL (``nogil=True``) and may contract multiply-adds into FMAs.
This package is imported lazily: ``import fastconv`` does not load numba.
"""
import numba

FLAGS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False,
             fastmath={"contract"})


def jit(func=None, *, parallel=False, inline=False):
    """Decorate ``func`` with the project's numba flags.

    ``inline=True`` inlines a helper into its callers at numba IR level.
    """
    def wrap(f):
        return numba.njit(parallel=parallel, inline="always" if inline else "never",
                          **FLAGS)(f)
    return wrap(func) if func is not None else wrap


@jit(inline=True)
def row_start(o, r, obase, orow, krow, rmap, xstr):  # pragma: no cover - jitted
    """Flat start of the input row that output row o meets with kernel row r.

    ``rmap[d, t]`` is the input index of padded coordinate ``t`` on leading
    axis ``d`` (the boundary rule, applied virtually), -1 for a zero row.
    """
    s = obase[o]
    for d in range(rmap.shape[0]):
        c = rmap[d, orow[o, d] + krow[r, d]]
        if c < 0:
            return -1
        s += c * xstr[d]
    return s
