"""Convolution (Conv1d, Conv2d) in NumPy, forward and backward side by side.

Forward, for one output channel o at output position (i, j) (lecture, section 2)::

    z[n, o, i, j] = b[o] + sum_{c, a, b'} w[o, c, a, b'] * x_pad[n, c, i*S + a, j*S + b']

The same ``w[o]`` and ``b[o]`` are used at *every* position (i, j): the weights are tied. With
im2col the patches become the columns of a matrix and the whole layer is one matrix product,
``z = W @ cols + b`` with ``W`` of shape ``(D_out, D_in*F*F)``.

Backward (chain rule, with ``g = dLoss/dz``):

* ``dL/db[o] = sum_{n,i,j} g[n, o, i, j]`` - one bias feeds every position, so its gradient
  is the sum over every position;
* ``dL/dW = sum_n g[n] @ cols[n]^T`` - the same sum over positions for the weights: that sum is
  what tying the weights means (an untied, locally connected layer would keep one term per
  position and have H_out*W_out times more parameters);
* ``dL/dcols = W^T @ g``, then col2im adds each column back onto the inputs it read, and the
  padding's gradient goes back to where the padding was copied from (:mod:`.windows`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from cnnlab.reference.base import Layer, check_input, init_uniform
from cnnlab.reference.windows import PADDING_MODES, col2im, im2col, output_sizes, pad, pad_backward
from cnnlab.shapes import as_tuple

__all__ = ["Conv1d", "Conv2d", "ConvCache", "conv_backward", "conv_forward"]


class ConvCache(NamedTuple):
    """What the backward pass of a convolution needs from its forward pass."""

    cols: np.ndarray  # (N, D_in*F*F, L): the patches, one column per output position
    weight: np.ndarray  # (D_out, D_in*F*F), in the input's dtype
    padded_shape: tuple  # (N, D_in, *padded spatial)
    kernel: tuple  # F per spatial axis
    out_sizes: tuple  # spatial output sizes
    stride: tuple
    padding: tuple
    padding_mode: str
    has_bias: bool


def conv_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    padding_mode: str = "zeros",
) -> tuple[np.ndarray, ConvCache]:
    """Convolution of ``x`` with filters ``weight`` (cross-correlation, as in PyTorch).

    Args:
        x: input ``(N, D_in, W)`` or ``(N, D_in, H, W)``.
        weight: filters ``(D_out, D_in, F)`` or ``(D_out, D_in, F_H, F_W)``.
        bias: ``(D_out,)`` or None.
        stride, padding: S and P, an int or one per spatial axis.
        padding_mode: ``zeros``, ``circular`` (periodic boundary) or ``reflect``.

    Shape:
        Output ``(N, D_out, *out)`` with out = 1 + (W - F + 2P)/S per axis.

    Returns:
        ``(out, cache)``; the output keeps the input's dtype.

    Example:
        The lecture's 1-D example: W=5, F=3, S=1, P=1, w=[1,-1,1], b=-2:

        >>> z, _ = conv_forward(np.array([[[1., 2, 2, -1, 3]]]), np.array([[[1., -1, 1]]]), np.array([-2.]), padding=1)
        >>> z
        array([[[-1., -1., -3.,  4., -6.]]])
    """
    dims = weight.ndim - 2
    if x.ndim != dims + 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"input shape {x.shape} does not fit weight shape {weight.shape}: "
            f"expected (N, {weight.shape[1]}, {', '.join(['...'] * dims)})"
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
    kernel = weight.shape[2:]
    stride, padding = as_tuple(stride, dims, "stride"), as_tuple(padding, dims, "padding")
    out_sizes = output_sizes(x.shape[2:], kernel, stride, padding)
    n, d_out = x.shape[0], weight.shape[0]

    xp = pad(x, padding, padding_mode)  # (N, D_in, *padded)
    cols = im2col(xp, kernel, stride)  # (N, D_in*F*F, L)
    w = weight.reshape(d_out, -1).astype(x.dtype, copy=False)  # (D_out, D_in*F*F)
    z = w @ cols  # (N, D_out, L): the same w at every position
    if bias is not None:
        z += bias.astype(x.dtype, copy=False)[:, None]
    cache = ConvCache(cols, w, xp.shape, kernel, out_sizes, stride, padding, padding_mode, bias is not None)
    return z.reshape((n, d_out) + out_sizes), cache


def conv_backward(grad_out: np.ndarray, cache: ConvCache) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv_forward` with respect to input, weight and bias.

    Args:
        grad_out: dLoss/dz, shape ``(N, D_out, *out)``.
        cache: from the forward pass.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``; grad_bias is None without a bias.

    Example:
        A gradient of 1 at every output of the lecture's 1-D example: each weight's gradient is
        the sum of the inputs it met at the five positions.

        >>> z, cache = conv_forward(np.array([[[1., 2, 2, -1, 3]]]), np.array([[[1., -1, 1]]]), np.array([-2.]), padding=1)
        >>> gx, gw, gb = conv_backward(np.ones_like(z), cache)
        >>> gw, gb
        (array([[[4., 7., 6.]]]), array([5.]))
        >>> gx   # sum of the weights that touched each input
        array([[[0., 1., 1., 1., 0.]]])
    """
    cols, w = cache.cols, cache.weight
    n, d_out = grad_out.shape[:2]
    g = grad_out.reshape(n, d_out, -1).astype(w.dtype, copy=False)  # (N, D_out, L)

    # Tied parameters: one bias and one filter serve every output position (and every example).
    # grad_w[o, k] = sum_n sum_l g[n, o, l] * cols[n, k, l]: the sum over the L output positions
    # is what tying the weights means (the matmul does it; the .sum does the examples).
    grad_bias = g.sum(axis=(0, 2)) if cache.has_bias else None  # (D_out,)
    grad_w = (g @ cols.transpose(0, 2, 1)).sum(axis=0)  # (D_out, D_in*F*F)

    grad_cols = w.T @ g  # (N, D_in*F*F, L)
    grad_xp = col2im(grad_cols, cache.padded_shape, cache.kernel, cache.stride, cache.out_sizes)
    grad_x = pad_backward(grad_xp, cache.padding, cache.padding_mode)
    return grad_x, grad_w.reshape((d_out, cache.padded_shape[1]) + cache.kernel), grad_bias


