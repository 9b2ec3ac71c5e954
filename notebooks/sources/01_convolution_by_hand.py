# %% [markdown]
# # 01 · Convolution by hand
#
# Lecture 12 of the Numerical Simulation Laboratory works a few examples with pencil and paper.
# This notebook does them again with cnnlab and checks each number:
#
# 1. the 1-D example (W = 5, F = 3, S = 1, P = 1), step by step;
# 2. stride, padding and the output width **1 + (W − F + 2P)/S**;
# 3. the 6×6×3 input convolved with two 3×3×3 filters, and what *tied* weights save compared with
#    untied (locally connected) weights and a dense layer;
# 4. max pooling, the coarse-graining step;
# 5. the NumPy reference's **backward pass**, checked against PyTorch's autograd in front of you.
#
# Everything here runs in a second; `CNNLAB_QUICK=1` (used by the test suite) changes nothing but
# the size of the last check.

# %%
import os

import numpy as np
import torch

from cnnlab import engine, explain, reference, shapes, summary

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes
np.set_printoptions(precision=4, suppress=True)
print("quick mode" if QUICK else "full mode")

# %% [markdown]
# ## 1. The lecture's 1-D example
#
# Input neurons x = [1, 2, 2, −1, 3] (width W = 5, depth 1), one filter of width F = 3 with weights
# w = [1, −1, 1] and bias b = −2, stride S = 1, zero padding P = 1. Each output neuron is
# ReLU(w · window + b), and the window slides by S.

# %%
ex = explain.conv1d_steps([1, 2, 2, -1, 3], [1, -1, 1], bias=-2, stride=1, padding=1)
print("padded input      ", ex["padded"])
for i, window in enumerate(ex["windows"]):
    print(
        f"y[{i}]: window {window}  w.x = {ex['dots'][i]:+.0f}  + b = {ex['pre_activations'][i]:+.0f}"
        f"  relu -> {ex['outputs'][i]:.0f}"
    )
print("output            ", ex["outputs"])

# %% [markdown]
# The same layer as a NumPy reference layer (`cnnlab.reference.Conv1d`) and as PyTorch's
# `torch.nn.functional.conv1d` must agree with the hand computation [−1, −1, −3, 4, −6] before the ReLU:

# %%
conv = reference.Conv1d(1, 1, kernel_size=3, padding=1)
conv.params["weight"][:] = [[[1, -1, 1]]]
conv.params["bias"][:] = -2
x1 = np.array([[[1.0, 2, 2, -1, 3]]])  # (N, C, W) = (1, 1, 5)
z_ref = conv.forward(x1)
z_torch = torch.nn.functional.conv1d(
    torch.tensor(x1),
    torch.tensor([[[1.0, -1, 1]]], dtype=torch.float64),
    torch.tensor([-2.0], dtype=torch.float64),
    padding=1,
)
print("reference:", z_ref.ravel(), " torch:", z_torch.numpy().ravel())
assert np.allclose(z_ref, z_torch.numpy()) and z_ref.ravel().tolist() == [-1, -1, -3, 4, -6]

# %% [markdown]
# ## 2. Stride, padding and the output width
#
# A filter of width F placed at stride S on an input of width W padded with P zeros on each side
# fits **1 + (W − F + 2P)/S** times. The division must be exact, or the last window would hang
# over the edge. `cnnlab.shapes.conv_output_size` is the one function in cnnlab that computes it
# (the engine, the summary table, the CLI and the visualiser all call it).

# %%
print(f"{'W':>3} {'F':>3} {'S':>3} {'P':>3}  output width")
for W, F, S, P in [(5, 3, 1, 1), (5, 3, 1, 0), (7, 3, 2, 0), (28, 5, 1, 2), (28, 5, 1, 0), (32, 5, 3, 0)]:
    print(f"{W:>3} {F:>3} {S:>3} {P:>3}  1 + ({W} - {F} + 2*{P})/{S} = {shapes.conv_output_size(W, F, S, P)}")

# %% [markdown]
# When the windows do not tile the input, cnnlab refuses with the numbers and a way out:

# %%
try:
    shapes.conv_output_size(28, 5, stride=2)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# "Same" padding keeps the width at stride 1: P = (F − 1)/2 for odd F. Stride S > 1 divides the width
# by about S. Try other values above.
#
# ## 3. The 6×6×3 example: channels and tied weights
#
# A 6×6 input with D = 3 channels, two filters of size 3×3×3 (each filter covers *all* input
# channels), S = 1, P = 0. Each filter gives one output channel, so the output is 4×4×2.

# %%
acc = explain.conv2d_accounting(in_shape=(3, 6, 6), out_channels=2, kernel_size=3)
print("output shape (D, H, W):", acc["output_shape"])
print(f"tied (conv):         {acc['conv_formula']:<58} = {acc['conv']:>5}")
print(f"untied (loc. conn.): {acc['locally_connected_formula']:<58} = {acc['locally_connected']:>5}")
print(f"dense (all-to-all):  {acc['dense_formula']:<58} = {acc['dense']:>5}")
print(f"tying saves a factor H x W = {acc['tied_reduction']:.0f} in weights")

# %% [markdown]
# Check the shape by running the layer, and compute one output neuron by hand: a dot product over
# the 3×3×3 patch of *all* channels, plus the filter's bias.

