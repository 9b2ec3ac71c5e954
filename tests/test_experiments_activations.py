"""Activations and receptive fields: the traced field is the gradient's support; cnnlab activations end to end."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import engine
from cnnlab.cli.main import main
from cnnlab.data.dataset import Dataset
from cnnlab.experiments.activations import parse_unit, trace_unit
from cnnlab.train import TrainConfig, fit


def test_receptive_field_equals_gradient_support():
    """Linear net with positive weights: d unit / d input is nonzero exactly on the receptive field."""
    net = engine.build("conv(2,3,p=1)-avgpool(2)-conv(2,3,p=1)-avgpool(2)-flatten-linear(2)", (1, 16, 16), seed=0)
    with torch.no_grad():
        for p in net.parameters():
            p.abs_().add_(0.01)
    x = torch.rand(1, 16, 16)
    for position in [(0, 0), (1, 2), (3, 3), (2, 0)]:
        traced = trace_unit(net, x, layer=3, position=position)
        support = np.asarray(traced["sensitivity"]) > 0
        expected = np.zeros_like(support)
        (y0, y1), (x0, x1) = traced["span"]
        expected[y0:y1, x0:x1] = True
        assert (support == expected).all(), position
        assert traced["size"] == [10, 10] and traced["gradient_inside"]
    with pytest.raises(ValueError, match="layer must index a layer with a spatial output"):
        trace_unit(net, x, layer=5)
    with pytest.raises(ValueError, match="position must be 2 indices inside"):
        trace_unit(net, x, layer=3, position=(4, 0))
    assert parse_unit("3:1,2") == (3, (1, 2))
    with pytest.raises(ValueError, match="LAYER:I,J"):
        parse_unit("a:b")


def test_cli_activations_on_a_test_example(digits_run, capsys):
    assert main(["activations", str(digits_run), "test:5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [layer["output"] for layer in result["layers"]] == ["8x8x8", "8x8x8", "8x4x4", "128", "10"]
    assert result["unit"]["layer"] == 2 and result["unit"]["size"] == [4, 4] and result["unit"]["gradient_inside"]
    assert (digits_run / "activations" / "receptive_field.png").is_file()
    assert main(["activations", str(digits_run), "test:99999"]) == 2
    assert "test index must be in [0, 360)" in capsys.readouterr().err


def test_activations_of_a_drawn_digit(tmp_path, capsys):
    g = torch.Generator().manual_seed(0)
    data = Dataset(
        "synthetic",
        torch.rand(40, 1, 28, 28, generator=g),
        torch.arange(40) % 2,
        torch.rand(10, 1, 28, 28, generator=g),
        torch.arange(10) % 2,
        ["a", "b"],
    )
    run = tmp_path / "run"
    fit(TrainConfig(model="conv(2,5,p=2)-relu-maxpool(2)-flatten-linear", epochs=1, threads=1), dataset=data, out=run)
    drawing = np.full((60, 60), 255, dtype=np.uint8)
    drawing[10:50, 25:33] = 0
    Image.fromarray(drawing).save(tmp_path / "one.png")
    assert (
        main(["activations", str(run), str(tmp_path / "one.png"), "--unit", "2:0,13", "--out", str(tmp_path / "a")])
        == 0
    )
    out = capsys.readouterr().out
    assert "receptive field 6x6" in out and "[[0, 4], [24, 28]]" in out
