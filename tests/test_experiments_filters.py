"""What the network learned: stencils, spectra, receptive fields against gradients, and the CLI."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import engine
from cnnlab.cli.main import main
from cnnlab.data.dataset import Dataset
from cnnlab.experiments.activations import parse_unit, trace_unit
from cnnlab.experiments.filters import nearest_stencil, spectrum, stencils
from cnnlab.train import TrainConfig, fit


@pytest.mark.parametrize("dims,size", [(1, 3), (1, 5), (2, 3), (2, 5)])
def test_every_stencil_is_its_own_nearest(dims, size):
    for name, s in stencils(dims, size).items():
        if s.shape[0] < size:  # a 3-tap stencil inside a 5-tap filter, off centre
            s = np.pad(s, [(0, size - s.shape[0])] + [(size - s.shape[0], 0)] * (dims - 1))
        match = nearest_stencil(-3.0 * s)
        assert match["stencil"] == name and match["sign"] == -1
        assert match["similarity"] == pytest.approx(1.0)


def test_noisy_sobel_found_at_its_offset():
    sobel_y = np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])
    w = np.zeros((5, 5))
    w[2:, :3] = sobel_y
    w += 0.05 * np.random.default_rng(0).normal(size=w.shape)
    match = nearest_stencil(w)
    assert match["stencil"] == "sobel y (d/dy)" and match["offset"] == [2, 0] and match["similarity"] > 0.95
    with pytest.raises(ValueError, match="k >= 3"):
        nearest_stencil(np.ones((2, 2)))


def test_spectra_of_laplacian_and_blur():
    lap = spectrum(stencils(2, 3)["laplacian 5-point"], size=8)
    assert np.unravel_index(lap.argmax(), lap.shape) == (0, 0)  # highest frequency (Nyquist) corner after fftshift
    assert lap[4, 4] == pytest.approx(0.0, abs=1e-12)  # a Laplacian has no DC response
    blur = spectrum(stencils(1, 3)["binomial blur"], size=8)
    assert blur.argmax() == 4


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


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fit(
        TrainConfig(
            model="conv(8,3,p=1)-relu-maxpool(2)-flatten-linear", dataset="digits", epochs=2, lr=0.01, threads=1
        ),
        out=out,
    )
    return out


def test_cli_filters(digits_run, tmp_path, capsys):
    assert main(["filters", str(digits_run), "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["layer"] == "conv(8,3,p=1)" and len(result["rows"]) == 8 and result["filter_shape"] == [3, 3]
    assert sum(result["counts"].values()) == 8
    assert all(0 <= r["similarity"] <= 1 for r in result["rows"])
    assert {p.name for p in tmp_path.iterdir()} >= {"filters.png", "spectra.png", "report.md", "result.json"}


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
