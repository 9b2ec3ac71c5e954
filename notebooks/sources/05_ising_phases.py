# %% [markdown]
# # 05 · The phases of the Ising model
#
# The 2-D Ising ferromagnet on an L×L periodic lattice, H = −Σ⟨ij⟩ s_i s_j, orders below the critical
# temperature Tc = 2/ln(1+√2) ≈ 2.269 (Onsager). Three steps:
#
# 1. **Monte Carlo**: sample equilibrium configurations (checkerboard Metropolis, 64 chains per
#    machine word) and check the energy and magnetization against the exact results, with error
#    bars that account for autocorrelation;
# 2. **the phase classifier** (Carrasquilla & Melko, *Nature Physics* 13, 431, 2017): a CNN trained
#    only on configurations far from the transition (T < 2.0 ordered, T > 2.5 disordered) predicts
#    P(ordered) at every temperature; where it crosses ½ estimates Tc(L), and the sizes extrapolate
#    to L → ∞;
# 3. **pooling vs the renormalization group**: the lecture calls pooling similar to the RG's
#    decimation. Apply majority-rule block spins, max pooling and average pooling repeatedly and
#    see where each flows.
#
# `CNNLAB_QUICK=1` (the test suite) uses small lattices and few samples: the numbers are rough but
# every step runs. Without it, a few minutes on a laptop. Generated datasets are cached under
# `$CNNLAB_DATA/ising` (default `~/.cache/cnnlab`), so a second run skips the Monte Carlo.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.physics import dataset as ising_data
from cnnlab.physics.exact import TC, onsager_energy, yang_magnetization
from cnnlab.physics.ising import simulate
from cnnlab.physics.phases import TcConfig, run_tc
from cnnlab.physics.rg import run_rg

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes
MC = (
    dict(L=16, sweeps=300, temperatures=np.linspace(1.5, 3.5, 9))
    if QUICK
    else dict(L=32, sweeps=2000, temperatures=np.linspace(1.5, 3.5, 21))
)
TC_CONFIG = (
    TcConfig(
        sizes=[8, 16],
        temperatures=np.round(np.arange(1.0, 3.51, 0.1), 2).tolist(),
        samples=64,
        epochs=15,
        batch_size=32,
        bootstrap=50,
    )
    if QUICK
    else TcConfig()
)  # default: L = 16, 32; 256 per T
RG = dict(L=32, samples=32, steps=3) if QUICK else dict(L=128, samples=64, steps=5)
print(f"Tc (exact) = {TC:.6f}", "(quick mode)" if QUICK else "")

# %% [markdown]
# ## 1. Monte Carlo, checked against the exact solution
#
# What the configurations look like below, at and above Tc:

# %%
snap = ising_data.generate([64], [1.8, TC, 3.0], samples=1, seed=1)
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, spins, T in zip(axes, snap.spins[64], snap.temperatures[64]):
    ax.imshow(spins, cmap="gray", vmin=-1, vmax=1)
    ax.set_title(f"T = {T:.3f}" + (" = Tc" if abs(T - TC) < 1e-9 else "")), ax.axis("off")
plt.show()

# %%
sim = simulate(MC["L"], MC["temperatures"], sweeps=MC["sweeps"], seed=0)
rows = sim.observables()
print(f"L = {MC['L']}, {sim.config.chains} chains x {MC['sweeps']} sweeps per temperature")
print(f"{'T':>5} {'energy/spin':>18} {'Onsager':>9} {'|m|':>16} {'Yang':>7} {'tau_int(|m|)':>13}")
for r in rows:
    print(
        f"{r['T']:>5.2f} {r['energy_per_spin']:>10.4f} ± {r['energy_per_spin_error']:.4f} "
        f"{float(onsager_energy(r['T'])):>9.4f} {r['abs_magnetization']:>8.4f} ± {r['abs_magnetization_error']:.4f} "
        f"{float(yang_magnetization(r['T'])):>7.4f} {r['tau_int_abs_magnetization']:>13.1f}"
    )

# %%
T = np.array([r["T"] for r in rows])
fine = np.linspace(1.2, 3.6, 300)
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
panels = [
    ("energy_per_spin", "energy per spin", onsager_energy(fine)),
    ("abs_magnetization", "|m|", yang_magnetization(fine)),
    ("specific_heat", "specific heat C", None),
]
for ax, (key, label, exact) in zip(axes, panels):
    ax.errorbar(
        T,
        [r[key] for r in rows],
        yerr=[r[key + "_error"] for r in rows],
        fmt="o",
        ms=4,
        capsize=2,
        label=f"Monte Carlo, L = {MC['L']}",
    )
    if exact is not None:
        ax.plot(fine, exact, "k-", lw=1, label="exact, L = ∞")
    ax.axvline(TC, color="gray", ls=":")
    ax.set(xlabel="T", ylabel=label)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Far from Tc the finite lattice agrees with the infinite one within the error bars. Near Tc the
# finite size rounds the transition: |m| stays above Yang's curve (which drops to 0 at Tc) and the
# specific heat's peak is finite. The autocorrelation time grows near Tc (critical slowing down),
# so the error bars there are larger although every temperature got the same number of sweeps.
#
# ## 2. A CNN finds the phase transition
#
# The classifier is a small CNN with circular padding (the lattice is periodic) that gives the
# same answer for a configuration and its spin-flipped copy (the Z2 symmetry of H); a dense
# network is trained alongside for comparison. Neither is ever told what happens between
# T = 2.0 and 2.5.

