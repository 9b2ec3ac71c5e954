"""Shape and parameter arithmetic: the one place where 1 + (W - F + 2P)/S is computed.

The lecture's letters map once onto PyTorch's names:

======  ==================  ===========================================
letter  PyTorch name        meaning
======  ==================  ===========================================
W, H    size (last axes)    width / height of a layer (NCHW: ``x.shape[-1]``, ``x.shape[-2]``)
D       ``channels``        depth of a layer (number of feature maps)
F       ``kernel_size``     filter (receptive field) width
S       ``stride``          how many neurons the filter moves per step
P       ``padding``         zeros (or periodic/reflected values) added on each side
======  ==================  ===========================================

Everything that needs an output size or a parameter count (the layer spec, the PyTorch engine's
checks, the NumPy reference, ``cnnlab summary``, the web calculator) calls these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "MAX_SIZE",
    "ParamCounts",
    "ReceptiveField",
    "Window",
    "as_tuple",
    "conv_output_size",
    "conv_param_counts",
    "output_size_formula",
    "receptive_field_step",
    "shape_text",
]

#: The largest size, kernel, stride, padding or dilation accepted (PyTorch's sizes are 32-bit in many kernels);
#: everything a network allocates is estimated from these numbers before it is built (:func:`cnnlab.spec.estimate_memory`).
MAX_SIZE = 2**31 - 1


def as_tuple(value: int | Sequence[int], dims: int, name: str) -> tuple[int, ...]:
    """Expand an int to a ``dims``-tuple (PyTorch's ``_pair``), checking a given tuple's length.

    Example:
        >>> as_tuple(3, 2, "kernel_size")
        (3, 3)
        >>> as_tuple((3, 5), 2, "kernel_size")
        (3, 5)
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a tuple of {dims} ints, got {value!r}")
    if isinstance(value, int):
        return (value,) * dims
    values = tuple(value)
    if len(values) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name} must be an int or a tuple of {dims} ints, got {value!r}")
    return values


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output width of a convolution or pooling window along one axis: 1 + (W - F + 2P)/S.

    With dilation d the filter spans F_eff = d(F - 1) + 1 input neurons.

    Args:
        size: input width W (neurons along this axis).
        kernel_size: filter width F.
        stride: S, how many neurons the filter moves per step.
        padding: P, neurons added on each side.
        dilation: spacing between filter taps (1 = contiguous filter).

    Returns:
        The output width, an integer >= 1.

    Raises:
        ValueError: when (W - F_eff + 2P) is not divisible by S (the filter would not tile the
            padded input exactly), when the output would be smaller than one neuron, or when an
            argument is out of range. The message shows the numbers and suggests a fix.

    Example:
        The lecture's 1-D example (W=5, F=3, P=1, S=1) and a 2x2 max pool of a 28-wide image:

        >>> conv_output_size(5, 3, stride=1, padding=1)
        5
        >>> conv_output_size(28, 2, stride=2)
        14
        >>> conv_output_size(28, 5, stride=2)
        Traceback (most recent call last):
        ...
        ValueError: (W - F + 2P)/S = (28 - 5 + 2*0)/2 = 11.5 is not an integer; choose kernel_size=4 (gives 13) or stride=1 (gives 24)
    """
    for name, value, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("dilation", dilation, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if value > MAX_SIZE:
            raise ValueError(f"{name} must be at most {MAX_SIZE:,} (MAX_SIZE), got {value:,}")
    span = dilation * (kernel_size - 1) + 1
    f_text = f"{span}" if dilation == 1 else f"{span} (F={kernel_size} dilated by {dilation})"
    numerator = size - span + 2 * padding
    if numerator < 0:
        need = math.ceil((span - size) / 2)
        raise ValueError(
            f"filter wider than the padded input: F = {f_text} > W + 2P = {size} + 2*{padding} = "
            f"{size + 2 * padding}; use kernel_size <= {size + 2 * padding} or padding >= {need}"
        )
    if numerator % stride:
        raise ValueError(
            f"(W - F + 2P)/S = ({size} - {f_text} + 2*{padding})/{stride} = {numerator / stride:g} "
            f"is not an integer; {_suggest_fix(size, span, stride, padding)}"
        )
    return numerator // stride + 1


def _suggest_fix(size: int, span: int, stride: int, padding: int) -> str:
    """Nearest padding, a kernel and a stride for which the filter tiles the input exactly, in O(1).

    Example:
        >>> _suggest_fix(28, 3, 10**8 + 1, 0)   # a huge stride costs no more than a small one
        'choose padding=49999988 (gives 2) or stride=1 (gives 26)'
    """
    options = []
    extra = _extra_padding(size - span + 2 * padding, stride)
    if extra is not None:
        p = padding + extra
        options.append(f"padding={p} (gives {(size - span + 2 * p) // stride + 1})")
    for k in (span - 1, span + 1):
        if 1 <= k <= size + 2 * padding and (size - k + 2 * padding) % stride == 0:
            options.append(f"kernel_size={k} (gives {(size - k + 2 * padding) // stride + 1})")
            break
    numerator = size - span + 2 * padding
    # The largest stride below S that divides W - F + 2P; only a few candidates are tried (stride 1 always works).
    for s in (*range(stride - 1, max(stride - 1 - _STRIDE_CANDIDATES, 1), -1), 1):
        if numerator % s == 0:
            options.append(f"stride={s} (gives {numerator // s + 1})")
            break
    return "choose " + " or ".join(options) if options else "change kernel_size, stride or padding"


_STRIDE_CANDIDATES = 64


def _extra_padding(numerator: int, stride: int) -> int | None:
    """Smallest d in [1, S] with (numerator + 2d) % S == 0, or None (S even and numerator odd): modular arithmetic, no search."""
    if stride % 2:
        d = (-numerator * pow(2, -1, stride)) % stride
        return d or stride
    if numerator % 2:
        return None
    half = stride // 2
    return (-(numerator // 2)) % half or half


def output_size_formula(size: int, kernel_size: int, stride: int = 1, padding: int = 0, letter: str = "W") -> str:
    """The lecture's formula with the numbers put in, as the CLI, ``explain`` and the web page print it.

    Example:
        >>> output_size_formula(28, 5, stride=1, padding=2)
        '1 + (W - F + 2P)/S = 1 + (28 - 5 + 2*2)/1 = 28'
        >>> output_size_formula(6, 3, letter="H")
        '1 + (H - F + 2P)/S = 1 + (6 - 3 + 2*0)/1 = 4'
    """
    out = conv_output_size(size, kernel_size, stride, padding)
    return f"1 + ({letter} - F + 2P)/S = 1 + ({size} - {kernel_size} + 2*{padding})/{stride} = {out}"


class Window(NamedTuple):
    """The window of a conv or pooling layer in the lecture's letters: F, S, P (the same on every axis).

    Example:
        >>> Window(kernel_size=5, stride=1, padding=2).output_size(28)
        28
    """

    kernel_size: int
    stride: int
    padding: int

    def output_size(self, size: int) -> int:
        """1 + (W - F + 2P)/S for an input of width ``size`` (:func:`conv_output_size`)."""
        return conv_output_size(size, self.kernel_size, self.stride, self.padding)


def shape_text(shape: Sequence[int]) -> str:
    """``(1, 28, 28)`` -> ``"1x28x28"``: the one way cnnlab writes a shape (``spec.parse_shape`` reads it back).

    Example:
        >>> shape_text((16, 14, 14)), shape_text([])
        ('16x14x14', '()')
    """
    return "x".join(str(s) for s in shape) if len(shape) else "()"


@dataclass(frozen=True)
class ParamCounts:
    """Free parameters of one conv layer and of the two networks it is compared with.

    Attributes:
        conv: tied weights and biases: ``D_out * (D_in * F^k + 1)``.
        locally_connected: same connectivity, untied: one filter per output neuron position and
            one bias per output neuron.
        dense: all-to-all between the flattened input and output, plus one bias per output neuron.
        positions: number of output positions (H_out * W_out), the factor that tying saves.
        out_shape: the layer's output ``(D_out, *spatial)``.
        filter_size: weights of one filter, ``D_in * F^k``.
    """

    conv: int
    locally_connected: int
    dense: int
    positions: int
    out_shape: tuple[int, ...] = ()
    filter_size: int = 0

    @property
    def locally_connected_weights(self) -> int:
        """The untied layer's weights without biases: one filter per output neuron."""
        return math.prod(self.out_shape) * self.filter_size

    @property
    def tied_reduction(self) -> float:
        """locally_connected / conv: about H_out * W_out, the lecture's "reduction by H x W"."""
        return self.locally_connected / self.conv

    @property
    def dense_reduction(self) -> float:
        """dense / conv: what locality *and* tying save together."""
        return self.dense / self.conv


