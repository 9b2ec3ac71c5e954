"""``cnnlab serve`` (the visualiser on a loopback address) and ``cnnlab web build`` (the same page as a static site)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cnnlab.web.security import is_loopback

web_app = typer.Typer(help="The visualiser as a static site: no Python needed to open it.", no_args_is_help=True)


@web_app.command("build")
def build(
    out: Path = typer.Option(..., "--out", help="Folder for the site (new, empty, or a site built before)."),
    run: list[Path] = typer.Option(
        None, "--run", help="Run folder(s) to show instead of the shipped MNIST models (repeatable)."
    ),
    dtype: str = typer.Option("auto", help="Weight storage: auto (float16 where exact), float16 or float32."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Write a self-contained static site: the page, its JavaScript engine and the networks' weights.

    Serve the folder with any static web server (python -m http.server -d DIR) or copy it to a course's
    web space: drawing, both networks, inspection, receptive fields, the 1-D convolution and the
    calculator all run in the browser. Training from the page needs cnnlab serve.
    """
    from cnnlab.web.site import build as build_site

    report = build_site(out, run or None, dtype)
    if as_json:
        typer.echo(json.dumps(report))
        return
    models = ", ".join(f"{m['name']} ({m['bytes'] / 1e3:.0f} kB)" for m in report["models"])
    typer.echo(f"wrote {report['files']} files, {report['bytes'] / 1e3:.0f} kB, to {out}; models: {models}")
    typer.echo(f"open it with: python -m http.server -d {out}   (then http://localhost:8000/)")


def serve(
    port: int = typer.Option(8000, help="TCP port (0: pick a free one)."),
    run: list[Path] = typer.Option(
        None, "--run", help="Run folder(s) to show instead of the shipped MNIST models (repeatable)."
    ),
    host: str = typer.Option(
        "127.0.0.1", help="Loopback address to bind: 127.x.y.z, localhost or ::1 (never a public interface)."
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="MNIST IDX files for training from the page (default: the data cache)."
    ),
):
    """Start the visualiser (dense network and CNN side by side on digits you draw) and print its URL."""
    if not is_loopback(host):
        raise ValueError(
            f"--host must be a loopback address (127.x.y.z, localhost or ::1), got {host!r}; "
            "the visualiser is for your own browser only"
        )
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {port}")
    import socket

    import torch
    import uvicorn

    # One image per request: extra intra-op threads only wait on each other (measured 150 ms instead
    # of 0.7 ms per forward pass on a busy 2-core machine).
    torch.set_num_threads(1)

    from cnnlab.web.app import create_app
    from cnnlab.web.models import default_models, models_from_runs
    from cnnlab.web.training import TrainingJob

    models = models_from_runs(run) if run else default_models()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: uvicorn writes a response's head and body separately, and without
    # it Nagle holds the body of a small (e.g. gzipped) answer until the client's delayed ACK, ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))  # bound here so that port 0 yields the real port before the URL is printed
    except OSError as err:
        sock.close()
        raise ValueError(
            f"--port {port}: cannot listen on {host}:{port} ({err.strerror}); "
            "choose another port, or --port 0 for a free one"
        ) from None
    port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    app = create_app(models, host=host, port=port, training=TrainingJob(data_dir=str(data_dir) if data_dir else None))
    typer.echo(f"cnnlab visualiser: http://{url_host}:{port}/  (models: {', '.join(models)}; Ctrl+C to stop)")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(web_app, name="web")