class _ConvNd(Layer):
    dims = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        padding_mode: str = "zeros",
        bias: bool = True,
        *,
        dtype=np.float64,
        rng: np.random.Generator | None = None,
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.kernel_size = as_tuple(kernel_size, self.dims, "kernel_size")
        self.stride = as_tuple(stride, self.dims, "stride")
        self.padding = as_tuple(padding, self.dims, "padding")
        for name, values, low in (
            ("kernel_size", self.kernel_size, 1),
            ("stride", self.stride, 1),
            ("padding", self.padding, 0),
        ):
            if min(values) < low:
                raise ValueError(f"{name} must be >= {low}, got {values if self.dims > 1 else values[0]}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.padding_mode = in_channels, out_channels, padding_mode
        rng = rng if rng is not None else np.random.default_rng()
        fan_in = in_channels * math.prod(self.kernel_size)
        self.params["weight"] = init_uniform(rng, (out_channels, in_channels) + self.kernel_size, fan_in, dtype)
        if bias:
            self.params["bias"] = init_uniform(rng, (out_channels,), fan_in, dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input(self, x, self.dims + 2, self.in_channels, what="(N, C, W)" if self.dims == 1 else "(N, C, H, W)")
        try:
            z, self._cache = conv_forward(
                x, self.params["weight"], self.params.get("bias"), self.stride, self.padding, self.padding_mode
            )
        except ValueError as err:
            raise ValueError(f"{self!r} on input {x.shape}: {err}") from None
        return z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, grad_w, grad_b = conv_backward(grad_out, self._saved())
        self._store_grads(weight=grad_w, bias=grad_b)
        return grad_x

    def extra_repr(self) -> str:
        one = (lambda t: t[0]) if self.dims == 1 else (lambda t: t)
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={one(self.kernel_size)}, stride={one(self.stride)}"
        )
        if any(self.padding):
            text += f", padding={one(self.padding)}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text + ("" if "bias" in self.params else ", bias=False")


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C, W)``: D_out filters of width F, tied over all positions.

    Args:
        in_channels, out_channels: D_in and D_out.
        kernel_size: F. stride: S. padding: P (each side).
        padding_mode: ``zeros``, ``circular`` (periodic boundary condition) or ``reflect``.
        bias: one bias per filter.
        dtype: dtype of the parameters; rng: generator for PyTorch's default initialisation.

    Shape:
        ``(N, D_in, W) -> (N, D_out, 1 + (W - F + 2P)/S)``; weight ``(D_out, D_in, F)``.

    Example:
        >>> conv = Conv1d(1, 1, 3, padding=1)
        >>> conv.params["weight"][:] = [[[1, -1, 1]]]; conv.params["bias"][:] = -2
        >>> conv.forward(np.array([[[1., 2, 2, -1, 3]]]))
        array([[[-1., -1., -3.,  4., -6.]]])
    """

    dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C, H, W)``: D_out filters of F_H x F_W x D_in, tied over positions.

    Args: as :class:`Conv1d`, with ``kernel_size``, ``stride``, ``padding`` an int or a pair.

    Shape:
        ``(N, D_in, H, W) -> (N, D_out, 1 + (H - F + 2P)/S, 1 + (W - F + 2P)/S)``;
        weight ``(D_out, D_in, F_H, F_W)``.

    Example:
        The lecture's 6x6x3 input and two 3x3x3 filters: 4x4x2 output, 2*(27+1) = 56 parameters.

        >>> conv = Conv2d(3, 2, 3, rng=np.random.default_rng(0))
        >>> conv.forward(np.zeros((1, 3, 6, 6))).shape
        (1, 2, 4, 4)
        >>> sum(p.size for p in conv.params.values())
        56
    """

    dims = 2
