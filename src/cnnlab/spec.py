"""Layer specs: a network as a list of small dataclasses, with a compact text form and presets.

The text form joins layers with ``-``; arguments go in parentheses, positional first, then
``key=value`` (short keys ``s``, ``p``, ``mode`` for stride, padding, padding_mode)::

    conv(16,5,p=2)-relu-maxpool(2)-conv(32,3)-relu-maxpool(2)-flatten-linear(10)

A spec says nothing about dimensionality: ``conv`` is a Conv1d on a ``(C, W)`` input and a Conv2d
on a ``(C, H, W)`` input. ``linear`` without an argument has as many outputs as the dataset has
classes. :func:`analyze` propagates an input shape through the layers, validating each one with
:mod:`cnnlab.shapes`, and is what the engine, the reference, ``cnnlab summary`` and the web page use.

Example:
    >>> layers = parse("conv(2,3)-relu-maxpool(2)-flatten-linear(10)")
    >>> [info.out_shape for info in analyze(layers, (3, 6, 6))]
    [(2, 4, 4), (2, 4, 4), (2, 2, 2), (8,), (10,)]
    >>> to_text(layers)
    'conv(2,3)-relu-maxpool(2)-flatten-linear(10)'
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from cnnlab.shapes import ReceptiveField, conv_output_size, conv_param_counts, receptive_field_step

Shape = tuple[int, ...]
PADDING_MODES = ("zeros", "circular", "reflect")


class SpecError(ValueError):
    """A spec that cannot be parsed or does not fit its input shape (message names the layer)."""


def _positive(layer: str, name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{layer}: {name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class Layer:
    """Base of all layer specs. Subclasses set ``keyword`` (their text name)."""

    keyword: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    short_keys: ClassVar[dict[str, str]] = {}
    positional: ClassVar[tuple[str, ...]] = ()  # fields written without a key in the text form

    def out_shape(self, in_shape: Shape) -> Shape:
        """Output shape ``(C, *spatial)`` or ``(features,)`` for one example of ``in_shape``."""
        return in_shape

    def num_params(self, in_shape: Shape) -> int:
        """Trainable parameters (weights and biases) for this input shape."""
        return 0

    def receptive_field(self, rf: ReceptiveField) -> ReceptiveField:
        """Receptive field after this layer; unchanged by elementwise layers."""
        return rf

    def to_text(self) -> str:
        """The compact text form, e.g. ``conv(16,5,p=2)``; parses back to an equal spec."""
        positional, keywords = [], []
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
    padding_mode: str = "zeros"
    bias: bool = True
    keyword: ClassVar[str] = "conv"
    positional: ClassVar[tuple[str, ...]] = ("out_channels", "kernel_size")
    aliases: ClassVar[tuple[str, ...]] = ("conv1d", "conv2d")
    short_keys: ClassVar[dict[str, str]] = {"s": "stride", "p": "padding", "mode": "padding_mode"}

    def __post_init__(self):
        for name in ("out_channels", "kernel_size", "stride"):
            _positive("conv", name, getattr(self, name))
        if not isinstance(self.padding, int) or self.padding < 0:
            raise SpecError(f"conv: padding must be an integer >= 0, got {self.padding!r}")
        if self.padding_mode not in PADDING_MODES:
            raise SpecError(f"conv: padding_mode must be one of {', '.join(PADDING_MODES)}, got {self.padding_mode!r}")

    def out_shape(self, in_shape: Shape) -> Shape:
        _, spatial = _spatial("conv", in_shape)
        if self.padding_mode == "reflect" and any(self.padding >= n for n in spatial):
            raise SpecError(
                f"reflect padding must be smaller than the input: padding={self.padding}, input {shape_text(in_shape)}"
            )
        return (self.out_channels,) + tuple(
            conv_output_size(n, self.kernel_size, self.stride, self.padding) for n in spatial
        )

    def num_params(self, in_shape: Shape) -> int:
        return self.param_counts(in_shape).conv

    def param_counts(self, in_shape: Shape):
        """Tied vs locally-connected vs dense counts (:func:`cnnlab.shapes.conv_param_counts`)."""
        return conv_param_counts(in_shape, self.out_channels, self.kernel_size, self.stride, self.padding, self.bias)

    def receptive_field(self, rf: ReceptiveField) -> ReceptiveField:
        return receptive_field_step(rf, self.kernel_size, self.stride, self.padding)


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

    def out_shape(self, in_shape: Shape) -> Shape:
        channels, spatial = _spatial(self.keyword, in_shape)
        return (channels,) + tuple(conv_output_size(n, self.kernel_size, self.step, self.padding) for n in spatial)

    def receptive_field(self, rf: ReceptiveField) -> ReceptiveField:
        return receptive_field_step(rf, self.kernel_size, self.step, self.padding)


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
_BY_NAME = {name: cls for cls in LAYER_TYPES for name in (cls.keyword, *cls.aliases)}
_TOKEN = re.compile(r"^([a-z0-9_]+)(?:\((.*)\))?$")


def _parse_value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_layer(token: str, index: int = 0) -> Layer:
    """Parse one layer token such as ``conv(16,5,p=2)``.

    Example:
        >>> parse_layer("conv(16,5,p=2,mode=circular)")
        Conv(out_channels=16, kernel_size=5, stride=1, padding=2, padding_mode='circular', bias=True)
    """
    token = token.strip()
    match = _TOKEN.match(token.replace(" ", ""))
    if not match:
        raise SpecError(f"layer {index} {token!r}: cannot parse; expected name or name(args), e.g. conv(16,5,p=2)")
    name, args = match.group(1).lower(), match.group(2)
    cls = _BY_NAME.get(name)
    if cls is None:
        raise SpecError(
            f"layer {index} {token!r}: unknown layer {name!r}; valid layers: {', '.join(sorted(_BY_NAME))}; "
            f"or a whole preset: {', '.join(PRESETS)}"
        )
    fields = [f.name for f in dataclasses.fields(cls)]
    positional, keywords = [], {}
    for part in filter(None, (args or "").split(",")):
        if "=" in part:
            key, value = part.split("=", 1)
            key = cls.short_keys.get(key, key)
            if key not in fields:
                raise SpecError(f"layer {index} {token!r}: unknown argument {key!r}; valid: {', '.join(fields)}")
            keywords[key] = _parse_value(value)
        elif keywords:
            raise SpecError(f"layer {index} {token!r}: positional argument {part!r} after a keyword argument")
        else:
            positional.append(_parse_value(part))
    if len(positional) > len(fields):
        raise SpecError(f"layer {index} {token!r}: too many arguments; {name} takes {', '.join(fields)}")
    try:
        return cls(*positional, **keywords)
    except SpecError as err:
        raise SpecError(f"layer {index} {token!r}: {err}") from None
    except TypeError as err:
        raise SpecError(f"layer {index} {token!r}: {err}; {name} takes {', '.join(fields) or 'no arguments'}") from None


def parse(text: str) -> tuple[Layer, ...]:
    """Parse a whole network, ``-``-separated; a preset name is expanded.

    Example:
        >>> parse("flatten-linear(100)-relu-linear")
        (Flatten(), Linear(out_features=100, bias=True), ReLU(), Linear(out_features=None, bias=True))
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"spec must be a non-empty string like 'conv(16,5)-relu-flatten-linear', got {text!r}")
    if text.strip() in PRESETS:
        return parse(PRESETS[text.strip()].text)
    # '-' separates layers, but a negative number inside parentheses is not a separator.
    tokens, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "-" and depth == 0:
            tokens.append(current)
            current = ""
        else:
            current += ch
    tokens.append(current)
    return tuple(parse_layer(tok, i) for i, tok in enumerate(tokens))


