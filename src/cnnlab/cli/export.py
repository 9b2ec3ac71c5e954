"""``cnnlab export``: a run folder to an ONNX, TorchScript or web model file, checked against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cnnlab.export import FORMATS, SUFFIXES
from cnnlab.export import export as export_run

if TYPE_CHECKING:
    from cnnlab.export import Exported
    from cnnlab.web.runs import WebExport


def export(
    run_dir: Path = typer.Argument(..., help="A run folder written by cnnlab train."),
    format: str = typer.Option("onnx", "--format", "-f", help=f"{' | '.join((*FORMATS, 'web'))}."),
    out: Path = typer.Option(
        None,
        "--out",
        help="File to write, or a folder to write it into (default RUN_DIR/model.onnx, model.torchscript.pt or model.cnnlab).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Write the model (normalisation built in, raw inputs -> logits) and check it reproduces PyTorch's outputs.

    --format web writes one file to drop onto the visualiser page (cnnlab web build, cnnlab serve).
    """
    if format not in (*FORMATS, "web"):
        raise ValueError(f"format must be one of {', '.join((*FORMATS, 'web'))}, got {format!r}")
    if out is not None and out.is_dir():  # a folder: the file goes into it, under its usual name
        out = out / f"model{SUFFIXES.get(format, '.cnnlab')}"
    result: Exported | WebExport
    try:
        if format == "web":  # the visualiser's file: cnnlab.web, which cnnlab.export does not import
            from cnnlab.web.runs import export_web

            result = export_web(run_dir, out)
        else:
            result = export_run(run_dir, format, out)
    except ModuleNotFoundError as err:  # onnx / onnxruntime not installed: say what to install, like any user error
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict() | {"run_dir": str(run_dir)}))
        return
    runtime = {"onnx": "onnxruntime", "web": "the file read back into the engine"}.get(format, "torch.jit.load")
    typer.echo(
        f"wrote {result.path} ({format}); {runtime} vs PyTorch on {result.examples} inputs: "
        f"max |difference| = {result.max_abs_diff:.2g}"
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export)
