"""The fit loop's behaviour: learning, exact resume, non-finite loss, early stopping, callbacks, a prebuilt net."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from cnnlab import engine
from cnnlab.train import Callback, NonFiniteLossError, TrainConfig, Trainer, fit

SMALL_CNN = "conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-dropout(0.2)-linear"


class Interrupt(Exception):
    pass


class InterruptAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, record, trainer):
        if epoch == self.epoch:
            raise Interrupt
        return False


def test_loss_decreases_and_run_folder_is_complete(digits, tmp_path):
    history = fit(TrainConfig(model=SMALL_CNN, dataset="digits", epochs=3, val_split=0.1), dataset=digits, out=tmp_path)
    losses = history.metric("train_loss")
    assert losses[-1] < losses[0] * 0.7
    assert history.final["test_accuracy"] > 0.85
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "config.json",
        "metrics.jsonl",
        "model.safetensors",
        "checkpoint-last.safetensors",
        "checkpoint-best.safetensors",
        "results.json",
        "learning_curve.png",
    } <= names
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["spec"] == SMALL_CNN.replace("linear", "linear(10)") and config["input_shape"] == [1, 8, 8]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert {"val_loss", "test_accuracy"} <= set(json.loads(lines[-1]))
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(digits, tmp_path):
    cfg = TrainConfig(model=SMALL_CNN, dataset="digits", epochs=3, augment_shift=1, threads=1)
    with pytest.raises(Interrupt):
        fit(cfg, dataset=digits, out=tmp_path / "a", callbacks=[InterruptAfter(2)])
    assert not (tmp_path / "a" / "model.safetensors").exists()
    resumed = fit(cfg, dataset=digits, out=tmp_path / "a", resume=tmp_path / "a")
    straight = fit(cfg, dataset=digits, out=tmp_path / "b")
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metric("train_loss") == straight.metric("train_loss")
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == 3


def test_nan_loss_stops_with_epoch_and_step(digits):
    cfg = TrainConfig(model="flatten-linear", dataset="digits", epochs=2, optimizer="sgd", lr=1e37, momentum=0.0)
    with pytest.raises(
        NonFiniteLossError, match=r"loss became (nan|inf) at epoch 1, step \d+; lower the learning rate"
    ):
        fit(cfg, dataset=digits)


def test_early_stopping_stops(digits):
    cfg = TrainConfig(
        model="flatten-linear", dataset="digits", epochs=40, lr=0.5, optimizer="sgd", val_split=0.2, early_stopping=1
    )
    history = fit(cfg, dataset=digits)
    assert history.stopped_early is not None and history.stopped_early < 40
    assert len(history.epochs) == history.stopped_early


@pytest.mark.parametrize(
    "optimizer, lr",
    [("sgd", 0.1), ("adam", 0.01), ("adamw", 0.01), ("rmsprop", 0.01), ("adagrad", 0.1), ("adadelta", 1.0)],
)
def test_every_optimizer_learns(digits, optimizer, lr):
    history = fit(
        TrainConfig(model="flatten-linear", dataset="digits", epochs=3, optimizer=optimizer, lr=lr, schedule="cosine"),
        dataset=digits,
    )
    assert math.isfinite(history.final["test_loss"]) and history.final["test_accuracy"] > 0.8


class StopAfter(Callback):
    """Sees every epoch's record and stops training after ``epoch``."""

    def __init__(self, epoch):
        self.epoch, self.records = epoch, []

    def on_epoch_end(self, epoch, record, trainer):
        self.records.append(dict(record))
        return epoch >= self.epoch


def test_a_callback_sees_each_record_and_can_stop(digits):
    stop = StopAfter(2)
    history = fit(TrainConfig(model="flatten-linear", dataset="digits", epochs=5), dataset=digits, callbacks=[stop])
    assert [r["epoch"] for r in stop.records] == [1, 2] and history.stopped_early == 2
    assert stop.records == history.epochs and "test_accuracy" in stop.records[-1]


class FlipSymmetric(nn.Module):
    """A prebuilt module that is not an engine network: f(x) and f(-x) averaged."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return 0.5 * (self.net(x) + self.net(-x))


def test_a_prebuilt_net_is_trained_instead_of_config_model(digits, tmp_path):
    cfg = TrainConfig(model="flatten-linear", dataset="digits", epochs=2, lr=0.05)
    inner = engine.build("flatten-linear(32)-relu-linear(10)", (1, 8, 8), seed=0)
    before = inner[1].weight.detach().clone()
    history = fit(cfg, dataset=digits, net=FlipSymmetric(inner))
    assert not torch.equal(inner[1].weight, before)  # the given module was trained, in place
    assert history.final["params"] == sum(p.numel() for p in inner.parameters())
    assert history.final["model"] == "flatten-linear"  # not an engine network: the config names it
    x = digits.x_test[:4]
    assert torch.allclose(inner(x) + inner(-x), 2 * FlipSymmetric(inner)(x))
    # An engine network given as net trains exactly as the one fit would build.
    built = fit(cfg, dataset=digits)
    given = fit(cfg, dataset=digits, net=engine.build("flatten-linear", (1, 8, 8), 10, seed=cfg.seed))
    assert built.metric("train_loss") == given.metric("train_loss")
    with pytest.raises(TypeError, match="net must be a cnnlab.engine.Network when a run folder is written"):
        fit(cfg, dataset=digits, out=tmp_path, net=FlipSymmetric(inner))


def test_the_setup_steps_run_in_order(digits):
    trainer = Trainer(TrainConfig(model="logreg", dataset="digits", epochs=1, val_split=0.1), digits, log=None)
    assert (len(trainer.y_train), len(trainer.y_val)) == (1293, 144)
    assert trainer.loss_model is trainer.net and trainer.train_model is trainer.net  # one process: no wrapper
    assert trainer.callbacks == [] and trainer.steps_per_epoch == math.ceil(1293 / 64)
    assert trainer.is_main and not trainer.scaler.is_enabled() and trainer.amp_dtype is None
