"""Pooling (MaxPool1d/2d, AvgPool1d/2d, GlobalAvgPool): coarse-graining without parameters.

Pooling works on each channel separately (lecture, section 5): a F x F window moved by S keeps
one number per window - the largest (max) or the mean (avg). A 2x2 max pool halves height and
width, like a decimation step of the renormalisation group.

Backward: max pooling routes each output's gradient to the one input that won its window (the
others did not influence the output); average pooling spreads it evenly, 1/F^2 to each input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from cnnlab.reference.base import Layer, check_input
from cnnlab.reference.windows import col2im, offset_view, output_sizes, pad, pad_backward, windows
from cnnlab.shapes import as_tuple

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "GlobalAvgPool",
    "MaxPool1d",
    "MaxPool2d",
    "avgpool_backward",
    "avgpool_forward",
    "maxpool_backward",
    "maxpool_forward",
]


class PoolCache(NamedTuple):
    """What the backward pass of a pooling layer needs."""

    padded_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    out_sizes: tuple
    padded: np.ndarray | None = None  # max pooling: the padded input ...
    out: np.ndarray | None = None  # ... and each window's maximum, to find the winners again


def _geometry(x: np.ndarray, kernel_size, stride, padding) -> tuple[tuple, tuple, tuple, tuple]:
    dims = x.ndim - 2
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None else as_tuple(stride, dims, "stride")  # PyTorch: S defaults to F
    padding = as_tuple(padding, dims, "padding")
    for p, k in zip(padding, kernel):
        if not 0 <= p <= k // 2:
            raise ValueError(f"padding must be between 0 and kernel_size/2 = {k // 2}, got {p}")
    return kernel, stride, padding, output_sizes(x.shape[2:], kernel, stride, padding)


def maxpool_forward(
    x: np.ndarray, kernel_size: int | Sequence[int], stride=None, padding: int | Sequence[int] = 0
) -> tuple[np.ndarray, PoolCache]:
    """Max over each F x F window of each channel; padding is -inf (it never wins).

    Shape:
        ``(N, C, *in) -> (N, C, *out)`` with out = 1 + (W - F + 2P)/S, S = F by default.

    Example:
        >>> x = np.array([[[[1., 2, 0, 1], [3, 4, 1, 0], [0, 1, 5, 6], [2, 0, 7, 8]]]])
        >>> maxpool_forward(x, 2)[0]
        array([[[[4., 1.],
                 [2., 8.]]]])
    """
    kernel, stride, padding, out_sizes = _geometry(x, kernel_size, stride, padding)
    xp = pad(x, padding, "zeros", value=-np.inf)
    patches = windows(xp, kernel, stride)  # (N, C, *out, *kernel) view
    # One elementwise maximum per kernel offset, over all windows at once.
    offsets = list(np.ndindex(*kernel))
    out = patches[(Ellipsis,) + offsets[0]].copy()  # (N, C, *out)
    for offset in offsets[1:]:
        np.maximum(out, patches[(Ellipsis,) + offset], out=out)
    return out, PoolCache(xp.shape, kernel, stride, padding, out_sizes, xp, out)


def maxpool_backward(grad_out: np.ndarray, cache: PoolCache) -> np.ndarray:
    """Route each output's gradient to the input that was the maximum of its window.

    Only the winner influenced the output, so only it gets a gradient. With ties the first
    maximum (in row-major order inside the window) wins, as in PyTorch.

    Example:
        >>> x = np.array([[[[1., 2], [3, 4]]]])
        >>> _, cache = maxpool_forward(x, 2)
        >>> maxpool_backward(np.array([[[[10.]]]]), cache)
        array([[[[ 0.,  0.],
                 [ 0., 10.]]]])
    """
    assert cache.padded is not None and cache.out is not None, "a max-pooling cache holds its input and maxima"
    patches = windows(cache.padded, cache.kernel, cache.stride)  # (N, C, *out, *kernel) view
    grad_xp = np.zeros(cache.padded_shape, dtype=grad_out.dtype)
    routed = np.zeros(cache.out.shape, dtype=bool)  # windows whose winner was found
    for offset in np.ndindex(*cache.kernel):
        wins = (patches[(Ellipsis,) + offset] == cache.out) & ~routed  # (N, C, *out)
        routed |= wins
        # '+=': with overlapping windows (S < F) one input can win several windows.
        grad_xp[offset_view(offset, cache.stride, cache.out_sizes)] += grad_out * wins
    return pad_backward(grad_xp, cache.padding, "zeros")


def avgpool_forward(
    x: np.ndarray, kernel_size: int | Sequence[int], stride=None, padding: int | Sequence[int] = 0
) -> tuple[np.ndarray, PoolCache]:
    """Mean over each F x F window; zero padding counts in the mean (PyTorch's count_include_pad).

    Example:
        >>> avgpool_forward(np.array([[[1., 3, 5, 7]]]), 2)[0]
        array([[[2., 6.]]])
    """
    kernel, stride, padding, out_sizes = _geometry(x, kernel_size, stride, padding)
    xp = pad(x, padding, "zeros")
    patches = windows(xp, kernel, stride)  # (N, C, *out, *kernel) view
    out = patches.mean(axis=tuple(range(x.ndim, patches.ndim)))
    return out, PoolCache(xp.shape, kernel, stride, padding, out_sizes)


def avgpool_backward(grad_out: np.ndarray, cache: PoolCache) -> np.ndarray:
    """Each of the F x F inputs of a window receives 1/F^2 of the window's gradient.

    Example:
        >>> _, cache = avgpool_forward(np.array([[[1., 3, 5, 7]]]), 2)
        >>> avgpool_backward(np.array([[[2., 4.]]]), cache)
        array([[[1., 1., 2., 2.]]])
    """
    n, c = grad_out.shape[:2]
    size = math.prod(cache.kernel)
    share = (grad_out / size).reshape(n, c, 1, -1)  # (N, C, 1, L)
    cols = np.broadcast_to(share, (n, c, size, share.shape[-1]))  # (N, C, F*F, L)
    grad_xp = col2im(cols, cache.padded_shape, cache.kernel, cache.stride, cache.out_sizes)
    return pad_backward(grad_xp, cache.padding, "zeros")


class _PoolNd(Layer):
    dims = 0

    # Each subclass sets these to the pure functions it holds.
    @staticmethod
    def _forward(x: np.ndarray, kernel_size, stride, padding) -> tuple[np.ndarray, PoolCache]:
        raise NotImplementedError

    @staticmethod
    def _backward(grad_out: np.ndarray, cache: PoolCache) -> np.ndarray:
        raise NotImplementedError

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
    ):
        super().__init__()
        self.kernel_size = as_tuple(kernel_size, self.dims, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_tuple(stride, self.dims, "stride")
        self.padding = as_tuple(padding, self.dims, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"kernel_size and stride must be >= 1, got kernel_size={kernel_size!r}, stride={stride!r}")
        for p, k in zip(self.padding, self.kernel_size):
            if not 0 <= p <= k // 2:
                raise ValueError(f"padding must be between 0 and kernel_size/2 = {k // 2}, got {padding!r}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input(self, x, self.dims + 2, what="(N, C, W)" if self.dims == 1 else "(N, C, H, W)")
        try:
            out, self._cache = type(self)._forward(x, self.kernel_size, self.stride, self.padding)
        except ValueError as err:
            raise ValueError(f"{self!r} on input {x.shape}: {err}") from None
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return type(self)._backward(grad_out, self._saved())

    def extra_repr(self) -> str:
        one = (lambda t: t[0]) if self.dims == 1 else (lambda t: t)
        text = f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}"
        return text + (f", padding={one(self.padding)}" if any(self.padding) else "")


class MaxPool1d(_PoolNd):
    """Max pooling over ``(N, C, W)``; S defaults to F (non-overlapping windows).

    Shape: ``(N, C, W) -> (N, C, 1 + (W - F + 2P)/S)``.

    Example:
        >>> MaxPool1d(2).forward(np.array([[[1., 3, 5, 2]]]))
        array([[[3., 5.]]])
    """

    dims = 1
    _forward, _backward = staticmethod(maxpool_forward), staticmethod(maxpool_backward)


class MaxPool2d(_PoolNd):
    """Max pooling over ``(N, C, H, W)``; a 2x2 pool halves H and W and keeps the channels.

    Shape: ``(N, C, H, W) -> (N, C, 1 + (H - F + 2P)/S, 1 + (W - F + 2P)/S)``.

    Example:
        >>> MaxPool2d(2).forward(np.zeros((1, 6, 28, 28))).shape
        (1, 6, 14, 14)
    """

    dims = 2
    _forward, _backward = staticmethod(maxpool_forward), staticmethod(maxpool_backward)


class AvgPool1d(_PoolNd):
    """Average pooling over ``(N, C, W)`` (zero padding counted in the mean).

    Example:
        >>> AvgPool1d(2).forward(np.array([[[1., 3, 5, 7]]]))
        array([[[2., 6.]]])
    """

    dims = 1
    _forward, _backward = staticmethod(avgpool_forward), staticmethod(avgpool_backward)


class AvgPool2d(_PoolNd):
    """Average pooling over ``(N, C, H, W)`` (zero padding counted in the mean).

    Example:
        >>> AvgPool2d(2).forward(np.ones((1, 1, 4, 4)))
        array([[[[1., 1.],
                 [1., 1.]]]])
    """

    dims = 2
    _forward, _backward = staticmethod(avgpool_forward), staticmethod(avgpool_backward)


class GlobalAvgPool(Layer):
    """Mean over every position of each channel: ``(N, C, *spatial) -> (N, C)``.

    Translating the input (with circular padding) permutes positions and leaves the mean
    unchanged, which is what makes a conv + global-average-pool network translation invariant.

    Example:
        >>> gap = GlobalAvgPool()
        >>> gap.forward(np.arange(8.).reshape(1, 2, 4))
        array([[1.5, 5.5]])
        >>> gap.backward(np.array([[4., 8.]]))
        array([[[1., 1., 1., 1.],
                [2., 2., 2., 2.]]])
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim < 3:
            raise ValueError(f"{self!r}: input must be (N, C, W) or (N, C, H, W), got shape {np.shape(x)}")
        self._cache = x.shape
        return x.reshape(x.shape[0], x.shape[1], -1).mean(axis=-1)  # (N, C)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape = self._saved()
        positions = math.prod(shape[2:])
        # Every position contributed 1/L of the mean, so each gets 1/L of the gradient.
        share = grad_out.reshape(grad_out.shape + (1,) * (len(shape) - 2)) / positions
        return np.broadcast_to(share, shape).copy()
