"""Device selection and mixed precision; the GPU-only pieces are checked on CPU as far as they can be."""

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

import cnnlab
from cnnlab import engine
from cnnlab.train import Callback, TrainConfig, Trainer, fit
from cnnlab.train.checkpoint import read_checkpoint
from cnnlab.train.device import amp_dtype, amp_name, data_fits, pick_device, require_deterministic_cublas
from cnnlab.train.distributed import Context, local_device, sync_batchnorm
from cnnlab.train.environment import system_info
from cnnlab.train.optim import make_optimizer

SMALL_CNN = "conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-linear"


class Interrupt(Exception):
    pass


class InterruptAfter(Callback):
    def on_epoch_end(self, epoch, record, trainer):
        if epoch == 1:
            raise Interrupt
        return False


#: Compute capabilities of common GPUs (NVIDIA's CUDA GPU list): bfloat16 is native from 8.0 (Ampere) on.
GPUS = {
    "A100": (8, 0),
    "H100": (9, 0),
    "RTX 4090": (8, 9),
    "T4": (7, 5),
    "V100": (7, 0),
    "P100": (6, 0),
}


def fake_gpu(monkeypatch, name: str, capability: tuple[int, int]) -> None:
    """torch.cuda answers as on a machine with this GPU; torch's own is_bf16_supported runs unchanged on it."""
    props = SimpleNamespace(name=name, major=capability[0], minor=capability[1])
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: props)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    # Any CUDA GPU can create bfloat16 tensors (emulated below 8.0): what made the old default pick bf16 on a T4.
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda device: True)


@pytest.mark.parametrize(
    ("gpu", "expected"), [(g, torch.bfloat16 if c >= (8, 0) else torch.float16) for g, c in GPUS.items()]
)
def test_amp_auto_picks_bf16_only_with_native_support(monkeypatch, gpu, expected):
    fake_gpu(monkeypatch, gpu, GPUS[gpu])
    cuda = torch.device("cuda")
    assert torch.cuda.is_bf16_supported()  # emulation counts by default, even on a T4 or V100
    assert amp_dtype("auto", cuda) == expected
    assert [amp_dtype(a, cuda) for a in ("off", "bf16", "fp16")] == [None, torch.bfloat16, torch.float16]
    assert amp_dtype("auto", torch.device("cpu")) is None  # the CPU of the same machine: float32


def test_amp_choices_on_cpu_and_names():
    cpu = torch.device("cpu")
    assert [amp_dtype(a, cpu) for a in ("auto", "off", "bf16", "fp16")] == [None, None, torch.bfloat16, torch.float16]
    assert [amp_name(d) for d in (None, torch.bfloat16, torch.float16)] == ["off", "bf16", "fp16"]
    with pytest.raises(ValueError, match="amp must be one of auto, off, bf16, fp16, got 'fp8'"):
        TrainConfig(amp="fp8").validate()


def test_fp16_uses_a_fused_optimizer_on_gpus_only():
    params = list(torch.nn.Linear(2, 2).parameters())
    for name in ("sgd", "adam", "adamw"):
        assert make_optimizer(TrainConfig(optimizer=name), params, fused=True).defaults["fused"] is True
        assert not make_optimizer(TrainConfig(optimizer=name), params).defaults.get("fused")
    assert "fused" not in make_optimizer(TrainConfig(optimizer="rmsprop"), params, fused=True).defaults


def test_cuda_device_choice_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="--device cuda given but no CUDA GPU is available"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert local_device(torch.device("cuda"), Context(3, 4, 1)) == torch.device("cuda", 1)
    assert local_device(torch.device("cpu"), Context(3, 4, 1)) == torch.device("cpu")
    with pytest.raises(ValueError, match="LOCAL_RANK=2 needs a GPU of its own, but this machine has 2"):
        local_device(torch.device("cuda"), Context(2, 4, 2))


def test_sync_batchnorm_only_on_cuda_and_keeps_checkpoint_names():
    net = engine.build(SMALL_CNN, (1, 8, 8), 10, seed=0)
    names = set(net.state_dict())
    assert sync_batchnorm(net, torch.device("cpu")) is net and type(net[1]) is torch.nn.BatchNorm2d
    synced = sync_batchnorm(net, torch.device("cuda"))  # conversion itself needs no GPU
    assert type(synced[1]) is torch.nn.SyncBatchNorm and set(synced.state_dict()) == names


