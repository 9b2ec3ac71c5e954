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
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cnnlab.shapes import MAX_SIZE, ReceptiveField, shape_text
from cnnlab.spec.layers import BatchNorm, Conv, Layer, Linear, Shape, SpecError
from cnnlab.spec.text import parse

__all__ = [
    "MAX_LAYERS",
    "LayerInfo",
    "MemoryBudgetError",
    "MemoryEstimate",
    "Spec",
    "analyze",
    "estimate_memory",
    "format_bytes",
    "memory_limit",
    "resolve",
    "with_classes",
]

#: What the engine, the reference and the summary accept as a network: text, a preset name, or layers.
Spec = str | Sequence[Layer]
#: The most layers a network may have (the deepest preset has 13; this bounds the work of parsing, analysis and building).
MAX_LAYERS = 1000


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
    if len(layers) > MAX_LAYERS:
        raise SpecError(f"a network may have at most {MAX_LAYERS:,} layers (MAX_LAYERS), got {len(layers):,}")
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
    if len(shape) > 3 or max(shape) > MAX_SIZE:
        raise SpecError(f"input shape must be F, CxW or CxHxW with sizes up to {MAX_SIZE:,}, got {shape_text(shape)}")
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


class MemoryBudgetError(ValueError):
    """A network (with its batch) that would need more memory than the limit; the message gives both."""


@dataclass(frozen=True)
class MemoryEstimate:
    """What a network needs in memory, estimated from its spec before anything is allocated.

    Counted in values of ``bytes_per_value`` bytes (float32):

    - ``params``: weights and biases, plus BatchNorm's running statistics;
    - ``activations``: the input and every layer's output, for the whole batch (what
      :meth:`cnnlab.engine.Network.features` holds, and what autograd keeps for the backward pass);
    - ``workspace``: the largest transient buffer of one layer: a padded copy of the batch for
      circular/reflect padding, plus one example's unfolded input (im2col, ``D_in F^k`` values per
      output position).

    Training holds four copies of the parameters (weights, gradients, two optimizer moments) and
    two of the activations (outputs and their gradients).

    Example:
        >>> m = estimate_memory("conv(1,1,p=3000)-gap-linear", (1, 28, 28), num_classes=10, batch_size=64, training=True)
        >>> m.params, m.activations // 64, round(m.nbytes / 1e9, 1)
        (22, 36337579, 18.8)
    """

    params: int
    activations: int
    workspace: int
    batch_size: int
    training: bool
    bytes_per_value: int = 4

    @property
    def nbytes(self) -> int:
        """The estimate in bytes."""
        params = self.params * (4 if self.training else 1)
        activations = self.activations * (2 if self.training else 1)
        return self.bytes_per_value * (params + activations + self.workspace)

    def check(self, limit: int, what: str = "the network", hint: str = "") -> MemoryEstimate:
        """Self, or :class:`MemoryBudgetError` stating the estimate and ``limit`` (bytes) when it is over.

        Example:
            >>> estimate_memory("conv(100000,3)-gap-linear", (1, 28, 28), 10).check(10**8)
            Traceback (most recent call last):
            ...
            cnnlab.spec.analysis.MemoryBudgetError: the network needs about 279 MB to run one example (2,000,010 parameters, 67.7 M activation values); the limit is 100 MB
        """
        if self.nbytes > limit:
            use = f"to train with batch {self.batch_size}" if self.training else f"to run {_examples(self.batch_size)}"
            raise MemoryBudgetError(
                f"{what} needs about {format_bytes(self.nbytes)} {use} ({self.params:,} parameters, "
                f"{_count(self.activations)} activation values); the limit is {format_bytes(limit)}"
                + (f" ({hint})" if hint else "")
            )
        return self


def estimate_memory(
    layers: Spec, in_shape: Sequence[int], num_classes: int | None = None, batch_size: int = 1, training: bool = False
) -> MemoryEstimate:
    """Memory a network needs for a batch, from its spec alone (shapes only: nothing is allocated).

    The one estimate that training, ``predict``, loading a run folder, ``serve --run`` and the web
    page's training check before they build a network (see :class:`MemoryEstimate` for what is counted).

    Args:
        layers: layer specs, or a text spec / preset name.
        in_shape: one example's shape.
        num_classes: fills ``linear`` layers without ``out_features``.
        batch_size: examples per forward pass.
        training: count gradients, optimizer state and what the backward pass keeps.

    Raises:
        SpecError: when the network does not fit its input (from :func:`analyze`).
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    rows = analyze(layers, in_shape, num_classes)
    params = sum(row.params for row in rows)
    params += sum(2 * row.in_shape[0] for row in rows if isinstance(row.layer, BatchNorm))  # running mean, var
    per_example = math.prod(in_shape) + sum(math.prod(row.out_shape) for row in rows)
    workspace = 0
    for row in rows:
        if isinstance(row.layer, Conv):
            counts = row.layer.param_counts(row.in_shape)
            unfolded = counts.filter_size * counts.positions
            padded = 0
            if row.layer.padding_mode != "zeros":
                padded = batch_size * row.in_shape[0] * math.prod(n + 2 * row.layer.padding for n in row.in_shape[1:])
            workspace = max(workspace, unfolded + padded)
    return MemoryEstimate(params, per_example * batch_size, workspace, batch_size, training)


def memory_limit() -> int:
    """Bytes a network may use: ``$CNNLAB_MEMORY_LIMIT`` (e.g. ``8G``, ``512M``, a number of bytes), else half the RAM.

    Raises:
        ValueError: when ``CNNLAB_MEMORY_LIMIT`` is set but not a size.
    """
    text = os.environ.get("CNNLAB_MEMORY_LIMIT", "").strip()
    if text:
        return parse_bytes(text, "CNNLAB_MEMORY_LIMIT")
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): a laptop's half
        return 8 * 2**30


def parse_bytes(text: str, name: str = "size") -> int:
    """``"8G"`` -> 8 * 2**30; ``K``, ``M``, ``G``, ``T`` (powers of 1024), an optional ``B``, or plain bytes.

    Example:
        >>> parse_bytes("512M"), parse_bytes("1.5GB"), parse_bytes("1000")
        (536870912, 1610612736, 1000)
    """
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text.upper())
    if match is None or float(match.group(1)) * units[match.group(2)] < 1:
        raise ValueError(f"{name} must be a size like 8G, 512M or a number of bytes, got {text!r}")
    return int(float(match.group(1)) * units[match.group(2)])


def format_bytes(n: int) -> str:
    """Bytes as people read them.

    Example:
        >>> format_bytes(999), format_bytes(1_300_000), format_bytes(9.3e9)
        ('999 bytes', '1.3 MB', '9.3 GB')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}" if n / size < 1000 else f"{n / size:,.0f} {unit}"
    return f"{int(n)} bytes"


def _count(n: int) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:,}"


def _examples(n: int) -> str:
    return "one example" if n == 1 else f"a batch of {n:,}"
