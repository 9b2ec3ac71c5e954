"""Adversarial check: a broad set of bad inputs per class, and whether cnnlab handled each cleanly.

Classes and what "clean" means for one input:

================  ==========================================================================================
class             clean
================  ==========================================================================================
CLI usage         the installed ``cnnlab``: exit 2, ``Usage:`` and one reason on stderr, no traceback
CLI values        exit 2 (a user mistake) or 1 (an OS failure), one ``error:`` line, no traceback, < 60 s
files             unwritable paths, a full disk (RLIMIT_FSIZE), files in the way, existing runs, killed
                  writes: one line naming the path and the reason (exit 1 or 2), the run folder intact
run folders       crafted ``config.json`` / weights refused by ``Model.from_run`` with ValueError or
                  FileNotFoundError (never another exception), peak RSS growth < 100 MB
web API           status < 500, a valid JSON body (no NaN/Infinity), answered in < 1 s
load              a benign ``/api/shape`` is delayed < 100 ms while hostile requests are served
torchrun          ``train --nproc 2`` mistakes: exit 2, one ``error:`` line, no traceback, no worker started
signals           SIGINT/SIGTERM: exit 130, ``interrupted`` once, no process left, the run folder resumes
================  ==========================================================================================

Prints the table ``class | tried | clean | bad`` (``--json``: one JSON object with every bad case).
``--quick`` tries a sample of each class (about 1.5 minutes on 2 cores); ``--only CLASS`` one class.

Usage::

    PYTHONPATH=src python scripts/adversarial_check.py [--quick] [--only web] [--json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CNNLAB = shutil.which("cnnlab") or "cnnlab"
CLASSES = ("CLI usage", "CLI values", "files", "run folders", "web API", "load", "torchrun", "signals")


@dataclass
class Outcome:
    klass: str
    name: str
    clean: bool
    why: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, klass: str, name: str, clean: bool, why: str = "") -> None:
        self.outcomes.append(Outcome(klass, name, clean, why))

    def table(self) -> list[dict]:
        rows = []
        for klass in CLASSES:
            mine = [o for o in self.outcomes if o.klass == klass]
            if mine:
                clean = sum(o.clean for o in mine)
                rows.append({"class": klass, "tried": len(mine), "clean": clean, "bad": len(mine) - clean})
        return rows


# ---------------------------------------------------------------------------------------------- fixtures
def make_fixtures(root: Path) -> dict[str, str]:
    """A 28x28 run folder (built, not trained), a digits run, an image, a file, a stale-temp folder."""
    import numpy as np
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from cnnlab import engine
    from cnnlab.train import TrainConfig, fit

    run28 = root / "run28"
    run28.mkdir()
    net = engine.build("conv(4,5,p=2)-relu-maxpool(2)-flatten-linear", (1, 28, 28), num_classes=10, seed=0)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, run28 / "model.safetensors")
    config = {
        "spec": net.spec_text,
        "input_shape": [1, 28, 28],
        "classes": [str(i) for i in range(10)],
        "normalize": {"mean": [0.13], "std": [0.31]},
        "dataset": "mnist",
    }
    (run28 / "config.json").write_text(json.dumps(config))
    digits = root / "digits-run"
    fit(TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05), out=digits)
    oned = root / "mnist1d-run"  # a 1-D network: nothing to draw on, so serve --run refuses it
    fit(TrainConfig(model="logreg", dataset="mnist1d", epochs=1, lr=0.05), out=oned)
    image = np.full((56, 56), 255, np.uint8)
    image[10:46, 24:32] = 0
    Image.fromarray(image).save(root / "digit.png")
    (root / "a-file").write_text("not a folder")
    (root / "empty.png").write_bytes(b"")
    (root / "bad.toml").write_text('model = 5\ndataset = ["digits"]\n')
    (root / "bool.toml").write_text('channels_last = "yes"\n')
    (root / "nan.json").write_text('{"lr": NaN}')
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "list.json").write_text("[1, 2]")
    torch.manual_seed(0)
    return {
        "run": str(run28),
        "digits": str(digits),
        "oned": str(oned),
        "img": str(root / "digit.png"),
        "file": str(root / "a-file"),
        "tmp": str(root),
        "empty": str(root / "empty.png"),
    }


# ---------------------------------------------------------------------------------------------- CLI
USAGE = [  # every command group: an unknown option, a wrong type, a missing argument
    "summary lenet --bogus",
    "summary",
    "summary lenet --classes abc",
    "presets --bogus",
    "presets extra",
    "datasets --bogus",
    "demo --bogus",
    "demo --epochs abc",
    "train --bogus",
    "train --epochs abc",
    "train --batch-size 1.5",
    "train --lr abc",
    "train --nproc x",
    "train --channels-last=maybe",
    "evaluate",
    "evaluate {run} --bogus",
    "predict {run}",
    "predict",
    "predict {run} {img} --bogus",
    "compare --seeds abc",
    "compare --bogus",
    "params --classes abc",
    "params lenet --bogus",
    "transfer --split abc",
    "transfer --bogus",
    "filters",
    "filters {run} --bogus",
    "activations {run}",
    "activations {run} {img} --channel abc",
    "serve --port abc",
    "serve --bogus",
    "export",
    "export {run} --bogus",
    "explain",
    "explain nosuch",
    "explain conv1d --stride abc",
    "explain conv1d --bias x",
    "explain conv2d --kernel-size abc",
    "explain pool --kernel-size 2.5",
    "explain pool --bogus",
    "web",
    "web build",
    "web build --bogus",
    "web nosuch",
    "ising",
    "ising simulate --sweeps abc",
    "ising simulate --bogus",
    "ising dataset --samples abc",
    "ising tc --bogus",
    "ising rg --bogus",
    "nosuch",
    "---",
    "summary ---",
    "train --train-subset 5",
    "--bogus",
]

VALUES = [  # well-formed commands with bad values: exit 2 and one error line (exit 1 for OS failures)
    ("summary conv(1,3,s=1000000000000) --input 1x28x28", 2),
    ("summary conv(16,5,s=2) --input 1x28x28", 2),
    ("summary conv(100000000000,3)-gap-linear --input 1x28x28", 2),
    ("summary conv(1,3,p=99999999999999) --input 1x28x28", 2),
    ("summary lenet --input 0x28x28", 2),
    ("summary lenet --input 1x28x28x28x28", 2),
    ("summary lenet --input 1x99999999999999x28", 2),
    ("summary lenet --input abc", 2),
    ("summary nosuchlayer(3)", 2),
    ("summary conv(3) --input 1x28x28", 2),
    ("summary conv(3,3,bias=yes) --input 1x28x28", 2),
    ("summary dropout(1.5) --input 10", 2),
    ("summary conv(4,3,mode=weird) --input 1x28x28", 2),
    ("summary linear(0) --input 10", 2),
    ("summary flatten-linear(99999999999999999999) --input 10", 2),
    ("summary " + "-".join(["relu"] * 5000) + " --input 10", 2),
    ("summary " + "relu-" * 1500 + "relu --input 10", 2),
    ("summary conv(4,3)) --input 1x28x28", 2),
    ("summary lenet --classes 0", 2),
    ("summary lenet --classes -5", 2),
    ("params conv(4,3) --input 3x99999x99999", 0),  # arithmetic only: answered
    ("params nosuch", 2),
    ("explain conv1d --bias inf --json", 2),
    ("explain conv1d --bias nan --json", 2),
    ("explain conv1d --input 1e308,1e308 --weight 1e308 --json", 2),
    ("explain conv1d --padding 1000000", 2),
    ("explain conv1d --stride 0", 2),
    ("explain conv1d --stride 1000000000000", 2),
    ("explain conv1d --input 1,2,x", 2),
    ("explain conv1d --input ,,,", 2),
    ("explain conv1d --activation nosuch", 2),
    ("explain conv1d --padding-mode nosuch", 2),
    ("explain conv2d --input 3x6", 2),
    ("explain conv2d --kernel-size 0", 2),
    ("explain conv2d --kernel-size 100", 2),
    ("explain conv2d --input 3x99999999999999x6", 2),
    ("explain pool --kernel-size 0", 2),
    ("explain pool --kernel-size 7", 2),
    ("explain pool --stride 1000000000000", 2),
    ("train --epochs 0", 2),
    ("train --epochs -1", 2),
    ("train --epochs 1000000000", 2),
    ("train --batch-size 0", 2),
    ("train --batch-size 100000000000", 2),
    ("train --lr nan", 2),
    ("train --lr inf", 2),
    ("train --lr -1", 2),
    ("train --lr 0", 2),
    ("train --weight-decay inf", 2),
    ("train --label-smoothing 2", 2),
    ("train --val-split 1.5", 2),
    ("train --val-split nan", 2),
    ("train --seed -1", 2),
    ("train --seed 99999999999999999999999", 2),
    ("train --threads -1", 2),
    ("train --threads 100000", 2),
    ("train --augment-shift 100000", 2),
    ("train --augment-shift 8 --epochs 1 --out {tmp}/o-shift", 2),
    ("train --early-stopping 3", 2),
    ("train --optimizer adamm", 2),
    ("train --schedule nosuch", 2),
    ("train --device tpu", 2),
    ("train --amp fp8", 2),
    ("train --dataset nosuch", 2),
    ("train --dataset folder:/nonexistent", 2),
    ("train --dataset ising:/nonexistent.npz", 2),
    ("train --dataset mnist --data-dir /nonexistent", 2),
    ("train --model nosuch", 2),
    ("train --model lenet --epochs 1", 2),
    ("train --model flatten-linear(5) --epochs 1 --out {tmp}/o-classes", 2),
    ("train --model conv(1,1,p=3000)-gap-linear --epochs 1 --out {tmp}/o-mem", 2),
    ("train --model conv(100000000,3)-gap-linear --epochs 1 --out {tmp}/o-params", 2),
    ("train --model " + "-".join(["relu"] * 2000) + "-flatten-linear", 2),
    ("train --config /nonexistent.toml", 2),
    ("train --config {tmp}/bad.toml", 2),
    ("train --config {tmp}/bool.toml", 2),
    ("train --config {tmp}/nan.json", 2),
    ("train --config {tmp}/deep.json", 2),
    ("train --config {tmp}/list.json", 2),
    ("train --config {tmp}/bad.toml --recipe fast", 2),
    ("train --recipe nosuch", 2),
    ("train --resume /nonexistent", 2),
    ("train --resume {run} --lr 0.1", 2),
    ("train --resume {digits} --overwrite", 2),
    ("train --", 0),  # "--" ends the options: the defaults (cnn on the embedded 8x8 digits) train in a second
    ("evaluate /nonexistent", 2),
    ("evaluate {file}", 2),
    ("evaluate {digits} --dataset nosuch", 2),
    ("evaluate {digits} --dataset mnist1d", 2),
    ("predict /nonexistent {img}", 2),
    ("predict {run} /nonexistent.png", 2),
    ("predict {run} {empty}", 2),
    ("predict {run} {file}", 2),
    ("predict {digits} {img}", 2),
    ("predict {run} {img} --show {file}", 2),
    ("export {run} --format nosuch", 2),
    ("export /nonexistent --format torchscript", 2),
    ("filters /nonexistent", 2),
    ("filters {digits}", 0),  # a dense first layer's filters are shown as images too
    ("activations {run} test:99999999", 2),
    ("activations {run} test:-1", 2),
    ("activations {run} {img} --unit 99", 2),
    ("activations {run} {img} --unit 0:999999,999999", 2),
    ("activations {run} {img} --unit a:b", 2),
    ("activations {run} {img} --channel 999999", 2),
    ("activations {run} /nonexistent.png", 2),
    ("compare --seeds 0", 2),
    ("compare --seeds -1", 2),
    ("compare --models nosuch --seeds 1", 2),
    ("compare --dataset nosuch", 2),
    ("compare --sizes a,b --data-efficiency", 2),
    ("compare --epochs 0", 2),
    ("transfer --n 0", 2),
    ("transfer --seeds 0", 2),
    ("transfer --source nosuch", 2),
    ("serve --port 99999", 2),
    ("serve --host 0.0.0.0", 2),
    ("serve --host example.com", 2),
    ("serve --run /nonexistent", 2),
    ("serve --run {oned}", 2),
    ("web build --out {file}/site", 1),
    ("web build --out {tmp}/site --dtype float8", 2),
    ("web build --out {tmp}/site2 --run /nonexistent", 2),
    ("demo --dataset nosuch", 2),
    ("demo --epochs 0", 2),
    ("ising simulate --L 1000000", 2),
    ("ising simulate --chains 1000000000", 2),
    ("ising simulate --T 0.1:1000000:0.00001", 2),
    ("ising simulate --T abc", 2),
    ("ising simulate --L 1", 2),
    ("ising simulate --sweeps 0", 2),
    ("ising dataset --L 1000000", 2),
    ("ising dataset --samples 0", 2),
    ("ising tc --L 3", 2),
    ("ising rg --L 7", 2),
]

FILES = [  # OS failures and files in the way: one line naming the path and the reason
    ("train --model logreg --epochs 1 --out {file}", 2),
    ("train --model logreg --epochs 1 --out {file}/run", 1),
    ("train --model logreg --epochs 1 --out {digits}", 2),
    ("train --model logreg --epochs 1 --out {tmp}", 2),
    ("train --model logreg --epochs 1 --out /proc/cnnlab-run", 1),
    ("demo --dataset digits --epochs 1 --out {file}", 2),
    ("evaluate {digits} --out {file}", 1),
    ("export {run} --format torchscript --out {file}/x.pt", 1),
    ("predict {run} {img} --show {file}/sub", 1),
    ("params lenet --out {file}", 1),
    ("filters {run} --out {file}", 1),
    ("activations {run} {img} --out {file}", 1),
    ("ising simulate --L 8 --T 2.0 --sweeps 10 --out {file}/x", 1),
]


def run_cli(args: list[str], timeout: float = 60, env: dict | None = None, preexec=None) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [CNNLAB, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            preexec_fn=preexec,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        return -1, "", f"timed out after {timeout:.0f} s: {(err.stderr or b'')[-200:]!r}", time.perf_counter() - started
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def judge_cli(code: int, out: str, err: str, expect: tuple[int, ...], usage: bool) -> tuple[bool, str]:
    text = out + err
    if "Traceback" in text:
        return False, "traceback: " + err.strip().splitlines()[-1][:200]
    if code not in expect:
        return False, f"exit {code} (expected {' or '.join(map(str, expect))}): {err.strip()[-200:]!r}"
    lines = [line for line in err.strip().splitlines() if line.strip()]
    if code == 0:
        return True, ""
    if usage:
        if "Usage:" not in text:
            return False, "no usage line"
        return True, ""
    errors = [line for line in lines if line.startswith("error:")]
    if len(errors) != 1:
        return False, f"{len(errors)} error lines: {err.strip()[-200:]!r}"
    return True, ""


def cli_class(report: Report, fixtures: dict, quick: bool, jobs: int) -> None:
    def expand(text: str) -> list[str]:
        return [part.format(**fixtures) for part in text.split(" ")]

    cases = [("CLI usage", text, (2,), True) for text in USAGE]
    cases += [("CLI values", text, (code,), False) for text, code in VALUES]
    cases += [("files", text, (code,), False) for text, code in FILES]
    if quick:
        cases = random.Random(0).sample(cases, min(30, len(cases)))

    def one(case):
        klass, text, expect, usage = case
        code, out, err, _ = run_cli(expand(text))
        clean, why = judge_cli(code, out, err, expect, usage)
        return klass, text[:100], clean, why

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for klass, name, clean, why in pool.map(one, cases):
            report.add(klass, name, clean, why)
    if not quick:
        files_extra(report, fixtures)


def files_extra(report: Report, fixtures: dict) -> None:
    """A full disk (file size limit) during training, and temporaries of a killed write cleaned on the next write."""
    tmp = Path(fixtures["tmp"])

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # like a full disk, for files over 20 kB
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    code, out, err, _ = run_cli(
        ["train", "--model", "mlp", "--epochs", "1", "--out", str(tmp / "full")], preexec=small_files
    )
    clean, why = judge_cli(code, out, err, (1,), False)
    if clean and "cannot write" not in err:
        clean, why = False, f"no path in {err.strip()!r}"
    leftovers = [p.name for p in (tmp / "full").glob(".*.tmp")]
    if clean and leftovers:
        clean, why = False, f"temporary files left: {leftovers}"
    report.add("files", "train with a full disk (RLIMIT_FSIZE)", clean, why)
    # A killed write's temporary (a pid that no longer runs), then a resume: the next write removes it.
    run = tmp / "stale-run"
    code, _, err, _ = run_cli(["train", "--model", "logreg", "--epochs", "1", "--out", str(run)])
    stale = run / ".metrics.jsonl.999999999.abcdefgh.tmp"
    stale.write_text("half")
    code, _, err, _ = run_cli(["train", "--resume", str(run), "--epochs", "2"])
    report.add(
        "files",
        "stale temporary of a killed write",
        code == 0 and not stale.exists(),
        "" if code == 0 and not stale.exists() else f"exit {code}, still there: {stale.exists()}",
    )


# ---------------------------------------------------------------------------------------------- run folders
RUN_FOLDER_CHILD = r"""
import json, sys, traceback
from pathlib import Path
import torch
from cnnlab.model import Model
from cnnlab.web.models import models_from_runs

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0

