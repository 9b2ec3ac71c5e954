"""The NumPy glass box: every layer's forward and backward pass, written to be read.

Each layer is a thin holder of PyTorch-named parameters over pure functions (``conv_forward`` /
``conv_backward``, ...) that take and return plain arrays, so the math can be called and checked
on its own. The engine (:mod:`cnnlab.engine`) is the fast twin; weights copy both ways
(:func:`from_engine`, :func:`to_engine`) and the tests check that both give the same losses and
gradients.

=================  =====================================================================
module             holds
=================  =====================================================================
``windows``        padding (zeros / circular / reflect), im2col and col2im
``conv``           Conv1d, Conv2d: tied weights, gradient summed over positions
``pool``           MaxPool1d/2d, AvgPool1d/2d, GlobalAvgPool
``dense``          Linear, Flatten
``activations``    ReLU, Tanh, Sigmoid, Softmax, Dropout
``norm``           BatchNorm1d/2d with running statistics
``loss``           softmax cross-entropy and its gradient
``network``        Sequential, SGD, build from a spec, weight copy to/from the engine
=================  =====================================================================

Example:
    The lecture's 1-D example: input [1, 2, 2, -1, 3], filter [1, -1, 1], bias -2, P = 1:

    >>> import numpy as np
    >>> conv = Conv1d(1, 1, kernel_size=3, padding=1)
    >>> conv.params["weight"][:] = [[[1, -1, 1]]]
    >>> conv.params["bias"][:] = -2
    >>> z = conv.forward(np.array([[[1., 2, 2, -1, 3]]]))
    >>> z, ReLU().forward(z)
    (array([[[-1., -1., -3.,  4., -6.]]]), array([[[0., 0., 0., 4., 0.]]]))
"""

from cnnlab.reference.activations import Dropout, ReLU, Sigmoid, Softmax, Tanh, relu, sigmoid, softmax, tanh
from cnnlab.reference.base import Layer
from cnnlab.reference.conv import Conv1d, Conv2d, conv_backward, conv_forward
from cnnlab.reference.dense import Flatten, Linear, linear_backward, linear_forward
from cnnlab.reference.loss import CrossEntropyLoss, cross_entropy, log_softmax
from cnnlab.reference.network import SGD, Parameter, Sequential, build, from_engine, to_engine
from cnnlab.reference.norm import BatchNorm1d, BatchNorm2d, batch_norm_backward, batch_norm_forward
from cnnlab.reference.pool import (
    AvgPool1d,
    AvgPool2d,
    GlobalAvgPool,
    MaxPool1d,
    MaxPool2d,
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
)

__all__ = [
    "SGD",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "Layer",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "avgpool_backward",
    "avgpool_forward",
    "batch_norm_backward",
    "batch_norm_forward",
    "build",
    "conv_backward",
    "conv_forward",
    "cross_entropy",
    "from_engine",
    "linear_backward",
    "linear_forward",
    "log_softmax",
    "maxpool_backward",
    "maxpool_forward",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "to_engine",
]
