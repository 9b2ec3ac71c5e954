# %% [markdown]
# # 03 · Your own digits (exercise 12.3)
#
# The course's last exercise: draw digits in any paint program, feed them to the dense network and
# to the CNN trained on MNIST, and see what they make of them. MNIST digits are white on black,
# scaled into a 20×20 box and centred by their centre of mass in a 28×28 field; a drawing is
# none of that, so it is **preprocessed the MNIST way** first (`cnnlab.data.load_image`).
#
# The folder `digits/` next to this notebook holds ten samples drawn with a "mouse"
# (`make_sample_digits.py` draws them: thick strokes, dark on light and light on dark, off-centre,
# different sizes). **Add your own**: save a PNG (or JPEG, BMP...) in `digits/` whose name starts
# with the digit you drew, e.g. `7_mine.png`, and run the notebook again.
#
# The two networks are the ones the visualiser (`cnnlab serve`) shows, shipped with the package:
# a dense network 784-300-100-10 and a LeNet-like CNN, both trained on MNIST. Your own runs work
# the same way: `cnnlab.load("runs/my-run")`.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

import cnnlab
from cnnlab.data import load_image, read_grey, shift
from cnnlab.web.models import DEFAULT_RUNS  # the package's shipped run folders

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes
DIGITS = Path("digits")
files = sorted(p for p in DIGITS.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".gif"))
labels = [int(p.name[0]) if p.name[0].isdigit() else None for p in files]
print(f"{len(files)} images in {DIGITS}/:", ", ".join(p.name for p in files))

# %% [markdown]
# ## The networks
#
# `cnnlab.load` reads a run folder (its `config.json` and `model.safetensors`) and returns a model
# that normalises its input itself: `predict_proba` takes images in [0, 1].

# %%
models = {"dense": cnnlab.load(DEFAULT_RUNS["mlp"]), "CNN": cnnlab.load(DEFAULT_RUNS["cnn"])}
for name, model in models.items():
    cfg = model.config
    print(
        f"{name:<6} {cfg['spec']}\n       {model.net.num_params:,} parameters, "
        f"MNIST test accuracy {cfg['test_accuracy']:.2%}"
    )

# %% [markdown]
# ## Preprocessing, step by step
#
# Top row: the files as drawn. Middle row: what you get by just shrinking them to 28×28 (what a
# network trained on MNIST was *not* trained on). Bottom row: MNIST-style preprocessing: ink
# made white on black, cropped, scaled to 20 px, centre of mass at the centre.

# %%
raw = [read_grey(p) for p in files]  # (H, W) grey levels in [0, 1]
naive = [np.asarray(Image.fromarray((255 * r).astype(np.uint8)).resize((28, 28)), dtype=np.float32) / 255 for r in raw]
pre = np.stack([load_image(p) for p in files])  # (N, 28, 28), MNIST-like

fig, axes = plt.subplots(3, len(files), figsize=(1.3 * len(files), 4.2), squeeze=False)
for j, p in enumerate(files):
    for i, (img, title) in enumerate([(raw[j], p.name), (naive[j], "shrunk"), (pre[j], "MNIST-style")]):
        axes[i, j].imshow(img, cmap="gray", vmin=0, vmax=1)
        axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
        axes[i, j].set_title(title if i else p.name.split(".")[0], fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Predictions
#
# Probabilities of the ten classes for every image, from both networks, with and without the
# preprocessing:

# %%
x_pre = torch.tensor(pre).unsqueeze(1)  # (N, 1, 28, 28)
x_naive = torch.tensor(np.stack(naive)).unsqueeze(1)
proba = {name: m.predict_proba(x_pre).numpy() for name, m in models.items()}
proba_naive = {name: m.predict_proba(x_naive).numpy() for name, m in models.items()}

print(f"{'file':<22} {'true':>4}   {'dense':>12} {'CNN':>12}   {'dense, shrunk':>14} {'CNN, shrunk':>12}")
for k, p in enumerate(files):
    cells = [f"{P[k].argmax()} ({P[k].max():.0%})" for P in (proba["dense"], proba["CNN"])]
    cells += [f"{P[k].argmax()} ({P[k].max():.0%})" for P in (proba_naive["dense"], proba_naive["CNN"])]
    true = "?" if labels[k] is None else labels[k]
    print(f"{p.name:<22} {true:>4}   {cells[0]:>12} {cells[1]:>12}   {cells[2]:>14} {cells[3]:>12}")

known = [k for k, y in enumerate(labels) if y is not None]
y_true = np.array([labels[k] for k in known])
for name in models:
    acc = (proba[name][known].argmax(1) == y_true).mean()
    acc_naive = (proba_naive[name][known].argmax(1) == y_true).mean()
    print(f"{name:<6} correct: {acc:.0%} preprocessed, {acc_naive:.0%} just shrunk")

# %%
fig, axes = plt.subplots(2, len(files), figsize=(1.3 * len(files), 3.2), squeeze=False)
for j in range(len(files)):
    axes[0, j].imshow(pre[j], cmap="gray")
    axes[0, j].set_xticks([]), axes[0, j].set_yticks([])
    for name, offset, color in (("dense", -0.2, "tab:orange"), ("CNN", 0.2, "tab:blue")):
        axes[1, j].bar(np.arange(10) + offset, proba[name][j], width=0.4, color=color, label=name)
    axes[1, j].set_xticks(range(10))
    axes[1, j].set_ylim(0, 1)
    axes[1, j].tick_params(labelsize=6)
axes[1, 0].set_ylabel("probability")
axes[1, -1].legend(fontsize=6)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Move the digit: dense vs CNN
#
# Preprocessing centres every digit. Shift the preprocessed digits a few pixels and watch the
# probability of the right class: the CNN's filters look for the same strokes everywhere (tied
# weights, then pooling), while each weight of the dense network belongs to one pixel.

# %%
shifts = range(5 if QUICK else 7)
x_known = x_pre[known]
print(f"{'shift (px)':>10}  " + "  ".join(f"{name + ' P(true)':>14}" for name in models))
curves = {name: [] for name in models}
for k in shifts:
    # Half of the images move right, half down, so that each shift averages two directions.
    moved = torch.cat([shift(x_known[0::2], k, 0), shift(x_known[1::2], 0, k)])
    order = np.concatenate([np.arange(len(known))[0::2], np.arange(len(known))[1::2]])
    for name, m in models.items():
        P = m.predict_proba(moved).numpy()
        curves[name].append(P[np.arange(len(order)), y_true[order]].mean())
    print(f"{k:>10}  " + "  ".join(f"{curves[name][-1]:>14.2f}" for name in models))

plt.figure(figsize=(4, 2.6))
for name in models:
    plt.plot(list(shifts), curves[name], "o-", label=name)
plt.xlabel("shift (pixels)")
plt.ylabel("mean P(true class)")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Things to try.** Draw a digit with a thin pen, or very small, or touching the edge of the
# canvas. Draw a 1 with and without a base, a 7 with and without the bar. Which network is more
# sure of itself when it is wrong? The notebook 02 measures the same translation effect on the
# whole MNIST test set, with error bars.
