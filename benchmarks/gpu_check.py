"""The GPU check behind benchmarks/gpu_check.sh: every GPU-only promise of cnnlab, run as users run it, in one table.

Each check runs the real commands (``python -m cnnlab.cli.main`` = ``cnnlab``, ``torchrun``, the
benchmark scripts) in fresh processes and reads their ``--json`` output or run folders. A check
that fails prints FAIL with the reason and makes the exit status 1; speed targets (MNIST 99 % in
< 0.75 s of training, Ising >= 100 flips/ns on one GPU) are reported as met or not, and fail only
with STRICT=1. See gpu_check.sh for the environment variables.

    DEVICE=cpu QUICK=1 python benchmarks/gpu_check.py     # what CI runs
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
TARGET_SECONDS = 0.75  # MNIST 99 % on one GPU (best public figure: 0.76 s on a GTX 1660 Ti)
TARGET_FLIPS = 100.0  # Ising spin flips per ns on one GPU
QUICK_SUBSET = 4096  # training examples per run with QUICK=1: 32 steps, enough for BatchNorm statistics to settle


class Failed(Exception):
    """A check's promise does not hold (the message says which number)."""


class Check:
    """Settings read once from the environment, the rows so far, and helpers to run commands."""

    def __init__(self) -> None:
        self.device = os.environ.get("DEVICE", "cuda")
        if self.device not in ("cuda", "cpu"):
            print(f"gpu_check: DEVICE must be cuda or cpu, got {self.device!r}", file=sys.stderr)
            raise SystemExit(2)
        self.quick = os.environ.get("QUICK", "0") not in ("", "0")
        self.strict = os.environ.get("STRICT", "0") not in ("", "0")
        self.work = Path(os.environ["WORK"]) if os.environ.get("WORK") else Path(tempfile.mkdtemp(prefix="gpu-check-"))
        self.keep = bool(os.environ.get("WORK"))
        self.work.mkdir(parents=True, exist_ok=True)
        data_dir = Path(os.environ.get("DATA_DIR", ROOT.parent / "shared" / "data" / "mnist"))
        self.mnist = all((data_dir / f).is_file() for f in MNIST_FILES)
        self.data = ["--dataset", "mnist", "--data-dir", str(data_dir)] if self.mnist else ["--dataset", "digits"]
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
        if self.device == "cpu":
            self.env["CUDA_VISIBLE_DEVICES"] = ""  # "auto" (compare, experiments) must mean the CPU too
        # Sizes: full MNIST on a GPU; a few thousand examples (or the embedded digits) on a CPU in CI.
        # `cnnlab train` has no --train-subset: quick runs take the fast recipe from a config file.
        self.recipe = ["--recipe", "fast", *self.data]
        if self.quick and self.mnist:
            from cnnlab.train.recipes import recipe

            quick = recipe("fast").replace(data_dir=str(data_dir), train_subset=QUICK_SUBSET)
            (self.work / "fast-quick.json").write_text(json.dumps(quick.to_dict()))
            self.recipe = ["--config", str(self.work / "fast-quick.json")]
        # Bit-for-bit checks need no accuracy: quick ones train on the small embedded digits.
        self.small = ["--recipe", "fast", "--dataset", "digits"] if self.quick else self.recipe
        # Accuracy a run must reach: the recipe's promise at full size, "it learned" (chance: 10 %) when quick.
        self.floor = 0.99 if self.mnist and not self.quick else 0.3
        self.rows: list[dict] = []

    def cli(self, *args: str, timeout: int = 400) -> dict:
        """Run ``cnnlab ARGS --json``; its last stdout line parsed."""
        return json.loads(
            self.run([sys.executable, "-m", "cnnlab.cli.main", *args, "--json"], timeout).splitlines()[-1]
        )

    def run(self, command: list[str], timeout: int = 400) -> str:
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=timeout, cwd=ROOT)
        (self.work / "commands.log").open("a").write(" ".join(command) + f"\n  -> exit {done.returncode}\n")
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or ["(no output)"]
            reason = next((line for line in reversed(lines) if "Error" in line or "error:" in line), lines[-1])
            raise Failed(f"exit {done.returncode}: {reason.strip()}")
        return done.stdout

    def train(self, name: str, *args: str, small: bool = False) -> dict:
        return self.cli("train", *(self.small if small else self.recipe), "--out", str(self.work / name), *args)

    def row(self, name: str, check: Callable[[], str]) -> None:
        started = time.perf_counter()
        try:
            result, status = check(), "ok"
        except Failed as err:
            result, status = str(err), "FAIL"
        except Exception as err:  # a crash in a check is that check's failure; the others still run
            result, status = f"{type(err).__name__}: {err}", "FAIL"
        if status == "ok" and result.startswith("skipped"):
            status = "skip"
        if status == "ok" and "NOT met" in result and self.strict:
            status = "FAIL"
        self.rows.append({"check": name, "result": result, "seconds": time.perf_counter() - started, "status": status})
        print(f"{status:>4}  {name}: {result}", file=sys.stderr, flush=True)


