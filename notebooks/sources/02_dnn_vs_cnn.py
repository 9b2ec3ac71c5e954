# %% [markdown]
# # 02 · Dense networks vs CNNs (exercises 12.1 and 12.2)
#
# The course's exercises:
#
# * **12.1** train the dense network 784-400-100-10 (ReLU, dropout) on MNIST and compare optimizers;
# * **12.2** train a CNN on the same data and compare it with the dense network.
#
# Every number below is a mean ± standard deviation over several seeds (different initial weights
# and batch orders): a difference smaller than the error bars is not a difference. Last, the
# lecture's argument for CNNs, tested: move the test digits a few pixels and see which network
# still recognises them.
#
# Settings: with `CNNLAB_QUICK=1` (the test suite) everything runs on scikit-learn's small 8×8
# digits in seconds; otherwise on real MNIST in a few minutes (a subset of the training set, a few
# epochs). MNIST is read from `$CNNLAB_MNIST_DIR` or `../../shared/data/mnist`; without it the
# notebook falls back to the 8×8 digits and says so.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from cnnlab.data import load_dataset
from cnnlab.experiments import CompareConfig, compare
from cnnlab.summary import summarize

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes


def find_mnist():
    """The folder with MNIST's four .gz files, or None."""
    for folder in (os.environ.get("CNNLAB_MNIST_DIR"), "../../shared/data/mnist"):
        if folder and Path(folder, "train-images-idx3-ubyte.gz").is_file():
            return str(Path(folder).resolve())
    return None


MNIST_DIR = None if QUICK else find_mnist()
if MNIST_DIR:
    data = load_dataset("mnist", data_dir=MNIST_DIR)
    print(f"MNIST from {MNIST_DIR}")
    S = dict(
        seeds=3,
        epochs=3,
        train_subset=10_000,
        optimizers=("sgd", "adam", "rmsprop", "adagrad", "adadelta"),
        cnn_subset=20_000,
        cnn_epochs=2,
        eval_examples=2000,
    )
else:
    data = load_dataset("digits")
    print(
        "quick mode: scikit-learn's 8x8 digits instead of MNIST"
        if QUICK
        else "MNIST not found (set CNNLAB_MNIST_DIR): falling back to scikit-learn's 8x8 digits"
    )
    S = dict(
        seeds=2 if QUICK else 3,
        epochs=5 if QUICK else 20,
        train_subset=None,
        optimizers=("sgd", "adam", "rmsprop") if QUICK else ("sgd", "adam", "rmsprop", "adagrad", "adadelta"),
        cnn_subset=None,
        cnn_epochs=10 if QUICK else 20,
        eval_examples=360,
    )
print(data)

# %%
fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for ax, c in zip(axes, range(10)):
    i = int((data.y_train == c).nonzero()[0, 0])
    ax.imshow(data.x_train[i, 0], cmap="gray")
    ax.set_title(data.classes[c]), ax.axis("off")
plt.show()

# %% [markdown]
# ## Exercise 12.1: the dense network and the optimizers
#
# The preset `mlp` is the course's network: flatten, 400 ReLU units, dropout, 100 ReLU units,
# dropout, 10 outputs with softmax. Each optimizer runs at its usual learning rate, with no
# schedule, and 10 % of the training set held out to draw validation curves.

# %%
print(summarize("mlp", data.input_shape, num_classes=data.num_classes).to_text())

# %%
optimizers = compare(
    CompareConfig(
        dataset=data.name,
        models=("mlp",),
        optimizers=S["optimizers"],
        seeds=S["seeds"],
        epochs=S["epochs"],
        train_subset=S["train_subset"],
    ),
    data=data,
)
print("\n".join(optimizers.lines()))

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
for row in optimizers.summary:
    c = row["curves"]
    for ax, key in ((ax_loss, "val_loss"), (ax_acc, "val_accuracy")):
        mean, std = np.array(c[key]["mean"]), np.array(c[key]["std"])
        ax.plot(c["epoch"], mean, "o-", label=row["label"])
        ax.fill_between(c["epoch"], mean - std, mean + std, alpha=0.2)
ax_loss.set(xlabel="epoch", ylabel="validation loss")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy")
ax_acc.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the error bands before ranking: a difference inside them is not a difference. Each optimizer
# runs at its usual learning rate (SGD 0.05 with Nesterov momentum 0.9, Adam and RMSprop 10⁻³,
# Adagrad 10⁻², Adadelta 1.0), so the ranking says as much about those rates as about the
# methods: try another with `lr=` in `CompareConfig`, or more epochs.
#
# ## Exercise 12.2: a CNN, and the comparison
#
# The preset `cnn` is the course's CNN: two blocks of 5×5 convolution, ReLU and 2×2 max pooling,
# then a dense layer of 100 and the classifier. Note how few parameters it has compared with the
# dense network, and where they sit:

# %%
print(summarize("cnn", data.input_shape, num_classes=data.num_classes).to_text())

# %% [markdown]
# Both networks are trained with the same recipe (Adam, one-cycle schedule), several seeds each.
# The same call also trains each network a second time with random translations of the training
# images (augmentation) and tests all of them on shifted test images:

# %%
result = compare(
    CompareConfig(
        dataset=data.name,
        models=("mlp", "cnn"),
        seeds=S["seeds"],
        epochs=S["cnn_epochs"],
        train_subset=S["cnn_subset"],
        translation=True,
        eval_examples=S["eval_examples"],
    ),
    data=data,
)
print("\n".join(result.lines()))

# %%
labels = [r["label"] for r in result.summary]
means = [100 * r["test_accuracy"]["mean"] for r in result.summary]
stds = [100 * r["test_accuracy"]["std"] for r in result.summary]
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(labels, means, yerr=stds, capsize=6, color=["tab:orange", "tab:blue"])
ax.set_ylim(min(means) - 5 - max(stds), 100)
ax.set_ylabel(f"test accuracy (%), mean ± std, {S['seeds']} seeds")
for i, r in enumerate(result.summary):
    ax.text(i, means[i] - 2, f"{r['params']:,} params", ha="center", va="top", color="white", fontsize=8)
plt.show()

# %% [markdown]
# ## Translation robustness
#
# Each test image is moved by k pixels in a random direction (the pixels that come in are zeros).
# The dense network learned one weight per pixel and per unit, so a digit in a new place is a new
# pattern to it; the CNN's filters are tied across positions and max pooling absorbs small shifts.
# Augmentation (training on randomly shifted images) helps both.

# %%
tr = result.translation
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for c in tr.curves:
    if c["mode"] != "zeros":
        continue
    mean, std = 100 * np.array(c["mean"]), 100 * np.array(c["std"])
    label = c["model"] + (f" + augmentation ±{tr.augment_shift} px" if c["augmented"] else "")
    ax.errorbar(tr.shifts, mean, yerr=std, fmt="-o" if c["augmented"] else "--s", capsize=3, label=label)
ax.set(xlabel="shift (pixels)", ylabel="test accuracy (%)", title=f"{data.name}: shifted test images")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The experiment's own report, with the conclusions drawn from the error bars:

# %%
display(Markdown(result.markdown()))

# %% [markdown]
# **Exercises.** (a) Give both networks about the same number of parameters (`models=("mlp",
# "cnn-large")`) and compare again. (b) How many training examples does each network need for
# 95 %? (`CompareConfig(..., data_efficiency=True)`.) (c) The same comparison from a terminal:
# `cnnlab compare --dataset mnist --data-dir ../../shared/data/mnist --models mlp,cnn --seeds 3 --translation`.
