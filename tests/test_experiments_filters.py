"""First-layer filters: stencils, spectra, and cnnlab filters on a trained run."""

import json

import numpy as np
import pytest

from cnnlab.cli.main import main
from cnnlab.experiments.filters import nearest_stencil, spectrum, stencils


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


def test_cli_filters(digits_run, tmp_path, capsys):
    assert main(["filters", str(digits_run), "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["layer"] == "conv(8,3,p=1)" and len(result["rows"]) == 8 and result["filter_shape"] == [3, 3]
    assert sum(result["counts"].values()) == 8
    assert all(0 <= r["similarity"] <= 1 for r in result["rows"])
    assert {p.name for p in tmp_path.iterdir()} >= {"filters.png", "spectra.png", "report.md", "result.json"}
