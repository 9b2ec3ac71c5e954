"""Layer specs: parsing, text round trip, shape analysis and its error messages; the engine built from them."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import engine
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


def test_conv_is_1d_or_2d_by_input_rank():
    rows = S.analyze("conv(4,3,p=1)-maxpool(2)-flatten-linear(3)", (2, 10))
    assert rows[0].out_shape == (4, 10) and rows[1].out_shape == (4, 5) and rows[2].out_shape == (20,)
    assert rows[0].params == 4 * (2 * 3 + 1)


def test_presets_build_and_match_their_descriptions():
    counts = {
        name: sum(i.params for i in S.analyze(name, p.input_shape, num_classes=10)) for name, p in S.PRESETS.items()
    }
    assert counts["mlp"] == 784 * 400 + 400 + 400 * 100 + 100 + 100 * 10 + 10  # 784-400-100-10
    assert counts["mlp300"] == 784 * 300 + 300 + 300 * 100 + 100 + 1010
    assert counts["lenet"] == 61706
    assert counts["lecture"] == 56 + 2 * 2 * 2 * 10 + 10
    assert S.analyze("lecture", (3, 6, 6), 10)[0].out_shape == (2, 4, 4)


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


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 3),
    h=st.integers(6, 20),
    out=st.integers(1, 6),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    mode=st.sampled_from(["zeros", "circular", "reflect"]),
)
def test_engine_output_shape_is_what_the_spec_says(c, h, out, k, s, p, mode):
    text = f"conv({out},{k},s={s},p={p},mode={mode})-relu-flatten-linear(3)"
    try:
        rows = S.analyze(text, (c, h, h))
    except S.SpecError:
        return  # the spec refuses shapes that do not tile exactly; tested above
    net = engine.build(text, (c, h, h))
    feats = net.features(torch.zeros(2, c, h, h))
    assert [tuple(f.shape[1:]) for f in feats] == [r.out_shape for r in rows]
    assert net.num_params == sum(r.params for r in rows)


def test_engine_checks_its_input_and_is_seeded():
    net = engine.build("lenet", (1, 28, 28), num_classes=10, seed=3)
    same = engine.build("lenet", (1, 28, 28), num_classes=10, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))
    with pytest.raises(
        ValueError, match=r"input must have shape \(N, 1, 28, 28\) for this network, got \(2, 1, 32, 32\)"
    ):
        net(torch.zeros(2, 1, 32, 32))


def test_engine_numpy_state_round_trip():
    net = engine.build("conv(4,3,p=1)-bn-relu-gap-linear(2)", (1, 6, 6), seed=0)
    state = engine.to_numpy_state(net)
    other = engine.build("conv(4,3,p=1)-bn-relu-gap-linear(2)", (1, 6, 6), seed=1)
    engine.load_numpy_state(other, state)
    x = torch.randn(3, 1, 6, 6)
    net.eval(), other.eval()
    assert torch.equal(net(x), other(x))
    with pytest.raises(ValueError, match=r"0.weight: shape \(1,\) does not match"):
        engine.load_numpy_state(other, state | {"0.weight": state["0.weight"].ravel()[:1]})
