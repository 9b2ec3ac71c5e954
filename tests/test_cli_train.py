"""The command line, end to end, through cnnlab.cli.main.main (same code path as the console script)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_summary_table_and_json(capsys):
    code, out, _ = run(capsys, "summary", "lecture")
    assert code == 0
    assert "conv(2,3)" in out and "2x4x4" in out and "896" in out and "3,488" in out
    code, out, _ = run(
        capsys, "summary", "conv(16,5,p=2)-relu-maxpool(2)-flatten-linear(10)", "--input", "1x28x28", "--json"
    )
    result = last_json(out)
    assert code == 0
    assert result["layers"][0]["output"] == "16x28x28" and result["layers"][0]["params"] == 416
    assert result["layers"][0]["locally_connected"] == 416 * 28 * 28 - 16 * 28 * 28 + 16 * 28 * 28
    assert result["layers"][2]["receptive_field"] == "6x6"
    assert result["total_params"] == 416 + 16 * 14 * 14 * 10 + 10


def test_summary_bad_shape_is_one_line_exit_2(capsys):
    code, out, err = run(capsys, "summary", "conv(16,5,s=2)", "--input", "1x28x28")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert "11.5 is not an integer" in err and "Traceback" not in err


def test_console_script_error_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "summary", "conv(3,9)", "--input", "1x5x5"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: layer 0 'conv(3,9)'") and "Traceback" not in proc.stderr


def test_explain_conv1d_lecture_values(capsys):
    code, out, _ = run(capsys, "explain", "conv1d")
    assert code == 0
    assert "padded input = [0, 1, 2, 2, -1, 3, 0]" in out
    assert "dot products w.x   = [1, 1, -1, 6, -4]" in out
    assert "plus bias  z       = [-1, -1, -3, 4, -6]" in out
    assert "after relu         = [0, 0, 0, 4, 0]" in out
    code, out, _ = run(
        capsys,
        "explain",
        "conv1d",
        "--input",
        "1,2,3,4",
        "--weight",
        "1,1",
        "--bias",
        "0",
        "--padding",
        "0",
        "--stride",
        "2",
        "--json",
    )
    assert code == 0
    assert last_json(out)["outputs"] == [3.0, 7.0]


def test_explain_conv2d_and_pool(capsys):
    code, out, _ = run(capsys, "explain", "conv2d", "--json")
    result = last_json(out)
    assert (result["conv"], result["locally_connected_weights"], result["dense"], result["tied_reduction"]) == (
        56,
        864,
        3488,
        16,
    )
    code, out, _ = run(capsys, "explain", "conv2d")
    assert code == 0
    assert "4x4x2" in out and "factor H x W = 4 x 4 = 16" in out
    code, out, _ = run(capsys, "explain", "pool", "--json")
    assert code == 0
    assert last_json(out)["output"] == [[4, 5, 3], [6, 3, 4], [5, 4, 6]]


def test_train_evaluate_predict(capsys, tmp_path):
    run_dir = tmp_path / "run"
    code, out, _ = run(
        capsys,
        "train",
        "--model",
        "conv(8,3,p=1)-relu-maxpool(2)-flatten-linear",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--out",
        str(run_dir),
        "--json",
    )
    assert code == 0
    result = last_json(out)
    assert {"test_accuracy", "test_loss", "train_seconds", "epochs", "params", "run_dir"} <= set(result)
    assert result["epochs"] == 2 and result["test_accuracy"] > 0.8 and result["run_dir"] == str(run_dir)
    code, out, _ = run(capsys, "evaluate", str(run_dir), "--json")
    ev = last_json(out)
    assert code == 0 and ev["accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)
    assert len(ev["per_class_accuracy"]) == 10 and sum(map(sum, ev["confusion"])) == 360
    assert (run_dir / "evaluation" / "confusion_matrix.png").stat().st_size > 1000
    # resume: continue the finished run for one more epoch
    code, out, _ = run(capsys, "train", "--resume", str(run_dir), "--epochs", "3", "--json")
    assert code == 0 and last_json(out)["epochs"] == 3


def test_predict_on_a_drawn_digit(capsys, tmp_path):
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    data = load_dataset("digits")
    # A 28x28 "digit" dataset from upscaled 8x8 digits, so that predict's MNIST-style input fits.
    import torch

    big = torch.nn.functional.interpolate(data.x_train, size=(28, 28), mode="bilinear")
    big_test = torch.nn.functional.interpolate(data.x_test, size=(28, 28), mode="bilinear")
    from cnnlab.data.dataset import Dataset

    ds = Dataset("digits28", big, data.y_train, big_test, data.y_test, data.classes)
    fit(TrainConfig(model="flatten-linear", dataset="digits28", epochs=1), dataset=ds, out=tmp_path / "run")
    image = np.full((200, 150), 255, np.uint8)
    image[40:160, 70:85] = 0  # a dark "1" on white paper
    Image.fromarray(image).save(tmp_path / "one.png")
    code, out, _ = run(
        capsys, "predict", str(tmp_path / "run"), str(tmp_path / "one.png"), "--json", "--show", str(tmp_path / "show")
    )
    result = last_json(out)
    assert code == 0 and len(result["predictions"][0]["top"]) == 3
    probs = [t["probability"] for t in result["predictions"][0]["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert (tmp_path / "show" / "one-prediction.png").exists()
    (tmp_path / "bad.png").write_bytes(b"not an image")
    code, out, err = run(capsys, "predict", str(tmp_path / "run"), str(tmp_path / "bad.png"))
    assert code == 2 and "cannot decode image" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--dataset", "mnits"], "unknown dataset 'mnits'; valid names: mnist"),
        (["train", "--model", "lenett", "--dataset", "digits"], "unknown layer 'lenett'.*or a whole preset: mlp"),
        (
            ["train", "--optimizer", "adamm"],
            "optimizer must be one of sgd, adam, adamw, rmsprop, adagrad, adadelta, got 'adamm'",
        ),
        (["evaluate", "/nonexistent/run"], "is not a cnnlab run folder"),
    ],
)
def test_bad_input_lists_valid_choices(capsys, args, message):
    code, _out, err = run(capsys, *args)
    assert code == 2
    import re

    assert re.search(message, err), err


def test_demo_on_digits(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "--dataset", "digits", "--epochs", "2", "--out", str(tmp_path), "--json")
    result = last_json(out)
    assert code == 0 and [r["name"] for r in result["runs"]] == ["dnn", "cnn"]
    assert all(r["test_accuracy"] > 0.8 for r in result["runs"])
    assert (tmp_path / "dnn" / "learning_curve.png").exists() and (tmp_path / "cnn" / "model.safetensors").exists()