def reset_peak():
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass

results = []
Model.from_assets("cnn")  # warm up imports and allocators
for folder in json.loads(sys.argv[1]):
    reset_peak(); before = peak()
    try:
        if folder.endswith("#serve"):
            models_from_runs([folder[:-6]])
        else:
            Model.from_run(folder)
        outcome = "loaded"
    except (ValueError, FileNotFoundError) as err:
        outcome = "refused: " + str(err)[:160]
    except Exception as err:
        outcome = "CRASH " + type(err).__name__ + ": " + str(err)[:160]
    results.append([folder, outcome, peak() - before])
print(json.dumps(results))
"""


def crafted_runs(root: Path, fixtures: dict) -> list[tuple[str, str]]:
    """(folder, expectation) for crafted run folders: 'refused' unless noted."""
    import torch
    from safetensors.torch import load_file, save_file

    good = Path(fixtures["run"])
    good_config = json.loads((good / "config.json").read_text())
    weights = (good / "model.safetensors").read_bytes()
    cases: list[tuple[str, str]] = []

    def folder(name: str, config=None, raw_config: str | None = None, weights_bytes: bytes | None = weights):
        path = root / "crafted" / name
        path.mkdir(parents=True)
        if raw_config is not None:
            (path / "config.json").write_text(raw_config)
        elif config is not None:
            (path / "config.json").write_text(json.dumps(config))
        if weights_bytes is not None:
            (path / "model.safetensors").write_bytes(weights_bytes)
        cases.append((str(path), "refused"))
        return path

    edits = {
        "spec-number": {"spec": 5},
        "spec-huge-conv": {"spec": "conv(25000000,3)-relu-flatten-linear(10)"},
        "spec-huge-linear": {"spec": "flatten-linear(4000000000)-linear(10)"},
        "spec-big-conv": {"spec": "conv(25000000,3)-gap-linear(10)"},  # 1.2 GB: under the limit, refused by the header
        "spec-padding": {"spec": "conv(1,1,p=3000)-gap-linear(10)"},
        "spec-long": {"spec": "-".join(["relu"] * 5000) + "-flatten-linear(10)"},
        "spec-bad": {"spec": "conv(4,99)-flatten-linear(10)"},
        "spec-other-net": {"spec": "flatten-linear(10)"},
        "spec-classes": {"spec": "conv(4,5,p=2)-relu-maxpool(2)-flatten-linear(7)"},
        "shape-zero": {"input_shape": [0, 28, 28]},
        "shape-huge": {"input_shape": [1, 100000, 100000]},
        "shape-text": {"input_shape": "1x28x28"},
        "shape-long": {"input_shape": [1] * 10},
        "shape-float": {"input_shape": [1.0, 28, 28]},
        "classes-empty": {"classes": []},
        "classes-dict": {"classes": {"a": 1}},
        "classes-few": {"classes": ["a", "b"]},
        "norm-nan": {"normalize": {"mean": [float("nan")], "std": [0.3]}},
        "norm-inf": {"normalize": {"mean": [0.1], "std": [float("inf")]}},
        "norm-zero-std": {"normalize": {"mean": [0.1], "std": [0]}},
        "norm-negative-std": {"normalize": {"mean": [0.1], "std": [-1]}},
        "norm-channels": {"normalize": {"mean": [0.1, 0.2], "std": [0.3, 0.3]}},
        "norm-missing": {"normalize": {}},
        "norm-text": {"normalize": "z-score"},
    }
    for name, change in edits.items():
        folder(name, good_config | change)
    for key in ("spec", "input_shape", "classes", "normalize"):
        folder(f"missing-{key}", {k: v for k, v in good_config.items() if k != key})
    folder("no-config", None)
    folder("config-list", raw_config="[1, 2, 3]")
    folder("config-garbage", raw_config="\x00\xff not json")
    folder("config-deep", raw_config="[" * 100_000 + "]" * 100_000)
    folder("config-huge", raw_config=json.dumps(good_config | {"pad": "x" * 5_000_000}))
    folder("config-nan", raw_config=json.dumps(good_config).replace('"mean": [0.13]', '"mean": [NaN]'))
    folder("no-weights", good_config, weights_bytes=None)
    folder("weights-empty", good_config, weights_bytes=b"")
    folder("weights-truncated", good_config, weights_bytes=weights[: len(weights) // 2])
    folder("weights-garbage", good_config, weights_bytes=os.urandom(4096))
    folder("weights-header-bomb", good_config, weights_bytes=(2**62).to_bytes(8, "little") + b"{}")
    folder("weights-pickle", good_config, weights_bytes=b"\x80\x04\x95" + os.urandom(100))
    header = json.dumps(
        {"0.weight": {"dtype": "F32", "shape": [25_000_000, 1, 5, 5], "data_offsets": [0, 2_500_000_000]}}
    )
    folder("weights-huge-declared", good_config, weights_bytes=len(header).to_bytes(8, "little") + header.encode())
    state = load_file(good / "model.safetensors")
    for name, change in {
        "weights-nan": lambda s: s["0.weight"].fill_(float("nan")),
        "weights-inf": lambda s: s["4.bias"].fill_(float("inf")),
        "weights-shape": lambda s: s.update({"0.weight": torch.zeros(4, 1, 3, 3)}),
        "weights-extra": lambda s: s.update({"9.weight": torch.zeros(2)}),
        "weights-missing": lambda s: s.pop("4.bias"),
        "weights-copy": lambda s: None,
    }.items():
        copy = {k: v.clone() for k, v in state.items()}
        change(copy)
        path = folder(name, good_config, weights_bytes=None)
        save_file({k: v.contiguous() for k, v in copy.items()}, path / "model.safetensors")
    cases[-1] = (cases[-1][0], "loaded")  # a well-formed copy: the control
    cases.append((str(good) + "#serve", "loaded"))
    cases.append((str(Path(fixtures["digits"])) + "#serve", "loaded"))  # 1x8x8: drawn, resized like any input
    cases.append((str(Path(fixtures["oned"])) + "#serve", "refused"))
    cases.append((str(root / "crafted" / "spec-huge-conv") + "#serve", "refused"))
    return cases


def run_folder_class(report: Report, fixtures: dict, quick: bool) -> None:
    root = Path(fixtures["tmp"])
    cases = crafted_runs(root, fixtures)
    if quick:
        cases = cases[::4]
    expectation = dict(cases)
    child = subprocess.run(
        [sys.executable, "-c", RUN_FOLDER_CHILD, json.dumps([c for c, _ in cases])],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if child.returncode != 0:
        report.add("run folders", "child process", False, child.stderr.strip()[-300:])
        return
    for folder, outcome, growth in json.loads(child.stdout.strip().splitlines()[-1]):
        name = Path(folder.replace("#serve", "")).name + (" (serve --run)" if folder.endswith("#serve") else "")
        want = expectation[folder]
        clean = outcome.startswith(want) and growth < 100 * 2**20
        why = f"{outcome}; peak RSS +{growth / 2**20:.1f} MB" + ("" if clean else f" (expected {want})")
        report.add("run folders", name, clean, why)


# ---------------------------------------------------------------------------------------------- web API
def hostile_bodies(rng: random.Random, n: int) -> list[tuple[str, str, object]]:
    """(method, path, body) requests: hand-picked ones from the issue, then random hostile JSON."""
    big = 10**400
    picked: list[tuple[str, str, object]] = [
        ("POST", "/api/shape", {"size": 28, "kernel_size": 3, "stride": 10**8}),
        ("POST", "/api/shape", {"size": big, "kernel_size": 3}),
        ("POST", "/api/shape", {"size": 28, "kernel_size": 3, "out_channels": 10**18}),
        ("POST", "/api/shape", {"size": [2**31 - 1, 2**31 - 1], "kernel_size": 1, "in_channels": 2**31 - 1}),
        ("POST", "/api/shape", {"size": [28, 28, 28], "kernel_size": 3}),
        ("POST", "/api/shape", {"size": "28", "kernel_size": 3}),
        ("POST", "/api/shape", {"size": 28, "kernel_size": 3.5}),
        ("POST", "/api/shape", {"size": 28, "kernel_size": True}),
        ("POST", "/api/shape", {"size": 28}),
        ("POST", "/api/shape", {"bogus": 1}),
        ("POST", "/api/conv1d", {"padding": 10**6}),
        ("POST", "/api/conv1d", {"x": [1e308, 1e308], "weight": [1e308, 1e308]}),
        ("POST", "/api/conv1d", {"bias": big}),
        ("POST", "/api/conv1d", {"x": [1] * 100000}),
        ("POST", "/api/conv1d", {"x": [[1]]}),
        ("POST", "/api/conv1d", {"stride": 0}),
        ("POST", "/api/conv1d", {"activation": ["relu"]}),
        ("POST", "/api/train", {"seed": [1]}),
        ("POST", "/api/train", {"seed": {}}),
        ("POST", "/api/train", {"seed": None}),
        ("POST", "/api/train", {"seed": -1}),
        ("POST", "/api/train", {"seed": 1.5}),
        ("POST", "/api/train", {"seed": 2**70}),
        ("POST", "/api/train", {"model": "conv(1,1,p=3000)-gap-linear"}),
        ("POST", "/api/train", {"model": "-".join(["relu"] * 150_001)}),
        ("POST", "/api/train", {"model": "conv(25000000,3)-gap-linear"}),
        ("POST", "/api/train", {"model": "flatten-linear(5)"}),
        ("POST", "/api/train", {"model": 5}),
        ("POST", "/api/train", {"epochs": 10**9}),
        ("POST", "/api/train", {"lr": 10**400}),
        ("POST", "/api/train", {"train_subset": "all"}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "model": 5}),
        ("POST", "/api/forward", {"image": [[big] * 28] * 28}),
        ("POST", "/api/forward", {"image": [[0.5] * 600] * 600}),
        ("POST", "/api/forward", {"image": "abc"}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "preprocess": "maybe"}),
        ("POST", "/api/forward", {"image": [[0.0] * 28] * 28}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 27 + [[0.5] * 3]}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "encoding": "hex"}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "shift": [10**9, 0]}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "shift": "left"}),
        ("POST", "/api/forward", {"image": [[0.5] * 28] * 28, "center": "maybe"}),
        ("POST", "/api/shift-sweep", {"image": [[0.5] * 28] * 28, "max_shift": 10**6}),
        ("POST", "/api/shift-sweep", {"image": [[0.5] * 28] * 28, "max_shift": 27}),
        ("POST", "/api/shift-sweep", {"image": [[0.0] * 28] * 28}),
        ("POST", "/api/shift-sweep", {"max_shift": 3}),
        ("GET", "/api/train/model", None),
        ("GET", "/api/weights/cnn/99999999999999999999", None),
        ("GET", "/api/weights/cnn/0?unit=-1", None),
        ("GET", "/api/weights/cnn/0?unit=99999999999999999999999", None),
        ("GET", "/api/weights/nosuch/0", None),
        ("GET", "/api/weights/cnn/abc", None),
        ("GET", "/api/weights/mlp/0", None),
        ("GET", "/models/../../etc/passwd", None),
        ("GET", "/static/../app.py", None),
    ]
    raw: list[tuple[str, str, object]] = [
        ("POST", path, body)
        for path in ("/api/shape", "/api/conv1d", "/api/train", "/api/forward", "/api/shift-sweep")
        for body in (
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 5000 + b"1" + b"}" * 5000,
            b"{",
            b"",
            b"\xff\xfe",
            b"NaN",
            b'{"size": Infinity}',
            b'{"x": 1e999}',
            b'{"size": ' + b"9" * 5000 + b"}",
            b"[1, 2]",
        )
    ]
    fields = {
        "/api/shape": ["size", "kernel_size", "stride", "padding", "in_channels", "out_channels"],
        "/api/conv1d": ["x", "weight", "bias", "stride", "padding", "activation"],
        "/api/train": ["model", "epochs", "train_subset", "lr", "seed"],
        "/api/forward": ["image", "model", "preprocess", "encoding", "center", "shift"],
        "/api/shift-sweep": ["image", "model", "preprocess", "center", "shift", "max_shift"],
    }
    values = [
        0,
        -1,
        1,
        3,
        2**31,
        2**63,
        -(2**63),
        1.5,
        -0.0,
        1e308,
        1e-320,
        True,
        None,
        "",
        "x" * 1000,
        [],
        [1, 2, 3],
        [[1]],
        {},
        {"a": [1]},
        "conv(4,3)-relu-flatten-linear",
        "lenet",
        [[0.0] * 20 + [1.0] * 8] * 28,
        [-3, 2],
    ]
    generated = []
    while len(picked) + len(raw) + len(generated) < n:
        path = rng.choice(list(fields))
        body = {name: rng.choice(values) for name in rng.sample(fields[path], rng.randint(1, len(fields[path])))}
        if path == "/api/train":
            body["epochs"] = 1  # a run that starts is stopped at once: keep the check fast
            body["train_subset"] = 100
        generated.append(("POST", path, body))
    return picked + raw + generated


def web_class(report: Report, quick: bool) -> None:
    import torch
    from fastapi.testclient import TestClient

    from cnnlab.data.dataset import Dataset
    from cnnlab.web.app import create_app
    from cnnlab.web.training import TrainingJob

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(200, 1, 28, 28, generator=g), torch.arange(200) % 10
    job = TrainingJob(data=Dataset("toy", x, y, x, y, [str(i) for i in range(10)]))
    client = TestClient(create_app(training=job), base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    requests = hostile_bodies(random.Random(1), 60 if quick else 330)
    for method, path, body in requests:
        started = time.perf_counter()
        if isinstance(body, bytes):
            response = client.request(method, path, content=body, headers={"content-type": "application/json"})
        elif body is None:
            response = client.request(method, path)
        else:
            text = json.dumps(body)
            response = client.request(method, path, content=text, headers={"content-type": "application/json"})
        seconds = time.perf_counter() - started
        why = ""
        try:
            json.loads(response.content, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as err:
            if response.headers.get("content-type", "").startswith("application/json"):
                why = f"invalid JSON ({err})"
            elif not path.startswith(("/models", "/static")):
                why = f"not JSON: {response.content[:80]!r}"
        if response.status_code >= 500:
            why = f"status {response.status_code}: {response.text[:120]}"
        elif seconds > 1.0:
            why = f"took {seconds:.2f} s"
        name = f"{method} {path} {str(body)[:60]}"
        report.add("web API", name, not why, why)
        if job.thread is not None and job.thread.is_alive():
            job.stop()
            job.thread.join(timeout=30)


def load_class(report: Report, quick: bool) -> None:
    """A real server: a benign request's latency while hostile ones are in flight (the event loop stays free)."""
    import httpx
    import uvicorn

    from cnnlab.web.app import create_app

    app = create_app(port=None)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    benign = {"size": 28, "kernel_size": 5, "padding": 2}
    hostile = [
        ("/api/forward", {"image": [[rng_value(i, j) for j in range(512)] for i in range(512)]}),
        ("/api/shape", {"size": 28, "kernel_size": 3, "stride": 10**8 + 1}),
        ("/api/conv1d", {"x": [1.0] * 64, "weight": [1.0] * 64, "padding": 64}),
        ("/api/train", {"model": "-".join(["relu"] * 4999) + "-flatten-linear", "epochs": 1}),
        ("/api/shift-sweep", {"image": [[0.0] * 20 + [1.0] * 8] * 28, "max_shift": 27}),
    ]
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(5):
            client.post("/api/shape", json=benign)
        quiet = []
        for _ in range(10 if quick else 30):
            t = time.perf_counter()
            client.post("/api/shape", json=benign)
            quiet.append(time.perf_counter() - t)
        baseline = sorted(quiet)[len(quiet) // 2]
        for path, body in hostile:
            payload = json.dumps(body).encode()
            stop = threading.Event()

            def flood(path=path, payload=payload, stop=stop):
                with httpx.Client(base_url=base, timeout=30) as hostile_client:
                    while not stop.is_set():
                        hostile_client.post(path, content=payload, headers={"content-type": "application/json"})

            workers = [threading.Thread(target=flood) for _ in range(2)]
            for w in workers:
                w.start()
            time.sleep(0.3)
            delays = []
            for _ in range(10 if quick else 30):
                t = time.perf_counter()
                r = client.post("/api/shape", json=benign)
                delays.append(time.perf_counter() - t - baseline)
                assert r.status_code == 200
                time.sleep(0.02)
            stop.set()
            for w in workers:
                w.join()
            worst = max(delays)
            why = f"worst delay {1000 * worst:.0f} ms over a {1000 * baseline:.1f} ms baseline"
            report.add("load", f"{path} x2 in flight, {len(delays)} benign requests", worst < 0.1, why)
    server.should_exit = True
    thread.join(timeout=10)


def rng_value(i: int, j: int) -> float:
    return ((i * 7919 + j * 104729) % 1000) / 1000


# ---------------------------------------------------------------------------------------------- torchrun
TORCHRUN = [
    "train --nproc 2 --dataset nosuch --out {tmp}/t1",
    "train --nproc 2 --model lenet --dataset digits --out {tmp}/t2",
    "train --nproc 2 --batch-size 65 --out {tmp}/t3",
    "train --nproc 2 --out {file}",
    "train --nproc 2 --model logreg --out {digits}",
    "train --nproc 2 --lr nan --out {tmp}/t6",
    "train --nproc 0 --out {tmp}/t7",
    "train --nproc 9999 --out {tmp}/t8",
    "train --nproc 2 --resume /nonexistent",
    "train --nproc 2 --model conv(1,1,p=3000)-gap-linear --out {tmp}/t10",
    "train --nproc 2 --model flatten-linear(3) --out {tmp}/t11",
    "train --nproc 2 --dataset folder:/nonexistent --out {tmp}/t12",
    "train --nproc 2 --augment-shift 50 --out {tmp}/t13",
    "train --nproc 2 --model logreg --batch-size 1436 --out {tmp}/t14",  # a last batch of 1 for 2 processes
]


def torchrun_class(report: Report, fixtures: dict, quick: bool) -> None:
    cases = TORCHRUN[::3] if quick else TORCHRUN
    for text in cases:
        args = [part.format(**fixtures) for part in text.split(" ")]
        code, out, err, _ = run_cli(args, timeout=120)
        clean, why = judge_cli(code, out, err, (2,), False)
        report.add("torchrun", text, clean, why)


# ---------------------------------------------------------------------------------------------- signals
def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found + [g for c in found for g in children_of(c)]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def signal_case(folder: Path, sig: signal.Signals, nproc: int, when: str) -> tuple[bool, str]:
    args = [CNNLAB, "train", "--dataset", "digits", "--model", "mlp", "--epochs", "1000", "--out", str(folder)]
    args += ["--nproc", str(nproc)] if nproc > 1 else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    if when == "startup":
        time.sleep(0.5)
    else:
        while not (folder / "checkpoint-last.safetensors").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                return False, f"training ended early: {proc.communicate()[1][-200:]!r}"
            time.sleep(0.05)
        if when == "mid-epoch":
            time.sleep(0.3)
    kids = children_of(proc.pid)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return False, "did not stop within 60 s"
    time.sleep(0.3)
    left = [k for k in kids if alive(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    if left:
        return False, f"processes left: {left}"
    if proc.returncode != 130:
        return False, f"exit {proc.returncode}: {err.strip()[-200:]!r}"
    if "Traceback" in err or err.strip().splitlines()[-1:] != ["interrupted"] or err.count("interrupted") != 1:
        return False, f"stderr {err.strip()[-200:]!r}"
    if when != "startup":
        code, _, rerr, _ = run_cli(["train", "--resume", str(folder), "--epochs", "3"], timeout=120)
        if code != 0:
            return False, f"resume failed: {rerr.strip()[-200:]!r}"
    return True, ""


def signals_class(report: Report, fixtures: dict, quick: bool) -> None:
    tmp = Path(fixtures["tmp"])
    plan = [
        (signal.SIGINT, 1, "after a checkpoint"),
        (signal.SIGTERM, 1, "after a checkpoint"),
        (signal.SIGINT, 1, "mid-epoch"),
        (signal.SIGINT, 1, "startup"),
        (signal.SIGINT, 2, "after a checkpoint"),
        (signal.SIGTERM, 2, "after a checkpoint"),
        (signal.SIGINT, 2, "startup"),
    ]
    if quick:
        plan = plan[:1] + plan[4:5]
    for i, (sig, nproc, when) in enumerate(plan):
        clean, why = signal_case(tmp / f"sig{i}", sig, nproc, when)
        report.add("signals", f"{sig.name} to train --nproc {nproc}, {when}", clean, why)
    # The launcher killed outright: its processes die with it (PR_SET_PDEATHSIG).
    folder = tmp / "sigkill"
    proc = subprocess.Popen(
        [
            CNNLAB,
            "train",
            "--dataset",
            "digits",
            "--model",
            "mlp",
            "--epochs",
            "1000",
            "--nproc",
            "2",
            "--out",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (folder / "checkpoint-last.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    kids = children_of(proc.pid)
    proc.kill()
    proc.wait()
    time.sleep(1.0)
    left = [k for k in kids if alive(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    report.add(
        "signals", "SIGKILL to the launcher of --nproc 2", bool(kids) and not left, f"left: {left}" if left else ""
    )


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a sample of each class (about 1.5 minutes)")
    parser.add_argument("--only", choices=[c.split()[0].lower() for c in CLASSES], action="append")
    parser.add_argument("--jobs", type=int, default=2, help="CLI cases run in parallel")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every bad case")
    parser.add_argument("--all", action="store_true", help="list every case with its outcome")
    args = parser.parse_args()
    only = set(args.only or [c.split()[0].lower() for c in CLASSES])
    report = Report()
    started = time.perf_counter()
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="cnnlab-adversarial-") as tmp:
        fixtures = make_fixtures(Path(tmp))
        # Commands without --out write runs/NAME-TIME in the working directory: let that be the temporary one.
        os.chdir(tmp)
        steps = [
            ("cli", lambda: cli_class(report, fixtures, args.quick, args.jobs)),
            ("run", lambda: run_folder_class(report, fixtures, args.quick)),
            ("web", lambda: web_class(report, args.quick)),
            ("load", lambda: load_class(report, args.quick)),
            ("torchrun", lambda: torchrun_class(report, fixtures, args.quick)),
            ("signals", lambda: signals_class(report, fixtures, args.quick)),
        ]
        for key, step in steps:
            if key in only or (key == "cli" and only & {"cli", "files"}):
                t = time.perf_counter()
                step()
                print(f"[{key}: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
        os.chdir(home)
    rows = report.table()
    bad = [o.__dict__ for o in report.outcomes if not o.clean]
    if args.json:
        print(json.dumps({"rows": rows, "bad": bad, "seconds": round(time.perf_counter() - started, 1)}))
        return
    print(f"{'class':<12} | {'tried':>5} | {'clean':>5} | {'bad':>3}")
    for row in rows:
        print(f"{row['class']:<12} | {row['tried']:>5} | {row['clean']:>5} | {row['bad']:>3}")
    total = {k: sum(r[k] for r in rows) for k in ("tried", "clean", "bad")}
    print(f"{'total':<12} | {total['tried']:>5} | {total['clean']:>5} | {total['bad']:>3}")
    for o in bad if args.verbose else bad[:20]:
        print(f"  bad [{o['klass']}] {o['name']}: {o['why']}")
    if args.all:
        for o in report.outcomes:
            print(f"  {'clean' if o.clean else 'BAD  '} [{o.klass}] {o.name}: {o.why}")


if __name__ == "__main__":
    main()
