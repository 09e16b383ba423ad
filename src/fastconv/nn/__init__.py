"""Convolutional layers for neural networks on numpy arrays.

Functions with torch.nn.functional's semantics (:mod:`fastconv.nn.functional`),
their gradients with torch.nn.grad's names (:mod:`fastconv.nn.grad`) and layer
classes holding weights (:mod:`fastconv.nn.layers`).  Every product is a
layer problem the planner answers (``explain_conv`` shows its estimates).
"""
from . import grad
from .functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                         conv_transpose3d, explain_conv)
from .layers import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "explain_conv", "Conv1d", "Conv2d", "Conv3d",
           "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
