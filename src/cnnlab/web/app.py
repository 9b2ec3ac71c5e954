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
                                         the lecture's example; each list and size at most 64)
``POST /api/train``, ``GET /api/train``  start a short MNIST training run (``{"model", "epochs",
                                         "train_subset", "lr", "seed"}``; 409 while one runs) and poll
                                         its per-epoch accuracy and first-layer filters
``POST /api/train/stop``                 stop it after the current batch
``GET /api/train/model``                 the trained network as a web model file (for the page's side-by-side view)
=======================================  ================================================================

JSON answers are gzip-compressed for clients that accept it. Errors are JSON ``{"error": message,
"status": code}``: 400 malformed (or nested deeper than 32 levels), 413 too large, 415 wrong content
type, 404 unknown model, 409 busy, 422 well-formed but invalid (the message names the field and the
rule: a number that is not finite or out of range, a wrong type, a network over the page's memory
limit). Every response is valid JSON (no NaN or infinity), and every route's work runs off the
event loop, bounded by the limits of its inputs.

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
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from cnnlab.model import Model
from cnnlab.web import digit
from cnnlab.web.calculators import conv1d_report, shape_report
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

    # Every route's CPU work, JSON encoding included, runs in the thread pool (FastAPI runs a plain
    # ``def`` route there; an ``async`` one hands its work over), bounded by the limits of its inputs:
    # no request holds the event loop, and so the other requests, for more than reading its body.
    @app.get("/api/models")
    def list_models():
        return _json({"models": [describe(m) for m in models.values()]})

    @app.post("/api/forward")
    async def forward_route(request: Request):
        t0 = time.perf_counter()
        req = await read_forward_request(request, models, max_body)

        def work() -> Response:
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

        return await run_in_threadpool(work)

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

        def work() -> Response:
            image = _network_input(req)
            sweep = shift_sweep({n: models[n] for n in req.names}, image, max_shift)
            return _json({"input": np.round(image.astype(np.float64), 4).tolist(), **sweep})

        return await run_in_threadpool(work)

    @app.get("/api/weights/{name}/{layer}")
    def weights_route(name: str, layer: int, unit: int | None = None):
        model = get_model(models, name, status=404)
        try:
            return _json(unit_weights(model, layer, unit))
        except ValueError as err:
            raise ApiError(422, str(err)) from None

    @app.post("/api/shape")
    async def shape_route(request: Request):
        body = await read_body(request, max_body)
        return await run_in_threadpool(lambda: _json(shape_report(json_object(body))))

    @app.post("/api/conv1d")
    async def conv1d_route(request: Request):
        body = await read_body(request, max_body)
        return await run_in_threadpool(lambda: _json(conv1d_report(json_object(body))))

    @app.get("/api/train")
    def train_status():
        return _json(training.status())

    @app.post("/api/train", status_code=202)
    async def train_start(request: Request):
        body = await read_body(request, max_body)

        def start() -> Response:
            try:
                training.start(json_object(body))
            except TrainingBusy as err:
                raise ApiError(409, str(err)) from None
            except (ValueError, TypeError) as err:
                raise ApiError(422, str(err)) from None
            return _json(training.status(), status=202)

        return await run_in_threadpool(start)

    @app.post("/api/train/stop")
    def train_stop():
        training.stop()
        return _json(training.status())

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


def _json(payload: dict, status: int = 200) -> Response:
    # json.dumps directly, in the worker thread: FastAPI's jsonable_encoder walks every float (about 10x the
    # forward pass) and runs on the event loop. No NaN or infinity: the answer is always JSON.
    return Response(
        json.dumps(payload, separators=(",", ":"), allow_nan=False), status_code=status, media_type="application/json"
    )


def _warm_up(models: dict[str, Model]) -> None:
    """Decode, preprocess and forward one drawing now, so that the page's first request is not slow."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (56, 56), 255)
    ImageDraw.Draw(img).line([(20, 10), (30, 45)], fill=0, width=5)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    forward_all(models, digit.preprocess(digit.array_from_png(buf.getvalue())), "base64")


def _add_error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "status": status}, status_code=status)

    @app.exception_handler(Exception)
    async def internal_error(_request, err: Exception):
        # A bug, not a user mistake: still one JSON object, so that every response parses.
        return reply(500, f"internal error ({type(err).__name__}); please report it")

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