def conv_param_counts(
    in_shape: Sequence[int],
    out_channels: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    bias: bool = True,
) -> ParamCounts:
    """Parameters of a conv layer, of its untied (locally connected) twin, and of a dense layer.

    Args:
        in_shape: ``(C, W)`` or ``(C, H, W)``: input depth D_in and spatial size.
        out_channels: D_out, the number of filters.
        kernel_size, stride, padding: F, S, P (an int or one value per spatial axis).
        bias: whether the layer has biases (one per filter when tied, one per neuron when untied).

    Shape:
        Output spatial size per axis: 1 + (W - F + 2P)/S (:func:`conv_output_size`).

    Example:
        The lecture's 6x6x3 input with two 3x3x3 filters (output 4x4x2):

        >>> c = conv_param_counts((3, 6, 6), out_channels=2, kernel_size=3)
        >>> c.conv, c.locally_connected, c.dense, c.out_shape, c.locally_connected_weights
        (56, 896, 3488, (2, 4, 4), 864)
        >>> c.tied_reduction == 16
        True
    """
    in_shape = tuple(in_shape)
    if len(in_shape) not in (2, 3) or not all(isinstance(v, int) and v >= 1 for v in in_shape):
        raise ValueError(f"in_shape must be (C, W) or (C, H, W) with positive ints, got {in_shape!r}")
    if not isinstance(out_channels, int) or out_channels < 1:
        raise ValueError(f"out_channels must be a positive int, got {out_channels!r}")
    if max(*in_shape, out_channels) > MAX_SIZE:
        raise ValueError(
            f"in_shape and out_channels must be at most {MAX_SIZE:,} (MAX_SIZE), got {in_shape!r}, {out_channels!r}"
        )
    channels, spatial = in_shape[0], in_shape[1:]
    dims = len(spatial)
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    strides = as_tuple(stride, dims, "stride")
    pads = as_tuple(padding, dims, "padding")
    out_spatial = [conv_output_size(n, k, s, p) for n, k, s, p in zip(spatial, kernel, strides, pads)]
    positions = math.prod(out_spatial)
    filter_size = channels * math.prod(kernel)
    n_in = channels * math.prod(spatial)
    n_out = out_channels * positions
    return ParamCounts(
        conv=out_channels * (filter_size + int(bias)),
        locally_connected=n_out * filter_size + (n_out if bias else 0),
        dense=n_in * n_out + (n_out if bias else 0),
        positions=positions,
        out_shape=(out_channels, *out_spatial),
        filter_size=filter_size,
    )


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one neuron of a layer, in input pixels, per spatial axis.

    Attributes:
        size: how many input pixels a neuron sees (r).
        jump: distance in input pixels between neighbouring neurons of this layer (j).
        start: input coordinate of the centre of the first neuron's field (may be negative: padding).
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[float, ...]

    @classmethod
    def input(cls, dims: int) -> ReceptiveField:
        """The input layer: every pixel sees itself."""
        return cls(size=(1,) * dims, jump=(1,) * dims, start=(0.0,) * dims)

    def span(self, index: Sequence[int], extent: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """Input pixel range ``[lo, hi)`` per axis seen by the neuron at ``index``, clipped to ``extent``.

        Example:
            >>> rf = receptive_field_step(ReceptiveField.input(1), kernel_size=3, stride=1, padding=1)
            >>> rf.span((0,), (5,))   # first neuron of the lecture's 1-D example sees x[0:2] + one pad
            ((0, 2),)
        """
        out = []
        for i, r, j, s, n in zip(index, self.size, self.jump, self.start, extent):
            lo = s + i * j - (r - 1) / 2
            out.append((max(0, math.floor(lo)), min(n, math.floor(lo) + r)))
        return tuple(out)


def receptive_field_step(
    rf: ReceptiveField,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> ReceptiveField:
    """Receptive field after one conv or pooling layer (Araujo et al., Distill 2019).

    r_out = r_in + (F_eff - 1) * j_in,  j_out = j_in * S,  start_out = start_in + ((F_eff - 1)/2 - P) * j_in.

    Example:
        Two 3x3 convs see 5x5; a 2x2 pool between them makes it 8x8 with jump 2:

        >>> rf = ReceptiveField.input(2)
        >>> rf = receptive_field_step(rf, 3)
        >>> rf = receptive_field_step(rf, 2, stride=2)
        >>> rf = receptive_field_step(rf, 3)
        >>> rf.size, rf.jump
        ((8, 8), (2, 2))
    """
    dims = len(rf.size)
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    strides = as_tuple(stride, dims, "stride")
    pads = as_tuple(padding, dims, "padding")
    dil = as_tuple(dilation, dims, "dilation")
    size, jump, start = [], [], []
    for r, j, s, k, st, p, d in zip(rf.size, rf.jump, rf.start, kernel, strides, pads, dil):
        span = d * (k - 1) + 1
        size.append(r + (span - 1) * j)
        jump.append(j * st)
        start.append(s + ((span - 1) / 2 - p) * j)
    return ReceptiveField(size=tuple(size), jump=tuple(jump), start=tuple(start))
