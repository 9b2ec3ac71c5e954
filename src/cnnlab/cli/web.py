"""``cnnlab serve``: the web visualiser on a loopback address."""

from __future__ import annotations

from pathlib import Path

import typer

from cnnlab.web.security import is_loopback


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
