"""Export to ONNX and TorchScript: the files reproduce PyTorch's outputs; bad requests fail clearly."""

import json
import shutil
import sys
import warnings

import numpy as np
import onnxruntime
import pytest
import torch

import cnnlab
from cnnlab import export as export_module
from cnnlab.cli.main import main
from cnnlab.data import load_dataset
from cnnlab.export import ExportCheckError, export
from cnnlab.train import CheckpointError, TrainConfig, fit

# Every kind of layer whose export could differ: conv, BatchNorm (folded at eval), pooling,
# dropout (identity at eval) and a final softmax (dropped: the file returns logits).
SPEC = "conv(6,3,p=1)-bn-relu-maxpool(2)-conv(8,3)-relu-flatten-dropout(0.3)-linear-softmax"


@pytest.fixture(scope="module")
def run(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fit(TrainConfig(model=SPEC, dataset="digits", epochs=1, threads=1), dataset=digits, out=out)
    return out


def test_onnx_matches_pytorch_on_the_test_set(run, digits, tmp_path):
    result = export(run, "onnx", out=tmp_path / "digits.onnx", inputs=digits.x_test[:64])
    assert result.path == tmp_path / "digits.onnx" and result.examples == 64 and result.max_abs_diff < 1e-4
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    meta = json.loads(session.get_modelmeta().custom_metadata_map["cnnlab"])
    assert meta["classes"] == [str(i) for i in range(10)] and meta["input_shape"] == [1, 8, 8]
    # All 360 test images, raw pixels in, against cnnlab.load's probabilities.
    (logits,) = session.run(["logits"], {"input": digits.x_test.numpy()})
    expected = cnnlab.load(run).predict_proba(digits.x_test)
    np.testing.assert_allclose(torch.from_numpy(logits).softmax(-1).numpy(), expected.numpy(), atol=1e-5)
    accuracy = (logits.argmax(1) == digits.y_test.numpy()).mean()
    assert accuracy == pytest.approx(json.loads((run / "results.json").read_text())["test_accuracy"], abs=1e-6)


def test_torchscript_matches_pytorch(run, digits):
    result = export(run, "torchscript", inputs=digits.x_test[:32])
    assert result.path == run / "model.torchscript.pt" and result.max_abs_diff < 1e-5
    extra = {"cnnlab.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 deprecates TorchScript
        loaded = torch.jit.load(str(result.path), _extra_files=extra)
    assert json.loads(extra["cnnlab.json"])["output"] == "logits"
    expected = cnnlab.load(run).predict_proba(digits.x_test[100:107])
    torch.testing.assert_close(loaded(digits.x_test[100:107]).softmax(-1), expected, atol=1e-6, rtol=0)


def test_one_dimensional_networks_export(tmp_path):
    data = load_dataset("mnist1d")
    fit(
        TrainConfig(
            model="conv(4,5,p=2)-relu-maxpool(2)-flatten-linear",
            dataset="mnist1d",
            epochs=1,
            train_subset=256,
            threads=1,
        ),
        dataset=data,
        out=tmp_path,
    )
    result = export(tmp_path, "onnx", inputs=data.x_test[:20])
    assert result.max_abs_diff < 1e-4


def test_cli_export_json_and_text(run, tmp_path, capsys):
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == str(tmp_path / "m.onnx") and report["max_abs_diff"] < 1e-4 and report["examples"] == 16
    assert main(["export", str(run), "-f", "torchscript", "--out", str(tmp_path / "m.pt")]) == 0
    assert "torch.jit.load vs PyTorch on 16 inputs: max |difference|" in capsys.readouterr().out


def test_bad_requests_fail_clearly(run, tmp_path, capsys, monkeypatch):
    with pytest.raises(ValueError, match="format must be one of onnx, torchscript, got 'tflite'"):
        export(run, "tflite")
    assert main(["export", str(run), "--format", "tflite"]) == 2
    assert "format must be one of onnx, torchscript, web, got 'tflite'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"inputs must have shape \(N, 1, 8, 8\) with N >= 2, got \(3, 64\)"):
        export(run, "onnx", inputs=torch.zeros(3, 64))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(
        ModuleNotFoundError, match="ONNX export needs the onnxruntime package: pip install onnx onnxruntime"
    ):
        export(run, "onnx")
    assert main(["export", str(run)]) == 2
    assert "pip install onnx onnxruntime" in capsys.readouterr().err


def test_corrupted_run_folders_are_refused(run, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a cnnlab run folder"):
        export(tmp_path, "onnx")
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupted or not a safetensors file"):
        export(broken, "onnx")
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        export(broken, "torchscript")
    assert not list(broken.glob("model.onnx")) and not list(broken.glob("*.tmp"))


def test_a_file_that_disagrees_is_not_kept(run, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "_run_onnx", lambda path, inputs: torch.zeros(len(inputs), 10))
    with pytest.raises(ExportCheckError, match=r"onnx export of .* differs from PyTorch by .* on 16 inputs"):
        export(run, "onnx", out=tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == []
