"""Tied parameters, counted: hand-computed counts, the lecture's numbers, and the engine's own count."""

import json

import pytest
import torch

from cnnlab import engine
from cnnlab.cli.main import main
from cnnlab.experiments.params import lecture_cases, tied_params


def test_lecture_6x6x3_two_filters():
    row = tied_params("lecture").rows[0]
    assert (row["conv"], row["locally_connected"], row["dense"]) == (56, 896, 3488)
    assert row["positions"] == 16 and row["output"] == "2x4x4"
    assert row["tied_reduction"] == 16.0  # 896 / 56: the lecture's "saves a factor H x W = 16"
    assert row["dense_reduction"] == pytest.approx(3488 / 56)


def test_lecture_d_h_w_100():
    three = next(c for c in lecture_cases() if c["layer"] == "conv(100,3,p=1)")
    assert three["output"] == "100x100x100"
    assert three["conv"] == 100 * (100 * 9 + 1) == 90_100
    assert three["locally_connected"] == 100 * 100 * 100 * (100 * 9 + 1) == 901_000_000
    assert three["dense"] == 10**6 * 10**6 + 10**6
    assert three["tied_reduction"] == 10_000.0  # exactly H x W
    assert three["dense_reduction"] == pytest.approx((10**12 + 10**6) / 90_100)
    assert 1.10e7 < three["dense_reduction"] < 1.12e7
    ten = next(c for c in lecture_cases() if c["layer"] == "conv(100,10,p=0)")
    assert ten["output"] == "100x91x91" and ten["tied_reduction"] == 91 * 91
    assert 8e5 < ten["dense_reduction"] < 1e6  # the lecture's "nearly 10^6"


def test_hand_computed_28x28_layer():
    row = tied_params("conv(16,5,p=2)-relu-maxpool(2)-flatten-linear", (1, 28, 28)).rows[0]
    positions = 28 * 28
    assert row["conv"] == 16 * (25 + 1)
    assert row["locally_connected"] == positions * 16 * (25 + 1)
    assert row["dense"] == 784 * (16 * positions) + 16 * positions


def test_conv_counts_match_the_engine():
    result = tied_params("lenet")
    net = engine.build("lenet", (1, 28, 28), num_classes=10)
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    assert [r["conv"] for r in result.rows] == [sum(p.numel() for p in m.parameters()) for m in convs]
    assert result.total_params == net.num_params
    assert [r["index"] for r in result.rows] == [0, 3]


def test_bias_free_conv_and_1d():
    row = tied_params("conv(4,3,bias=false)", (2, 10)).rows[0]
    assert (row["conv"], row["locally_connected"], row["dense"]) == (4 * 6, 8 * 4 * 6, 20 * 32)


def test_spec_without_input_shape_is_refused():
    with pytest.raises(ValueError, match="input_shape is required"):
        tied_params("conv(4,3)-flatten-linear")


def test_cli_params(capsys):
    assert main(["params", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["lecture"][0]["conv"] == 56 and out["lecture"][1]["tied_reduction"] == 10_000
    assert main(["params", "conv(100,3,p=1)", "--input", "100x100x100"]) == 0
    text = capsys.readouterr().out
    assert "901,000,000" in text and "10,000" in text
    assert main(["params", "conv(16,5,s=2)", "--input", "1x28x28"]) == 2
    assert "11.5 is not an integer" in capsys.readouterr().err
