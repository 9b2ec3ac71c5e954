"""Device selection and mixed precision; the GPU-only pieces are checked on CPU as far as they can be."""

import pytest
import torch
from safetensors.torch import load_file

from cnnlab import engine
from cnnlab.train import Callback, TrainConfig, fit
from cnnlab.train.checkpoint import read_checkpoint
from cnnlab.train.device import amp_dtype, pick_device
from cnnlab.train.distributed import Context, local_device, sync_batchnorm

SMALL_CNN = "conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-linear"


class Interrupt(Exception):
    pass


class InterruptAfter(Callback):
    def on_epoch_end(self, epoch, record, trainer):
        if epoch == 1:
            raise Interrupt
        return False


def test_amp_choices(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert [amp_dtype(a, cpu) for a in ("auto", "off", "bf16", "fp16")] == [None, None, torch.bfloat16, torch.float16]
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert amp_dtype("auto", cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # e.g. a V100 or T4
    assert amp_dtype("auto", cuda) == torch.float16
    assert amp_dtype("off", cuda) is None
    with pytest.raises(ValueError, match="amp must be one of auto, off, bf16, fp16, got 'fp8'"):
        TrainConfig(amp="fp8").validate()


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
