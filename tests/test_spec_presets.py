"""The registry of named networks and recipes (cnnlab.spec.presets)."""

import pytest

from cnnlab import spec as S
from cnnlab.train.recipes import recipe


def test_presets_build_and_match_their_descriptions():
    counts = {
        name: sum(i.params for i in S.analyze(name, p.input_shape, num_classes=10)) for name, p in S.PRESETS.items()
    }
    assert counts["mlp"] == 784 * 400 + 400 + 400 * 100 + 100 + 100 * 10 + 10  # 784-400-100-10
    assert counts["mlp300"] == 784 * 300 + 300 + 300 * 100 + 100 + 1010
    assert counts["lenet"] == 61706
    assert counts["lecture"] == 56 + 2 * 2 * 2 * 10 + 10
    assert S.analyze("lecture", (3, 6, 6), 10)[0].out_shape == (2, 4, 4)


@pytest.mark.parametrize("name", list(S.PRESETS))
def test_every_preset_fits_its_input(name):
    preset = S.PRESETS[name]
    rows = S.analyze(name, preset.input_shape, num_classes=10)
    assert rows[-1].out_shape == (10,)
    assert preset.recipe is None or preset.recipe in S.RECIPES


def test_names_by_input_rank():
    assert S.for_input("cnn", (1, 40)) == "cnn1d" and S.for_input("cnn", (1, 28, 28)) == "cnn"
    assert S.for_input("mlp", (1, 40)) == "mlp" and S.for_input("conv(4,3)-relu", (1, 40)) == "conv(4,3)-relu"


def test_the_names_other_parts_use():
    """The web page trains LeNet, the visualiser ships mlp300 and lenet, physics classifies with ising-cnn."""
    assert recipe("page").model == "lenet" and recipe("visualiser").dataset == "mnist"
    assert S.to_text(S.resolve("mlp300", 10)) == "flatten-linear(300)-relu-linear(100)-relu-linear(10)"
    assert S.PRESETS["ising-cnn"].text == (
        "conv(8,3,p=1,mode=circular)-relu-maxpool(2)-conv(8,3,p=1,mode=circular)-relu-gap-linear(16)-relu-linear"
    )
    assert sum(row.params for row in S.analyze("ising-cnn", (1, 16, 16), num_classes=2)) == 842
