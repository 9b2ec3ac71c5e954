"""Run folders of experiments: ``result.json``, ``report.md`` and the plots, and error bars in words.

Every experiment returns a result dataclass with ``to_dict()`` (the JSON form) and ``markdown()``
(the report); :func:`save` writes both into the run folder, next to the PNG plots the experiment
already wrote there. Error bars are the sample standard deviation over seeds (ddof = 1).

Example:
    >>> mean_std([0.90, 0.92, 0.94])
    (0.92, 0.02)
    >>> pm(0.92, 0.02)
    '92.0 ± 2.0 %'
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from cnnlab.io import atomic_write_text, make_folder
from cnnlab.train.device import pick_device
from cnnlab.train.environment import system_info


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value: no error bar)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std needs at least one value, got none")
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return round(mean, 12), round(std, 12)


def pm(mean: float, std: float, percent: bool = True, digits: int = 1) -> str:
    """``mean ± std`` as text, in percent by default."""
    scale, unit = (100.0, " %") if percent else (1.0, "")
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}{unit}"


def summarize_values(values: Sequence[float]) -> dict:
    """``{"mean", "std", "n", "values"}`` for the JSON result."""
    mean, std = mean_std(values)
    return {"mean": mean, "std": std, "n": len(values), "values": [float(v) for v in values]}


def separated(a: dict, b: dict) -> bool:
    """Whether two ``summarize_values`` results differ by more than their combined error bars."""
    return abs(a["mean"] - b["mean"]) > math.hypot(a["std"], b["std"])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    r"""A GitHub-flavoured Markdown table (a ``|`` inside a cell is escaped).

    Example:
        >>> print(markdown_table(["model", "accuracy"], [["cnn", "94.0 ± 0.5 %"]]))
        | model | accuracy |
        |---|---|
        | cnn | 94.0 ± 0.5 % |
        >>> print(markdown_table(["|cos|"], [[0.5]]).splitlines()[0])
        | \|cos\| |
    """

    def cells(values) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"  # a bare | would split the cell

    return "\n".join([cells(headers), "|" + "---|" * len(headers)] + [cells(row) for row in rows])


def save(result, out: str | Path) -> Path:
    """Write ``result.json`` and ``report.md`` of a result into ``out``; returns the folder.

    ``result.json`` also records the ``system`` the experiment ran on (its training uses
    ``device="auto"``: the GPU when there is one; see :func:`cnnlab.train.environment.system_info`).
    """
    out = Path(out)
    make_folder(out)
    payload = result.to_dict() | {"system": system_info(pick_device("auto"))}
    write_text(out / "result.json", json.dumps(payload, indent=2) + "\n")
    write_text(out / "report.md", result.markdown().rstrip() + "\n")
    return out


def write_text(path: str | Path, text: str) -> None:
    """UTF-8 text (the reports contain ±), written atomically."""
    atomic_write_text(path, text, encoding="utf-8")
    os.chmod(path, 0o644)  # a report is for reading; the atomic temporary file was created private


def plot_links(plots: Sequence[str], out: str | Path | None) -> str:
    """Markdown image links to the plots, relative to the run folder."""
    if not plots:
        return ""
    return "\n".join(f"![{Path(p).stem}]({Path(p).name if out is None else Path(p).relative_to(out)})" for p in plots)
