"""The text form of a network: parsing, round trips, error messages; shapes as text."""

import pytest

from cnnlab import spec as S


def test_issue_example_parses_and_round_trips():
    text = "conv(16,5,p=2)-relu-maxpool(2)-conv(32,3)-relu-maxpool(2)-flatten-linear(10)"
    layers = S.parse(text)
    assert layers[0] == S.Conv(16, 5, padding=2)
    assert layers[2] == S.MaxPool(2)
    assert S.to_text(layers) == text
    shapes = [i.out_shape for i in S.analyze(layers, (1, 28, 28))]
    assert shapes == [(16, 28, 28), (16, 28, 28), (16, 14, 14), (32, 12, 12), (32, 12, 12), (32, 6, 6), (1152,), (10,)]


def test_every_layer_type_round_trips():
    text = (
        "conv(8,3,s=1,p=1,mode=circular)-bn-tanh-avgpool(2)-conv(8,3,p=1,mode=reflect,bias=false)-sigmoid"
        "-maxpool(3,s=1,p=1)-gap-dropout(0.25)-linear(5)-softmax"
    )
    layers = S.parse(text)
    assert S.parse(S.to_text(layers)) == layers
    assert [i.out_shape for i in S.analyze(layers, (2, 8, 8))][-1] == (5,)


@pytest.mark.parametrize(
    "text, match",
    [
        ("conv(16)", r"layer 0 'conv\(16\)':.*missing 1 required positional argument: 'kernel_size'"),
        (
            "relu-convv(3,3)",
            r"layer 1 'convv\(3,3\)': unknown layer 'convv'; valid layers: .*conv.*or a whole preset: mlp",
        ),
        ("conv(16,5,q=2)", r"unknown argument 'q'"),
        ("conv(16,5,mode=periodic)", r"padding_mode must be one of zeros, circular, reflect, got 'periodic'"),
        ("dropout(1.5)", r"dropout: p must be in \[0, 1\), got 1.5"),
        ("conv(0,3)", r"conv: out_channels must be a positive integer, got 0"),
        ("conv(16,5", r"cannot parse"),
        ("", r"spec must be a non-empty string"),
    ],
)
def test_parse_errors(text, match):
    with pytest.raises(S.SpecError, match=match):
        S.parse(text)


def test_parse_shape():
    assert S.parse_shape("3x6x6") == (3, 6, 6)
    assert S.parse_shape("1,40") == (1, 40)
    with pytest.raises(S.SpecError, match="input shape must look like CxHxW"):
        S.parse_shape("axb")


def test_shape_text_and_parse_shape_are_inverse():
    for shape in [(1, 28, 28), (1, 40), (3, 6, 6)]:
        assert S.parse_shape(S.shape_text(shape)) == shape
    assert S.shape_text(()) == "()"


def test_split_top_level_keeps_bracketed_separators():
    assert S.split_top_level("conv(4,3,p=1)-relu", "-") == ["conv(4,3,p=1)", "relu"]
    assert S.split_top_level("mlp,conv(8,5,p=2)-relu-flatten-linear", ",") == [
        "mlp",
        "conv(8,5,p=2)-relu-flatten-linear",
    ]
    assert S.split_top_level("", ",") == [""]


def test_a_preset_name_is_its_text():
    assert S.parse("lenet") == S.parse(S.PRESETS["lenet"].text)
