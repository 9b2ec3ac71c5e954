"""Train the two MNIST networks shipped with the web visualiser and write their run folders.

    PYTHONPATH=src python scripts/train_web_models.py --data-dir /work/shared/data/mnist

writes ``src/cnnlab/assets/web-mlp`` (preset ``mlp300``, 784-300-100-10) and
``src/cnnlab/assets/web-cnn`` (preset ``lenet``), each a run folder: ``config.json`` (spec,
normalisation, provenance, test accuracy) and ``model.safetensors`` (the engine's state_dict, stored
as float16 to keep each file well under 1 MB; the test accuracy is measured with the stored float16
weights cast back to float32). Training is :func:`cnnlab.train.fit` with the registry's
``visualiser`` recipe; ``--out`` writes elsewhere (e.g. to compare with the shipped files).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from cnnlab import engine
from cnnlab.data import load_dataset
from cnnlab.io import atomic_write, atomic_write_text
from cnnlab.model import Model
from cnnlab.train import fit
from cnnlab.train.recipes import recipe

# folder -> (API name, title, preset)
MODELS = {"web-mlp": ("mlp", "Dense 784-300-100-10", "mlp300"), "web-cnn": ("cnn", "LeNet-like CNN", "lenet")}
MEAN, STD = 0.1307, 0.3081  # MNIST's training-set statistics, the usual rounded values
RECIPE = recipe("visualiser")


def save_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    """The float16 state_dict as safetensors, written atomically."""
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata={"format": "pt", "storage": "float16"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "src/cnnlab/assets")
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs)
    parser.add_argument("--seed", type=int, default=RECIPE.seed)
    parser.add_argument("--lr", type=float, default=RECIPE.lr)
    parser.add_argument("--batch-size", type=int, default=RECIPE.batch_size)
    args = parser.parse_args()
    torch.set_num_threads(RECIPE.threads)  # reproducible, and polite on a shared 2-core machine

    data = load_dataset(RECIPE.dataset, data_dir=args.data_dir, download=False)
    data = dataclasses.replace(data, mean=[MEAN], std=[STD])
    sums = {name: hashlib.sha256((args.data_dir / name).read_bytes()).hexdigest() for name in data.meta["files"]}
    for folder, (name, title, preset) in MODELS.items():
        config = RECIPE.replace(
            model=preset, epochs=args.epochs, seed=args.seed, lr=args.lr, batch_size=args.batch_size
        ).validate()
        # Built here (as fit would build it) so that the trained weights stay at hand.
        net = engine.build(preset, data.input_shape, data.num_classes, seed=config.seed)
        print(f"{folder}: {net.spec_text}")
        t0 = time.perf_counter()
        fit(config, dataset=data, log=lambda line: print(f"  {line}"), progress=False, net=net)
        seconds = time.perf_counter() - t0
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items()}
        # Measure what ships: the float16 weights cast back to float32.
        net.load_state_dict(state)
        model = Model(net, list(data.classes), [MEAN], [STD])
        acc = (model.predict_logits(data.x_test).argmax(1) == data.y_test).float().mean().item()
        print(f"  test accuracy {acc:.4f} ({seconds:.0f} s)")
        out = args.out / folder
        save_weights(out / "model.safetensors", state)
        run_config = {
            "model": net.spec_text,
            "spec": net.spec_text,
            "input_shape": list(data.input_shape),
            "classes": list(data.classes),
            "normalize": {"mean": [MEAN], "std": [STD]},
            "dataset": RECIPE.dataset,
            "title": title,
            "name": name,
            "epochs": config.epochs,
            "seed": config.seed,
            "optimizer": {"name": config.optimizer, "lr": config.resolved_lr},
            "batch_size": config.batch_size,
            "test_accuracy": round(acc, 4),
            "storage_dtype": "float16",
            "num_params": net.num_params,
            "train_seconds": round(seconds, 1),
            "trained_by": "scripts/train_web_models.py",
            "date": datetime.date.today().isoformat(),
            "data_sha256": sums,
            "torch": torch.__version__,
        }
        atomic_write_text(out / "config.json", json.dumps(run_config, indent=2) + "\n")


if __name__ == "__main__":
    main()