# %%
rng = np.random.default_rng(0)
x = rng.integers(-2, 3, size=(1, 3, 6, 6)).astype(float)  # (N, C, H, W)
conv2 = reference.Conv2d(3, 2, kernel_size=3)
z = conv2.forward(x)
print("output shape (N, D, H, W):", z.shape)
o, i, j = 1, 2, 3  # filter 1, output row 2, column 3
patch = x[0, :, i : i + 3, j : j + 3]  # (3, 3, 3): every channel
by_hand = (conv2.params["weight"][o] * patch).sum() + conv2.params["bias"][o]
print(f"z[0, {o}, {i}, {j}] = {z[0, o, i, j]:.6f}, by hand {by_hand:.6f}")
assert np.isclose(z[0, o, i, j], by_hand)

# %% [markdown]
# The summary table gives the same accounting for every layer of a network, here the lecture's
# small network (conv, ReLU, 2×2 max pooling, classifier):

# %%
print(summary.summarize("lecture", (3, 6, 6), num_classes=10).to_text())

# %% [markdown]
# The lecture's large example: D = 100 channels in and out on a 100×100 image with 3×3 filters
# and "same" padding. The layer has D × H × W = 10⁶ neurons; untied, each would own its filter.
# Tied, the H × W = 10⁴ neurons of a channel share one, so the weights shrink by H × W per layer,
# and against a dense layer by ten million: what makes such layers trainable at all.

# %%
big = shapes.conv_param_counts((100, 100, 100), out_channels=100, kernel_size=3, padding=1)
print(f"tied: {big.conv:,}   untied: {big.locally_connected:,}   dense: {big.dense:,}")
print(f"untied / tied = {big.locally_connected / big.conv:,.0f}   dense / tied = {big.dense / big.conv:,.0f}")

# %% [markdown]
# ## 4. Max pooling
#
# 2×2 max pooling with stride 2 keeps the largest value in each block, separately for each channel:
# height and width halve, the number of channels stays. It is the coarse-graining step the lecture
# compares with the decimation of the renormalization group (notebook 05 compares them on Ising
# configurations).

# %%
pool = explain.maxpool2d_steps()
print(np.array(pool["input"]))
print("->")
print(np.array(pool["output"]))

# %% [markdown]
# In the backward pass only the winner of each window receives the gradient (it alone changed the
# output):

# %%
mp = reference.MaxPool2d(2)
xin = np.array(pool["input"])[None, None]  # (1, 1, 6, 6)
mp.forward(xin)
print(mp.backward(np.ones((1, 1, 3, 3)))[0, 0])

# %% [markdown]
# ## 5. The backward pass, checked against PyTorch
#
# The reference layers keep forward and backward side by side. For a convolution with tied weights
# the chain rule *sums over positions*: one filter served every output neuron, so its gradient
# collects a contribution from each of them.
#
# First the lecture's 1-D example with dLoss/dz = 1 at every output: each weight's gradient is the
# sum of the inputs it met at the five positions.

# %%
z, cache = reference.conv_forward(x1, np.array([[[1.0, -1, 1]]]), np.array([-2.0]), padding=1)
gx, gw, gb = reference.conv_backward(np.ones_like(z), cache)
print("dL/dw =", gw.ravel(), " dL/db =", gb, " dL/dx =", gx.ravel())

xt = torch.tensor(x1, requires_grad=True)
wt = torch.tensor([[[1.0, -1, 1]]], dtype=torch.float64, requires_grad=True)
bt = torch.tensor([-2.0], dtype=torch.float64, requires_grad=True)
torch.nn.functional.conv1d(xt, wt, bt, padding=1).sum().backward()
print("torch:  ", wt.grad.numpy().ravel(), bt.grad.numpy(), xt.grad.numpy().ravel())
assert np.allclose(gw, wt.grad.numpy()) and np.allclose(gx, xt.grad.numpy())

# %% [markdown]
# Now a whole network. `engine.build` makes the PyTorch network, `reference.from_engine` copies its
# weights into the NumPy twin (layer *i* of one is layer *i* of the other). One forward and backward
# pass of the cross-entropy loss on the same batch, in float64, then every gradient compared:

# %%
batch = 2 if QUICK else 16
net = engine.build("lenet", (1, 28, 28), num_classes=10, seed=0).double()
glass = reference.from_engine(net)
xb = np.random.default_rng(1).normal(size=(batch, 1, 28, 28))
yb = np.arange(batch) % 10

loss_ref, grad = reference.CrossEntropyLoss()(glass.forward(xb), yb)
glass.backward(grad)

loss_torch = torch.nn.functional.cross_entropy(net(torch.tensor(xb)), torch.tensor(yb))
net.zero_grad()
loss_torch.backward()

print(f"loss: reference {loss_ref:.12f}   torch {loss_torch.item():.12f}")
torch_grads = dict(net.named_parameters())
print(f"{'parameter':<10} {'shape':<16} {'max |difference|':>18}")
worst = 0.0
for p in glass.parameters():
    diff = np.abs(p.grad - torch_grads[p.name].grad.numpy()).max()
    worst = max(worst, diff)
    print(f"{p.name:<10} {p.data.shape!s:<16} {diff:>18.2e}")
assert worst < 1e-10, worst

# %% [markdown]
# Differences at the level of 10⁻¹⁵ are float64 round-off: the glass box and the engine compute the
# same gradients. The test suite repeats this check for every layer type over random shapes,
# strides and paddings (hypothesis) and against finite differences.
#
# **Exercises.** (a) Change the stride in section 1 to S = 2: which outputs survive? (b) Make the
# 6×6×3 example use P = 1: how many parameters has each of the three variants now? (c) Put
# `reference.AvgPool2d(2)` in section 4: where does the gradient go?
