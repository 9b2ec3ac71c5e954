"""Feature maps of every layer for one input, and one unit's receptive field traced back to the input.

The receptive field comes from the layer spec (:meth:`cnnlab.shapes.ReceptiveField.span`, the
arithmetic r_out = r_in + (F - 1) j_in); it is checked against the gradient |d unit / d input|,
which must vanish outside it (for zero padding; circular padding wraps the field around the edges).

Example:
    >>> import torch
    >>> from cnnlab import engine
    >>> net = engine.build("conv(4,3,p=1)-relu-maxpool(2)-conv(4,3,p=1)-relu-flatten-linear(3)", (1, 8, 8), seed=0)
    >>> rf = trace_unit(net, torch.rand(1, 8, 8), layer=4, position=(1, 1))
    >>> rf["span"], rf["size"], rf["gradient_inside"]
    ([[0, 7], [0, 7]], [8, 8], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnlab.experiments import plots, report
from cnnlab.io import make_folder
from cnnlab.model import Model
from cnnlab.spec import shape_text
from cnnlab.train.device import to_device_of

MAX_CHANNELS = 16  # feature maps shown per layer


def trace_unit(
    net, x: torch.Tensor, layer: int, position: Sequence[int] | None = None, channel: int | None = None
) -> dict:
    """Receptive field of one unit, from the spec and from the gradient.

    Args:
        net: an engine :class:`~cnnlab.engine.Network`.
        x: one normalised input ``(C, H, W)`` or ``(C, W)``.
        layer: index of a layer with a spatial output.
        position: the unit's spatial index (default: the centre).
        channel: its channel (default: the most active one at that position).

    Returns:
        ``{"layer", "channel", "position", "span" ([lo, hi) per axis), "size", "gradient_inside",
        "sensitivity" (|d unit / d input| summed over input channels, as nested lists)}``.
    """
    infos = net.infos
    if not 0 <= layer < len(infos) or len(infos[layer].out_shape) < 2:
        spatial = [i.index for i in infos if len(i.out_shape) > 1]
        raise ValueError(f"layer must index a layer with a spatial output, one of {spatial}; got {layer}")
    out_shape = infos[layer].out_shape
    position = tuple(n // 2 for n in out_shape[1:]) if position is None else tuple(position)
    if len(position) != len(out_shape) - 1 or not all(0 <= p < n for p, n in zip(position, out_shape[1:])):
        raise ValueError(f"position must be {len(out_shape) - 1} indices inside {out_shape[1:]}, got {position}")
    x = to_device_of(net, x.detach()).clone().unsqueeze(0).requires_grad_(True)
    net.eval()
    activation = x
    for module in list(net)[: layer + 1]:
        activation = module(activation)
    column = activation[(0, slice(None)) + position]  # (C_out,)
    channel = int(column.argmax()) if channel is None else channel
    if not 0 <= channel < out_shape[0]:
        raise ValueError(f"channel must be in [0, {out_shape[0]}), got {channel}")
    column[channel].backward()
    assert x.grad is not None, "x requires grad, so backward filled it"
    sensitivity = x.grad[0].abs().sum(0).cpu().numpy()  # (H, W) or (W,)
    rf = infos[layer].receptive_field
    span = rf.span(position, x.shape[2:])
    inside = np.zeros_like(sensitivity, dtype=bool)
    inside[tuple(slice(lo, hi) for lo, hi in span)] = True
    return {
        "layer": layer,
        "layer_text": infos[layer].name,
        "channel": channel,
        "position": list(position),
        "activation": column[channel].detach().item(),
        "span": [list(s) for s in span],
        "size": list(rf.size),
        "gradient_inside": bool((sensitivity[~inside] == 0).all()),
        "sensitivity": sensitivity.tolist(),
    }


def parse_unit(text: str | None) -> tuple[int | None, tuple[int, ...] | None]:
    """``"LAYER"`` or ``"LAYER:I,J"`` -> (layer, position).

    Example:
        >>> parse_unit("3:7,7"), parse_unit("3"), parse_unit(None)
        ((3, (7, 7)), (3, None), (None, None))
    """
    if text is None:
        return None, None
    head, _, tail = str(text).partition(":")
    try:
        return int(head), tuple(int(v) for v in tail.split(",")) if tail else None
    except ValueError:
        raise ValueError(f"unit must look like LAYER or LAYER:I,J (e.g. 3:7,7), got {text!r}") from None


@dataclass
class ActivationsResult:
    """Per layer: output shape and activation statistics; the traced unit."""

    run_dir: str
    image: str
    prediction: dict
    layers: list[dict]
    unit: dict
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(vars(self))
        d["unit"] = {k: v for k, v in self.unit.items() if k != "sensitivity"}
        return d

    def lines(self) -> list[str]:
        out = [
            f"prediction: {self.prediction['class']} ({self.prediction['probability']:.1%})",
            f"{'#':>3} {'layer':<22} {'output':>12} {'mean':>8} {'max':>8} {'active':>7}",
        ]
        for r in self.layers:
            out.append(
                f"{r['index']:>3} {r['layer']:<22} {r['output']:>12} {r['mean']:>8.3f} {r['max']:>8.3f} "
                f"{r['active']:>7.1%}"
            )
        u = self.unit
        out.append(
            f"unit: layer {u['layer']} ({u['layer_text']}) channel {u['channel']} at {u['position']}: "
            f"receptive field {shape_text(u['size'])}, input span {u['span']}; gradient zero "
            f"outside it: {u['gradient_inside']}"
        )
        return out

    def markdown(self) -> str:
        u = self.unit
        rows = [
            [r["index"], f"`{r['layer']}`", r["output"], f"{r['mean']:.3f}", f"{r['max']:.3f}", f"{r['active']:.1%}"]
            for r in self.layers
        ]
        return "\n".join(
            [
                f"# Activations of {self.run_dir} on {self.image}",
                "",
                f"Prediction: **{self.prediction['class']}** ({self.prediction['probability']:.1%}).",
                "",
                report.markdown_table(["#", "layer", "output", "mean", "max", "active (> 0)"], rows),
                "",
                f"Unit {u['channel']} at {u['position']} of layer {u['layer']} (`{u['layer_text']}`) sees input pixels "
                f"{' x '.join(f'[{lo}, {hi})' for lo, hi in u['span'])} (receptive field "
                f"{shape_text(u['size'])}, clipped to the image); the gradient of the unit is zero outside "
                f"that window: {u['gradient_inside']}.",
                "",
                report.plot_links(self.plots, None),
            ]
        )


def _input(model: Model, image) -> tuple[torch.Tensor, str]:
    """A raw input ``(C, H, W)`` from an image file, ``test:N`` (the run's dataset), or an array."""
    shape = model.input_shape
    if isinstance(image, (np.ndarray, torch.Tensor)):
        return torch.as_tensor(image, dtype=torch.float32).reshape(shape), "array"
    text = str(image)
    if text.startswith("test:"):
        from cnnlab.data import load_dataset

        try:
            index = int(text[5:])
        except ValueError:
            raise ValueError(f"image must be a file or test:N (N a test-set index), got {text!r}") from None
        data = load_dataset(model.config.get("dataset", "digits"), data_dir=model.config.get("data_dir"))
        if not 0 <= index < len(data.y_test):
            raise ValueError(f"test index must be in [0, {len(data.y_test)}), got {index}")
        return data.x_test[index], f"{data.name} test example {index} (label {data.classes[int(data.y_test[index])]})"
    if shape != (1, 28, 28):
        raise ValueError(f"image files are preprocessed to 28x28 digits; this run's input is {shape}: use test:N")
    from cnnlab.data import load_image

    return torch.as_tensor(load_image(text)).view(shape), text


def inspect_activations(
    run_dir: str | Path, image, out: str | Path | None = None, unit: str | None = None, channel: int | None = None
) -> ActivationsResult:
    """Feature maps of every layer of a trained run for one input, and a unit's receptive field.

    Args:
        run_dir: a run folder written by ``cnnlab train``.
        image: an image file (MNIST-style preprocessing), ``"test:N"``, or an array of the input shape.
        out: folder for the plots, ``result.json`` and ``report.md``.
        unit: ``"LAYER"`` or ``"LAYER:I,J"`` (default: centre of the last spatial layer).
        channel: the unit's channel (default: the most active one).
    """
    model = Model.from_run(run_dir)
    net = model.net
    raw, label = _input(model, image)
    x = model.normalize(raw)[0]
    outputs = [o[0] for o in model.activations(raw)]
    prob = model.predict_proba(raw)[0]
    top = int(prob.argmax())
    layers = [
        {
            "index": i,
            "layer": info.name,
            "output": shape_text(info.out_shape),
            "mean": float(o.mean()),
            "max": float(o.max()),
            "active": float((o > 0).float().mean()),
        }
        for i, (info, o) in enumerate(zip(net.infos, outputs))
    ]
    layer, position = parse_unit(unit)
    spatial = [i.index for i in net.infos if len(i.out_shape) > 1]
    if not spatial:
        raise ValueError(f"{run_dir}: the network has no layer with a spatial output to trace ({net.spec_text})")
    traced = trace_unit(net, x, spatial[-1] if layer is None else layer, position, channel)
    result = ActivationsResult(
        str(run_dir), label, {"class": model.classes[top], "probability": float(prob[top])}, layers, traced
    )
    if out is not None:
        out = Path(out)
        make_folder(out)
        for i in spatial:
            maps = outputs[i][:MAX_CHANNELS].numpy()
            result.plots.append(
                str(
                    plots.filter_grid(
                        maps,
                        [f"channel {c}" for c in range(len(maps))],
                        out / f"layer{i:02d}.png",
                        f"layer {i} {net.infos[i].name}: output {layers[i]['output']}",
                        cmap="viridis",
                        symmetric=False,
                    )
                )
            )
        flat = [i for i in range(len(outputs)) if i not in spatial]
        if flat:
            result.plots.append(
                str(
                    plots.vectors(
                        [outputs[i].numpy() for i in flat],
                        [f"layer {i} {net.infos[i].name}" for i in flat],
                        out / "dense_layers.png",
                        "outputs of the flat layers",
                    )
                )
            )
        image_2d = raw.sum(0).numpy()
        result.plots.append(
            str(
                plots.receptive_field(
                    image_2d,
                    traced["span"],
                    np.asarray(traced["sensitivity"]),
                    out / "receptive_field.png",
                    f"layer {traced['layer']} channel {traced['channel']} at {traced['position']}: "
                    f"receptive field {shape_text(traced['size'])}",
                )
            )
        )
        report.save(result, out)
    return result