def to_text(layers: Sequence[Layer]) -> str:
    """The text form of a list of layers (inverse of :func:`parse`)."""
    return "-".join(layer.to_text() for layer in layers)


def with_classes(layers: Sequence[Layer], num_classes: int) -> tuple[Layer, ...]:
    """Fill every ``linear`` without ``out_features`` with the number of classes.

    Example:
        >>> to_text(with_classes(parse("flatten-linear"), 2))
        'flatten-linear(2)'
    """
    return tuple(
        dataclasses.replace(layer, out_features=num_classes)
        if isinstance(layer, Linear) and layer.out_features is None
        else layer
        for layer in layers
    )


@dataclass(frozen=True)
class LayerInfo:
    """One row of the shape analysis of a network.

    Attributes:
        index: position in the network (0-based; also the engine's module name).
        layer: the spec.
        in_shape, out_shape: per-example shapes, channels first.
        params: trainable parameters of this layer.
        locally_connected, dense: parameters that an untied (locally connected) or a dense layer
            with the same input and output would need; only for conv layers.
        receptive_field: input pixels seen by one neuron; None once the input is flattened (a
            neuron after a dense layer sees the whole input).
    """

    index: int
    layer: Layer
    in_shape: Shape
    out_shape: Shape
    params: int
    locally_connected: int | None = None
    dense: int | None = None
    receptive_field: ReceptiveField | None = None

    @property
    def name(self) -> str:
        return self.layer.to_text()


