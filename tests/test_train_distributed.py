"""Data-parallel training: two CPU processes (gloo) take the same steps as one process with the same global batch."""

import json
import os
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import cnnlab
from cnnlab.cli.main import main
from cnnlab.data import load_dataset
from cnnlab.train import Callback, TrainConfig, distributed, fit
from cnnlab.train.distributed import Context, check_batch_size, check_last_batch, env_context, shard
from cnnlab.train.recipes import recipe

# No BatchNorm (SyncBatchNorm exists only on GPUs, so on CPU each rank would use its own slice's
# statistics) and no dropout (masks are drawn per rank): with these, DDP must reproduce one process.
# digits has 1437 training examples: with batch 64 the last batch (29) splits 15 + 14, unevenly.
CONFIG = TrainConfig(
    model="conv(4,3,p=1)-relu-maxpool(2)-flatten-linear",
    dataset="digits",
    epochs=1,
    batch_size=64,
    augment_shift=1,
    threads=1,
)

WORKER = """\
import os, sys
from cnnlab.cli.main import main
# Each rank names its own run folder: only rank 0's may appear.
sys.exit(main(["train", "--config", sys.argv[1], "--out", os.path.join(sys.argv[2], "rank" + os.environ["RANK"]), "--json"]))
"""


@pytest.fixture
def child_env(monkeypatch):
    """Processes started by torchrun import this checkout's cnnlab."""
    src = str(Path(cnnlab.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)


def test_shards_tile_the_global_batch_in_order():
    assert [shard(5, Context(r, 2)) for r in range(2)] == [slice(0, 3), slice(3, 5)]
    assert [shard(64, Context(r, 4)) for r in range(4)] == [slice(0, 16), slice(16, 32), slice(32, 48), slice(48, 64)]
    for n in range(1, 40):
        for world in range(1, 6):
            parts = [range(n)[shard(n, Context(r, world))] for r in range(world)]
            assert [i for p in parts for i in p] == list(range(n))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_batch_size_rules_name_the_numbers():
    check_batch_size(64, 4)
    with pytest.raises(ValueError, match=r"batch_size must be divisible .*: 64 % 3 = 1; choose batch_size=63 or 66"):
        check_batch_size(64, 3)
    with pytest.raises(ValueError, match=r"1 % 2 = 1; choose batch_size=2$"):
        check_batch_size(1, 2)
    check_last_batch(1437, 64, 2)  # last batch of 29
    with pytest.raises(
        ValueError, match=r"last batch of each epoch has 1 example\(s\) \(129 % 64\), fewer than the 2 processes"
    ):
        check_last_batch(129, 64, 2)


def test_environment_is_read_and_checked(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert env_context() == Context(0, 1, 0)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert env_context() == Context(1, 2, 1, launched=True) and not env_context().is_main
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert env_context().enabled  # torchrun --nproc-per-node 1: data-parallel with one process
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="need 0 <= RANK < WORLD_SIZE, got RANK=2, WORLD_SIZE=2"):
        env_context()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK must be a non-negative integer .* got 'x'"):
        env_context()


def test_cli_checks_before_starting_processes(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert main(["train", "--nproc", "3", "--batch-size", "64", "--out", str(tmp_path / "a")]) == 2
    assert "64 % 3 = 1; choose batch_size=63 or 66" in capsys.readouterr().err
    assert main(["train", "--nproc", "0", "--out", str(tmp_path / "a")]) == 2
    assert "nproc must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    # Under torchrun every process must be told the same run folder, and --nproc makes no sense.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--epochs", "1"]) == 2
    assert "--out is required under torchrun" in capsys.readouterr().err
    assert main(["train", "--nproc", "2", "--out", str(tmp_path / "b")]) == 2
    assert "already runs under torchrun" in capsys.readouterr().err
    # Every rank makes the same mistake; only rank 0 says so (the message once, not once per process).
    monkeypatch.setenv("RANK", "1")
    assert main(["train", "--epochs", "1"]) == 2
    assert capsys.readouterr().err == ""


def test_nproc_hands_the_resolved_config_to_torchrun(tmp_path, monkeypatch):
    seen = {}

    def fake_launch(args, nproc):
        config = Path(args[args.index("--config") + 1])
        seen.update(args=list(args), nproc=nproc, config=json.loads(config.read_text()))
        return 3

    monkeypatch.setattr(distributed, "launch", fake_launch)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    code = main(
        [
            "train",
            "--recipe",
            "fast",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--nproc",
            "2",
            "--out",
            str(tmp_path / "run"),
            "--json",
        ]
    )
    assert code == 3  # torchrun's exit code is the command's
    assert seen["nproc"] == 2
    assert seen["args"][:4] == ["-m", "cnnlab.cli.main", "train", "--json"]
    assert seen["args"][-2:] == ["--out", str(tmp_path / "run")]
    assert seen["config"] == recipe("fast").replace(dataset="digits", epochs=1, batch_size=32).to_dict()


