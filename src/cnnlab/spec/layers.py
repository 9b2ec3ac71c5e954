"""Layer specs: each layer of a network as a small frozen dataclass.

A spec says nothing about dimensionality: :class:`Conv` is a Conv1d on a ``(C, W)`` input and a
Conv2d on a ``(C, H, W)`` input. Each layer knows its output shape, its parameter count and its
receptive-field step for a given input shape, all computed by :mod:`cnnlab.shapes`; conv and
pooling layers expose their :attr:`~Layer.window` (F, S, P).

Example:
    >>> conv = Conv(16, 5, padding=2)
    >>> conv.window, conv.out_shape((1, 28, 28)), conv.num_params((1, 28, 28))
    (Window(kernel_size=5, stride=1, padding=2), (16, 28, 28), 416)
    >>> conv.to_text()
    'conv(16,5,p=2)'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

from cnnlab.shapes import (
    MAX_SIZE,
    ParamCounts,
    ReceptiveField,
    Window,
    conv_param_counts,
    receptive_field_step,
    shape_text,
)

Shape = tuple[int, ...]
PaddingMode = Literal["zeros", "circular", "reflect"]
PADDING_MODES: tuple[str, ...] = get_args(PaddingMode)


class SpecError(ValueError):
    """A spec that cannot be parsed or does not fit its input shape (message names the layer)."""


def _positive(layer: str, name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{layer}: {name} must be a positive integer, got {value!r}")
    _at_most_max(layer, name, value)


def _boolean(layer: str, name: str, value) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"{layer}: {name} must be true or false, got {value!r}")


def _at_most_max(layer: str, name: str, value: int) -> None:
    if value > MAX_SIZE:
        raise SpecError(f"{layer}: {name} must be at most {MAX_SIZE:,} (MAX_SIZE), got {value:,}")


@dataclass(frozen=True)
class Layer:
    """Base of all layer specs. Subclasses set ``keyword`` (their text name)."""

    keyword: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    short_keys: ClassVar[dict[str, str]] = {}
    positional: ClassVar[tuple[str, ...]] = ()  # fields written without a key in the text form

    @property
    def window(self) -> Window | None:
        """F, S, P of a conv or pooling layer (the same on every spatial axis); None for other layers."""
        return None

    def out_shape(self, in_shape: Shape) -> Shape:
        """Output shape ``(C, *spatial)`` or ``(features,)`` for one example of ``in_shape``."""
        return in_shape

    def num_params(self, in_shape: Shape) -> int:
        """Trainable parameters (weights and biases) for this input shape."""
        return 0

    def receptive_field(self, rf: ReceptiveField) -> ReceptiveField:
        """Receptive field after this layer; a layer with a window grows it, the others keep it."""
        window = self.window
        return rf if window is None else receptive_field_step(rf, *window)

    def to_text(self) -> str:
        """The compact text form, e.g. ``conv(16,5,p=2)``; parses back to an equal spec."""
        positional: list[str] = []
        keywords: list[str] = []
        inverse = {v: k for k, v in self.short_keys.items()}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self.positional and len(positional) == self.positional.index(f.name):
                positional.append(_fmt(value))
            elif value != f.default:
                keywords.append(f"{inverse.get(f.name, f.name)}={_fmt(value)}")
        args = positional + keywords
        return f"{self.keyword}({','.join(args)})" if args else self.keyword


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _spatial(layer: str, in_shape: Shape) -> tuple[int, tuple[int, ...]]:
    if len(in_shape) not in (2, 3):
        raise SpecError(f"{layer} needs a (C, W) or (C, H, W) input, got shape {shape_text(in_shape)}")
    return in_shape[0], in_shape[1:]


@dataclass(frozen=True)
class Conv(Layer):
    """Convolution (Conv1d or Conv2d by the input's rank) with D_out filters of width F.

    Shape: ``(D_in, H, W) -> (out_channels, 1 + (H - F + 2P)/S, 1 + (W - F + 2P)/S)``.
    """

    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    padding_mode: PaddingMode = "zeros"
    bias: bool = True
    keyword: ClassVar[str] = "conv"
    positional: ClassVar[tuple[str, ...]] = ("out_channels", "kernel_size")
    aliases: ClassVar[tuple[str, ...]] = ("conv1d", "conv2d")
    short_keys: ClassVar[dict[str, str]] = {"s": "stride", "p": "padding", "mode": "padding_mode"}

    def __post_init__(self):
        for name in ("out_channels", "kernel_size", "stride"):
            _positive("conv", name, getattr(self, name))
        if not isinstance(self.padding, int) or isinstance(self.padding, bool) or self.padding < 0:
            raise SpecError(f"conv: padding must be an integer >= 0, got {self.padding!r}")
        _at_most_max("conv", "padding", self.padding)
        _boolean("conv", "bias", self.bias)
        if self.padding_mode not in PADDING_MODES:
            raise SpecError(f"conv: padding_mode must be one of {', '.join(PADDING_MODES)}, got {self.padding_mode!r}")

    @property
    def window(self) -> Window:
        return Window(self.kernel_size, self.stride, self.padding)

    def out_shape(self, in_shape: Shape) -> Shape:
        _, spatial = _spatial("conv", in_shape)
        if self.padding_mode == "reflect" and any(self.padding >= n for n in spatial):
            raise SpecError(
                f"reflect padding must be smaller than the input: padding={self.padding}, input {shape_text(in_shape)}"
            )
        return (self.out_channels,) + tuple(self.window.output_size(n) for n in spatial)

    def num_params(self, in_shape: Shape) -> int:
        return self.param_counts(in_shape).conv

    def param_counts(self, in_shape: Shape) -> ParamCounts:
        """Tied vs locally-connected vs dense counts (:func:`cnnlab.shapes.conv_param_counts`)."""
        return conv_param_counts(in_shape, self.out_channels, self.kernel_size, self.stride, self.padding, self.bias)


@dataclass(frozen=True)
class _Pool(Layer):
    kernel_size: int
    stride: int | None = None  # None: stride = kernel_size (non-overlapping windows, as in PyTorch)
    padding: int = 0
    short_keys: ClassVar[dict[str, str]] = {"s": "stride", "p": "padding"}
    positional: ClassVar[tuple[str, ...]] = ("kernel_size",)

    def __post_init__(self):
        _positive(self.keyword, "kernel_size", self.kernel_size)
        if self.stride is not None:
            _positive(self.keyword, "stride", self.stride)
        if not isinstance(self.padding, int) or not 0 <= self.padding <= self.kernel_size // 2:
            raise SpecError(
                f"{self.keyword}: padding must be between 0 and kernel_size/2 = {self.kernel_size // 2}, got {self.padding!r}"
            )

    @property
    def step(self) -> int:
        """The effective stride S."""
        return self.kernel_size if self.stride is None else self.stride

    @property
    def window(self) -> Window:
        return Window(self.kernel_size, self.step, self.padding)

    def out_shape(self, in_shape: Shape) -> Shape:
        channels, spatial = _spatial(self.keyword, in_shape)
        return (channels,) + tuple(self.window.output_size(n) for n in spatial)


@dataclass(frozen=True)
class MaxPool(_Pool):
    """Max pooling over F x F windows (MaxPool1d/2d); keeps the channels, coarse-grains space."""

    keyword: ClassVar[str] = "maxpool"
    aliases: ClassVar[tuple[str, ...]] = ("maxpool1d", "maxpool2d")


@dataclass(frozen=True)
class AvgPool(_Pool):
    """Average pooling over F x F windows (AvgPool1d/2d), zero padding counted in the mean."""

    keyword: ClassVar[str] = "avgpool"
    aliases: ClassVar[tuple[str, ...]] = ("avgpool1d", "avgpool2d")


@dataclass(frozen=True)
class GlobalAvgPool(Layer):
    """Mean over all positions of each channel: ``(C, H, W) -> (C,)``; translation invariant."""

    keyword: ClassVar[str] = "gap"
    aliases: ClassVar[tuple[str, ...]] = ("globalavgpool",)

    def out_shape(self, in_shape: Shape) -> Shape:
        channels, _ = _spatial("gap", in_shape)
        return (channels,)


@dataclass(frozen=True)
class Flatten(Layer):
    """``(C, H, W) -> (C*H*W,)``, in PyTorch's (channel-major) order."""

    keyword: ClassVar[str] = "flatten"

    def out_shape(self, in_shape: Shape) -> Shape:
        return (math.prod(in_shape),)


@dataclass(frozen=True)
class Linear(Layer):
    """All-to-all (dense) layer. ``out_features=None`` means "as many as the dataset's classes"."""

    out_features: int | None = None
    bias: bool = True
    keyword: ClassVar[str] = "linear"
    aliases: ClassVar[tuple[str, ...]] = ("dense", "fc")
    positional: ClassVar[tuple[str, ...]] = ("out_features",)

    def __post_init__(self):
        if self.out_features is not None:
            _positive("linear", "out_features", self.out_features)
        _boolean("linear", "bias", self.bias)

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 1:
            raise SpecError(f"linear needs a flat input, got shape {shape_text(in_shape)}; insert 'flatten' before it")
        if self.out_features is None:
            raise SpecError("linear: out_features not set; give linear(N) or a number of classes")
        return (self.out_features,)

    def num_params(self, in_shape: Shape) -> int:
        return in_shape[0] * self.out_shape(in_shape)[0] + (self.out_shape(in_shape)[0] if self.bias else 0)

    def to_text(self) -> str:
        if self.out_features is None:
            return "linear" if self.bias else "linear(bias=false)"
        return super().to_text()


@dataclass(frozen=True)
class ReLU(Layer):
    """max(0, z), unit slope."""

    keyword: ClassVar[str] = "relu"


@dataclass(frozen=True)
class Tanh(Layer):
    """tanh(z)."""

    keyword: ClassVar[str] = "tanh"


@dataclass(frozen=True)
class Sigmoid(Layer):
    """1 / (1 + exp(-z))."""

    keyword: ClassVar[str] = "sigmoid"


@dataclass(frozen=True)
class Softmax(Layer):
    """exp(z_i) / sum_j exp(z_j) over the features; usually left to the loss."""

    keyword: ClassVar[str] = "softmax"

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 1:
            raise SpecError(f"softmax needs a flat input, got shape {shape_text(in_shape)}")
        return in_shape


@dataclass(frozen=True)
class Dropout(Layer):
    """Zeroes each activation with probability p during training (scales the rest by 1/(1-p))."""

    p: float = 0.5
    keyword: ClassVar[str] = "dropout"
    positional: ClassVar[tuple[str, ...]] = ("p",)

    def __post_init__(self):
        if not isinstance(self.p, (int, float)) or not 0 <= self.p < 1:
            raise SpecError(f"dropout: p must be in [0, 1), got {self.p!r}")


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation per channel (BatchNorm1d on (F,) or (C, W), BatchNorm2d on (C, H, W))."""

    keyword: ClassVar[str] = "bn"
    aliases: ClassVar[tuple[str, ...]] = ("batchnorm", "batchnorm1d", "batchnorm2d")

    def num_params(self, in_shape: Shape) -> int:
        return 2 * in_shape[0]


LAYER_TYPES: tuple[type[Layer], ...] = (
    Conv,
    MaxPool,
    AvgPool,
    GlobalAvgPool,
    Flatten,
    Linear,
    ReLU,
    Tanh,
    Sigmoid,
    Softmax,
    Dropout,
    BatchNorm,
)