# %%
tc = run_tc(TC_CONFIG)
d = tc.to_dict()
print(f"CNN: {TC_CONFIG.model}")
for L, r in tc.per_size.items():
    print(
        f"L = {L:>3}: Tc(L) CNN {r['cnn']['tc']:.3f} ± {r['cnn']['tc_error']:.3f}   dense {r['dense']['tc']:.3f}   "
        f"accuracy in 2.0 <= T <= 2.5: CNN {r['cnn']['accuracy_critical']:.1%}, dense {r['dense']['accuracy_critical']:.1%}"
    )
print(
    f"extrapolated Tc(L -> inf) = {tc.tc_estimate:.3f} ± {tc.tc_error:.3f}   exact {TC:.3f}   "
    f"(relative error {d['relative_error']:.1%})"
)

# %%
fig, (ax, ax_fit) = plt.subplots(1, 2, figsize=(10, 3.4))
for L, r in tc.per_size.items():
    temps = np.array(r["temperatures"])
    line = ax.errorbar(temps, r["cnn"]["curve"], yerr=r["cnn"]["curve_error"], fmt="-o", ms=3, label=f"CNN, L = {L}")
    ax.plot(temps, r["dense"]["curve"], ":", color=line[0].get_color(), label=f"dense, L = {L}")
ax.axhline(0.5, color="gray", lw=0.8)
ax.axvline(TC, color="k", ls="--", lw=0.8, label="exact Tc")
ax.axvspan(TC_CONFIG.train_below, TC_CONFIG.train_above, color="gray", alpha=0.15, label="never trained on")
ax.set(xlabel="T", ylabel="P(ordered)")
ax.legend(fontsize=7)
sizes = np.array(list(tc.per_size))
ax_fit.errorbar(
    1 / sizes,
    [tc.per_size[L]["cnn"]["tc"] for L in sizes],
    yerr=[tc.per_size[L]["cnn"]["tc_error"] for L in sizes],
    fmt="o",
    capsize=3,
    label="Tc(L), CNN",
)
if len(sizes) >= 2:
    xs = np.linspace(0, 1 / sizes.min(), 50)
    ax_fit.plot(xs, tc.tc_estimate + tc.tc_fit_slope * xs, "-", label="Tc + a/L")
ax_fit.axhline(TC, color="k", ls="--", lw=0.8, label="exact Tc")
ax_fit.set(xlabel="1/L", ylabel="Tc(L)")
ax_fit.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Pooling vs the renormalization group
#
# Coarse-grain 2×2 blocks, again and again (L → L/2 → L/4 ...), at T below, at and above Tc:
#
# * **majority rule** (Kadanoff's block spin) keeps the symmetry; its flow goes to the ordered fixed
#   point below Tc (|m| → 1), to the disordered one above (|m| → 0, no correlation), and stays
#   put at Tc, where the lattice looks the same at every scale;
# * **max pooling** breaks the up/down symmetry (a block is up if any spin is): every temperature
#   flows towards "all up", so it is not an RG transformation of the Ising model;
# * **average pooling** conserves the magnetization exactly and smooths the fluctuations away.

# %%
rg = run_rg(L=RG["L"], samples=RG["samples"], steps=RG["steps"])
fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True)
for col, method in enumerate(("majority", "max", "avg")):
    for T_key, obs in rg.observables[method].items():
        for row, key in enumerate(("abs_magnetization", "nn_correlation")):
            axes[row, col].plot(obs["L"], obs[key], "o-", label=f"T = {float(T_key):.3f}")
    axes[0, col].set_title(method)
    axes[1, col].set_xlabel("lattice size after coarse-graining")
    axes[1, col].set_xscale("log", base=2)
axes[0, 0].set_ylabel("|m|")
axes[1, 0].set_ylabel("nearest-neighbour correlation")
axes[0, 0].legend(fontsize=8)
axes[0, 0].invert_xaxis()
fig.tight_layout()
plt.show()

# %% [markdown]
# The lattices themselves at Tc, one row per method:

# %%
T_c_key = min(rg.examples["majority"], key=lambda k: abs(float(k) - TC))
fig, axes = plt.subplots(3, RG["steps"] + 1, figsize=(2 * (RG["steps"] + 1), 6))
for row, method in enumerate(("majority", "max", "avg")):
    for col, lattice in enumerate(rg.examples[method][T_c_key]):
        axes[row, col].imshow(lattice, cmap="gray", vmin=-1, vmax=1)
        axes[row, col].set_xticks([]), axes[row, col].set_yticks([])
        axes[row, col].set_title(f"{method}, L = {lattice.shape[-1]}", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Exercises.** (a) Train the classifier with a wider gap (`train_below=1.8, train_above=2.8`):
# does Tc(L) move? (b) Replace the CNN by `TcConfig(model="flatten-linear(100)-relu-linear")`
# alone and compare the accuracy in the critical region. (c) From a terminal:
# `cnnlab ising tc --help`, `cnnlab ising rg --help`.