def analyze(layers: Sequence[Layer] | str, in_shape: Sequence[int], num_classes: int | None = None) -> list[LayerInfo]:
    """Propagate ``in_shape`` through the network, validating every layer.

    Args:
        layers: layer specs, or a text spec / preset name.
        in_shape: one example's shape, ``(C, W)`` or ``(C, H, W)`` (or ``(F,)`` for a dense net).
        num_classes: fills ``linear`` layers without ``out_features``.

    Raises:
        SpecError: naming the layer's index and text when a shape does not fit.

    Example:
        >>> rows = analyze("lecture", (3, 6, 6), num_classes=10)
        >>> rows[0].out_shape, rows[0].params, rows[0].locally_connected, rows[0].dense
        ((2, 4, 4), 56, 896, 3488)
    """
    if isinstance(layers, str):
        layers = parse(layers)
    if num_classes is not None:
        layers = with_classes(layers, num_classes)
    shape = tuple(in_shape)
    if not shape or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
        raise SpecError(f"input shape must be positive integers like 1x28x28, got {shape_text(shape)}")
    rf: ReceptiveField | None = ReceptiveField.input(len(shape) - 1) if len(shape) > 1 else None
    rows = []
    for i, layer in enumerate(layers):
        try:
            out = layer.out_shape(shape)
            params = layer.num_params(shape)
        except (SpecError, ValueError) as err:
            raise SpecError(f"layer {i} '{layer.to_text()}' on input {shape_text(shape)}: {err}") from None
        lc = dense = None
        if isinstance(layer, Conv):
            counts = layer.param_counts(shape)
            lc, dense = counts.locally_connected, counts.dense
        if rf is not None:
            rf = layer.receptive_field(rf) if len(out) > 1 else None
        rows.append(LayerInfo(i, layer, shape, out, params, lc, dense, rf))
        shape = out
    return rows


def shape_text(shape: Sequence[int]) -> str:
    """``(1, 28, 28)`` -> ``"1x28x28"`` (the inverse of :func:`parse_shape`).

    Example:
        >>> shape_text((16, 14, 14))
        '16x14x14'
    """
    return "x".join(str(s) for s in shape) if shape else "()"


def parse_shape(text: str) -> Shape:
    """Parse ``CxHxW`` (or ``C,H,W``) into a tuple.

    Example:
        >>> parse_shape("1x28x28")
        (1, 28, 28)
    """
    parts = re.split(r"[x,×*]", str(text).strip().lower())
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise SpecError(f"input shape must look like CxHxW (e.g. 1x28x28) or CxW, got {text!r}") from None
    if not all(s >= 1 for s in shape):
        raise SpecError(f"input shape must have positive sizes, got {text!r}")
    return shape


