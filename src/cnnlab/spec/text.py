"""The text form of a network: ``conv(16,5,p=2)-relu-maxpool(2)-flatten-linear(10)``, and of a shape.

Layers are joined with ``-``; arguments go in parentheses, positional first, then ``key=value``
(short keys ``s``, ``p``, ``mode`` for stride, padding, padding_mode). A preset name
(:mod:`cnnlab.spec.presets`) stands for its whole text. :func:`to_text` is the inverse of
:func:`parse`; :func:`parse_shape` reads ``CxHxW`` (the inverse of :func:`cnnlab.shapes.shape_text`).

Example:
    >>> layers = parse("conv(2,3)-relu-maxpool(2)-flatten-linear(10)")
    >>> to_text(layers)
    'conv(2,3)-relu-maxpool(2)-flatten-linear(10)'
    >>> split_top_level("conv(8,5,p=2)-relu, mlp", ",")   # commas inside parentheses do not split
    ['conv(8,5,p=2)-relu', ' mlp']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from cnnlab.shapes import MAX_SIZE
from cnnlab.spec.layers import LAYER_TYPES, Layer, Shape, SpecError
from cnnlab.spec.presets import PRESETS

__all__ = ["MAX_SPEC_CHARS", "parse", "parse_layer", "parse_shape", "split_top_level", "to_text"]

#: The longest spec text accepted (1,000 layers of about 20 characters; :data:`cnnlab.spec.analysis.MAX_LAYERS`).
MAX_SPEC_CHARS = 20_000

_BY_NAME = {name: cls for cls in LAYER_TYPES for name in (cls.keyword, *cls.aliases)}
_TOKEN = re.compile(r"^([a-z0-9_]+)(?:\((.*)\))?$")


def split_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` at ``separator`` outside parentheses (a ``-`` in ``conv(4,3,p=-1)`` or a ``,``
    in ``conv(16,5)`` is not a separator). Parts are returned as written (not stripped).
    """
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


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
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"spec must be at most {MAX_SPEC_CHARS:,} characters (MAX_SPEC_CHARS), got {len(text):,}")
    if text.strip() in PRESETS:
        return parse(PRESETS[text.strip()].text)
    return tuple(parse_layer(token, i) for i, token in enumerate(split_top_level(text, "-")))


def to_text(layers: Sequence[Layer]) -> str:
    """The text form of a list of layers (inverse of :func:`parse`)."""
    return "-".join(layer.to_text() for layer in layers)


def parse_shape(text: str) -> Shape:
    """Parse ``CxHxW`` (or ``C,H,W``) into a tuple.

    Example:
        >>> parse_shape("1x28x28")
        (1, 28, 28)
    """
    text = str(text)
    parts = re.split(r"[x,×*]", text.strip().lower())
    if len(parts) > 3 or len(text) > 64:
        raise SpecError(f"input shape must look like CxHxW (e.g. 1x28x28), CxW or F, got {text[:64]!r}")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise SpecError(f"input shape must look like CxHxW (e.g. 1x28x28) or CxW, got {text!r}") from None
    if not all(1 <= s <= MAX_SIZE for s in shape):
        raise SpecError(f"input shape must have sizes in [1, {MAX_SIZE:,}], got {text!r}")
    return shape
