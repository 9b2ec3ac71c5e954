"""Usage mistakes through the installed ``cnnlab`` console script: usage line + one reason, exit 2, no traceback.

These run the real entry point in a subprocess, with the typer (and click) that pyproject.toml lets pip
install, which is how a typer release that vendored click once turned every usage error into a traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

CNNLAB = shutil.which("cnnlab")
pytestmark = pytest.mark.skipif(CNNLAB is None, reason="the cnnlab console script is not installed")


def cnnlab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([CNNLAB, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["summary", "lenet", "--bogus"], "No such option: --bogus"),
        (["train", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["summary", "---"], "No such option: ---"),
        (["nosuch"], "No such command 'nosuch'"),
        (["summary"], "Missing argument"),
    ],
)
def test_usage_error_is_one_reason_and_exit_2(args, reason):
    result = cnnlab(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Usage: cnnlab" in result.stderr
    assert reason in result.stderr


def test_bare_command_prints_help_and_exits_2():
    result = cnnlab()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "summary" in result.stdout + result.stderr


def test_ctrl_c_during_training_prints_interrupted_and_exits_130(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [CNNLAB, "train", "--dataset", "digits", "--model", "mlp", "--epochs", "1000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint-last.safetensors").exists():  # interrupt once an epoch has been saved
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().endswith("interrupted")
    assert "Traceback" not in stderr
    resumed = cnnlab("train", "--resume", str(out), "--epochs", "2", "--json", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
