"""The visualiser's FastAPI app: a static page and a small JSON API over the loaded networks.

=======================================  ================================================================
route                                    what it does
=======================================  ================================================================
``GET /``                                the page (``static/index.html``; scripts under ``/static``)
``GET /models/index.json``, ``/models/F``  the networks as web model files: the page's forward passes, weights
                                         and receptive fields run in the browser (:mod:`cnnlab.web.site`)
``GET /api/models``                      every model: spec, layers (shapes, windows, receptive fields), provenance
``POST /api/forward``                    JSON ``{"model", "image", "preprocess", "encoding", "center",
                                         "shift"}`` or PNG bytes (``Content-Type: image/png``,
                                         ``?model=&center=&shift=dx,dy``) or a multipart upload (field
                                         ``image``) -> the network input and, per model, probabilities
                                         and every layer's activations; ``"empty": true`` and no
                                         results for an image without ink
``POST /api/shift-sweep``                the same request (plus ``"max_shift"``, default 8) -> per model
                                         the probabilities for the input moved by every shift in
                                         [-K, K], horizontally and vertically (:mod:`cnnlab.web.translation`)
``GET /api/weights/{model}/{layer}``     a conv layer's filters, or one unit's weights with ``?unit=``
``POST /api/shape``                      ``{"size", "kernel_size", "stride", "padding", "in_channels",
                                         "out_channels"}`` -> output size and conv / locally connected /
                                         dense parameter counts (:mod:`cnnlab.shapes`)
``POST /api/conv1d``                     ``{"x", "weight", "bias", "stride", "padding"}`` -> every step of a
                                         1-D convolution (:func:`cnnlab.explain.conv1d_steps`; default:
                                         the lecture's example)
``POST /api/train``, ``GET /api/train``  start a short MNIST training run (``{"model", "epochs",
                                         "train_subset", "lr", "seed"}``; 409 while one runs) and poll
                                         its per-epoch accuracy and first-layer filters
``POST /api/train/stop``                 stop it after the current epoch
``GET /api/train/model``                 the trained network as a web model file (for the page's side-by-side view)
=======================================  ================================================================

JSON answers are gzip-compressed for clients that accept it. Errors are JSON ``{"error": message, "status": code}``: 400 malformed, 413 too large, 415 wrong
content type, 404 unknown model, 409 busy, 422 well-formed but invalid (the message names the rule).

Example:
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    >>> r = client.post("/api/shape", json={"size": 28, "kernel_size": 5, "stride": 2})
    >>> r.status_code, r.json()["error"].split(";")[0]
    (422, '(W - F + 2P)/S = (28 - 5 + 2*0)/2 = 11.5 is not an integer')
"""

from __future__ import annotations

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
from starlette.middleware.gzip import GZipMiddleware

from cnnlab.explain import conv1d_steps
from cnnlab.model import Model
from cnnlab.shapes import conv_output_size, conv_param_counts, output_size_formula
from cnnlab.web import digit
from cnnlab.web.inference import forward_all
from cnnlab.web.models import default_models, describe, unit_weights
from cnnlab.web.parsing import ApiError, convert, get_model, json_object, read_body, read_forward_request
from cnnlab.web.security import LocalOnly
from cnnlab.web.site import add_routes
from cnnlab.web.training import TrainingBusy, TrainingJob
from cnnlab.web.translation import DEFAULT_MAX_SHIFT, check_max_shift, shift_sweep

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 1_000_000


