"""The main job's plan: which dense network and which CNN to train on which dataset, and how long.

Both come from the registry (:mod:`cnnlab.spec.presets`): the course's dense network ``mlp``, the
CNN that suits the input (``cnn1d`` on 1-D signals, ``cnn-digits`` on 8x8 images, else ``cnn``),
trained with the ``course`` recipe (30 epochs on MNIST-1D, 20 on digits, 2 on MNIST-size data).

Example:
    >>> [(label, cfg.model) for label, cfg in demo_plan_for((1, 40), "mnist1d")]
    [('dnn', 'mlp'), ('cnn', 'cnn1d')]
"""

from __future__ import annotations

from cnnlab.spec.presets import for_input
from cnnlab.train.config import TrainConfig
from cnnlab.train.recipes import recipe


def demo_cnn(input_shape: tuple[int, ...]) -> str:
    """The CNN preset for an input shape.

    Example:
        >>> demo_cnn((1, 40)), demo_cnn((1, 8, 8)), demo_cnn((1, 28, 28))
        ('cnn1d', 'cnn-digits', 'cnn')
    """
    if len(input_shape) == 3 and input_shape[-1] < 16:  # scikit-learn's 8x8 digits: two small convs, one pool
        return "cnn-digits"
    return for_input("cnn", input_shape)


def demo_plan_for(
    input_shape: tuple[int, ...], dataset: str, epochs: int | None = None, small: bool = True
) -> list[tuple[str, TrainConfig]]:
    """(label, config) for the course's dense network and a CNN suited to the input shape."""
    base = recipe("course", dataset=dataset)
    # On the small embedded datasets the models are so small that a second thread costs more in
    # synchronisation than it gains (x5 slower on a busy 2-core machine); MNIST-size data uses them all.
    base = base.replace(epochs=epochs or base.epochs, threads=1 if small else 0)
    return [("dnn", base.replace(model="mlp")), ("cnn", base.replace(model=demo_cnn(input_shape)))]


def demo_plan(data, epochs: int | None = None) -> list[tuple[str, TrainConfig]]:
    """:func:`demo_plan_for` on a loaded dataset."""
    return demo_plan_for(data.input_shape, data.name, epochs, small=len(data.y_train) <= 10_000)
