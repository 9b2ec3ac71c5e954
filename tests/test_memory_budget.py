"""Hostile specs and run folders are refused before anything large is allocated: peak RSS grows < 100 MB.

Each case runs in one child process that resets its peak resident size (``/proc/self/clear_refs``)
before the case and reads ``VmHWM`` after it, so the growth is the case's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="peak RSS is measured through Linux's /proc"
)

LIMIT = 100 * 2**20

CHILD = r"""
import json, os, sys
from pathlib import Path

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

def measure(case):
    Path("/proc/self/clear_refs").write_text("5")
    before = peak()
    try:
        case()
        outcome = "accepted"
    except ValueError as err:  # SpecError, MemoryBudgetError, CheckpointError are ValueErrors
        outcome = "refused: " + str(err)[:200]
    return [outcome, peak() - before]

import torch
from cnnlab.data import load_dataset
from cnnlab.model import Model
from cnnlab.train import TrainConfig, fit
from cnnlab.web.training import TrainingJob

digits = load_dataset("digits")
job = TrainingJob(data=load_dataset("digits"))
Model.from_assets("cnn")  # imports and allocators warm
runs = json.loads(sys.argv[1])
cases = {
    "train conv(1,1,p=3000)-gap-linear": lambda: fit(TrainConfig(model="conv(1,1,p=3000)-gap-linear"), dataset=digits),
    "train conv(25000000,3)-gap-linear": lambda: fit(TrainConfig(model="conv(25000000,3)-gap-linear"), dataset=digits),
    "train flatten-linear(2000000000)-linear": lambda: fit(TrainConfig(model="flatten-linear(2000000000)-linear"), dataset=digits),
    "train 150,001 layers": lambda: fit(TrainConfig(model="-".join(["relu"] * 150_001) + "-flatten-linear"), dataset=digits),
    "page conv(1,1,p=3000)-gap-linear": lambda: job.start({"model": "conv(1,1,p=3000)-gap-linear"}),
    "page 150,001 layers": lambda: job.start({"model": "-".join(["relu"] * 150_001)}),
}
def load(path):
    # A limit above any machine's half RAM: the weights file's header (not the estimate) must refuse the 7 GB network.
    os.environ["CNNLAB_MEMORY_LIMIT"] = "64G"
    try:
        Model.from_run(path)
    finally:
        del os.environ["CNNLAB_MEMORY_LIMIT"]

cases.update({f"run folder {name}": (lambda path=path: load(path)) for name, path in runs.items()})
print(json.dumps({name: measure(case) for name, case in cases.items()}))
"""


def _config(spec: str) -> dict:
    return {
        "spec": spec,
        "input_shape": [1, 28, 28],
        "classes": [str(i) for i in range(10)],
        "normalize": {"mean": [0.1], "std": [0.3]},
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, list]:
    tmp = tmp_path_factory.mktemp("hostile")
    runs = {}
    # The run folder: a 1 GB network whose weights file is a few bytes (refused from the header).
    header = json.dumps({"0.weight": {"dtype": "F32", "shape": [1, 1, 3, 3], "data_offsets": [0, 36]}}).encode()
    for name, spec, weights in (
        (
            "conv(2500000,3)-gap-linear(10)",
            "conv(2500000,3)-gap-linear(10)",
            len(header).to_bytes(8, "little") + header + b"\0" * 36,
        ),
        (
            "conv(25000000,3)-gap-linear(10)",
            "conv(25000000,3)-gap-linear(10)",
            len(header).to_bytes(8, "little") + header + b"\0" * 36,
        ),
        ("conv(1,1,p=3000)-gap-linear(10)", "conv(1,1,p=3000)-gap-linear(10)", b""),
        ("declared 10 GB tensor", "conv(6,5,p=2)-relu-flatten-linear(10)", None),
    ):
        folder = tmp / name.replace("(", "_").replace(")", "_").replace(",", "_").replace(" ", "_")
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(_config(spec)))
        if weights is None:  # a header that declares the right names with enormous shapes
            big = json.dumps(
                {
                    "0.weight": {"dtype": "F32", "shape": [2_500_000_000, 1], "data_offsets": [0, 10**10]},
                    "0.bias": {"dtype": "F32", "shape": [6], "data_offsets": [10**10, 10**10 + 24]},
                }
            ).encode()
            weights = len(big).to_bytes(8, "little") + big
        (folder / "model.safetensors").write_bytes(weights)
        runs[name] = str(folder)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(runs)], capture_output=True, text=True, timeout=600, check=False
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return json.loads(child.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("train conv(1,1,p=3000)-gap-linear", "needs about"),
        ("train conv(25000000,3)-gap-linear", "needs about"),
        ("train flatten-linear(2000000000)-linear", "needs about"),
        ("train 150,001 layers", "at most 20,000 characters"),
        ("page conv(1,1,p=3000)-gap-linear", "the limit is 2 GB"),  # the page's own limit
        ("page 150,001 layers", "at most 20,000 characters"),
        ("run folder conv(25000000,3)-gap-linear(10)", "needs about 69.7 GB to run one example"),
        ("run folder conv(2500000,3)-gap-linear(10)", "was made for another network"),  # under the limit: the header
        ("run folder conv(1,1,p=3000)-gap-linear(10)", "corrupted or not a safetensors file"),
        ("run folder declared 10 GB tensor", "corrupted or not a safetensors file"),
    ],
)
def test_hostile_input_is_refused_within_100_mb(results, case, reason):
    outcome, growth = results[case]
    assert outcome.startswith("refused") and reason in outcome, outcome
    assert growth < LIMIT, f"{case}: peak RSS grew by {growth / 2**20:.0f} MB"