def same_weights(a: Path, b: Path) -> float:
    """Largest |difference| between two runs' final weights (0.0: bit for bit)."""
    from safetensors.torch import load_file

    x, y = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    if x.keys() != y.keys():
        raise Failed(f"{a.name} and {b.name} hold different tensors")
    return max((x[k].double() - y[k].double()).abs().max().item() for k in x)


def versions(c: Check) -> str:
    import torch

    from cnnlab.train.device import amp_dtype, amp_name, pick_device
    from cnnlab.train.environment import system_info

    if c.device == "cuda" and not torch.cuda.is_available():
        raise Failed(
            "DEVICE=cuda but torch sees no CUDA GPU (a CPU build of torch, or no driver); DEVICE=cpu checks the CPU"
        )
    device = pick_device(c.device)
    c.system = system_info(device, amp_name(amp_dtype("auto", device)))
    s = c.system
    gpu = f"{s['device_name']} (compute capability {s['compute_capability']})" if device.type == "cuda" else "CPU"
    return (
        f"torch {s['torch']}, CUDA {s['cuda']}, cuDNN {s['cudnn']}, {gpu}, {s['threads']} threads; "
        f"--amp auto picks {s['amp']}; data {'MNIST' if c.mnist else 'digits (no MNIST files found)'}"
        + (", quick sizes" if c.quick else "")
    )


def train_rows(c: Check) -> None:
    cpu: dict = {}

    def baseline() -> str:
        cpu.update(c.train("cpu", "--device", "cpu"))
        return f"accuracy {cpu['test_accuracy']:.2%}, {cpu['train_seconds']:.2f} s training"

    if c.device == "cuda":
        c.row("train --recipe fast, cpu (baseline)", baseline)
    for amp in ("off", "bf16", "fp16"):

        def one(amp: str = amp) -> str:
            final = c.train(f"{c.device}-{amp}", "--device", c.device, "--amp", amp)
            if final["system"]["amp"] != amp:
                raise Failed(f"asked for amp {amp}, the run records {final['system']['amp']}")
            if final["test_accuracy"] < c.floor:
                raise Failed(f"accuracy {final['test_accuracy']:.2%} < {c.floor:.0%}")
            text = f"accuracy {final['test_accuracy']:.2%}, {final['train_seconds']:.2f} s training"
            if cpu:
                text += f", {cpu['train_seconds'] / final['train_seconds']:.1f}x faster than the CPU"
            capability = final["system"]["compute_capability"]
            if amp == "bf16" and capability and float(capability) < 8:
                text += " (bf16 emulated on this GPU: slow by design; --amp auto picks fp16 here)"
            return text + f"; data on {final['system']['data_device']}"

        c.row(f"train --recipe fast, {c.device}, amp {amp}", one)


