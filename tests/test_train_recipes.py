"""Recipes as configs (cnnlab.train.recipes) and the demo's plan, both from the registry."""

import pytest

from cnnlab import spec as S
from cnnlab.train import TrainConfig
from cnnlab.train.demo import demo_plan_for
from cnnlab.train.recipes import config_for, recipe


@pytest.mark.parametrize("name", list(S.RECIPES))
def test_every_recipe_is_a_valid_config(name):
    config = recipe(name)
    assert isinstance(config, TrainConfig)
    assert {k: getattr(config, k) for k in S.RECIPES[name].settings if k != "epochs"} == {
        k: v for k, v in S.RECIPES[name].settings.items() if k != "epochs"
    }


def test_a_preset_brings_its_recipe():
    """cnnlab train --model fast trains exactly as --recipe fast (options given still win)."""
    assert config_for({"model": "fast"}) == recipe("fast")
    assert config_for({"model": "fast995", "epochs": 1}) == recipe("fast995").replace(epochs=1)
    assert config_for({"model": "fast", "dataset": "digits"}).dataset == "digits"
    assert config_for({"model": "lenet"}) == TrainConfig(model="lenet")  # no recipe: TrainConfig's defaults
    assert config_for({"model": "lenet"}, "fast") == recipe("fast").replace(model="lenet")


def test_recipes_that_depend_on_the_dataset():
    assert [recipe("course", dataset=d).epochs for d in ("mnist1d", "digits", "mnist")] == [30, 20, 2]
    course = recipe("course", dataset="mnist1d")
    assert (course.optimizer, course.lr, course.schedule, course.batch_size) == ("adam", 0.01, "onecycle", 100)
    with pytest.raises(ValueError, match="unknown recipe 'fastest'; valid: fast, fast995, course"):
        recipe("fastest")


def test_the_demo_plan_comes_from_the_registry():
    """The course's dense network and the CNN for the input, with the course recipe (as before the registry)."""
    plans = {shape: dict(demo_plan_for(shape, name)) for shape, name in [((1, 40), "mnist1d"), ((1, 8, 8), "digits")]}
    assert plans[(1, 40)]["cnn"] == TrainConfig(
        model="cnn1d",
        dataset="mnist1d",
        epochs=30,
        batch_size=100,
        optimizer="adam",
        lr=1e-2,
        schedule="onecycle",
        threads=1,
    )
    assert plans[(1, 8, 8)]["dnn"].model == "mlp" and plans[(1, 8, 8)]["cnn"].model == "cnn-digits"
    assert plans[(1, 8, 8)]["cnn"].epochs == 20
    mnist = dict(demo_plan_for((1, 28, 28), "mnist", small=False))
    assert (mnist["cnn"].model, mnist["cnn"].epochs, mnist["cnn"].threads) == ("cnn", 2, 0)