def _max_diff(a: Path, b: Path) -> float:
    x, y = load_file(a), load_file(b)
    assert x.keys() == y.keys()
    return max((x[k] - y[k]).abs().max().item() for k in x)


@pytest.mark.slow
def test_two_processes_match_one_and_resume(tmp_path, capfd, child_env):
    digits = load_dataset("digits")
    torch.set_num_threads(1)
    one = fit(CONFIG, dataset=digits, out=tmp_path / "one")
    two_epochs = fit(CONFIG.replace(epochs=2), dataset=digits, out=tmp_path / "one-2")
    capfd.readouterr()

    # 1) 2 processes under torchrun, each running the CLI as --nproc's children do.
    (tmp_path / "config.json").write_text(json.dumps(CONFIG.to_dict()))
    (tmp_path / "worker.py").write_text(WORKER)
    assert (
        distributed.launch([str(tmp_path / "worker.py"), str(tmp_path / "config.json"), str(tmp_path / "ddp")], 2) == 0
    )
    out, err = capfd.readouterr()
    assert len(re.findall(r"^epoch +1/1", err, re.M)) == 1  # rank 0 alone logs (to stderr with --json)
    assert len(out.strip().splitlines()) == 1 and json.loads(out)["epochs"] == 1
    assert not (tmp_path / "ddp" / "rank1").exists()  # rank 1 writes nothing
    run = tmp_path / "ddp" / "rank0"
    assert {"config.json", "metrics.jsonl", "model.safetensors", "checkpoint-last.safetensors", "results.json"} <= {
        p.name for p in run.iterdir()
    }
    assert _max_diff(run / "model.safetensors", tmp_path / "one" / "model.safetensors") < 1e-5
    ddp_record = json.loads((run / "metrics.jsonl").read_text())
    assert ddp_record["train_loss"] == pytest.approx(one.epochs[0]["train_loss"], rel=1e-5)
    assert ddp_record["train_accuracy"] == one.epochs[0]["train_accuracy"]

    # 2) cnnlab train --nproc 2 --resume: one more epoch equals two uninterrupted single-process epochs.
    assert main(["train", "--resume", str(run), "--epochs", "2", "--nproc", "2", "--json"]) == 0
    out = capfd.readouterr().out
    assert json.loads(out.strip().splitlines()[-1])["epochs"] == 2
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    assert _max_diff(run / "model.safetensors", tmp_path / "one-2" / "model.safetensors") < 1e-5
    assert json.loads((run / "results.json").read_text())["test_accuracy"] == pytest.approx(
        two_epochs.final["test_accuracy"], abs=1 / 360
    )  # 360 test images: at most one flips


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_one_process_under_torchrun_trains_data_parallel_and_resumes(tmp_path, monkeypatch, digits):
    """torchrun --nproc-per-node 1 (forced DDP, gloo here, NCCL on a GPU): the DDP path with its once-per-interval sums."""
    torch.set_num_threads(1)
    plain = fit(CONFIG.replace(epochs=2), dataset=digits, out=tmp_path / "plain")
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}.items():
        monkeypatch.setenv(name, value)
    seen = {}

    class Spy(Callback):
        def on_epoch_end(self, epoch, record, trainer):
            seen.update(kind=type(trainer).__name__, world=trainer.system["world_size"])
            return False

    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    ddp = fit(CONFIG.replace(epochs=2), dataset=digits, out=tmp_path / "ddp", callbacks=[Spy()])
    assert seen == {"kind": "DistributedTrainer", "world": 1}
    # One process: the same steps, but the loss is a scaled sum instead of a mean (rounding differs).
    assert _max_diff(tmp_path / "ddp" / "model.safetensors", tmp_path / "plain" / "model.safetensors") < 1e-5
    assert ddp.metric("train_loss") == pytest.approx(plain.metric("train_loss"), rel=1e-6)
    assert ddp.metric("train_accuracy") == plain.metric("train_accuracy")

    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    fit(CONFIG, dataset=digits, out=tmp_path / "resumed")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    fit(CONFIG.replace(epochs=2), dataset=digits, out=tmp_path / "resumed", resume=tmp_path / "resumed")
    a, b = load_file(tmp_path / "resumed" / "model.safetensors"), load_file(tmp_path / "ddp" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)  # resume == uninterrupted, bit for bit