def time_to_accuracy(c: Check) -> str:
    if not c.mnist:
        return "skipped: needs MNIST (DATA_DIR)"
    args = ["--data-dir", c.data[3], "--device", c.device, "--json"]
    args += (
        ["--seeds", "1", "--skip", "pytorch", "fast995", "--train-subset", str(QUICK_SUBSET // 4)]
        if c.quick
        else ["--seeds", "3", "--skip", "pytorch"]
    )
    report = json.loads(
        c.run([sys.executable, "benchmarks/mnist_time_to_accuracy.py", *args], timeout=600).splitlines()[-1]
    )
    fast = report["results"][0]
    train_s = sorted(r["train_seconds"] for r in fast["runs"])[len(fast["runs"]) // 2]
    text = f"fast: {fast['reached']}/{len(fast['runs'])} >= 99 %, median {train_s:.2f} s training ({fast['median_seconds']:.2f} s with evaluation)"
    if not c.quick:
        if fast["reached"] < len(fast["runs"]):
            raise Failed(text)
        more = report["results"][1]
        text += f"; fast995: {more['reached']}/{len(more['runs'])} >= 99.5 %, median {more['median_seconds']:.1f} s"
        if c.device == "cuda":
            text += f"; target < {TARGET_SECONDS} s: {'met' if train_s < TARGET_SECONDS else 'NOT met'}"
    return text


def determinism(c: Check) -> None:
    # A schedule that does not depend on the number of epochs, so that 1 epoch + resume to 2 = 2 epochs.
    det = ["--device", c.device, "--deterministic", "--schedule", "none", "--lr", "0.05"]

    def run_twice() -> str:
        for name in ("det-a", "det-b"):
            c.train(name, *det, "--epochs", "2", small=True)
        diff = same_weights(c.work / "det-a", c.work / "det-b")
        if diff:
            raise Failed(f"two --deterministic runs differ by {diff:.3g}")
        return "two --deterministic runs: the same weights bit for bit"

    def resume() -> str:
        c.train("det-r", *det, "--epochs", "1", small=True)
        c.cli("train", "--resume", str(c.work / "det-r"), "--epochs", "2")
        diff = same_weights(c.work / "det-r", c.work / "det-a")
        if diff:
            raise Failed(f"1 epoch + resume differs from 2 epochs by {diff:.3g}")
        return "1 epoch + --resume to 2 = 2 epochs, bit for bit"

    c.row("run == run (--deterministic)", run_twice)
    c.row("resume == run (--deterministic)", resume)


def ddp(c: Check) -> str:
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "1",
        "-m",
        "cnnlab.cli.main",
        "train",
        "--json",
    ]
    det = [
        *c.small,
        "--device",
        c.device,
        "--deterministic",
        "--schedule",
        "none",
        "--lr",
        "0.05",
    ]
    whole = json.loads(c.run([*torchrun, *det, "--epochs", "2", "--out", str(c.work / "ddp-a")]).splitlines()[-1])
    c.run([*torchrun, *det, "--epochs", "1", "--out", str(c.work / "ddp-r")])
    c.run([*torchrun, "--resume", str(c.work / "ddp-r"), "--epochs", "2"])
    system = whole["system"]
    if system.get("backend") != ("nccl" if c.device == "cuda" else "gloo"):
        raise Failed(
            f"expected a {'nccl' if c.device == 'cuda' else 'gloo'} process group, the run records {system.get('backend')}"
        )
    diff = same_weights(c.work / "ddp-r", c.work / "ddp-a")
    if diff:
        raise Failed(f"DDP resume differs from the uninterrupted DDP run by {diff:.3g}")
    plain = (
        same_weights(c.work / "ddp-a", c.work / "det-a")
        if (c.work / "det-a" / "model.safetensors").is_file()
        else float("nan")
    )
    return (
        f"{system['backend']}, 1 process: resume == run bit for bit; vs. the single-process run: max |Δw| = {plain:.1e}"
    )


def export_rows(c: Check) -> str:
    import torch

    import cnnlab
    from cnnlab.data import load_dataset
    from cnnlab.export import export

    run = c.work / f"{c.device}-off"
    if not (run / "model.safetensors").is_file():
        raise Failed(f"no trained run at {run} (its training check failed)")
    data = load_dataset(c.data[1], data_dir=c.data[3] if c.mnist else None)
    x = data.x_test[:1000]
    device = torch.device(c.device)
    model = cnnlab.load(run).to(device)
    logits = model.predict_logits(x)  # computed on the device, returned on the CPU
    scale = max(1.0, logits.abs().max().item())
    on_cpu = cnnlab.load(run)
    inputs_elsewhere = (on_cpu.predict_logits(x.to(device)) - logits).abs().max().item()  # CUDA inputs, CPU model
    text = [f"model on {device} vs CPU, inputs on the other device: {inputs_elsewhere:.1e}"]
    formats = ["torchscript"]
    try:
        import onnx  # noqa: F401
        import onnxruntime

        formats.insert(0, "onnx")
    except ModuleNotFoundError:
        text.append("ONNX skipped (pip install 'cnnlab[export]')")
    for fmt in formats:
        exported = export(run, fmt, out=c.work / f"model.{fmt}", inputs=x[:64].to(device))
        if fmt == "onnx":
            import onnxruntime

            session = onnxruntime.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
            got = torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])
        else:
            got = torch.jit.load(str(exported.path))(x)
        diff = (got - logits).abs().max().item()
        if not diff <= 1e-3 * scale:
            raise Failed(f"{fmt} file vs the model on {device}: max |Δ logit| = {diff:.3g}")
        text.append(f"{fmt} vs model on {device}: {diff:.1e}")
    if not inputs_elsewhere <= 1e-3 * scale:
        raise Failed("; ".join(text))
    return "; ".join(text)


