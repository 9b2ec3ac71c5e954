"""Named training recipes as configs: the registry's values (:mod:`cnnlab.spec.presets`) made a TrainConfig.

``cnnlab train --recipe fast`` starts from :func:`recipe`; ``cnnlab train --model fast`` does too,
because the ``fast`` preset carries its recipe (:func:`config_for`). Any option given on the
command line overrides the recipe's values.

Example:
    >>> recipe("fast").model, recipe("fast").optimizer
    ('fast', 'sgd')
    >>> recipe("course", dataset="mnist1d").epochs, recipe("course", dataset="mnist").epochs
    (30, 2)
    >>> config_for({"model": "fast", "epochs": 2}) == recipe("fast").replace(epochs=2)
    True
"""

from __future__ import annotations

from collections.abc import Mapping

from cnnlab.spec.presets import RECIPES, recipe_for_model
from cnnlab.train.config import TrainConfig

__all__ = ["config_for", "recipe"]


def recipe(name: str, dataset: str | None = None) -> TrainConfig:
    """The recipe's config, validated, for ``dataset`` (default: the recipe's own, else TrainConfig's).

    A recipe whose length depends on the data (``epochs_by_dataset``) gets that dataset's epochs.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}")
    entry = RECIPES[name]
    config = TrainConfig.from_dict(dict(entry.settings), source=f"recipe {name!r}")
    dataset = config.dataset if dataset is None else dataset
    return config.replace(dataset=dataset, epochs=entry.epochs_by_dataset.get(dataset, config.epochs)).validate()


def config_for(overrides: Mapping[str, object], recipe_name: str | None = None) -> TrainConfig:
    """The config of ``cnnlab train``: a recipe (given, or the one the ``model`` preset carries), then overrides.

    Args:
        overrides: config fields given explicitly (on the command line); they win over the recipe.
        recipe_name: ``--recipe``; when None, a ``model`` preset that carries a recipe supplies it,
            so that ``--model fast`` trains as ``--recipe fast`` does.
    """
    model, dataset = overrides.get("model"), overrides.get("dataset")
    name = recipe_name if recipe_name is not None else recipe_for_model(model if isinstance(model, str) else None)
    base = recipe(name, dataset if isinstance(dataset, str) else None) if name is not None else TrainConfig()
    return base.replace(**overrides)
