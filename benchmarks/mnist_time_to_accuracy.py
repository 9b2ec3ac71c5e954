"""MNIST time-to-accuracy: cnnlab's `fast` recipes vs the recipe of PyTorch's examples/mnist.

Runs in one process on one machine, data already loaded in memory:
  (a) recipe `fast` to >= 99.0 % test accuracy: median wall time (train + evaluation) over seeds;
  (b) PyTorch's official examples/mnist recipe (two 3x3 convs 32/64, max-pool, dropout, fc 128,
      Adadelta lr 1.0, StepLR gamma 0.7, batch 64), timed over its first epoch;
  (c) recipe `fast995` to >= 99.5 %.

    python benchmarks/mnist_time_to_accuracy.py --data-dir ../shared/data/mnist [--seeds 3] [--device cuda] [--json]

On a GPU the data lives on the device and the step never waits for the host (cnnlab.train.batches);
the recipes are the same, with mixed precision as ``--amp`` says (default auto: bf16 on GPUs with
native bfloat16, fp16 on older ones). ``--train-subset N`` shortens every run (a check of the script
itself, not of the targets). The JSON output records the system (device, GPU, versions, threads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from cnnlab.data import load_dataset
from cnnlab.train import TrainConfig, fit
from cnnlab.train.device import amp_dtype, amp_name, pick_device
from cnnlab.train.environment import system_info
from cnnlab.train.recipes import recipe

PYTORCH_EXAMPLE = TrainConfig(
    model="conv(32,3)-relu-conv(64,3)-relu-maxpool(2)-dropout(0.25)-flatten-linear(128)-relu-dropout(0.5)-linear",
    dataset="mnist",
    epochs=1,
    batch_size=64,
    optimizer="adadelta",
    lr=1.0,
    schedule="step",
    gamma=0.7,
)


def timed(cfg: TrainConfig, data) -> dict:
    started = time.perf_counter()
    history = fit(cfg, dataset=data, progress=False)
    run = {
        "accuracy": history.final["test_accuracy"],
        "seconds": time.perf_counter() - started,
        "train_seconds": history.final["train_seconds"],
        "seed": cfg.seed,
    }
    print(
        f"  {cfg.model} seed {cfg.seed}: {run['accuracy'] * 100:.2f} % in {run['seconds']:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return run


def summarize(name: str, target: float | None, runs: list[dict]) -> dict:
    accs = [r["accuracy"] for r in runs]
    secs = [r["seconds"] for r in runs]
    return {
        "name": name,
        "target": target,
        "runs": runs,
        "median_seconds": statistics.median(secs),
        "accuracy_mean": statistics.mean(accs),
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "reached": None if target is None else sum(a >= target for a in accs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser.add_argument("--data-dir", default=str(default_dir))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["fast", "pytorch", "fast995"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--amp", default="auto", choices=["auto", "off", "bf16", "fp16"])
    parser.add_argument("--train-subset", type=int, default=0, help="train on N examples only (0 = all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_dataset("mnist", data_dir=args.data_dir)
    device = pick_device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    same = {"device": args.device, "amp": args.amp, "train_subset": args.train_subset}

    def run(cfg: TrainConfig) -> dict:
        return timed(cfg.replace(**same), data)

    # Warm-up, not timed: the first run in a process pays for thread-pool start-up and oneDNN/cuDNN
    # kernel selection (seen: 80 s for the first seed vs 6 s for the next on a busy CPU).
    print("warm-up (not timed)", file=sys.stderr)
    timed(recipe("fast").replace(**same | {"train_subset": min(2048, args.train_subset or 2048)}), data)
    results = []
    if "fast" not in args.skip:
        runs = [run(recipe("fast").replace(seed=s)) for s in range(args.seeds)]
        results.append(summarize("fast (>= 99.0 %)", 0.990, runs))
    if "pytorch" not in args.skip:
        results.append(summarize("pytorch examples/mnist, 1 epoch", None, [run(PYTORCH_EXAMPLE)]))
    if "fast995" not in args.skip:
        runs = [run(recipe("fast995").replace(seed=s)) for s in range(args.seeds)]
        results.append(summarize("fast995 (>= 99.5 %)", 0.995, runs))
    system = system_info(device, amp_name(amp_dtype(args.amp, device)), data_device=None)
    report = {"device": card, "torch": torch.__version__, "results": results, "system": system}
    if len(results) >= 2 and "fast" not in args.skip and "pytorch" not in args.skip:
        report["ratio_pytorch_epoch_over_fast"] = results[1]["median_seconds"] / results[0]["median_seconds"]
    print(f"MNIST time to accuracy on {card} (torch {torch.__version__})", file=sys.stderr)
    print(f"{'recipe':<34} {'median s':>9} {'test accuracy (mean ± std)':>28} {'reached':>8}", file=sys.stderr)
    for r in results:
        reached = "" if r["reached"] is None else f"{r['reached']}/{len(r['runs'])}"
        print(
            f"{r['name']:<34} {r['median_seconds']:>9.1f} {r['accuracy_mean'] * 100:>20.2f} ± {r['accuracy_std'] * 100:.2f} %"
            f" {reached:>8}",
            file=sys.stderr,
        )
    if "ratio_pytorch_epoch_over_fast" in report:
        print(
            f"ratio (pytorch example's first epoch / fast): {report['ratio_pytorch_epoch_over_fast']:.1f}x",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
