"""Visualiser forward latency: ms per request for both shipped models with every layer's activations.

Rows, all on the same drawn digit (a 280x280 PNG, like the page sends):

* ``forward (torch)``: both networks' ``Network.features`` on a preprocessed 28x28 image;
* ``forward + payload (base64)``: plus the JSON-ready payload as the page asks for it;
* ``forward + payload (list)``: plus the payload as plain JSON lists (what ``curl`` users get);
* ``preprocess PNG``: decode + MNIST-style preprocessing of the drawing;
* ``uvicorn loopback (base64)`` / ``(list)``: one whole ``POST /api/forward`` of the PNG to a real
  uvicorn server on 127.0.0.1, as the browser sends it: client time, keep-alive connection, request
  parsing, preprocessing, both forward passes and ``json.dumps`` included, and the answer gzipped (the
  client accepts gzip, as browsers do). (FastAPI's TestClient is not used: its thread hand-offs add
  ~20 ms that a real server does not have.)
* ``shift sweep (torch)`` / ``uvicorn loopback shift-sweep``: both networks on the digit moved by
  -8..8 px horizontally and vertically (68 images in one batch per network), directly and as
  ``POST /api/shift-sweep``.

Response sizes are printed as sent (gzip) and unpacked.

Target: < 10 ms (median) for the server-side forward with all activations of both models on a CPU.

Usage::

    PYTHONPATH=src python benchmarks/web_forward.py [--repeat 200] [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time

import httpx
import numpy as np
import torch
from PIL import Image, ImageDraw

from cnnlab.train.environment import system_info
from cnnlab.web import digit
from cnnlab.web.inference import forward_all
from cnnlab.web.models import default_models
from cnnlab.web.translation import shift_sweep


def drawing_png() -> bytes:
    img = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(img).line([(78, 62), (202, 62), (128, 230)], fill=0, width=25, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def start_uvicorn(app) -> tuple:
    """A uvicorn server for ``app`` on a free loopback port, in a daemon thread."""
    import socket
    import threading

    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as cnnlab serve does (no 40-ms Nagle stall)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def median_ms(fn, repeat: int) -> tuple[float, float]:
    for _ in range(5):
        fn()  # warm-up: allocator, thread pool, lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    ms = 1000 * np.array(times)
    return float(np.median(ms)), float(np.percentile(ms, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: a laptop under load)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from cnnlab.web.app import create_app

    models = default_models()
    png = drawing_png()
    image = digit.preprocess(digit.array_from_png(png))

    def features():
        with torch.inference_mode():
            for m in models.values():
                m.net.features(m.normalize(torch.from_numpy(image).view(1, 1, 28, 28)))

    server, url = start_uvicorn(create_app(models, port=None))
    loopback = httpx.Client(base_url=url)

    def http(encoding, route="/api/forward"):
        response = loopback.post(f"{route}?encoding={encoding}", content=png, headers={"Content-Type": "image/png"})
        assert response.status_code == 200, response.text
        return response

    rows = {
        "forward (torch)": features,
        "forward + payload (base64)": lambda: forward_all(models, image, "base64"),
        "forward + payload (list)": lambda: forward_all(models, image, "list"),
        "preprocess PNG": lambda: digit.preprocess(digit.array_from_png(png)),
        "uvicorn loopback (base64)": lambda: http("base64"),
        "uvicorn loopback (list)": lambda: http("list"),
        "shift sweep (torch)": lambda: shift_sweep(models, image),
        "uvicorn loopback shift-sweep": lambda: http("list", "/api/shift-sweep"),
    }
    results = {}
    for name, fn in rows.items():
        med, p90 = median_ms(fn, args.repeat)
        results[name] = {"median_ms": round(med, 3), "p90_ms": round(p90, 3)}
    sizes = {}
    for name, (enc, route) in {"base64": ("base64", "/api/forward"), "list": ("list", "/api/forward"),
                               "shift-sweep": ("list", "/api/shift-sweep")}.items():  # fmt: skip
        response = http(enc, route)
        sizes[name] = {"sent": int(response.headers["content-length"]), "unpacked": len(response.content),
                       "encoding": response.headers.get("content-encoding", "identity")}  # fmt: skip
    server.should_exit = True
    report = {
        "models": {n: m.net.spec_text for n, m in models.items()},
        "threads": args.threads,
        "repeat": args.repeat,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "rows": results,
        "response_bytes": sizes,
        "target_ms": 10.0,
        "meets_target": results["uvicorn loopback (base64)"]["median_ms"] < 10.0,
        "system": system_info(torch.device("cpu")),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"both models ({', '.join(models)}), all activations; torch {torch.__version__}, {args.threads} thread(s), "
        f"{args.repeat} requests per row"
    )
    print(f"{'row':<30} {'median ms':>10} {'p90 ms':>8}")
    for name, r in results.items():
        print(f"{name:<30} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f}")
    print(
        "response size, sent (unpacked): "
        + ", ".join(
            f"{k} {v['sent'] / 1e3:.0f} kB {v['encoding']} ({v['unpacked'] / 1e3:.0f} kB)" for k, v in sizes.items()
        )
        + f"; target < 10 ms: {'met' if report['meets_target'] else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