def equivariance(c: Check) -> str:
    # Quick: the embedded digits (the equivariant net keeps full resolution: slow on a CPU with MNIST).
    data = ["--dataset", "digits"] if c.quick or not c.mnist else c.data
    args = ["compare", *data, "--models", "logreg" if c.quick else "cnn-small", "--seeds", "1", "--equivariance"]
    args += ["--epochs", "2", "--max-shift", "2", "--eval-examples", "100"] if c.quick else ["--max-shift", "4"]
    result = c.cli(*args, "--out", str(c.work / "compare"))
    system = json.loads((c.work / "compare" / "result.json").read_text())["system"]
    eq = result["equivariance"]
    random = max(eq["random_logit_change"]["equivariant"])
    flipped = max(eq["trained"]["equivariant"]["flipped"])
    if random > 1e-9:
        raise Failed(f"the equivariant net's logits change by {random:.2g} under a circular shift (float64)")
    if flipped > 0.01:
        raise Failed(f"a circular shift changes {flipped:.2%} of the equivariant net's predictions")
    twin = max(eq["trained"]["maxpool twin"]["flipped"])
    return f"equivariant net: {flipped:.2%} of predictions changed by a circular shift (max-pool twin {twin:.1%}), on {system['device']}"


def ising(c: Check) -> str:
    script = [sys.executable, "benchmarks/ising_flips.py"]
    if "--device" not in c.run([*script, "--help"]):
        return "skipped: benchmarks/ising_flips.py has no --device flag on this branch"
    size = (
        ["--L", "16", "--chains", "64", "--sweeps", "2"]
        if c.quick
        else ["--L", "64", "--chains", "16384", "--sweeps", "20"]
    )
    report = json.loads(
        c.run(
            [*script, *size, "--baseline-sweeps", "1", "--repeats", "1", "--device", c.device, "--json"]
        ).splitlines()[-1]
    )
    rows = [r for r in report["rows"] if "device" in r] or report["rows"][-1:]
    best = max(rows, key=lambda r: r["flips_per_ns"])
    text = f"{best['name']} on {best.get('device', c.device)}: {best['flips_per_ns']:.2f} flips/ns (L = {report['L']}, {report['chains']} chains)"
    if c.device == "cuda" and not c.quick:
        text += f"; target >= {TARGET_FLIPS:.0f}: {'met' if best['flips_per_ns'] >= TARGET_FLIPS else 'NOT met'}"
    return text


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    c = Check()
    c.system = {}
    c.row("versions and capability", lambda: versions(c))
    train_rows(c)
    c.row("benchmarks/mnist_time_to_accuracy.py", lambda: time_to_accuracy(c))
    determinism(c)
    c.row("DDP, one process under torchrun, resume", lambda: ddp(c))
    c.row("export (ONNX, TorchScript) and inference across devices", lambda: export_rows(c))
    c.row("compare --equivariance", lambda: equivariance(c))
    c.row("Ising flips (benchmarks/ising_flips.py)", lambda: ising(c))
    failed = [r for r in c.rows if r["status"] == "FAIL"]
    width = max(len(r["check"]) for r in c.rows)
    print(f"\ncnnlab GPU check: DEVICE={c.device}{' QUICK=1' if c.quick else ''}, {c.system.get('device_name', '?')}")
    print(f"{'check':<{width}}  {'status':<6} {'s':>6}  result")
    for r in c.rows:
        print(f"{r['check']:<{width}}  {r['status']:<6} {r['seconds']:>6.1f}  {r['result']}")
    print(
        f"{len(c.rows) - len(failed)} of {len(c.rows)} checks passed"
        + (f"; FAILED: {', '.join(r['check'] for r in failed)}" if failed else "")
    )
    if os.environ.get("JSON"):
        Path(os.environ["JSON"]).write_text(
            json.dumps({"device": c.device, "quick": c.quick, "system": c.system, "rows": c.rows}, indent=2) + "\n"
        )
    if not c.keep:
        shutil.rmtree(c.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
