"""The visualiser's FastAPI app: a static page and a small JSON API over the loaded networks.

=======================================  ================================================================
route                                    what it does
=======================================  ================================================================
``GET /``                                the page (``static/index.html``; scripts under ``/static``)
``GET /api/models``                      every model: spec, layers (shapes, windows, receptive fields), provenance
``POST /api/forward``                    JSON ``{"model", "image", "preprocess", "encoding"}`` or PNG bytes
                                         (``Content-Type: image/png``, ``?model=``) or a multipart upload
                                         (field ``image``) -> the preprocessed input and, per model,
                                         probabilities and every layer's activations
``GET /api/weights/{model}/{layer}``     a conv layer's filters, or one unit's weights with ``?unit=``
``POST /api/shape``                      ``{"size", "kernel_size", "stride", "padding", "in_channels",
                                         "out_channels"}`` -> output size and conv / locally connected /
                                         dense parameter counts (:mod:`cnnlab.shapes`)
``POST /api/conv1d``                     ``{"x", "weight", "bias", "stride", "padding"}`` -> every step of a
                                         1-D convolution (:func:`cnnlab.explain.conv1d_steps`; default:
                                         the lecture's example)
=======================================  ================================================================

Errors are JSON ``{"error": message, "status": code}``: 400 malformed, 413 too large, 415 wrong
content type, 404 unknown model, 422 well-formed but invalid (the message names the rule).

Example:
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    >>> r = client.post("/api/shape", json={"size": 28, "kernel_size": 5, "stride": 2})
    >>> r.status_code, r.json()["error"].split(";")[0]
    (422, '(W - F + 2P)/S = (28 - 5 + 2*0)/2 = 11.5 is not an integer')
"""

from __future__ import annotations

