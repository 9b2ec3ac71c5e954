"""The trainer's behaviour: learning, exact resume, non-finite loss, checkpoints, configs."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cnnlab import engine, load
from cnnlab.train import Callback, CheckpointError, NonFiniteLossError, TrainConfig, fit
from cnnlab.train.checkpoint import load_checkpoint, save_checkpoint

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


def test_corrupted_and_foreign_checkpoints_are_refused(digits, tmp_path):
    net = engine.build(SMALL_CNN, (1, 8, 8), 10)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, net, position={"epoch": 1})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a crash mid-copy
    with pytest.raises(CheckpointError, match="corrupted or not a safetensors file"):
        load_checkpoint(path, net)
    other = engine.build("flatten-linear(10)", (1, 8, 8))
    save_checkpoint(path, other)
    with pytest.raises(CheckpointError, match="was made for another network"):
        load_checkpoint(path, net)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, tmp_path / "foreign.safetensors")
    with pytest.raises(CheckpointError, match="is not a cnnlab checkpoint"):
        load_checkpoint(tmp_path / "foreign.safetensors", net)


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    net = engine.build("flatten-linear(3)", (1, 2, 2), seed=0)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, position={"epoch": 1})
    import cnnlab.train.checkpoint as ck

    def crash(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, position={"epoch": 2})
    monkeypatch.undo()
    position, _ = load_checkpoint(path, net)
    assert position == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_load_predicts_like_the_trained_network(digits, tmp_path):
    fit(TrainConfig(model=SMALL_CNN, dataset="digits", epochs=1), dataset=digits, out=tmp_path)
    model = load(tmp_path)
    prob = model.predict_proba(digits.x_test[:5])
    assert prob.shape == (5, 10) and torch.allclose(prob.sum(1), torch.ones(5))
    results = json.loads((tmp_path / "results.json").read_text())
    acc = (model.predict_proba(digits.x_test).argmax(1) == digits.y_test).float().mean().item()
    assert acc == pytest.approx(results["test_accuracy"], abs=1e-6)


def test_config_validation_and_files(tmp_path):
    with pytest.raises(
        ValueError, match="optimizer must be one of sgd, adam, adamw, rmsprop, adagrad, adadelta, got 'adamm'"
    ):
        TrainConfig(optimizer="adamm").validate()
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="early_stopping needs a validation set"):
        TrainConfig(early_stopping=3).validate()
    (tmp_path / "c.toml").write_text('model = "mlp"\nepochs = 7\nlr = 0.01\n')
    cfg = TrainConfig.from_file(tmp_path / "c.toml", epochs=2)
    assert (cfg.model, cfg.epochs, cfg.lr) == ("mlp", 2, 0.01)
    (tmp_path / "c.json").write_text('{"modle": "mlp"}')
    with pytest.raises(ValueError, match="unknown field\\(s\\) modle"):
        TrainConfig.from_file(tmp_path / "c.json")


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
