"""Device selection and mixed precision; the GPU-only pieces are checked on CPU as far as they can be."""

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from cnnlab import engine
from cnnlab.train import Callback, TrainConfig, fit
from cnnlab.train.checkpoint import read_checkpoint
from cnnlab.train.device import amp_dtype, amp_name, pick_device
from cnnlab.train.optim import make_optimizer
from cnnlab.train.distributed import Context, local_device, sync_batchnorm

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
