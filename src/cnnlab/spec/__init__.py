"""Layer specs: a network as a list of small dataclasses, with a compact text form and presets.

The text form joins layers with ``-``; arguments go in parentheses, positional first, then
``key=value`` (short keys ``s``, ``p``, ``mode`` for stride, padding, padding_mode)::

    conv(16,5,p=2)-relu-maxpool(2)-conv(32,3)-relu-maxpool(2)-flatten-linear(10)

A spec says nothing about dimensionality: ``conv`` is a Conv1d on a ``(C, W)`` input and a Conv2d
on a ``(C, H, W)`` input. ``linear`` without an argument has as many outputs as the dataset has
classes. :func:`analyze` propagates an input shape through the layers, validating each one with
:mod:`cnnlab.shapes`, and is what the engine, the reference, ``cnnlab summary`` and the web page use.

One module per concept:

- :mod:`cnnlab.spec.layers`: the layer dataclasses (shapes, parameters, ``window``).
- :mod:`cnnlab.spec.text`: the text form (:func:`parse`, :func:`to_text`, :func:`parse_shape`).
- :mod:`cnnlab.spec.analysis`: :func:`analyze`, :func:`resolve`, :class:`LayerInfo`, and
  :func:`estimate_memory` (parameters and activations of a network, checked before it is built).
- :mod:`cnnlab.spec.presets`: the registry of named networks and their training recipes.

Example:
    >>> layers = parse("conv(2,3)-relu-maxpool(2)-flatten-linear(10)")
    >>> [info.out_shape for info in analyze(layers, (3, 6, 6))]
    [(2, 4, 4), (2, 4, 4), (2, 2, 2), (8,), (10,)]
    >>> to_text(layers)
    'conv(2,3)-relu-maxpool(2)-flatten-linear(10)'
"""

from cnnlab.shapes import shape_text
from cnnlab.spec.analysis import (
    MAX_LAYERS,
    LayerInfo,
    MemoryBudgetError,
    MemoryEstimate,
    Spec,
    analyze,
    estimate_memory,
    format_bytes,
    memory_limit,
    resolve,
    with_classes,
)
from cnnlab.spec.layers import (
    LAYER_TYPES,
    PADDING_MODES,
    AvgPool,
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    Linear,
    MaxPool,
    ReLU,
    Shape,
    Sigmoid,
    Softmax,
    SpecError,
    Tanh,
)
from cnnlab.spec.presets import PRESETS, RECIPES, Preset, Recipe, for_input, recipe_for_model
from cnnlab.spec.text import MAX_SPEC_CHARS, parse, parse_layer, parse_shape, split_top_level, to_text

__all__ = [
    "LAYER_TYPES",
    "MAX_LAYERS",
    "MAX_SPEC_CHARS",
    "PADDING_MODES",
    "PRESETS",
    "RECIPES",
    "AvgPool",
    "BatchNorm",
    "Conv",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "Layer",
    "LayerInfo",
    "Linear",
    "MaxPool",
    "MemoryBudgetError",
    "MemoryEstimate",
    "Preset",
    "ReLU",
    "Recipe",
    "Shape",
    "Sigmoid",
    "Softmax",
    "Spec",
    "SpecError",
    "Tanh",
    "analyze",
    "estimate_memory",
    "for_input",
    "format_bytes",
    "memory_limit",
    "parse",
    "parse_layer",
    "parse_shape",
    "recipe_for_model",
    "resolve",
    "shape_text",
    "split_top_level",
    "to_text",
    "with_classes",
]
