"""Sliding windows: padding, im2col and col2im, shared by convolution and pooling.

A filter of width F moved with stride S over a padded input visits L = W_out (x H_out) positions.
``im2col`` lays the F (x F) x D_in inputs seen at each position out as one column, so that a
convolution becomes one matrix product; ``col2im`` is its transpose (adjoint): it adds every
column back onto the input positions it was read from. Where windows overlap (S < F) an input
neuron is read several times, and its gradient is the sum of what each window sends back.

Works for any number of spatial axes (1-D ``(N, C, W)`` and 2-D ``(N, C, H, W)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.shapes import conv_output_size

PADDING_MODES = ("zeros", "circular", "reflect")
_AXIS_NAMES = {1: ("width",), 2: ("height", "width")}


def output_sizes(
    spatial: Sequence[int], kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int]
) -> tuple[int, ...]:
    """1 + (W - F + 2P)/S per spatial axis, via :func:`cnnlab.shapes.conv_output_size`.

    Raises:
        ValueError: naming the axis (height/width) when the filter does not tile the input.

    Example:
        >>> output_sizes((28, 28), (5, 5), (1, 1), (2, 2))
        (28, 28)
        >>> output_sizes((28, 28), (5, 5), (2, 2), (0, 0))
        Traceback (most recent call last):
        ...
        ValueError: height: (W - F + 2P)/S = (28 - 5 + 2*0)/2 = 11.5 is not an integer; choose kernel_size=4 (gives 13) or stride=1 (gives 24)
    """
    names = _AXIS_NAMES.get(len(spatial), tuple(f"axis {i}" for i in range(len(spatial))))
    sizes = []
    for name, n, k, s, p in zip(names, spatial, kernel, stride, padding):
        try:
            sizes.append(conv_output_size(int(n), int(k), int(s), int(p)))
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    return tuple(sizes)


def source_index(size: int, padding: int, mode: str) -> np.ndarray:
    """For each of the ``size + 2*padding`` padded positions, the input position it copies.

    ``circular`` is the periodic boundary condition of a lattice (position -1 is position W-1);
    ``reflect`` mirrors about the edge without repeating it.

    Example:
        >>> source_index(5, 2, "circular")
        array([3, 4, 0, 1, 2, 3, 4, 0, 1])
        >>> source_index(5, 2, "reflect")
        array([2, 1, 0, 1, 2, 3, 4, 3, 2])
    """
    positions = np.arange(-padding, size + padding)
    if mode == "circular":
        return positions % size
    if mode == "reflect":
        if padding >= size:
            raise ValueError(f"reflect padding must be smaller than the input: padding={padding}, size={size}")
        mirrored = np.abs(positions)
        return np.where(mirrored > size - 1, 2 * (size - 1) - mirrored, mirrored)
    raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {mode!r}")


def pad(x: np.ndarray, padding: Sequence[int], mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad every spatial axis of ``(N, C, *spatial)`` by ``padding[i]`` on both sides.

    Example:
        The lecture's 1-D example, P = 1:

        >>> pad(np.array([[[1., 2, 2, -1, 3]]]), (1,))
        array([[[ 0.,  1.,  2.,  2., -1.,  3.,  0.]]])
        >>> pad(np.array([[[1., 2, 2, -1, 3]]]), (1,), "circular")
        array([[[ 3.,  1.,  2.,  2., -1.,  3.,  1.]]])
    """
    if mode == "zeros":
        if not any(padding):
            return x
        return np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding], constant_values=value)
    for axis, p in enumerate(padding, start=2):
        x = np.take(x, source_index(x.shape[axis], p, mode), axis=axis)  # a gather: padded[i] = x[idx[i]]
    return x


