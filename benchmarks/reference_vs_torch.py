"""How far is the NumPy glass box from PyTorch? Forward + backward time, median of repeats.

Cases (float32, batch 64 by default):

* ``conv``: Conv2d(1 -> 16, 5x5, padding 2) on 64x1x28x28 - target: reference within 5x of PyTorch;
* ``lenet``: the whole ``lenet`` preset with softmax cross-entropy.

Both sides compute the same gradients (input, weights, biases; the conv input gets
``requires_grad`` so that PyTorch also computes dL/dx) with the same number of threads
(numpy's BLAS through threadpoolctl, ``torch.set_num_threads``).

Usage::

    PYTHONPATH=src python benchmarks/reference_vs_torch.py [--threads 1] [--repeats 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

from cnnlab import engine
from cnnlab import reference as R
from cnnlab.train.environment import system_info


def median_ms(step, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def conv_case(batch: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 1, 28, 28)).astype(np.float32)
    ref = R.Conv2d(1, 16, 5, padding=2, dtype=np.float32, rng=rng)
    grad = rng.normal(size=(batch, 16, 28, 28)).astype(np.float32)

    def reference_step():
        ref.forward(x)
        ref.backward(grad)

    net = torch.nn.Conv2d(1, 16, 5, padding=2)
    tx, tgrad = torch.tensor(x, requires_grad=True), torch.tensor(grad)

    def engine_step():
        net.zero_grad(set_to_none=True)
        tx.grad = None
        net(tx).backward(tgrad)

    return {
        "case": f"Conv2d(1->16, 5x5, p=2), {batch}x1x28x28",
        "reference_ms": median_ms(reference_step, repeats),
        "engine_ms": median_ms(engine_step, repeats),
    }


def lenet_case(batch: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    ref = R.build("lenet", (1, 28, 28), num_classes=10, seed=0, dtype=np.float32)

    def reference_step():
        _, grad = R.cross_entropy(ref.forward(x), y)
        ref.backward(grad)

    net = engine.build("lenet", (1, 28, 28), num_classes=10, seed=0)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def engine_step():
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(tx), ty).backward()

    return {
        "case": f"lenet, batch {batch}, with cross-entropy",
        "reference_ms": median_ms(reference_step, repeats),
        "engine_ms": median_ms(engine_step, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for numpy's BLAS and for torch (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats per case; the median is reported")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    if args.threads < 1 or args.repeats < 1 or args.batch < 1:
        parser.error(f"--threads, --repeats and --batch must be >= 1, got {args.threads}, {args.repeats}, {args.batch}")

    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = [
            f"{p['internal_api']} {p.get('version') or ''} ({p['num_threads']} threads)".replace("  ", " ")
            for p in threadpool_info()
            if p["user_api"] == "blas"
        ]
        rows = [conv_case(args.batch, args.repeats), lenet_case(args.batch, args.repeats)]
    for row in rows:
        row["ratio"] = row["reference_ms"] / row["engine_ms"]
    result = {
        "numpy": np.__version__,
        "numpy_blas": blas,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "repeats": args.repeats,
        "results": rows,
        "system": system_info(torch.device("cpu")),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"numpy {result['numpy']} BLAS: {', '.join(blas)}; torch {result['torch']} threads: {result['torch_threads']}"
    )
    print(f"forward + backward, float32, median of {args.repeats}")
    print(f"{'case':<45} {'reference ms':>12} {'torch ms':>9} {'ratio':>6}")
    for row in rows:
        print(f"{row['case']:<45} {row['reference_ms']:>12.2f} {row['engine_ms']:>9.2f} {row['ratio']:>5.1f}x")


if __name__ == "__main__":
    main()