def create_app(
    models: dict[str, Model] | None = None,
    host: str = "127.0.0.1",
    port: int | None = 8000,
    max_body: int = MAX_BODY,
    training: TrainingJob | None = None,
) -> FastAPI:
    """The app serving ``models`` (default: the shipped ``mlp`` and ``cnn``) to a browser on ``host:port``.

    Args:
        models: name -> loaded model, in the order the page shows them.
        host, port: the bound address; any other ``Host`` header is refused (``port=None``: any port).
        max_body: request bodies over this many bytes get 413.
        training: the page's training runs (default: MNIST from the data cache, loaded on first use).
    """
    models = default_models() if models is None else models
    training = TrainingJob() if training is None else training
    _warm_up(models)
    app = FastAPI(title="cnnlab visualiser", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.models = models
    app.add_middleware(LocalOnly, host=host, port=port, max_body=max_body)
    # Added last, so it runs first: a refused request is answered small anyway, an accepted forward
    # (every activation of every network as JSON) shrinks 3-5x. Level 6: level 9 costs 4x the time
    # (about 8 ms for 93 kB) for 1 % less.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_routes(app, models)  # models/index.json and the web model files: the page computes in the browser

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/models")
    def list_models():
        return {"models": [describe(m) for m in models.values()]}

    @app.post("/api/forward")
    async def forward_route(request: Request):
        t0 = time.perf_counter()
        req = await read_forward_request(request, models, max_body)
        image = _network_input(req)
        empty = digit.is_empty(image)
        results = {} if empty else forward_all({n: models[n] for n in req.names}, image, req.encoding)
        payload = {
            "input": np.round(image.astype(np.float64), 4).tolist(),
            "empty": empty,
            "results": results,
            "ms": round(1000 * (time.perf_counter() - t0), 3),
        }
        return _json(payload)

    @app.post("/api/shift-sweep")
    async def shift_sweep_route(request: Request):
        req = await read_forward_request(request, models, max_body, extra=("max_shift",))
        value = req.options.get("max_shift", DEFAULT_MAX_SHIFT)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # from a query string or a form
        try:
            max_shift = check_max_shift(value)
        except ValueError as err:
            raise ApiError(422, str(err)) from None
        image = _network_input(req)
        sweep = shift_sweep({n: models[n] for n in req.names}, image, max_shift)
        return _json({"input": np.round(image.astype(np.float64), 4).tolist(), **sweep})

    @app.get("/api/weights/{name}/{layer}")
    def weights_route(name: str, layer: int, unit: int | None = None):
        model = get_model(models, name, status=404)
        try:
            return unit_weights(model, layer, unit)
        except ValueError as err:
            raise ApiError(422, str(err)) from None

    @app.post("/api/shape")
    async def shape_route(request: Request):
        return shape_report(json_object(await read_body(request, max_body)))

    @app.post("/api/conv1d")
    async def conv1d_route(request: Request):
        body = json_object(await read_body(request, max_body))
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

    @app.get("/api/train")
    def train_status():
        return training.status()

    @app.post("/api/train", status_code=202)
    async def train_start(request: Request):
        try:
            training.start(json_object(await read_body(request, max_body)))
        except TrainingBusy as err:
            raise ApiError(409, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err)) from None
        return training.status()

    @app.post("/api/train/stop")
    def train_stop():
        training.stop()
        return training.status()

    @app.get("/api/train/model")
    def train_model():
        data = training.model_file()
        if data is None:
            raise ApiError(409, "no trained network yet: start a run with POST /api/train and wait until it is done")
        return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})

    return app


def _network_input(req) -> np.ndarray:
    """The request's image as the networks see it (422 when preprocess=false and it is not 28x28)."""
    return convert(lambda image: digit.network_input(image, req.preprocess, req.center, req.shift), req.image)


def _json(payload: dict) -> Response:
    # json.dumps directly: FastAPI's jsonable_encoder walks every float and costs ~10x the forward pass.
    return Response(json.dumps(payload, separators=(",", ":")), media_type="application/json")


def _warm_up(models: dict[str, Model]) -> None:
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
        raise ApiError(
            422,
            f"unknown field(s) {', '.join(unknown)}; expected size, kernel_size, stride, padding, in_channels, out_channels",
        )
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
    letters = "HW"[-len(size) :]
    formulas = [f"{a}_out = {output_size_formula(n, kernel, stride, padding, letter=a)}" for a, n in zip(letters, size)]
    return {
        "output_size": out,
        "out_shape": [out_channels, *out],
        "formula": formulas,
        "params": {
            "conv": counts.conv,
            "locally_connected": counts.locally_connected,
            "dense": counts.dense,
            "positions": counts.positions,
            "tied_reduction": counts.tied_reduction,
            "dense_reduction": counts.dense_reduction,
        },
    }


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
        parts = [
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')} (got {e.get('input')!r})" for e in err.errors()
        ]
        return reply(422, "; ".join(parts))
