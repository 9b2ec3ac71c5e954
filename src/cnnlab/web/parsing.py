"""Reading and checking request bodies: every problem becomes an :class:`ApiError` with a 4xx status.

400: not JSON, or not the JSON the route expects at all; 413: too large; 415: a content type the
route does not take; 422: well-formed but invalid (the message names the field, the rule and the value).
"""

from __future__ import annotations

import importlib.util
import json
from typing import NamedTuple

import numpy as np
from fastapi import Request

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
    if ctype in ("application/json", ""):
        data = json_object(body)
        fields = FORWARD_FIELDS + extra
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(fields)}")
        if "image" not in data:
            raise ApiError(422, "field 'image' is required: a list of rows of numbers in [0, 1] (e.g. 28x28)")
        image = convert(digit.array_from_json, data["image"])
        options = data
    elif ctype.startswith("image/"):
        image = convert(digit.array_from_png, body)
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
        image = convert(digit.array_from_png, await upload.read())
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


def json_object(body: bytes) -> dict:
    def refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(body, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"malformed JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(data).__name__}")
    return data
