"""Reading and checking request bodies: every problem becomes an :class:`ApiError` with a 4xx status.

400: not JSON, or not the JSON the route expects at all; 413: too large; 415: a content type the
route does not take; 422: well-formed but invalid (the message names the field, the rule and the value).
"""

from __future__ import annotations

import importlib.util
import json
import math
from typing import NamedTuple

import numpy as np
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from cnnlab.model import Model
from cnnlab.web import digit
from cnnlab.web.inference import ENCODINGS


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class ForwardRequest(NamedTuple):
    """What ``POST /api/forward`` (and ``/api/shift-sweep``) asked for."""

    image: np.ndarray
    names: list[str]
    encoding: str
    preprocess: bool
    center: bool
    shift: tuple[int, int]
    options: dict  # every field as sent (JSON) or as query/form strings, for a route's own fields


FORWARD_FIELDS = ("model", "image", "preprocess", "encoding", "center", "shift")


async def read_forward_request(request: Request, models: dict, max_body: int, extra: tuple[str, ...] = ()):
    """A :class:`ForwardRequest` from a JSON, PNG or multipart request; ``extra``: the route's own field names."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, max_body)
    # Parsing and decoding are CPU work (up to 512x512 numbers, or a 2048x2048 PNG): off the event loop.
    if ctype in ("application/json", ""):
        image, options = await run_in_threadpool(_image_from_json, body, FORWARD_FIELDS + extra)
    elif ctype.startswith("image/"):
        image = await run_in_threadpool(convert, digit.array_from_png, body)
        options = dict(request.query_params)
    elif ctype == "multipart/form-data":
        if importlib.util.find_spec("python_multipart") is None:
            raise ApiError(
                415,
                "multipart uploads need the python-multipart package on the server; "
                "send the PNG as the body with Content-Type: image/png instead",
            )
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "multipart upload needs a file field named 'image'")
        image = await run_in_threadpool(convert, digit.array_from_png, await upload.read())
        options = {k: v for k, v in form.items() if k != "image"} | dict(request.query_params)
    else:
        raise ApiError(
            415, f"Content-Type {ctype!r} not supported; send application/json, image/png or multipart/form-data"
        )
    return ForwardRequest(
        image,
        _model_names(options.get("model"), models),
        _encoding(options.get("encoding", "list")),
        _flag(options.get("preprocess", True)),
        _flag(options.get("center", True), "center"),
        _shift(options.get("shift", (0, 0))),
        dict(options),
    )


def _image_from_json(body: bytes, fields: tuple[str, ...]) -> tuple[np.ndarray, dict]:
    data = json_object(body)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(fields)}")
    if "image" not in data:
        raise ApiError(422, "field 'image' is required: a list of rows of numbers in [0, 1] (e.g. 28x28)")
    return convert(digit.array_from_json, data["image"]), data


def convert(fn, value) -> np.ndarray:
    try:
        return fn(value)
    except digit.ImageTooLarge as err:
        raise ApiError(413, str(err)) from None
    except digit.ImageDecodeError as err:
        raise ApiError(400, str(err)) from None
    except ValueError as err:
        raise ApiError(422, str(err)) from None


def _model_names(value, models: dict) -> list[str]:
    if value is None or value == "":
        return list(models)
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ApiError(422, f"model must be a name or a list of names ({', '.join(models)}), got {value!r}")
    for name in names:
        get_model(models, name, status=422)
    return names


def get_model(models: dict, name: str, status: int) -> Model:
    if name not in models:
        raise ApiError(status, f"unknown model {name!r}; this server has {', '.join(models)}")
    return models[name]


def _encoding(value) -> str:
    if value not in ENCODINGS:
        raise ApiError(422, f"encoding must be one of {', '.join(ENCODINGS)}, got {value!r}")
    return value


def _flag(value, name: str = "preprocess") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ApiError(422, f"{name} must be true or false, got {value!r}")


def _shift(value) -> tuple[int, int]:
    """``[dx, dy]`` (JSON) or ``"dx,dy"`` (query or form): whole pixels, each within +-digit.MAX_SHIFT."""
    parts = value.split(",") if isinstance(value, str) else value
    if isinstance(parts, list) and len(parts) == 2 and all(isinstance(v, str) for v in parts):
        parts = [int(v) if v.strip().lstrip("+-").isdigit() else v for v in parts]  # "4,-2" from a query
    ok = isinstance(parts, (list, tuple)) and len(parts) == 2
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and abs(v) <= digit.MAX_SHIFT for v in parts):
        raise ApiError(
            422,
            f"shift must be [dx, dy]: two whole numbers of pixels in [-{digit.MAX_SHIFT}, {digit.MAX_SHIFT}] "
            f"(right and down), got {value!r}",
        )
    return int(parts[0]), int(parts[1])


async def read_body(request: Request, max_body: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``max_body`` (also when sent chunked)."""
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_body:
            raise ApiError(413, f"request body is over the limit of {max_body} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # starlette reuses it for request.form()
    return body


#: How deep a request's JSON may nest (the deepest the API reads is an image: a list of rows, 2 levels).
MAX_DEPTH = 32
#: Integers in a request must be below this in size (a 64-bit integer); sizes have tighter bounds of their own.
MAX_INT = 2**63 - 1


def json_object(body: bytes) -> dict:
    """The body as a JSON object whose every number is finite and in range, nested at most :data:`MAX_DEPTH` deep.

    Raises:
        ApiError: 400 for malformed JSON, a body that is not an object or nests too deep; 422 naming
            the field of a non-finite number (``1e400`` reads as infinity) or an integer out of range.

    Example:
        >>> json_object(b'{"size": 28, "x": [1, 2.5]}')
        {'size': 28, 'x': [1, 2.5]}
        >>> json_object(b'{"x": [1, 1e400]}')
        Traceback (most recent call last):
        ...
        cnnlab.web.parsing.ApiError: x[1] must be a finite number, got inf
    """

    def refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(body, parse_constant=refuse_constant)
    except RecursionError:
        raise ApiError(400, f"malformed JSON: nested too deeply (at most {MAX_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"malformed JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(data).__name__}")
    check_numbers(data)
    return data


def check_numbers(data) -> None:
    """Walk parsed JSON (without recursion): every float finite, every integer within :data:`MAX_INT`, depth bounded."""
    stack: list[tuple[str, object, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, f"malformed JSON: nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v, depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ApiError(422, f"{path} must be a finite number, got {value}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ApiError(
                422,
                f"{path} is out of range: integers must be at most 2**63 - 1 in size, got {len(str(abs(value)))} digits",
            )


def integer(data: dict, name: str, low: int, high: int, default: int | None = None) -> int:
    """``data[name]`` as an int in [low, high] (``default`` when absent); 422 naming the field otherwise.

    Example:
        >>> integer({"stride": 2}, "stride", 1, 64), integer({}, "padding", 0, 64, default=0)
        (2, 0)
        >>> integer({"stride": 2.5}, "stride", 1, 64)
        Traceback (most recent call last):
        ...
        cnnlab.web.parsing.ApiError: stride must be an integer in [1, 64], got 2.5
    """
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError(422, f"{name} must be an integer in [{low}, {high}], got {value!r:.80}")
    return value


def number(data: dict, name: str, low: float, high: float, default: float | None = None) -> float:
    """``data[name]`` as a finite number in [low, high] (``default`` when absent); 422 naming the field otherwise."""
    value = data.get(name, default)
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ApiError(422, f"{name} must be a number in [{low:g}, {high:g}], got {value!r:.80}")
    return float(value)


def numbers(data: dict, name: str, max_length: int, bound: float, default: list | None = None) -> list[float]:
    """``data[name]`` as a list of 1 to ``max_length`` finite numbers with ``|v| <= bound``; 422 naming the field otherwise."""
    value = data.get(name, default)
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= max_length
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= bound
            for v in value
        )
    ):
        raise ApiError(
            422,
            f"{name} must be a list of 1 to {max_length} numbers, each at most {bound:g} in size, got {value!r:.80}",
        )
    return [float(v) for v in value]
