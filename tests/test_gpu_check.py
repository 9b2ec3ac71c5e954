"""benchmarks/gpu_check.sh, the GPU check, runs on the CPU at reduced size (DEVICE=cpu QUICK=1): every check passes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnnlab

ROOT = Path(__file__).resolve().parents[1]
MNIST_FILES = ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def mnist_dir() -> str | None:
    for candidate in (os.environ.get("CNNLAB_MNIST_DIR"), ROOT.parent / "shared/data/mnist", "/work/shared/data/mnist"):
        if candidate and all((Path(candidate) / f).is_file() for f in MNIST_FILES):
            return str(candidate)
    return None  # the script falls back to the embedded digits


@pytest.mark.slow
def test_gpu_check_passes_on_the_cpu(tmp_path):
    env = dict(os.environ, DEVICE="cpu", QUICK="1", WORK=str(tmp_path / "work"), JSON=str(tmp_path / "check.json"))
    env["PYTHON"] = sys.executable
    env["PYTHONPATH"] = str(Path(cnnlab.__file__).resolve().parents[1])
    if mnist_dir():
        env["DATA_DIR"] = mnist_dir()
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    table = done.stdout.splitlines()
    assert table[-1] == "11 of 11 checks passed" and "cnnlab GPU check: DEVICE=cpu QUICK=1" in done.stdout
    report = json.loads((tmp_path / "check.json").read_text())
    assert report["system"]["device"] == "cpu" and report["system"]["torch"]
    rows = {r["check"]: r for r in report["rows"]}
    assert all(r["status"] == "ok" or (r["status"] == "skip" and not mnist_dir()) for r in rows.values()), rows
    assert "bit for bit" in rows["run == run (--deterministic)"]["result"]
    assert "gloo, 1 process: resume == run bit for bit" in rows["DDP, one process under torchrun, resume"]["result"]
    assert "torchscript vs model on cpu" in rows["export (ONNX, TorchScript) and inference across devices"]["result"]


def test_gpu_check_refuses_an_unknown_device(tmp_path):
    env = dict(os.environ, DEVICE="tpu", WORK=str(tmp_path))
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "DEVICE must be cuda or cpu, got 'tpu'" in done.stderr
