"""Shape analysis: propagation through the layers, classes filled in, errors that name the layer."""

import pytest

from cnnlab import spec as S


def test_linear_without_size_takes_the_number_of_classes():
    assert S.to_text(S.resolve("mlp", num_classes=2)).endswith("linear(2)")
    with pytest.raises(S.SpecError, match="out_features not set"):
        S.analyze("flatten-linear", (1, 4, 4))


@pytest.mark.parametrize(
    "text, shape, match",
    [
        (
            "conv(16,5,s=2)",
            (1, 28, 28),
            r"layer 0 'conv\(16,5,s=2\)' on input 1x28x28: \(W - F \+ 2P\)/S = \(28 - 5 \+ 2\*0\)/2 = 11.5 is not an integer",
        ),
        ("conv(8,3)-maxpool(2)", (1, 7, 7), r"layer 1 'maxpool\(2\)' on input 8x5x5: .* = 1.5 is not an integer"),
        ("conv(8,9)", (1, 5, 5), r"layer 0 'conv\(8,9\)' on input 1x5x5: filter wider than the padded input"),
        (
            "conv(8,3)-linear(10)",
            (1, 5, 5),
            r"layer 1 'linear\(10\)' on input 8x3x3: linear needs a flat input.*insert 'flatten'",
        ),
        (
            "flatten-conv(3,3)",
            (1, 5, 5),
            r"layer 1 'conv\(3,3\)' on input 25: conv needs a \(C, W\) or \(C, H, W\) input",
        ),
        ("conv(4,3,p=3,mode=reflect)", (1, 3, 3), r"reflect padding must be smaller than the input"),
    ],
)
def test_shape_errors_name_the_layer(text, shape, match):
    with pytest.raises(S.SpecError, match=match):
        S.analyze(text, shape)