def pad_backward(grad: np.ndarray, padding: Sequence[int], mode: str = "zeros") -> np.ndarray:
    """Gradient of :func:`pad`: send each padded position's gradient back to its source.

    Zero padding: the border values are constants, so their gradient is simply dropped.
    Circular/reflect: a border value *is* an input value, so its gradient is added to that input
    (the transpose of the gather in :func:`pad` is a scatter-add).

    Example:
        >>> g = np.ones((1, 1, 7))
        >>> pad_backward(g, (1,))
        array([[[1., 1., 1., 1., 1.]]])
        >>> pad_backward(g, (1,), "circular")   # the two ends are read twice
        array([[[2., 1., 1., 1., 2.]]])
    """
    if mode == "zeros":
        inner = tuple(slice(p, grad.shape[axis] - p) for axis, p in enumerate(padding, start=2))
        return grad[(slice(None), slice(None)) + inner]
    for axis, p in reversed(list(enumerate(padding, start=2))):
        size = grad.shape[axis] - 2 * p
        shape = grad.shape[:axis] + (size,) + grad.shape[axis + 1 :]
        out = np.zeros(shape, dtype=grad.dtype)
        # np.add.at accumulates repeated indices (a plain out[idx] += g would keep only the last one).
        np.add.at(np.moveaxis(out, axis, 0), source_index(size, p, mode), np.moveaxis(grad, axis, 0))
        grad = out
    return grad


def windows(xp: np.ndarray, kernel: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """A view ``(N, C, *out, *kernel)``: ``windows[n, c, i, j]`` is the F x F patch under output (i, j).

    No data is copied: ``sliding_window_view`` only changes strides, and ``[::S]`` keeps every
    S-th window.
    """
    dims = len(kernel)
    view = sliding_window_view(xp, tuple(kernel), axis=tuple(range(2, 2 + dims)))
    return view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def im2col(xp: np.ndarray, kernel: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """Padded input ``(N, C, *padded)`` -> columns ``(N, C*prod(kernel), L)``, L = prod(out sizes).

    Row ``c*F*F + a*F + b`` of the columns of example n holds input value (c, i*S + a, j*S + b)
    for every output position (i, j): one column per position, the patch the filter sees there.

    Example:
        >>> im2col(np.array([[[0., 1, 2, 2, -1, 3, 0]]]), (3,), (1,))[0]
        array([[ 0.,  1.,  2.,  2., -1.],
               [ 1.,  2.,  2., -1.,  3.],
               [ 2.,  2., -1.,  3.,  0.]])
    """
    n, c = xp.shape[:2]
    view = windows(xp, kernel, stride)  # (N, C, *out, *kernel)
    out = view.shape[2 : 2 + len(kernel)]
    cols = np.empty((n, c) + tuple(kernel) + out, dtype=xp.dtype)  # (N, C, *kernel, *out)
    # One strided copy per kernel offset (F*F of them) is faster than one copy of the 6-D view.
    for offset in np.ndindex(*kernel):
        cols[(slice(None), slice(None)) + offset] = view[(Ellipsis,) + offset]
    return cols.reshape(n, c * math.prod(kernel), math.prod(out))


def col2im(
    cols: np.ndarray, padded_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int], out: Sequence[int]
) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every column entry back onto the input position it came from.

    Args:
        cols: ``(N, C*prod(kernel), L)``, e.g. the gradient with respect to the columns.
        padded_shape: ``(N, C, *padded)``, the shape of the array that ``im2col`` read.
        kernel, stride, out: F, S and the output sizes per axis.

    Example:
        Each input of a width-3, stride-1 filter on 5 positions is read by up to 3 windows:

        >>> col2im(np.ones((1, 3, 3)), (1, 1, 5), (3,), (1,), (3,))
        array([[[1., 2., 3., 2., 1.]]])
    """
    n, c = padded_shape[:2]
    cols = cols.reshape((n, c) + tuple(kernel) + tuple(out))  # (N, C, *kernel, *out)
    grad = np.zeros(padded_shape, dtype=cols.dtype)
    # Loop over the F*F kernel offsets only; each step is one vectorised strided add.
    for offset in np.ndindex(*kernel):
        grad[offset_view(offset, stride, out)] += cols[(slice(None), slice(None)) + offset]
    return grad


def offset_view(offset: Sequence[int], stride: Sequence[int], out: Sequence[int]) -> tuple[slice, ...]:
    """Index of the input neurons found at ``offset`` inside every window: ``[:, :, a::S, b::S]``
    (``out`` windows per axis).

    Example:
        Offset 1 of the 3 windows (F=2, S=2) over 6 neurons is neurons 1, 3, 5:

        >>> np.arange(6)[None, None][offset_view((1,), (2,), (3,))]
        array([[[1, 3, 5]]])
    """
    return (slice(None), slice(None)) + tuple(slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offset, stride, out))