@dataclass(frozen=True)
class Preset:
    """A named network: its text spec, the input it is designed for, and what it is."""

    text: str
    input_shape: Shape
    description: str
    notes: dict = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "mlp": Preset(
        "flatten-linear(400)-relu-dropout(0.2)-linear(100)-relu-dropout(0.2)-linear",
        (1, 28, 28),
        "the course's dense network 784-400-100-10 with dropout (exercise 12.1)",
    ),
    "mlp300": Preset(
        "flatten-linear(300)-relu-linear(100)-relu-linear",
        (1, 28, 28),
        "the dense network of the interactive visualiser, 784-300-100-10",
    ),
    "logreg": Preset("flatten-linear", (1, 28, 28), "logistic regression (one dense layer + softmax)"),
    "lenet": Preset(
        "conv(6,5,p=2)-relu-maxpool(2)-conv(16,5)-relu-maxpool(2)-flatten-linear(120)-relu-linear(84)-relu-linear",
        (1, 28, 28),
        "LeNet-5 (LeCun et al. 1998) with ReLU and max pooling",
    ),
    "cnn": Preset(
        "conv(16,5,p=2)-relu-maxpool(2)-conv(32,5,p=2)-relu-maxpool(2)-flatten-linear(100)-relu-dropout(0.2)-linear",
        (1, 28, 28),
        "the course's CNN for MNIST (exercise 12.2): two conv+pool blocks, a dense layer",
    ),
    "lecture": Preset(
        "conv(2,3)-relu-maxpool(2)-flatten-linear",
        (3, 6, 6),
        "the lecture's example: 6x6x3 input, two 3x3x3 filters -> 4x4x2, pool, classifier",
    ),
    "fast": Preset(
        "conv(8,3,p=1)-maxpool(2)-bn-relu-conv(16,3,p=1)-maxpool(2)-bn-relu-conv(32,3,p=1)-bn-relu-flatten-linear",
        (1, 28, 28),
        "tiny BatchNorm CNN tuned for time-to-99% on MNIST on a CPU (cnnlab train --recipe fast)",
    ),
    "fast995": Preset(
        "conv(16,3,p=1)-maxpool(2)-bn-relu-conv(32,3,p=1)-maxpool(2)-bn-relu-conv(64,3,p=1)-bn-relu-flatten-linear",
        (1, 28, 28),
        "wider sibling of 'fast' for >= 99.5% on MNIST within a minute (cnnlab train --recipe fast995)",
    ),
    "cnn1d": Preset(
        "conv(32,5,p=2)-relu-conv(32,3,p=1)-relu-maxpool(2)-conv(32,3,p=1)-relu-maxpool(2)-flatten-linear",
        (1, 40),
        "1-D CNN for MNIST-1D (Greydanus & Kobak 2020)",
    ),
    "equivariant": Preset(
        "conv(16,5,p=2,mode=circular)-relu-conv(32,5,p=2,mode=circular)-relu-conv(32,5,p=2,mode=circular)-relu-gap-linear",
        (1, 28, 28),
        "exactly translation-invariant CNN: circular padding, stride 1, global average pooling",
    ),
}


def resolve(model: str | Sequence[Layer], num_classes: int | None = None) -> tuple[Layer, ...]:
    """A preset name, a text spec or a list of layers -> a tuple of layers (classes filled in).

    Example:
        >>> to_text(resolve("logreg", num_classes=10))
        'flatten-linear(10)'
    """
    layers = parse(model) if isinstance(model, str) else tuple(model)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise SpecError(f"layer {i}: expected a cnnlab.spec layer, got {type(layer).__name__}")
    return with_classes(layers, num_classes) if num_classes is not None else layers


Spec = str | Sequence[Layer]
