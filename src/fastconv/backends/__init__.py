"""The array-namespace seam (DESIGN.md): NumPy arrays (and lists, scalars)
run the NumPy engine; arrays of other libraries (PyTorch, CuPy, JAX,
array-api-strict) run the namespace engine (:mod:`.namespace`), written once
against the array API standard, and come back as the same type on the same
device, with no host round trip.

Detection looks at the array's type only, so ``import fastconv`` imports
none of those libraries, and array-api-compat is imported only when a
foreign array arrives.
"""
from __future__ import annotations

import numpy as np

#: top-level modules whose arrays the namespace engine takes (any other
#: object with ``__array_namespace__`` too, except dask's: fastconv.dask
#: serves those, and NumPy's own)
FOREIGN = ("torch", "cupy", "jax", "jaxlib", "array_api_strict")


def is_foreign(a) -> bool:
    """Whether ``a`` is an array of another library (not NumPy's)."""
    if isinstance(a, (np.ndarray, np.generic, list, tuple, int, float, complex, bool, str,
                      type, np.dtype)) or a is None:
        return False          # (a dtype class such as np.float64 has __array_namespace__)
    root = type(a).__module__.split(".")[0]
    if root in ("builtins", "numpy", "dask"):
        return False
    return root in FOREIGN or hasattr(a, "__array_namespace__")


def any_foreign(*arrays) -> bool:
    return any(is_foreign(a) for a in arrays)


#: PyTorch CPU tensors that need no gradient share memory with NumPy arrays:
#: the NumPy engine runs on them directly (no copy; measured 4096^2 x 3x3
#: float32: 0.38 s through torch's conv2d, 0.27 s through torch.fft, 0.02 s
#: through the NumPy engine).  False sends them to the namespace engine
#: (the tests do, to check it on the CPU).
TORCH_CPU_VIA_NUMPY = True


def _cpu_view(a):
    """A NumPy view of a PyTorch CPU tensor that needs no gradient, ``a``
    itself when it is not foreign, or None (the namespace engine's)."""
    if not is_foreign(a):
        return a
    if not TORCH_CPU_VIA_NUMPY or type(a).__module__.split(".")[0] != "torch":
        return None
    if a.device.type != "cpu" or a.requires_grad or a.is_conj() or a.is_neg():
        return None
    try:
        return a.numpy()
    except (TypeError, RuntimeError):     # bfloat16 and other dtypes NumPy lacks
        return None


def _torch_cpu_views(*arrays):
    """NumPy views of every argument (see :func:`_cpu_view`), or None."""
    views = [_cpu_view(a) for a in arrays]
    return None if any(v is None and a is not None for v, a in zip(views, arrays)) else views


def cpu_views(in1, in2, out=None):
    """NumPy views of PyTorch CPU tensors that need no gradient (the NumPy
    engine then runs on them), or None: the namespace engine's arrays."""
    if out is not None:
        return None
    return _torch_cpu_views(in1, in2)


def wrap(y):
    """The NumPy engine's result as a PyTorch tensor (shared memory)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(y))


def convolve(in1, in2, mode, method, axes, boundary, cval, op, **options):
    """Convolution of foreign arrays by the namespace engine (see
    :func:`fastconv.convolve`)."""
    from . import namespace

    return namespace.convolve(in1, in2, mode, method, axes, boundary, cval, op, **options)


def _backend_of(vals):
    for v in vals:
        if is_foreign(v):
            root = type(v).__module__.split(".")[0]
            dev = getattr(getattr(v, "device", None), "type", None) or str(
                getattr(v, "device", "")) or "its device"
            return root, dev
    return "numpy", "cpu"


def _to_torch(y):
    import torch

    if isinstance(y, np.generic) or (isinstance(y, np.ndarray) and y.ndim == 0):
        return torch.from_numpy(np.array(y))          # 0-d stays 0-d
    if isinstance(y, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(y))
    if isinstance(y, tuple):
        return tuple(_to_torch(v) for v in y)
    if isinstance(y, list):
        return [_to_torch(v) for v in y]
    return y


def accepts_arrays(via=None):
    """Decorator: the function takes foreign arrays too.  PyTorch CPU tensors
    that need no gradient become NumPy views (shared memory) and the arrays
    of the result come back as tensors; other foreign arrays go to ``via``
    (the namespace engine's equivalent, same signature) or raise a TypeError
    that names the function, the backend and the device."""
    import functools

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            vals = list(args) + list(kwargs.values())
            if not any(is_foreign(v) for v in vals):
                return fn(*args, **kwargs)
            conv = _torch_cpu_views(*args)
            kw = _torch_cpu_views(*kwargs.values())
            if conv is not None and kw is not None:
                return _to_torch(fn(*conv, **dict(zip(kwargs, kw))))
            if via is not None:
                return via(*args, **kwargs)
            root, dev = _backend_of(vals)
            raise TypeError(f"{fn.__module__}.{fn.__name__}: {root} arrays on {dev} are not "
                            f"supported (the namespace engine serves the convolution "
                            f"functions; this one runs on NumPy arrays); pass NumPy arrays or "
                            f"CPU tensors")
        return wrapper
    return deco


def plan(in1, in2, mode, method, axes, boundary, cval, op):
    """The namespace engine's plan for these arrays (``.method``,
    ``.explain()``, callable on arrays of the same shapes)."""
    from . import namespace

    return namespace.plan(in1, in2, mode, method, axes, boundary, cval, op)
