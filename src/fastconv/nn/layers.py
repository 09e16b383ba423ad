"""Convolution layers holding their weights: ``Conv1d/2d/3d`` and
``ConvTranspose1d/2d/3d`` with torch.nn's constructor arguments, default
initialisation and ``state_dict`` key names and shapes (weights exported from
a torch model with ``np.savez`` load unchanged).

``forward(x)`` keeps the input; ``backward(grad_out)`` returns the input
gradient and sets ``weight_grad`` / ``bias_grad`` (the layer is its own
little autograd: call them in reverse order through a network).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

from . import functional as F
from . import grad as G

IntOrTuple = Union[int, Sequence[int]]


class _ConvNd:
    _D = 0
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: Union[str, IntOrTuple] = 0,
                 dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding: IntOrTuple = 0, *,
                 dtype=np.float32, rng: Optional[np.random.Generator] = None) -> None:
        D = self._D
        name = type(self).__name__
        for v, what in ((in_channels, "in_channels"), (out_channels, "out_channels"),
                        (groups, "groups")):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups")
        if padding_mode not in F.PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {F.PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (torch's rule)")
        if isinstance(padding, str) and padding not in ("valid", "same", "same_upper"):
            raise ValueError(f"{name}: padding must be 'valid', 'same', 'same_upper' or ints, "
                             f"got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._ints(kernel_size, D, "kernel_size", 1)
        self.stride = F._ints(stride, D, "stride", 1)
        self.dilation = F._ints(dilation, D, "dilation", 1)
        self.padding = padding if isinstance(padding, str) else F._ints(padding, D, "padding", 0)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided "
                             f"convolutions")
        self.output_padding = F._ints(output_padding, D, "output_padding", 0)
        self.padding_mode = padding_mode
        rng = rng if rng is not None else np.random.default_rng()
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        # torch's reset_parameters: kaiming_uniform_(a=sqrt(5)) -> U(-1/sqrt(fan_in), ..)
        fan_in = shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        self.weight = rng.uniform(-bound, bound, shape).astype(dtype)
        self.bias = rng.uniform(-bound, bound, out_channels).astype(dtype) if bias else None
        self.weight_grad = None
        self.bias_grad = None
        self._x = None

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride})")

    def state_dict(self) -> dict:
        """``{'weight': ..., 'bias': ...}`` (torch's keys and shapes; no bias
        key without a bias)."""
        d = {"weight": self.weight}
        if self.bias is not None:
            d["bias"] = self.bias
        return d

    def load_state_dict(self, state: dict) -> None:
        """Load torch-named arrays (shapes checked; copied, cast to the
        layer's dtype)."""
        for key, cur in (("weight", self.weight), ("bias", self.bias)):
            if cur is None:
                if key in state:
                    raise ValueError(f"unexpected key {key!r}: the layer has no bias")
                continue
            if key not in state:
                raise ValueError(f"missing key {key!r}")
            a = np.asarray(state[key])
            if a.shape != cur.shape:
                raise ValueError(f"{key}: expected shape {cur.shape}, got {a.shape}")
        extra = set(state) - {"weight", "bias"}
        if extra:
            raise ValueError(f"unexpected keys {sorted(extra)}")
        self.weight = np.array(state["weight"], dtype=self.weight.dtype)
        if self.bias is not None:
            self.bias = np.array(state["bias"], dtype=self.bias.dtype)

    def __call__(self, x):
        return self.forward(x)


class _Conv(_ConvNd):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = np.asarray(x)
        f = getattr(F, f"conv{self._D}d")
        return f(self._x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                 self.groups, padding_mode=self.padding_mode)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise ValueError("backward() needs a forward() first")
        D = self._D
        x = self._x
        gi = getattr(G, f"conv{D}d_input")(x.shape, self.weight, grad_out, self.stride,
                                           self.padding, self.dilation, self.groups,
                                           padding_mode=self.padding_mode)
        self.weight_grad = getattr(G, f"conv{D}d_weight")(
            x, self.weight.shape, grad_out, self.stride, self.padding, self.dilation,
            self.groups, padding_mode=self.padding_mode)
        if self.bias is not None:
            self.bias_grad = G.bias(grad_out, D)
        return gi


class _ConvT(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                 output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros", *, dtype=np.float32,
                 rng: Optional[np.random.Generator] = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, dtype=dtype, rng=rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = np.asarray(x)
        f = getattr(F, f"conv_transpose{self._D}d")
        return f(self._x, self.weight, self.bias, self.stride, self.padding,
                 self.output_padding, self.groups, self.dilation)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise ValueError("backward() needs a forward() first")
        D = self._D
        x = self._x
        gi = getattr(G, f"conv_transpose{D}d_input")(
            x.shape, self.weight, grad_out, self.stride, self.padding, self.output_padding,
            self.groups, self.dilation)
        self.weight_grad = getattr(G, f"conv_transpose{D}d_weight")(
            x, self.weight.shape, grad_out, self.stride, self.padding, self.output_padding,
            self.groups, self.dilation)
        if self.bias is not None:
            self.bias_grad = G.bias(grad_out, D)
        return gi


class Conv1d(_Conv):
    """torch.nn.Conv1d on numpy arrays (see module doc)."""
    _D = 1


class Conv2d(_Conv):
    """torch.nn.Conv2d on numpy arrays (see module doc)."""
    _D = 2


class Conv3d(_Conv):
    """torch.nn.Conv3d on numpy arrays (see module doc)."""
    _D = 3


class ConvTranspose1d(_ConvT):
    """torch.nn.ConvTranspose1d on numpy arrays (see module doc)."""
    _D = 1


class ConvTranspose2d(_ConvT):
    """torch.nn.ConvTranspose2d on numpy arrays (see module doc)."""
    _D = 2


class ConvTranspose3d(_ConvT):
    """torch.nn.ConvTranspose3d on numpy arrays (see module doc)."""
    _D = 3
