# %% [markdown]
# # 04 · Transfer learning: frozen features, fine-tuning, scratch
#
# The lecture's point 8: filters learned on one task work on similar tasks, reused as they are or
# with slight modification (fine-tuning). Here a CNN is **pretrained on the digits 0-4** and then
# has to learn the **digits 5-9** (and, when their files are present, other datasets) from only
# *n* labelled examples per class, three ways:
#
# | way | start | what trains |
# |---|---|---|
# | `frozen` | pretrained | only a new classifier head on top of the frozen convolutional features |
# | `finetune` | pretrained | every layer, starting from the pretrained weights |
# | `scratch` | random | every layer (the baseline) |
#
# Each point is a mean ± std over seeds (which n examples, the head's initial weights, the batch
# order). With `CNNLAB_QUICK=1` (the test suite) it runs on the 8×8 digits in seconds; otherwise
# on MNIST (from `$CNNLAB_MNIST_DIR` or `../../shared/data/mnist`, falling back to the 8×8 digits).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from cnnlab.data import load_dataset
from cnnlab.experiments import TransferConfig, transfer

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes


def find_mnist():
    """The folder with MNIST's four .gz files, or None."""
    for folder in (os.environ.get("CNNLAB_MNIST_DIR"), "../../shared/data/mnist"):
        if folder and Path(folder, "train-images-idx3-ubyte.gz").is_file():
            return str(Path(folder).resolve())
    return None


MNIST_DIR = None if QUICK else find_mnist()
if MNIST_DIR:
    source = load_dataset("mnist", data_dir=MNIST_DIR)
    print(f"MNIST from {MNIST_DIR}")
    config = TransferConfig(
        source="mnist",
        data_dir=MNIST_DIR,
        n_per_class=(5, 20, 100),
        seeds=3,
        targets=("digits", "fashion-mnist", "kmnist"),
        pretrain_epochs=2,
        pretrain_subset=10_000,
        eval_examples=1000,
    )
else:
    source = load_dataset("digits")
    print(
        "quick mode: scikit-learn's 8x8 digits instead of MNIST"
        if QUICK
        else "MNIST not found (set CNNLAB_MNIST_DIR): falling back to scikit-learn's 8x8 digits"
    )
    config = TransferConfig(
        source="digits",
        n_per_class=(5, 20) if QUICK else (5, 20, 100),
        seeds=2 if QUICK else 3,
        targets=(),
        pretrain_epochs=10 if QUICK else 20,
        min_steps=40 if QUICK else 150,
        eval_examples=300,
    )
print(config)

# %% [markdown]
# Pretraining, then every (target, n, way, seed) combination. Targets whose files are not on this
# machine (Fashion-MNIST, KMNIST: `cnnlab datasets` says how to get them) are skipped with a note.

# %%
result = transfer(config, source=source)
print("\n".join(result.lines()))

# %%
fig, axes = plt.subplots(1, len(result.targets), figsize=(4.5 * len(result.targets), 3.3), squeeze=False)
for ax, (name, t) in zip(axes[0], result.targets.items()):
    for mode, c in t["modes"].items():
        mean, std = 100 * np.array(c["mean"]), 100 * np.array(c["std"])
        ax.errorbar(t["n"], mean, yerr=std, fmt="-o", capsize=3, label=mode)
    ax.set(xscale="log", xlabel="labelled examples per class", ylabel="test accuracy (%)", title=name)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# What the error bars allow us to conclude, per target and n:

# %%
for name in result.targets:
    print(name)
    for line in result.verdicts(name):
        print("  ", line)

# %% [markdown]
# Typically the pretrained features help most when labels are scarcest (n = 5) and on the target
# closest to the source (the other MNIST digits); with many labels, training from scratch catches
# up. Frozen features are cheapest (only the head trains) but cannot adapt to a different kind of
# image; fine-tuning can. The full report:

# %%
display(Markdown(result.markdown()))

# %% [markdown]
# **Exercises.** (a) Pretrain on fewer examples (`pretrain_subset`): when does transfer stop
# paying? (b) Swap source and target: pretrain on 5-9 (`split` only chooses where the split is;
# try `class_subset` from `cnnlab.experiments.transfer` for other splits). (c) The same from a
# terminal: `cnnlab transfer --help`.
