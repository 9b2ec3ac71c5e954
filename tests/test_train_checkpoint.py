"""Checkpoints: refused when corrupted, foreign or for another network; a failed write keeps the old one."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from cnnlab import engine
from cnnlab.train import CheckpointError
from cnnlab.train.checkpoint import load_checkpoint, save_checkpoint

SMALL_CNN = "conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-dropout(0.2)-linear"


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
    save_file({"x": torch.zeros(1)}, tmp_path / "foreign.safetensors")
    with pytest.raises(CheckpointError, match="is not a cnnlab checkpoint"):
        load_checkpoint(tmp_path / "foreign.safetensors", net)


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    net = engine.build("flatten-linear(3)", (1, 2, 2), seed=0)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, position={"epoch": 1})
    import cnnlab.train.checkpoint as ck
    from cnnlab.io import atomic_write

    def crash(filename):
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "disk full")

    monkeypatch.setattr(ck, "atomic_write_bytes", lambda target, data: atomic_write(target, crash))
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, position={"epoch": 2})
    monkeypatch.undo()
    position, _ = load_checkpoint(path, net)
    assert position == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_resuming_with_another_optimizer_is_refused(tmp_path):
    net = engine.build(SMALL_CNN, (1, 8, 8), 10)
    adam = torch.optim.Adam(net.parameters())
    net(torch.zeros(2, 1, 8, 8)).sum().backward()
    adam.step()
    save_checkpoint(tmp_path / "ckpt.safetensors", net, adam)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match="holds the state of optimizer Adam, but this run uses SGD"):
        load_checkpoint(tmp_path / "ckpt.safetensors", net, sgd)
