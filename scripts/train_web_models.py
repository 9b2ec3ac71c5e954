"""Train the two MNIST networks shipped with the web visualiser and write their run folders.

    PYTHONPATH=src python scripts/train_web_models.py --data-dir /work/shared/data/mnist

writes ``src/cnnlab/assets/web-mlp`` (784-300-100-10) and ``src/cnnlab/assets/web-cnn`` (LeNet-like),
each a run folder: ``config.json`` (spec, normalisation, provenance, test accuracy) and
``model.safetensors`` (the engine's state_dict, stored as float16 to keep each file well under 1 MB;
the test accuracy is measured with the stored float16 weights cast back to float32).

Top to bottom: seed, data, model, optimizer, loop, evaluation, save.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from cnnlab import engine
from cnnlab.data import load_dataset

MODELS = {
    "web-mlp": ("mlp", "Dense 784-300-100-10", "flatten-linear(300)-relu-linear(100)-relu-linear(10)"),
    "web-cnn": (
        "cnn",
        "LeNet-like CNN",
        "conv(6,5,p=2)-relu-maxpool(2)-conv(16,5)-relu-maxpool(2)-flatten-linear(120)-relu-linear(84)-relu-linear(10)",
    ),
}
MEAN, STD = 0.1307, 0.3081  # MNIST's training-set statistics, the usual rounded values


def load_mnist(data_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """MNIST from local IDX files (images float32 in [0, 1], (N, 1, 28, 28)) and the files' SHA-256."""
    data = load_dataset("mnist", data_dir=data_dir, download=False)
    sums = {name: hashlib.sha256((data_dir / name).read_bytes()).hexdigest() for name in data.meta["files"]}
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}
    return arrays, sums


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net((xb - MEAN) / STD).argmax(1) for xb in x.split(1000)])
    return (pred == y).float().mean().item()


def train(spec: str, data: dict, epochs: int, seed: int, lr: float, batch_size: int) -> nn.Module:
    torch.manual_seed(seed)
    net = engine.build(spec, (1, 28, 28), num_classes=10, seed=seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    x, y = data["x_train"], data["y_train"]
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start : start + batch_size]
            loss = nn.functional.cross_entropy(net((x[idx] - MEAN) / STD), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"  epoch {epoch + 1}/{epochs}: train loss {total / len(y):.4f}")
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "src/cnnlab/assets")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)  # reproducible, and polite on a shared 2-core machine

    data, sums = load_mnist(args.data_dir)
    for folder, (name, title, spec) in MODELS.items():
        print(f"{folder}: {spec}")
        t0 = time.perf_counter()
        net = train(spec, data, args.epochs, args.seed, args.lr, args.batch_size)
        seconds = time.perf_counter() - t0
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items()}
        # Measure what ships: the float16 weights cast back to float32.
        net.load_state_dict(state)
        acc = accuracy(net, data["x_test"], data["y_test"])
        print(f"  test accuracy {acc:.4f} ({seconds:.0f} s)")
        out = args.out / folder
        out.mkdir(parents=True, exist_ok=True)
        save_file(state, str(out / "model.safetensors"), metadata={"format": "pt", "storage": "float16"})
        config = {
            "model": spec,
            "spec": spec,
            "input_shape": [1, 28, 28],
            "classes": [str(i) for i in range(10)],
            "normalize": {"mean": [MEAN], "std": [STD]},
            "dataset": "mnist",
            "title": title,
            "name": name,
            "epochs": args.epochs,
            "seed": args.seed,
            "optimizer": {"name": "adam", "lr": args.lr},
            "batch_size": args.batch_size,
            "test_accuracy": round(acc, 4),
            "storage_dtype": "float16",
            "num_params": net.num_params,
            "train_seconds": round(seconds, 1),
            "trained_by": "scripts/train_web_models.py",
            "date": datetime.date.today().isoformat(),
            "data_sha256": sums,
            "torch": torch.__version__,
        }
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    main()
