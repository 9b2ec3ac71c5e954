"""Measure the shipped visualiser networks on the shifted MNIST test set: the page's reference curve.

    PYTHONPATH=src python scripts/translation_reference.py --data-dir /work/shared/data/mnist

writes ``src/cnnlab/assets/translation.json``: for the two networks shipped in ``assets/web-mlp`` and
``assets/web-cnn``, the test accuracy on all 10,000 MNIST test images moved by ``dx`` pixels
horizontally (``dy = 0``) and by ``dy`` pixels vertically (``dx = 0``), for every shift in
[-8, 8], zero fill, no centring afterwards (:func:`cnnlab.data.shift`, the same rule as the page's
shift controls and ``POST /api/forward``'s ``"shift"``). The page draws it as the dashed reference
curve next to its shift sweep of the student's own digit. The file records how it was made (this
script, the date, the data checksums, torch's version) so that it can be made again.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
from pathlib import Path

import torch

from cnnlab.data import load_dataset, shift
from cnnlab.io import atomic_write_text
from cnnlab.model import ASSETS, SHIPPED, Model

MAX_SHIFT = 8


def accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model.predict_logits(x).argmax(1) == y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--out", type=Path, default=ASSETS / "translation.json")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: polite on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load_dataset("mnist", data_dir=args.data_dir, download=False)
    sums = {name: hashlib.sha256((args.data_dir / name).read_bytes()).hexdigest() for name in data.meta["files"]}
    shifts = list(range(-MAX_SHIFT, MAX_SHIFT + 1))
    models = {}
    for name, run_dir in SHIPPED.items():
        model = Model.from_assets(name)
        row = {"title": model.config.get("title", name), "spec": model.spec, "run": f"assets/{run_dir.name}"}
        for axis in ("horizontal", "vertical"):
            row[axis] = [
                round(accuracy(model, shift(data.x_test, k if axis == "horizontal" else 0, k if axis == "vertical" else 0), data.y_test), 4)
                for k in shifts
            ]  # fmt: skip
        print(f"{name}: horizontal {row['horizontal']}\n{' ' * len(name)}  vertical   {row['vertical']}")
        models[name] = row
    report = {
        "what": "test accuracy of the shipped networks on the MNIST test set shifted by each number of pixels, zero fill",
        "test_images": len(data.y_test),
        "shifts": shifts,
        "models": models,
        "made_by": "scripts/translation_reference.py",
        "date": datetime.date.today().isoformat(),
        "data_sha256": sums,
        "torch": torch.__version__,
    }
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
