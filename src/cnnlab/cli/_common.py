"""What every command group shares: where human lines go, and how a run folder is named by default.

Example:
    >>> str(run_dir(None, "lenet-mnist").parent), str(run_dir(Path("here"), "ignored"))
    ('runs', 'here')
    >>> run_dir(None, "conv(8,3)-relu-digits").name[:24]
    'conv_8_3_-relu-digits-20'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer

__all__ = ["DEFAULT_RUNS", "emit", "run_dir"]

#: Where run folders go when ``--out`` is not given.
DEFAULT_RUNS = Path("runs")


def emit(as_json: bool) -> Callable[[str], None]:
    """Where human lines go: stdout normally, stderr with ``--json`` (stdout's last line is the JSON)."""
    return (lambda line: typer.echo(line, err=True)) if as_json else typer.echo


def run_dir(out: Path | None, name: str) -> Path:
    """``out`` when given, else ``runs/NAME-YYYYmmdd-HHMMSS`` (``NAME`` made file-name safe, at most 60 characters)."""
    if out is not None:
        return out
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return DEFAULT_RUNS / f"{safe}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