def test_default_amp_on_cpu_is_plain_float32(digits, tmp_path):
    cfg = TrainConfig(model=SMALL_CNN, dataset="digits", epochs=1, threads=1)
    fit(cfg, dataset=digits, out=tmp_path / "auto")
    fit(cfg.replace(amp="off"), dataset=digits, out=tmp_path / "off")
    a, b = load_file(tmp_path / "auto" / "model.safetensors"), load_file(tmp_path / "off" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_mixed_precision_follows_the_float32_learning_curve(digits):
    cfg = TrainConfig(model=SMALL_CNN, dataset="digits", epochs=3, lr=0.01, threads=1)
    reference = fit(cfg.replace(amp="off"), dataset=digits).metric("train_loss")
    assert reference[-1] < 0.2 * reference[0]
    for amp in ("bf16", "fp16"):
        # bfloat16 keeps 8 bits of mantissa, float16 11: both stay within 2 % of float32 here.
        losses = fit(cfg.replace(amp=amp), dataset=digits).metric("train_loss")
        assert (
            losses == pytest.approx(reference, rel=0.02) and losses != reference
        )  # close, yet really in low precision


def test_fp16_resume_restores_the_gradient_scaler(digits, tmp_path):
    cfg = TrainConfig(model=SMALL_CNN, dataset="digits", epochs=2, amp="fp16", threads=1)
    with pytest.raises(Interrupt):
        fit(cfg, dataset=digits, out=tmp_path / "a", callbacks=[InterruptAfter()])
    _, meta = read_checkpoint(tmp_path / "a" / "checkpoint-last.safetensors")
    assert '"scaler": {"scale": 65536.0' in meta["position"]
    fit(cfg, dataset=digits, out=tmp_path / "a", resume=tmp_path / "a")
    fit(cfg, dataset=digits, out=tmp_path / "b")
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(v.dtype == torch.float32 for k, v in a.items() if "num_batches" not in k)


class Settings(Callback):
    """Records the global determinism settings while the run trains."""

    def on_epoch_end(self, epoch, record, trainer):
        self.seen = (
            torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        )
        return False


def test_deterministic_sets_cudnn_and_cublas_for_the_run_only(digits, monkeypatch):
    cfg = TrainConfig(model=SMALL_CNN, dataset="digits", epochs=1, threads=1, train_subset=256)
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)  # as a user may have set it
    spy = Settings()
    fit(cfg, dataset=digits, callbacks=[spy])
    assert spy.seen == (False, False, True)  # off: nothing touched
    fit(cfg.replace(deterministic=True), dataset=digits, callbacks=[spy])
    assert spy.seen == (True, True, False)  # deterministic kernels only, no timing-based algorithm choice
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic) == before
    assert torch.backends.cudnn.benchmark is True  # restored after the run
    with pytest.raises(ValueError, match="deterministic must be true or false, got 'yes'"):
        TrainConfig(deterministic="yes").validate()


def test_deterministic_cublas_config_is_set_before_cuda_starts(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    require_deterministic_cublas(torch.device("cpu"))
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ  # nothing to do without a GPU
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    require_deterministic_cublas(torch.device("cuda"))
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)  # too late: cuBLAS has read it already
    with pytest.raises(ValueError, match="needs CUBLAS_WORKSPACE_CONFIG=:4096:8 before CUDA starts"):
        require_deterministic_cublas(torch.device("cuda"))
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # the other value NVIDIA documents
    require_deterministic_cublas(torch.device("cuda"))


def test_data_lives_on_the_gpu_when_it_fits(monkeypatch, digits):
    mnist_bytes = (60_000 + 10_000) * 28 * 28 * 4 + 70_000 * 8
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (15 * 2**30, 16 * 2**30))  # a free T4
    assert data_fits(mnist_bytes, cuda)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (300 * 2**20, 16 * 2**30))  # nearly full
    assert not data_fits(mnist_bytes, cuda) and not data_fits(1, torch.device("cpu"))
    trainer = Trainer(TrainConfig(model="logreg", dataset="digits", epochs=1), digits, log=None)
    assert trainer.data_device == torch.device("cpu") and trainer.x_train.device.type == "cpu"
    assert trainer.sync_every == 1  # on a CPU a read-back costs nothing: every step


def test_run_folder_and_results_record_the_system(digits, tmp_path):
    history = fit(
        TrainConfig(model="logreg", dataset="digits", epochs=1, threads=1, deterministic=True),
        dataset=digits,
        out=tmp_path,
    )
    system = json.loads((tmp_path / "results.json").read_text())["system"]
    assert system == history.final["system"] == json.loads((tmp_path / "config.json").read_text())["system"]
    assert system["device"] == "cpu" and system["compute_capability"] is None and system["amp"] == "off"
    assert system["deterministic"] is True and system["data_device"] == "cpu" and system["world_size"] == 1
    assert system["threads"] == 1 and system["torch"] == torch.__version__ and system["cuda"] == torch.version.cuda
    assert system["dtype"] == "float32" and system["device_name"]


def test_system_names_the_gpu(monkeypatch):
    fake_gpu(monkeypatch, "Tesla T4", GPUS["T4"])
    info = system_info(torch.device("cuda"), amp=amp_name(amp_dtype("auto", torch.device("cuda"))))
    assert (info["device"], info["device_name"], info["compute_capability"], info["amp"]) == (
        "cuda:0",
        "Tesla T4",
        "7.5",
        "fp16",
    )


def test_cli_deterministic_flag_reaches_the_run_folder(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(cnnlab.__file__).resolve().parents[1]))
    command = ["cnnlab", "train", "--model", "logreg", "--epochs", "1", "--deterministic", "--out", str(run), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "config.json").read_text())["deterministic"] is True
    assert json.loads(done.stdout.splitlines()[-1])["system"]["deterministic"] is True
