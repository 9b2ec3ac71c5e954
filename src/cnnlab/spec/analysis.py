"""Shape analysis of a network: propagate an input shape through its layers, validating each one.

:func:`analyze` is what the engine, the reference, ``cnnlab summary`` and the web page use; every
number in its rows comes from :mod:`cnnlab.shapes`.

Example:
    >>> rows = analyze("conv(2,3)-relu-maxpool(2)-flatten-linear(10)", (3, 6, 6))
    >>> [row.out_shape for row in rows]
    [(2, 4, 4), (2, 4, 4), (2, 2, 2), (8,), (10,)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from cnnlab.shapes import ReceptiveField, shape_text
from cnnlab.spec.layers import Conv, Layer, Linear, Shape, SpecError
from cnnlab.spec.text import parse

__all__ = ["LayerInfo", "Spec", "analyze", "resolve", "with_classes"]

#: What the engine, the reference and the summary accept as a network: text, a preset name, or layers.
Spec = str | Sequence[Layer]


def with_classes(layers: Sequence[Layer], num_classes: int) -> tuple[Layer, ...]:
    """Fill every ``linear`` without ``out_features`` with the number of classes.

    Example:
        >>> from cnnlab.spec.text import to_text
        >>> to_text(with_classes(parse("flatten-linear"), 2))
        'flatten-linear(2)'
    """
    return tuple(
        dataclasses.replace(layer, out_features=num_classes)
        if isinstance(layer, Linear) and layer.out_features is None
        else layer
        for layer in layers
    )


def resolve(model: Spec, num_classes: int | None = None) -> tuple[Layer, ...]:
    """A preset name, a text spec or a list of layers -> a tuple of layers (classes filled in).

    Example:
        >>> from cnnlab.spec.text import to_text
        >>> to_text(resolve("logreg", num_classes=10))
        'flatten-linear(10)'
    """
    layers = parse(model) if isinstance(model, str) else tuple(model)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise SpecError(f"layer {i}: expected a cnnlab.spec layer, got {type(layer).__name__}")
    return with_classes(layers, num_classes) if num_classes is not None else layers


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


def analyze(layers: Spec, in_shape: Sequence[int], num_classes: int | None = None) -> list[LayerInfo]:
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
    layers = resolve(layers, num_classes)
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
