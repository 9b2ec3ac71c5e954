"""cnnlab train, evaluate, predict, demo, datasets: end to end, through cnnlab.cli.main.main and the console script."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import cnnlab
from cnnlab.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


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


def cnnlab_command(*args: str) -> subprocess.CompletedProcess:
    """The installed console script, importing this checkout's cnnlab."""
    src = str(Path(cnnlab.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(["cnnlab", *args], capture_output=True, text=True, env=env, timeout=300)


def test_a_preset_with_a_recipe_trains_as_the_recipe(tmp_path):
    """cnnlab train --model fast = cnnlab train --recipe fast: same config.json, same weights."""
    common = ["--dataset", "digits", "--epochs", "1", "--threads", "1", "--json"]
    by_model = cnnlab_command("train", "--model", "fast", *common, "--out", str(tmp_path / "model"))
    by_recipe = cnnlab_command("train", "--recipe", "fast", *common, "--out", str(tmp_path / "recipe"))
    assert by_model.returncode == 0 and by_recipe.returncode == 0, by_model.stderr + by_recipe.stderr
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config == json.loads((tmp_path / "recipe" / "config.json").read_text())
    assert (config["optimizer"], config["lr"], config["schedule"], config["label_smoothing"]) == (
        "sgd",
        0.2,
        "onecycle",
        0.1,
    )
    a, b = (load_file(tmp_path / name / "model.safetensors") for name in ("model", "recipe"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert last_json(by_model.stdout)["test_accuracy"] == last_json(by_recipe.stdout)["test_accuracy"]


def test_datasets_lists_the_registered_path_kinds():
    proc = cnnlab_command("datasets", "--json")
    names = list(json.loads(proc.stdout))
    assert names == ["mnist", "fashion-mnist", "kmnist", "cifar10", "digits", "mnist1d", "folder:PATH", "ising:PATH"]
