"""Tied parameters, counted: each conv layer against its locally connected and dense equivalents.

For a conv layer with D_in input channels, D_out filters of F x F, and an H_out x W_out output:

* **conv (tied)**: ``D_out (D_in F² + 1)`` -- one filter per output channel, reused at every position;
* **locally connected (untied)**: the same connections, but every output neuron has its own filter
  and bias: ``H_out W_out D_out (D_in F² + 1)`` -- exactly ``H_out W_out`` times the conv;
* **dense**: every input neuron to every output neuron: ``(D_in H W)(D_out H_out W_out) + D_out H_out W_out``.

So *tying* saves exactly ``H_out × W_out`` (10⁴ for the lecture's D = H = W = 100), and *locality plus
tying* together save ``dense / conv ≈ H² W² / F²`` (1.1 × 10⁷ for 3 × 3 filters, 8.3 × 10⁵ for
unpadded 10 × 10 filters). The lecture's "nearly 10⁶" matches the second ratio with large filters, or the
number of neurons D H W = 10⁶ in the layer; the factor that tying alone saves is H × W = 10⁴.
All the arithmetic is :func:`cnnlab.shapes.conv_param_counts`.

Example:
    >>> r = tied_params("lecture")
    >>> row = r.rows[0]
    >>> row["conv"], row["locally_connected"], row["dense"], row["tied_reduction"]
    (56, 896, 3488, 16.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnlab import spec as S
from cnnlab.experiments import report
from cnnlab.shapes import conv_param_counts


def _row(
    name: str,
    in_shape: Sequence[int],
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = True,
    index: int | None = None,
) -> dict:
    c = conv_param_counts(tuple(in_shape), out_channels, kernel_size, stride, padding, bias)
    return {
        "index": index,
        "layer": name,
        "input": S.shape_text(in_shape),
        "output": S.shape_text(c.out_shape),
        "positions": c.positions,
        "conv": c.conv,
        "locally_connected": c.locally_connected,
        "dense": c.dense,
        "tied_reduction": c.tied_reduction,
        "dense_reduction": c.dense_reduction,
    }


def lecture_cases() -> list[dict]:
    """The lecture's two examples: 6x6x3 with two 3x3 filters, and D = H = W = 100 (F = 3, 5, 10).

    Example:
        >>> big = lecture_cases()[1]
        >>> big["conv"], big["locally_connected"], big["tied_reduction"]
        (90100, 901000000, 10000.0)
        >>> f"{big['dense_reduction']:.3g}"
        '1.11e+07'
    """
    cases = [dict(_row("conv(2,3)", (3, 6, 6), 2, 3), case="lecture: 6x6x3 input, two 3x3x3 filters")]
    # 'Same' padding keeps H = W = 100 for odd F; F = 10 cannot be centred, so it runs unpadded (91x91).
    for f, p in ((3, 1), (5, 2), (10, 0)):
        cases.append(
            dict(
                _row(f"conv(100,{f},p={p})", (100, 100, 100), 100, f, padding=p),
                case=f"lecture: D = H = W = 100, {f}x{f} filters",
            )
        )
    return cases


@dataclass
class ParamsResult:
    """Per conv layer: tied, untied and dense parameter counts and the two reduction factors."""

    spec: str
    input_shape: list[int]
    rows: list[dict]
    total_params: int
    lecture: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def lines(self) -> list[str]:
        """The table the CLI prints."""
        head = (
            f"{'layer':<26} {'input':>11} {'output':>11} {'conv (tied)':>13} {'locally conn.':>15} "
            f"{'dense':>19} {'LC/conv':>9} {'dense/conv':>11}"
        )
        out = [head, "-" * len(head)]
        for r in self.rows + self.lecture:
            out.append(
                f"{r['layer']:<26} {r['input']:>11} {r['output']:>11} {r['conv']:>13,} {r['locally_connected']:>15,} "
                f"{r['dense']:>19,} {r['tied_reduction']:>9,.0f} {r['dense_reduction']:>11.3g}"
            )
        return out

    def markdown(self) -> str:
        rows = [
            [
                r.get("case") or f"layer {r['index']}",
                f"`{r['layer']}`",
                r["input"],
                r["output"],
                f"{r['conv']:,}",
                f"{r['locally_connected']:,}",
                f"{r['dense']:,}",
                f"{r['tied_reduction']:,.0f}",
                f"{r['dense_reduction']:.3g}",
            ]
            for r in self.rows + self.lecture
        ]
        lines = [
            "# Tied parameters, counted",
            "",
            f"Network `{self.spec}` on input {S.shape_text(self.input_shape)}: {self.total_params:,} parameters.",
            "",
            report.markdown_table(
                [
                    "network",
                    "layer",
                    "input DxHxW",
                    "output",
                    "conv (tied)",
                    "locally connected",
                    "dense",
                    "LC / conv",
                    "dense / conv",
                ],
                rows,
            ),
            "",
            "LC / conv is what tying the weights saves: exactly the number of output positions H_out × W_out. "
            "dense / conv is what locality and tying save together.",
        ]
        big = [r for r in self.lecture if r["input"] == "100x100x100"]
        if big:
            three = big[0]
            lines += [
                "",
                f"For the lecture's D = H = W = 100 layer with 3×3 filters, tying saves a factor "
                f"{three['tied_reduction']:,.0f} = H × W, and a dense layer would need "
                f'{three["dense_reduction"]:.2g} times the parameters. The lecture\'s "nearly 10⁶" is the '
                f"dense ratio for 10×10 filters ({big[-1]['dense_reduction']:.2g}) or the D × H × W = 10⁶ "
                f"neurons of the layer that would each carry their own weights.",
            ]
        return "\n".join(lines)


def tied_params(
    model: S.Spec, input_shape: Sequence[int] | None = None, num_classes: int = 10, lecture: bool = False
) -> ParamsResult:
    """Conv vs locally-connected vs dense parameter counts for every conv layer of a network.

    Args:
        model: preset name, spec text or list of layers.
        input_shape: ``(C, H, W)`` or ``(C, W)``; default: the preset's.
        num_classes: fills a final ``linear`` without a size.
        lecture: also include :func:`lecture_cases`.

    Raises:
        ValueError: a spec that is not a preset without ``input_shape``, or a layer that does not fit.
    """
    if input_shape is None:
        if not (isinstance(model, str) and model.strip() in S.PRESETS):
            raise ValueError(f"input_shape is required for a spec that is not a preset, got model {model!r}")
        input_shape = S.PRESETS[model.strip()].input_shape
    infos = S.analyze(model, tuple(input_shape), num_classes=num_classes)
    rows = [
        _row(
            info.name,
            info.in_shape,
            info.layer.out_channels,
            info.layer.kernel_size,
            info.layer.stride,
            info.layer.padding,
            info.layer.bias,
            index=info.index,
        )
        for info in infos
        if isinstance(info.layer, S.Conv)
    ]
    layers = S.resolve(model, num_classes)
    return ParamsResult(
        S.to_text(layers), list(input_shape), rows, sum(i.params for i in infos), lecture_cases() if lecture else []
    )
