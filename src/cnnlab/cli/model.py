"""``cnnlab summary``, ``cnnlab presets`` and ``cnnlab explain conv1d|conv2d|pool``."""

from __future__ import annotations

import json
from typing import Any

import typer

from cnnlab import explain as ex
from cnnlab import spec as S
from cnnlab.shapes import output_size_formula
from cnnlab.summary import summarize

explain_app = typer.Typer(
    help="The lecture's worked examples, step by step (every value can be overridden).", no_args_is_help=True
)


def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.replace("[", "").replace("]", "").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{name} must be comma-separated numbers like 1,2,2,-1,3, got {text!r}") from None


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def summary(
    model: str = typer.Argument(
        ..., help="Preset name (see `cnnlab presets`) or spec like 'conv(16,5,p=2)-relu-maxpool(2)-flatten-linear(10)'."
    ),
    input: str = typer.Option(None, "--input", "-i", help="Input shape CxHxW (or CxW); default: the preset's."),
    classes: int = typer.Option(10, help="Outputs of a final 'linear' without a size."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Table of a network: per layer F, S, P, output DxHxW, parameters, untied and dense equivalents, receptive field."""
    shape = S.parse_shape(input) if input else _default_shape(model)
    result = summarize(model, shape, num_classes=classes)
    typer.echo(json.dumps(result.to_dict()) if as_json else result.to_text())


def _default_shape(model: str) -> tuple[int, ...]:
    if model.strip() in S.PRESETS:
        return S.PRESETS[model.strip()].input_shape
    raise ValueError("--input is required for a spec that is not a preset (e.g. --input 1x28x28)")


def presets(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """List the named networks with their spec, input shape, parameters and recipe."""
    rows: list[dict[str, Any]] = []
    for name, preset in S.PRESETS.items():
        total = sum(i.params for i in S.analyze(preset.text, preset.input_shape, num_classes=10))
        rows.append(
            {
                "name": name,
                "spec": preset.text,
                "input_shape": list(preset.input_shape),
                "params": total,
                "description": preset.description,
                "recipe": preset.recipe,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        shape = S.shape_text(row["input_shape"])
        typer.echo(
            f"{row['name']:<12} {row['params']:>9,} params  input {shape:<8} {row['description']}\n"
            f"{'':<12} {row['spec']}"
        )
        if row["recipe"]:
            typer.echo(
                f"{'':<12} trains with recipe {row['recipe']!r}: cnnlab train --model {row['name']} "
                f"= cnnlab train --recipe {row['recipe']}"
            )
    typer.echo("\nrecipes (cnnlab train --recipe NAME; options given on the command line override them):")
    for name, entry in S.RECIPES.items():
        typer.echo(f"{name:<12} {entry.description}")


@explain_app.command("conv1d")
def explain_conv1d(
    input: str = typer.Option("1,2,2,-1,3", "--input", help="Input neurons."),
    weight: str = typer.Option("1,-1,1", help="Filter weights w (width F)."),
    bias: float = typer.Option(-2.0, help="Bias b."),
    stride: int = typer.Option(1, help="Stride S."),
    padding: int = typer.Option(1, help="Zero padding P."),
    padding_mode: str = typer.Option("zeros", help="zeros, circular or reflect."),
    activation: str = typer.Option("relu", help="relu, identity, tanh or sigmoid."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The lecture's 1-D convolution: padded input, each window's dot product, bias, ReLU."""
    r = ex.conv1d_steps(
        _numbers(input, "input"), _numbers(weight, "weight"), bias, stride, padding, padding_mode, activation
    )
    if as_json:
        typer.echo(json.dumps(r))
        return
    w, f = len(r["input"]), len(r["weight"])
    typer.echo(f"input x = {_fmt(r['input'])}   (W = {w}, depth 1)")
    typer.echo(
        f"filter w = {_fmt(r['weight'])}, bias b = {bias:g}   (F = {f}, S = {stride}, P = {padding}, {padding_mode})"
    )
    typer.echo(f"output width {output_size_formula(w, f, stride, padding)}")
    typer.echo(f"padded input = {_fmt(r['padded'])}   (W + 2P = {len(r['padded'])})\n")
    for i, (window, dot, pre, out) in enumerate(zip(r["windows"], r["dots"], r["pre_activations"], r["outputs"])):
        terms = " + ".join(f"({wi:g})({xi:g})" for wi, xi in zip(r["weight"], window))
        typer.echo(
            f"  y[{i}] = {activation}({terms} + ({bias:g})) = {activation}({dot:g} + ({bias:g})) = {activation}({pre:g}) = {out:g}"
        )
    typer.echo(f"\ndot products w.x   = {_fmt(r['dots'])}")
    typer.echo(f"plus bias  z       = {_fmt(r['pre_activations'])}")
    typer.echo(f"after {activation:<12} = {_fmt(r['outputs'])}")


@explain_app.command("conv2d")
def explain_conv2d(
    input: str = typer.Option("3x6x6", "--input", help="Input shape DxHxW."),
    out_channels: int = typer.Option(2, help="Number of filters (output depth)."),
    kernel_size: int = typer.Option(3, help="Filter width F."),
    stride: int = typer.Option(1, help="Stride S."),
    padding: int = typer.Option(0, help="Zero padding P."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The lecture's 6x6x3 input with two 3x3x3 filters: shapes and tied vs untied vs dense parameters."""
    shape = S.parse_shape(input)
    if len(shape) != 3:
        raise ValueError(f"--input must be DxHxW (three numbers), got {input!r}")
    a = ex.conv2d_accounting(shape, out_channels, kernel_size, stride, padding)
    if as_json:
        typer.echo(json.dumps(a))
        return
    d, h, w = a["input_shape"]
    od, oh, ow = a["output_shape"]
    typer.echo(
        f"input {h}x{w}x{d} (H x W x D), {od} filters of {kernel_size}x{kernel_size}x{d} (each spans all {d} input channels)"
    )
    typer.echo(
        f"output width {output_size_formula(w, kernel_size, stride, padding)}  ->  output {S.shape_text((oh, ow, od))}"
    )
    typer.echo(f"each filter gives one output channel: {od} filters -> depth {od}\n")
    for label, key in (
        ("tied (conv)", "conv"),
        ("untied (locally connected)", "locally_connected"),
        ("dense (all-to-all)", "dense"),
    ):
        typer.echo(f"{label + ':':<28}{a[key + '_formula']:<62} = {a[key]:>9,}")
    typer.echo(f"\ntying the weights saves a factor H x W = {oh} x {ow} = {a['tied_reduction']:g} in weights")


@explain_app.command("pool")
def explain_pool(
    kernel_size: int = typer.Option(2, help="Window F."),
    stride: int = typer.Option(None, help="Stride S (default: F)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """2x2 max pooling of one channel: keep the largest value of each window (coarse-graining)."""
    r = ex.maxpool2d_steps(kernel_size=kernel_size, stride=stride)
    if as_json:
        typer.echo(json.dumps(r))
        return
    typer.echo(
        f"max pooling, F = {kernel_size}, S = {r['stride']}: each {kernel_size}x{kernel_size} window -> its maximum"
    )
    typer.echo("input:")
    for row in r["input"]:
        typer.echo("  " + " ".join(f"{v:3g}" for v in row))
    typer.echo(
        f"output ({r['output_shape'][0]}x{r['output_shape'][1]}; channels unchanged, like an RG decimation step):"
    )
    for row in r["output"]:
        typer.echo("  " + " ".join(f"{v:3g}" for v in row))


def register(app: typer.Typer) -> None:
    app.command("summary")(summary)
    app.command("presets")(presets)
    app.add_typer(explain_app, name="explain")
