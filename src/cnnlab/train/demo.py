"""The main job's plan: which dense network and which CNN to train on which dataset, and how long.

Example:
    >>> [(label, cfg.model) for label, cfg in demo_plan_for((1, 40), "mnist1d")]
    [('dnn', 'mlp'), ('cnn', 'cnn1d')]
"""

from __future__ import annotations

from cnnlab.train.config import TrainConfig

# Epochs chosen so that the whole demo runs in well under a minute on a 2-core CPU.
_EPOCHS = {"mnist1d": 30, "digits": 20}


def demo_plan_for(
    input_shape: tuple[int, ...], dataset: str, epochs: int | None = None, small: bool = True
) -> list[tuple[str, TrainConfig]]:
    """(label, config) for the course's dense network and a CNN suited to the input shape."""
    n = epochs or _EPOCHS.get(dataset, 2)
    if len(input_shape) == 2:  # 1-D signals (MNIST-1D)
        cnn = "cnn1d"
    elif input_shape[-1] < 16:  # scikit-learn's 8x8 digits: two small convs, one pool
        cnn = "conv(16,3,p=1)-relu-conv(32,3,p=1)-relu-maxpool(2)-flatten-linear(64)-relu-linear"
    else:
        cnn = "cnn"
    # Adam with a one-cycle schedule at lr 1e-2 reproduces MNIST-1D's published numbers (MLP ~68 %, CNN ~94 %).
    # On the small embedded datasets the models are so small that a second thread costs more in
    # synchronisation than it gains (x5 slower on a busy 2-core machine); MNIST-size data uses them all.
    common = dict(
        dataset=dataset,
        epochs=n,
        batch_size=100,
        optimizer="adam",
        lr=1e-2,
        schedule="onecycle",
        threads=1 if small else 0,
    )
    return [("dnn", TrainConfig(model="mlp", **common)), ("cnn", TrainConfig(model=cnn, **common))]


def demo_plan(data, epochs: int | None = None) -> list[tuple[str, TrainConfig]]:
    """:func:`demo_plan_for` on a loaded dataset."""
    return demo_plan_for(data.input_shape, data.name, epochs, small=len(data.y_train) <= 10_000)
