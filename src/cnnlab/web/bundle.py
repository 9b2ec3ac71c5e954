"""The web model file: one trained network in one binary file the browser reads (no pickle, no code).

Layout (every integer little-endian), version 1::

    offset 0   8 bytes   magic b"CNNLABWM" (cnnlab web model)
           8   uint32    format version (1)
          12   uint32    header length H in bytes (JSON, UTF-8, space-padded so the data is 8-byte aligned)
          16   uint32    data length D in bytes
          20   uint32    CRC-32 of bytes [24, 24 + H + D): header and data together
          24   H bytes   JSON header
      24 + H   D bytes   the tensors, each at an 8-byte aligned offset, float16 or float32

The header carries what the page needs and nothing it must trust blindly: the spec text and the
resolved layer list (``layers``: one object per layer with PyTorch's argument names), the input
shape, the class names, the normalisation (``mean``, ``std``), every layer's output shape as
:func:`cnnlab.spec.analyze` computes it (``shapes``; the browser recomputes them and refuses a
file where they differ), the tensors (``name``, ``dtype``, ``shape``, ``offset`` into the data) and
the run's provenance. Reading checks the magic, the version, the lengths, the checksum, the layer
types and every tensor's shape against the spec, and fails with one sentence saying which.

``dtype="auto"`` stores a tensor as float16 when that is exact (the shipped models are float16
already) and as float32 otherwise, so a file never changes a network's outputs.

Example:
    >>> import torch
    >>> from cnnlab import engine
    >>> net = engine.build("conv(2,3)-relu-flatten-linear", (1, 6, 6), num_classes=3)
    >>> data = encode(spec=net.spec_text, input_shape=(1, 6, 6), classes=["a", "b", "c"],
    ...               mean=[0.5], std=[0.25], state_dict=net.state_dict(), name="tiny")
    >>> model = decode(data)
    >>> model.header["shapes"], sorted(model.tensors)
    ([[2, 4, 4], [2, 4, 4], [32], [3]], ['0.bias', '0.weight', '3.bias', '3.weight'])
    >>> decode(data[:-1])
    Traceback (most recent call last):
    ...
    cnnlab.web.bundle.BundleError: truncated web model file: 24 + header ... + data ... bytes expected, got ...
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MAGIC = b"CNNLABWM"
VERSION = 1
SUFFIX = ".cnnlab"
PREFIX = 24
MAX_BYTES = 64 * 2**20  # the page refuses bigger files before reading them; so does decode
#: Layer types the browser engine implements (``static/js/engine/layers.js``).
LAYER_TYPES = (
    "conv",
    "maxpool",
    "avgpool",
    "gap",
    "flatten",
    "linear",
    "relu",
    "tanh",
    "sigmoid",
    "softmax",
    "dropout",
    "bn",
)
BN_EPS = 1e-5  # torch.nn.BatchNorm default, the one cnnlab.engine builds with
_DTYPES = {"float16": "<f2", "float32": "<f4"}


class BundleError(ValueError):
    """A web model file that cannot be read: foreign, truncated, corrupted, or made for another version."""


@dataclass(frozen=True)
class WebBundle:
    """A decoded web model file.

    Attributes:
        header: the JSON header (see the module docstring).
        tensors: name -> float32 array, in the engine's ``state_dict`` names (``"0.weight"``).
    """

    header: dict
    tensors: dict[str, np.ndarray]


def layer_json(layer) -> dict:
    """One spec layer as the JSON object the browser engine reads (``type`` plus PyTorch's argument names).

    Example:
        >>> from cnnlab import spec
        >>> layer_json(spec.parse_layer("conv(16,5,p=2,mode=circular)"))
        {'type': 'conv', 'text': 'conv(16,5,p=2,mode=circular)', 'out_channels': 16, 'kernel_size': 5, 'stride': 1, 'padding': 2, 'padding_mode': 'circular', 'bias': True}
        >>> layer_json(spec.parse_layer("maxpool(2)"))["stride"]
        2
    """
    kind = layer.keyword
    row = {"type": kind, "text": layer.to_text()}
    if kind == "conv":
        row.update(
            out_channels=layer.out_channels,
            kernel_size=layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            padding_mode=layer.padding_mode,
            bias=layer.bias,
        )
    elif kind in ("maxpool", "avgpool"):
        row.update(kernel_size=layer.kernel_size, stride=layer.step, padding=layer.padding)
    elif kind == "linear":
        row.update(out_features=layer.out_features, bias=layer.bias)
    elif kind == "dropout":
        row.update(p=layer.p)
    elif kind == "bn":
        row.update(eps=BN_EPS)
    return row


def expected_tensors(layers: Sequence[dict], shapes: Sequence[Sequence[int]], input_shape: Sequence[int]) -> dict:
    """Name -> shape of every tensor a network needs (the engine's ``state_dict`` minus counters).

    Example:
        >>> expected_tensors([{"type": "linear", "out_features": 3, "bias": False}], [[3]], [4])
        {'0.weight': (3, 4)}
    """
    out = {}
    in_shape = tuple(input_shape)
    for i, (layer, shape) in enumerate(zip(layers, shapes)):
        kind = layer["type"]
        if kind == "conv":
            k = layer["kernel_size"]
            out[f"{i}.weight"] = (layer["out_channels"], in_shape[0]) + (k,) * (len(in_shape) - 1)
            if layer["bias"]:
                out[f"{i}.bias"] = (layer["out_channels"],)
        elif kind == "linear":
            out[f"{i}.weight"] = (layer["out_features"], in_shape[0])
            if layer["bias"]:
                out[f"{i}.bias"] = (layer["out_features"],)
        elif kind == "bn":
            for name in ("weight", "bias", "running_mean", "running_var"):
                out[f"{i}.{name}"] = (in_shape[0],)
        in_shape = tuple(shape)
    return out


def encode(
    *,
    spec: str,
    input_shape: Sequence[int],
    classes: Sequence[str],
    mean: Sequence[float],
    std: Sequence[float],
    state_dict: Mapping,
    name: str,
    title: str | None = None,
    provenance: Mapping | None = None,
    dtype: str = "auto",
) -> bytes:
    """A network as the bytes of a web model file (plain values in, so any model handle can call it).

    Args:
        spec: the network's text spec (classes filled in, e.g. ``Network.spec_text``).
        input_shape: one example's shape ``(C, H, W)`` or ``(C, W)``.
        classes: a name per output.
        mean, std: per-channel normalisation applied to a raw input in [0, 1].
        state_dict: the engine's ``state_dict`` (tensors or arrays); ``num_batches_tracked`` is dropped.
        name: the model's name on the page (``"cnn"``, a run folder's name).
        title: a longer display name (default: ``name``).
        provenance: JSON-able facts about the run (dataset, test accuracy, date, ...).
        dtype: ``"auto"`` (float16 where exact, else float32), ``"float16"`` or ``"float32"``.

    Raises:
        ValueError: when the spec does not fit the input, a tensor is missing or has the wrong
            shape, ``classes``/``mean``/``std`` do not match the network, or ``dtype`` is unknown.
    """
    from cnnlab import spec as S

    if dtype not in ("auto", *_DTYPES):
        raise ValueError(f"dtype must be auto, float16 or float32, got {dtype!r}")
    input_shape = [int(v) for v in input_shape]
    infos = S.analyze(spec, tuple(input_shape))
    layers = [layer_json(info.layer) for info in infos]
    shapes = [list(info.out_shape) for info in infos]
    classes = [str(c) for c in classes]
    if shapes[-1] != [len(classes)]:
        raise ValueError(
            f"classes: the network ends in {S.shape_text(shapes[-1])} outputs but {len(classes)} class names were given"
        )
    channels = input_shape[0]
    for key, values in (("mean", mean), ("std", std)):
        if len(values) != channels:
            raise ValueError(f"{key} must have one value per input channel ({channels}), got {list(values)!r}")
    if any(not float(s) > 0 for s in std):
        raise ValueError(f"std must be positive, got {list(std)!r}")
    tensors, data = [], bytearray()
    state = {k: _array(v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    wanted = expected_tensors(layers, shapes, input_shape)
    if set(state) != set(wanted):
        missing, extra = sorted(set(wanted) - set(state)), sorted(set(state) - set(wanted))
        raise ValueError(f"state_dict does not fit the spec {spec!r}: missing {missing}, unexpected {extra}")
    for key, shape in wanted.items():
        array = state[key]
        if array.shape != shape:
            raise ValueError(f"state_dict[{key!r}] has shape {array.shape}, the spec needs {shape}")
        kind = _pick_dtype(array) if dtype == "auto" else dtype
        data += b"\0" * (-len(data) % 8)
        tensors.append({"name": key, "dtype": kind, "shape": list(shape), "offset": len(data)})
        data += array.astype(_DTYPES[kind]).tobytes()
    header = {
        "format": "cnnlab-web-model",
        "version": VERSION,
        "name": str(name),
        "title": str(title or name),
        "spec": S.to_text(tuple(info.layer for info in infos)),
        "input_shape": input_shape,
        "classes": classes,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "layers": layers,
        "shapes": shapes,
        "tensors": tensors,
        "provenance": dict(provenance or {}),
    }
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    text += b" " * (-(PREFIX + len(text)) % 8)
    body = text + bytes(data)
    prefix = MAGIC + struct.pack("<IIII", VERSION, len(text), len(data), zlib.crc32(body))
    return prefix + body


def decode(data: bytes) -> WebBundle:
    """Read and check the bytes of a web model file (the same checks as the page's reader).

    Raises:
        BundleError: one sentence naming what is wrong (foreign file, newer version, truncated,
            checksum mismatch, bad header, a tensor that does not fit the spec).
    """
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise BundleError(f"web model file is {len(data)} bytes, over the limit of {MAX_BYTES}")
    if len(data) < PREFIX or data[:8] != MAGIC:
        raise BundleError(
            "not a cnnlab web model file (it does not start with CNNLABWM); "
            "write one with: cnnlab export RUN_DIR --format web"
        )
    version, header_len, data_len, crc = struct.unpack("<IIII", data[8:PREFIX])
    if version != VERSION:
        raise BundleError(f"web model file format version {version} is not supported (this cnnlab reads {VERSION})")
    if len(data) != PREFIX + header_len + data_len:
        raise BundleError(
            f"truncated web model file: 24 + header {header_len} + data {data_len} bytes expected, got {len(data)}"
        )
    if zlib.crc32(data[PREFIX:]) != crc:
        raise BundleError("corrupted web model file: the CRC-32 checksum does not match its contents")
    try:
        header = json.loads(data[PREFIX : PREFIX + header_len].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"corrupted web model file: the header is not JSON ({err})") from None
    problem = header_problem(header)
    if problem:
        raise BundleError(f"invalid web model file: {problem}")
    blob = data[PREFIX + header_len :]
    tensors = {}
    for t in header["tensors"]:
        count = math.prod(t["shape"])
        nbytes = count * np.dtype(_DTYPES[t["dtype"]]).itemsize
        if t["offset"] + nbytes > len(blob):
            raise BundleError(f"invalid web model file: tensor {t['name']!r} runs past the end of the data")
        array = np.frombuffer(blob, _DTYPES[t["dtype"]], count, t["offset"]).reshape(t["shape"])
        tensors[t["name"]] = array.astype(np.float32)
    return WebBundle(header, tensors)


def header_problem(header) -> str | None:
    """Why a decoded header is unusable (None when it is fine): keys, types, layers, tensor shapes.

    Example:
        >>> header_problem({"format": "something else"})
        "format is 'something else', expected 'cnnlab-web-model'"
    """
    if not isinstance(header, dict):
        return "the header is not a JSON object"
    if header.get("format") != "cnnlab-web-model":
        return f"format is {header.get('format')!r}, expected 'cnnlab-web-model'"
    need = ("name", "spec", "input_shape", "classes", "mean", "std", "layers", "shapes", "tensors")
    missing = [k for k in need if k not in header]
    if missing:
        return f"the header lacks {', '.join(missing)}"
    layers, shapes = header["layers"], header["shapes"]
    if not isinstance(layers, list) or not isinstance(shapes, list) or len(layers) != len(shapes) or not layers:
        return "layers and shapes must be lists of the same non-zero length"
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or layer.get("type") not in LAYER_TYPES:
            kind = layer.get("type") if isinstance(layer, dict) else layer
            return f"layer {i} has type {kind!r}, which the page does not implement ({', '.join(LAYER_TYPES)})"
    try:
        wanted = expected_tensors(layers, shapes, header["input_shape"])
    except (KeyError, TypeError, IndexError) as err:
        return f"a layer lacks an argument ({err})"
    given = {t.get("name"): t for t in header["tensors"] if isinstance(t, dict)}
    if set(given) != set(wanted):
        return f"tensors {sorted(given, key=str)} do not fit the layers (expected {sorted(wanted)})"
    for key, shape in wanted.items():
        t = given[key]
        if t.get("dtype") not in _DTYPES or tuple(t.get("shape", ())) != shape or not isinstance(t.get("offset"), int):
            return f"tensor {key!r} should be float16/float32 of shape {list(shape)}, got {t!r}"
    return None


def _array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy()
    return np.asarray(value, dtype=np.float32)


def _pick_dtype(array: np.ndarray) -> str:
    """float16 when every value survives the round trip exactly (and is finite), else float32."""
    with np.errstate(over="ignore"):
        half = array.astype(np.float16)
    return "float16" if np.array_equal(half.astype(np.float32), array) and np.isfinite(half).all() else "float32"