import importlib.util
import io
import json
import time
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnnlab.explain import conv1d_steps
from cnnlab.shapes import conv_output_size, conv_param_counts
from cnnlab.web import digit
from cnnlab.web.inference import ENCODINGS, forward_all
from cnnlab.web.models import WebModel, default_models, describe, unit_weights
from cnnlab.web.security import LocalOnly

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 1_000_000


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(models: dict[str, WebModel] | None = None, host: str = "127.0.0.1", port: int | None = 8000,
               max_body: int = MAX_BODY) -> FastAPI:
    """The app serving ``models`` (default: the shipped ``mlp`` and ``cnn``) to a browser on ``host:port``.

    Args:
        models: name -> loaded model, in the order the page shows them.
        host, port: the bound address; any other ``Host`` header is refused.
        max_body: request bodies over this many bytes get 413.
    """
    models = default_models() if models is None else models
    _warm_up(models)
    app = FastAPI(title="cnnlab visualiser", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.models = models
    app.add_middleware(LocalOnly, host=host, port=port, max_body=max_body)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/models")
    def list_models():
        return {"models": [describe(m) for m in models.values()]}

    @app.post("/api/forward")
    async def forward_route(request: Request):
        t0 = time.perf_counter()
        image, names, encoding, prep = await _read_forward_request(request, models, max_body)
        if prep:
            image = _convert(digit.preprocess, image)
        elif image.shape != (28, 28):
            raise ApiError(422, f"with preprocess=false the image must be 28x28, got {image.shape[0]}x{image.shape[1]}")
        results = forward_all({n: models[n] for n in names}, image, encoding)
        payload = {"input": np.round(image.astype(np.float64), 4).tolist(), "results": results,
                   "ms": round(1000 * (time.perf_counter() - t0), 3)}
        # json.dumps directly: FastAPI's jsonable_encoder walks every float and costs ~10x the forward pass.
        return Response(json.dumps(payload, separators=(",", ":")), media_type="application/json")

    @app.get("/api/weights/{name}/{layer}")
    def weights_route(name: str, layer: int, unit: int | None = None):
        model = _model(models, name, status=404)
        try:
            return unit_weights(model, layer, unit)
        except ValueError as err:
            raise ApiError(422, str(err)) from None

    @app.post("/api/shape")
    async def shape_route(request: Request):
        return shape_report(_json_object(await _read_body(request, max_body)))

    @app.post("/api/conv1d")
    async def conv1d_route(request: Request):
        body = _json_object(await _read_body(request, max_body))
        allowed = {"x", "weight", "bias", "stride", "padding", "activation"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")
        args = {"x": [1, 2, 2, -1, 3], "weight": [1, -1, 1], "bias": -2, "stride": 1, "padding": 1} | body
        for key in ("x", "weight"):
            if not isinstance(args[key], list) or not 1 <= len(args[key]) <= 64:
                raise ApiError(422, f"{key} must be a list of 1 to 64 numbers, got {args[key]!r}")
        try:
            return conv1d_steps(**args)
        except (ValueError, TypeError) as err:
            raise ApiError(422, str(err)) from None

    return app


def _warm_up(models: dict[str, WebModel]) -> None:
    """Decode, preprocess and forward one drawing now, so that the page's first request is not slow."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (56, 56), 255)
    ImageDraw.Draw(img).line([(20, 10), (30, 45)], fill=0, width=5)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    forward_all(models, digit.preprocess(digit.array_from_png(buf.getvalue())), "base64")


def shape_report(body: dict) -> dict:
    """Output size and parameter counts of one conv layer, via :mod:`cnnlab.shapes` (422 on a bad layer).

    Example:
        >>> r = shape_report({"size": [6, 6], "kernel_size": 3, "in_channels": 3, "out_channels": 2})
        >>> r["out_shape"], r["params"]["conv"], r["params"]["locally_connected"], r["params"]["dense"]
        ([2, 4, 4], 56, 896, 3488)
    """
    unknown = sorted(set(body) - {"size", "kernel_size", "stride", "padding", "in_channels", "out_channels"})
    if unknown:
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected size, kernel_size, stride, padding, in_channels, out_channels")
    if "size" not in body or "kernel_size" not in body:
        raise ApiError(422, "size (W, or [H, W]) and kernel_size (F) are required")
    size = body["size"] if isinstance(body["size"], list) else [body["size"]]
    kernel, stride, padding = body["kernel_size"], body.get("stride", 1), body.get("padding", 0)
    in_channels, out_channels = body.get("in_channels", 1), body.get("out_channels", 1)
    if not 1 <= len(size) <= 2:
        raise ApiError(422, f"size must be W or [H, W], got {body['size']!r}")
    try:
        out = [conv_output_size(n, kernel, stride, padding) for n in size]
        counts = conv_param_counts((in_channels, *size), out_channels, kernel, stride, padding)
    except (ValueError, TypeError) as err:
        raise ApiError(422, str(err)) from None
    letters = "HW"[-len(size):]
    formulas = [f"{a}_out = 1 + ({a} - F + 2P)/S = 1 + ({n} - {kernel} + 2*{padding})/{stride} = {o}"
                for a, n, o in zip(letters, size, out)]
    return {"output_size": out, "out_shape": [out_channels, *out], "formula": formulas,
            "params": {"conv": counts.conv, "locally_connected": counts.locally_connected, "dense": counts.dense,
                       "positions": counts.positions, "tied_reduction": counts.tied_reduction,
                       "dense_reduction": counts.dense_reduction}}


async def _read_forward_request(request: Request, models: dict, max_body: int):
    """(image array, model names, encoding, preprocess flag) from a JSON, PNG or multipart request."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _read_body(request, max_body)
    if ctype in ("application/json", ""):
        data = _json_object(body)
        unknown = sorted(set(data) - {"model", "image", "preprocess", "encoding"})
        if unknown:
            raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected model, image, preprocess, encoding")
        if "image" not in data:
            raise ApiError(422, "field 'image' is required: a list of rows of numbers in [0, 1] (e.g. 28x28)")
        image = _convert(digit.array_from_json, data["image"])
        options = data
    elif ctype.startswith("image/"):
        image = _convert(digit.array_from_png, body)
        options = dict(request.query_params)
    elif ctype == "multipart/form-data":
        if importlib.util.find_spec("python_multipart") is None:
            raise ApiError(415, "multipart uploads need the python-multipart package on the server; "
                                "send the PNG as the body with Content-Type: image/png instead")
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "multipart upload needs a file field named 'image'")
        image = _convert(digit.array_from_png, await upload.read())
        options = {k: v for k, v in form.items() if k != "image"} | dict(request.query_params)
    else:
        raise ApiError(415, f"Content-Type {ctype!r} not supported; send application/json, image/png or multipart/form-data")
    return image, _model_names(options.get("model"), models), _encoding(options.get("encoding", "list")), \
        _flag(options.get("preprocess", True))


def _convert(fn, value) -> np.ndarray:
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
        _model(models, name, status=422)
    return names


def _model(models: dict, name: str, status: int) -> WebModel:
    if name not in models:
        raise ApiError(status, f"unknown model {name!r}; this server has {', '.join(models)}")
    return models[name]


def _encoding(value) -> str:
    if value not in ENCODINGS:
        raise ApiError(422, f"encoding must be one of {', '.join(ENCODINGS)}, got {value!r}")
    return value


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ApiError(422, f"preprocess must be true or false, got {value!r}")


async def _read_body(request: Request, max_body: int) -> bytes:
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


def _json_object(body: bytes) -> dict:
    def refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(body, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"malformed JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(data).__name__}")
    return data


def _add_error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "status": status}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(_request, err: ApiError):
        return reply(err.status, err.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, err: StarletteHTTPException):
        return reply(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request, err: RequestValidationError):
        parts = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')} (got {e.get('input')!r})" for e in err.errors()]
        return reply(422, "; ".join(parts))
