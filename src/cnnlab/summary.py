"""A Keras/torchinfo-style summary of a network, in the lecture's letters.

Example:
    >>> s = summarize("lecture", (3, 6, 6), num_classes=10)
    >>> s.rows[0]["F"], s.rows[0]["output"], s.rows[0]["params"], s.rows[0]["locally_connected"]
    (3, '2x4x4', 56, 896)
    >>> s.total_params
    146
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnlab import spec as S


@dataclass
class Summary:
    """Rows (one dict per layer) and totals; ``to_dict()`` is the ``--json`` form."""

    spec: str
    input_shape: tuple[int, ...]
    rows: list[dict]
    total_params: int
    total_locally_connected: int
    total_dense: int

    @property
    def tied_reduction(self) -> float:
        """Parameters with untied conv weights / with tied weights (whole network)."""
        return self.total_locally_connected / self.total_params if self.total_params else 1.0

    @property
    def dense_reduction(self) -> float:
        """Parameters with dense layers in place of convs / actual parameters."""
        return self.total_dense / self.total_params if self.total_params else 1.0

    def to_dict(self) -> dict:
        return {
            "spec": self.spec,
            "input_shape": list(self.input_shape),
            "layers": self.rows,
            "total_params": self.total_params,
            "total_locally_connected": self.total_locally_connected,
            "total_dense": self.total_dense,
            "tied_reduction": self.tied_reduction,
            "dense_reduction": self.dense_reduction,
        }

    def to_text(self) -> str:
        headers = [
            "#",
            "layer",
            "F",
            "S",
            "P",
            "output (DxHxW)",
            "params",
            "locally conn.",
            "dense equiv.",
            "receptive field",
        ]
        table = [
            [
                str(r["index"]),
                r["layer"],
                _blank(r["F"]),
                _blank(r["S"]),
                _blank(r["P"]),
                r["output"],
                f"{r['params']:,}",
                _blank(r["locally_connected"], ","),
                _blank(r["dense"], ","),
                r["receptive_field"],
            ]
            for r in self.rows
        ]
        widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(headers)]
        line = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        out = [
            f"input {S.shape_text(self.input_shape)}   spec {self.spec}",
            line.format(*headers),
            "  ".join("-" * w for w in widths),
        ]
        out += [line.format(*row) for row in table]
        out += [
            "",
            f"total parameters            {self.total_params:>14,}",
            f"with untied conv weights    {self.total_locally_connected:>14,}   (tying saves x{self.tied_reduction:,.1f})",
            f"with dense layers for convs {self.total_dense:>14,}   (x{self.dense_reduction:,.1f})",
        ]
        return "\n".join(out)


def _blank(value, fmt: str = "") -> str:
    return "" if value is None else format(value, fmt)


def summarize(model: S.Spec, input_shape, num_classes: int | None = None) -> Summary:
    """Analyse a spec on an input shape (raises :class:`cnnlab.spec.SpecError` for a bad shape)."""
    layers = S.resolve(model, num_classes)
    infos = S.analyze(layers, tuple(input_shape))
    rows: list[dict[str, Any]] = []
    total_lc = total_dense = 0
    for info in infos:
        layer = info.layer
        f, s, p = layer.window if layer.window is not None else (None, None, None)
        rf = info.receptive_field
        rows.append(
            {
                "index": info.index,
                "layer": layer.to_text(),
                "F": f,
                "S": s,
                "P": p,
                "input": S.shape_text(info.in_shape),
                "output": S.shape_text(info.out_shape),
                "output_shape": list(info.out_shape),
                "params": info.params,
                "locally_connected": info.locally_connected,
                "dense": info.dense,
                "receptive_field": S.shape_text(rf.size) if rf is not None else "whole input",
                "jump": list(rf.jump) if rf is not None else None,
            }
        )
        total_lc += info.locally_connected if info.locally_connected is not None else info.params
        total_dense += info.dense if info.dense is not None else info.params
    total = sum(r["params"] for r in rows)
    return Summary(S.to_text(layers), tuple(input_shape), rows, total, total_lc, total_dense)
