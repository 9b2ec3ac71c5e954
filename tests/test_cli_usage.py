"""Mistakes through the installed ``cnnlab`` console script: one reason, the right exit code, no traceback.

These run the real entry point in a subprocess, with the typer (and click) that pyproject.toml lets pip
install, which is how a typer release that vendored click once turned every usage error into a traceback.
The table covers every command group; its cases run a few at a time (each starts Python and torch).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CNNLAB = shutil.which("cnnlab")
pytestmark = pytest.mark.skipif(CNNLAB is None, reason="the cnnlab console script is not installed")


def cnnlab(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CNNLAB, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


# (arguments, a phrase of the reason): usage mistakes (typer) and bad values (the library), every group.
USAGE = [
    ("summary lenet --bogus", "No such option: --bogus"),
    ("train --epochs abc", "Invalid value for '--epochs'"),
    ("summary ---", "No such option: ---"),
    ("nosuch", "No such command 'nosuch'"),
    ("summary", "Missing argument"),
    ("presets extra", "Got unexpected extra argument"),
    ("datasets --bogus", "No such option"),
    ("demo --epochs abc", "Invalid value for '--epochs'"),
    ("evaluate", "Missing argument"),
    ("predict {run}", "Missing argument"),
    ("compare --seeds abc", "Invalid value for '--seeds'"),
    ("params lenet --classes abc", "Invalid value for '--classes'"),
    ("transfer --split abc", "Invalid value for '--split'"),
    ("filters", "Missing argument"),
    ("activations {run} {img} --channel abc", "Invalid value for '--channel'"),
    ("serve --port abc", "Invalid value for '--port'"),
    ("export", "Missing argument"),
    ("explain nosuch", "No such command 'nosuch'"),
    ("explain pool --kernel-size 2.5", "Invalid value for '--kernel-size'"),
    ("web build", "Missing option '--out'"),
    ("ising simulate --sweeps abc", "Invalid value for '--sweeps'"),
]
VALUES = [
    ("summary conv(1,3,s=1000000000000) --input 1x28x28", "stride must be at most 2,147,483,647"),
    ("summary conv(16,5,s=2) --input 1x28x28", "11.5 is not an integer; choose kernel_size=4"),
    ("summary lenet --input 1x99999999999999x28", "input shape must have sizes in [1, 2,147,483,647]"),
    ("summary " + "relu-" * 1200 + "flatten --input 10", "at most 1,000 layers"),
    ("summary conv(3,3,bias=yes) --input 1x28x28", "bias must be true or false"),
    ("params conv(4,3) --input 3x99999x99999 --json", None),  # only arithmetic: answered
    ("explain conv1d --bias inf --json", "bias must be a finite number"),
    ("explain conv1d --padding 1000000", "must be at most 1000 neurons"),
    ("train --lr inf", "lr must be a finite number > 0"),
    ("train --seed 99999999999999999999999", "seed must be at most"),
    ("train --epochs 1000000000", "epochs must be at most 100,000"),
    ("train --config {bad_toml}", "model must be a non-empty string, got 5"),
    ("train --config {bool_toml}", "channels_last must be true or false, got 'yes'"),
    ("train --config {deep_json}", "is not valid JSON"),
    ("train --model flatten-linear(5) --epochs 1 --out {tmp}/c", "ends with 5 outputs, but the dataset has 10 classes"),
    ("train --model conv(1,1,p=3000)-gap-linear --out {tmp}/m", "to train with batch 64"),
    ("train --model lenet --dataset digits --out {tmp}/l", "filter wider than the padded input"),
    ("train --augment-shift 8 --out {tmp}/a", "augment_shift must be smaller than the input"),
    ("train --resume {run} --lr 0.1", "only --epochs, --threads, --device and --data-dir may change"),
    ("train --out {existing_run} --model logreg", "holds a run already; add --overwrite"),
    ("train --out {tmp} --model logreg", "that are not a cnnlab run"),
    ("train --out {a_file} --model logreg", "is a file; the run needs a folder"),
    ("evaluate {run} --dataset nosuch", "unknown dataset 'nosuch'"),
    ("predict {run} {img} --show {a_file}", "--show must be a folder"),
    ("predict {nan_run} {img}", "holds NaN or infinite values"),
    ("activations {run} test:99999999", None),
    ("export {run} --format nosuch", "format must be one of"),
    ("serve --host 0.0.0.0", "--host must be a loopback address"),
    ("web build --out {tmp}/site --dtype float8", "float8"),
    ("demo --out {existing_demo} --dataset digits --epochs 1", "holds a run already"),
    ("ising simulate --L 1", ""),  # the bounds are physics' own; any one-line reason
    ("train --nproc 2 --model lenet --dataset digits --out {tmp}/n", "filter wider than the padded input"),
]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> dict[str, str]:
    """A 28x28 run folder (built, not trained), one with NaN weights, an image, config files, a file."""
    from safetensors.torch import save_file

    from cnnlab import engine

    tmp = tmp_path_factory.mktemp("cli")
    net = engine.build("conv(4,5,p=2)-relu-maxpool(2)-flatten-linear", (1, 28, 28), num_classes=10, seed=0)
    config = {
        "spec": net.spec_text,
        "input_shape": [1, 28, 28],
        "classes": [str(i) for i in range(10)],
        "normalize": {"mean": [0.13], "std": [0.31]},
        "dataset": "digits",
    }
    for name, broken in (("run", False), ("nan_run", True)):
        state = {k: v.clone().contiguous() for k, v in net.state_dict().items()}
        if broken:
            state["0.weight"][0, 0, 0, 0] = float("nan")
        (tmp / name).mkdir()
        save_file(state, tmp / name / "model.safetensors")
        (tmp / name / "config.json").write_text(json.dumps(config))
    image = np.full((56, 56), 255, np.uint8)
    image[10:46, 24:32] = 0
    Image.fromarray(image).save(tmp / "digit.png")
    (tmp / "a-file").write_text("a file, not a folder")
    (tmp / "bad.toml").write_text('model = 5\ndataset = ["digits"]\n')
    (tmp / "bool.toml").write_text('channels_last = "yes"\n')
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "existing").mkdir()
    (tmp / "existing" / "config.json").write_text("{}")
    (tmp / "demo" / "dnn").mkdir(parents=True)
    (tmp / "demo" / "dnn" / "metrics.jsonl").write_text("")
    return {
        "run": str(tmp / "run"),
        "nan_run": str(tmp / "nan_run"),
        "img": str(tmp / "digit.png"),
        "a_file": str(tmp / "a-file"),
        "bad_toml": str(tmp / "bad.toml"),
        "bool_toml": str(tmp / "bool.toml"),
        "deep_json": str(tmp / "deep.json"),
        "existing_run": str(tmp / "existing"),
        "existing_demo": str(tmp / "demo"),
        "tmp": str(tmp),
    }


@pytest.fixture(scope="module")
def table(fixtures) -> dict[str, subprocess.CompletedProcess]:
    """Every case of USAGE and VALUES, run three at a time (each is a fresh Python)."""
    texts = [text for text, _ in USAGE + VALUES]

    def one(text: str) -> subprocess.CompletedProcess:
        return cnnlab(*[part.format(**fixtures) for part in text.split(" ")], timeout=120)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        return dict(zip(texts, pool.map(one, texts)))


def test_the_table_covers_every_command_group():
    groups = {text.split(" ")[0] for text, _ in USAGE + VALUES}
    assert len(USAGE) + len(VALUES) >= 40
    assert {"train", "evaluate", "predict", "demo", "datasets", "summary", "presets", "explain", "compare"} <= groups
    assert {"params", "transfer", "filters", "activations", "serve", "web", "export", "ising"} <= groups


@pytest.mark.parametrize(("args", "reason"), USAGE, ids=[text for text, _ in USAGE])
def test_usage_error_is_the_usage_line_one_reason_and_exit_2(table, args, reason):
    result = table[args]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Usage: cnnlab" in result.stderr
    assert reason in result.stderr


@pytest.mark.parametrize(("args", "reason"), VALUES, ids=[text[:60] for text, _ in VALUES])
def test_bad_value_is_one_error_line_and_exit_2(table, args, reason):
    result = table[args]
    assert "Traceback" not in result.stderr + result.stdout
    if reason is None:  # bounded work that is simply answered (or refused) quickly
        assert result.returncode in (0, 2), result.stderr
        return
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert reason in errors[0]


def test_bare_command_prints_help_and_exits_2():
    result = cnnlab()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "summary" in result.stdout + result.stderr


def test_unwritable_out_and_full_disk_are_one_line_naming_the_path_exit_1(fixtures, tmp_path):
    blocked = cnnlab("train", "--model", "logreg", "--epochs", "1", "--out", f"{fixtures['a_file']}/run")
    assert blocked.returncode == 1, blocked.stderr
    assert blocked.stderr.strip().splitlines()[-1] == (
        f"error: cannot write {fixtures['a_file']}/run/config.json: {fixtures['a_file']} is a file, not a folder"
    )

    def small_files():  # a full disk, as far as a file over 20 kB is concerned (root ignores permissions)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    out = tmp_path / "full"
    full = cnnlab("train", "--model", "mlp", "--epochs", "1", "--out", str(out), preexec_fn=small_files)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot write {out}/") and last.endswith("File too large"), last
    assert not list(out.glob(".*.tmp"))  # the failed write left no temporary behind


def test_overwrite_clears_an_existing_run(tmp_path):
    out = tmp_path / "run"
    assert cnnlab("train", "--model", "logreg", "--epochs", "1", "--out", str(out)).returncode == 0
    (out / "model.onnx").write_text("an export of the old network")
    again = cnnlab("train", "--model", "mlp", "--epochs", "1", "--out", str(out))
    assert again.returncode == 2 and "--overwrite" in again.stderr
    replaced = cnnlab("train", "--model", "mlp", "--epochs", "1", "--out", str(out), "--overwrite", "--json")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout.splitlines()[-1])["model"].startswith("flatten-linear(400)")
    assert not (out / "model.onnx").exists()  # no stale file of the old network next to the new one


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc: psutil is not a dependency)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found + [g for child in found for g in _descendants(child)]


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def interrupt_training(out: Path, nproc: int, sig: signal.Signals = signal.SIGINT) -> None:
    """Interrupt ``cnnlab train`` once a checkpoint is saved: exit 130, "interrupted" once, no process left, resumable."""
    args = [CNNLAB, "train", "--dataset", "digits", "--model", "mlp", "--epochs", "1000", "--out", str(out)]
    proc = subprocess.Popen(args + ["--nproc", str(nproc)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint-last.safetensors").exists():  # interrupt once an epoch has been saved
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    workers = _descendants(proc.pid)
    assert len(workers) == (nproc if nproc > 1 else 0)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().endswith("interrupted") and stderr.count("interrupted") == 1
    assert "Traceback" not in stderr
    time.sleep(0.2)
    assert not [pid for pid in workers if _running(pid)]  # no orphan keeps training
    resumed = cnnlab("train", "--resume", str(out), "--epochs", "2", "--json", timeout=120)
    assert resumed.returncode == 0, resumed.stderr


def test_ctrl_c_during_training_prints_interrupted_and_exits_130(tmp_path):
    interrupt_training(tmp_path / "run", nproc=1)


@pytest.mark.slow
def test_sigint_and_sigterm_to_the_nproc_launcher_stop_every_process(tmp_path):
    interrupt_training(tmp_path / "sigint", nproc=2, sig=signal.SIGINT)
    interrupt_training(tmp_path / "sigterm", nproc=2, sig=signal.SIGTERM)
