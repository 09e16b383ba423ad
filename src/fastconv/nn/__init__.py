"""Convolutional layers for neural networks on numpy arrays.

Functions with torch.nn.functional's semantics (:mod:`fastconv.nn.functional`),
their gradients with torch.nn.grad's names (:mod:`fastconv.nn.grad`) and layer
classes holding weights (:mod:`fastconv.nn.layers`); the convolutions of
sequence models (:mod:`fastconv.nn.sequence`: long_conv, causal_conv1d,
streaming decoding).  Every product is a
layer problem the planner answers (``explain_conv`` shows its estimates).
"""
from . import grad
from .functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                         conv_transpose3d, explain_conv)
from .layers import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .sequence import (LongConvDecoder, LongConvKernel, causal_conv1d, causal_conv1d_update,
                       explain_long_conv, long_conv)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "explain_conv", "Conv1d", "Conv2d", "Conv3d",
           "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "long_conv", "LongConvKernel",
           "explain_long_conv", "causal_conv1d", "causal_conv1d_update", "LongConvDecoder"]
