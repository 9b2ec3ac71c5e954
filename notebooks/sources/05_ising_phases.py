# %% [markdown]
# # 05 · The phases of the Ising model, measured seven ways
#
# The 2-D Ising ferromagnet on an L×L periodic lattice, H = −Σ⟨ij⟩ s_i s_j, orders below the critical
# temperature Tc = 2/ln(1+√2) ≈ 2.269 (Onsager). This notebook follows `cnnlab ising study`: the
# same functions, step by step, each number beside its exact value.
#
# 1. **Monte Carlo** (compiled multi-spin-coded Metropolis: 64 chains per machine word) checked
#    against Onsager's energy and Yang's magnetization, and the **Binder cumulant crossing**, the
#    classical estimate of Tc that every machine-learning number is checked against;
# 2. **the phase classifier** (Carrasquilla & Melko, *Nature Physics* 13, 431, 2017): CNNs trained only
#    far from the transition (T < 2.0 ordered, T > 2.5 disordered); where P(ordered) = ½ gives Tc(L),
#    and Tc(L) = Tc + a/L extrapolates to L → ∞;
# 3. **ν from a data collapse**, **learning by confusion** (van Nieuwenburg et al. 2017), **PCA**
#    (Wang 2016) and the **triangular lattice** (Tc = 4/ln 3): the square-lattice CNN finds a transition
#    it was never shown;
# 4. **pooling vs the renormalization group**: majority-rule block spins, max and average pooling.
#
# `CNNLAB_QUICK=1` (the test suite) uses small lattices and few samples: the numbers are rough but
# every step runs in about a minute. Without it the full study takes about ten minutes on two cores.
# Generated datasets are cached under `$CNNLAB_DATA/ising` (default `~/.cache/cnnlab`).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.physics import dataset as ising_data
from cnnlab.physics.exact import TC, TC_TRIANGULAR, onsager_energy, yang_magnetization
from cnnlab.physics.ising import simulate
from cnnlab.physics.study import StudyConfig, run_study

QUICK = os.environ.get("CNNLAB_QUICK") == "1"  # the test suite sets it: same code, smaller sizes
CONFIG = StudyConfig.quick_mode(threads=2) if QUICK else StudyConfig.full_mode(threads=2)
MC = (
    dict(L=16, sweeps=300, temperatures=np.linspace(1.5, 3.5, 9))
    if QUICK
    else dict(L=32, sweeps=2000, temperatures=np.linspace(1.5, 3.5, 21))
)
print(f"Tc (exact) = {TC:.6f}, triangular lattice Tc = {TC_TRIANGULAR:.6f}", "(quick mode)" if QUICK else "")

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

# %% [markdown]
# Energy and |m| with error bars (autocorrelation taken into account) against Onsager and Yang, and
# the whole study, whose first part is the Binder cumulant U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²) at several sizes.
# U4 is dimensionless: at Tc it takes the same value for every L, so the curves cross there.

# %%
sim = simulate(MC["L"], MC["temperatures"], sweeps=MC["sweeps"], seed=0)
rows = sim.observables()
print(f"{'T':>5} {'energy/spin':>18} {'Onsager':>9} {'|m|':>16} {'Yang':>7}")
for r in rows:
    print(
        f"{r['T']:>5.2f} {r['energy_per_spin']:>10.4f} ± {r['energy_per_spin_error']:.4f} {float(onsager_energy(r['T'])):>9.4f} "
        f"{r['abs_magnetization']:>8.4f} ± {r['abs_magnetization_error']:.4f} {float(yang_magnetization(r['T'])):>7.4f}"
    )
study = run_study(CONFIG, progress=print)
parts = study.parts

# %%
T = np.array([r["T"] for r in rows])
fine = np.linspace(1.2, 3.6, 300)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, key, label, exact in (
    (axes[0], "energy_per_spin", "energy per spin", onsager_energy(fine)),
    (axes[1], "abs_magnetization", "|m|", yang_magnetization(fine)),
):
    ax.errorbar(
        T,
        [r[key] for r in rows],
        yerr=[r[key + "_error"] for r in rows],
        fmt="o",
        ms=4,
        capsize=2,
        label=f"Monte Carlo, L = {MC['L']}",
    )
    ax.plot(fine, exact, "k-", lw=1, label="exact, L = ∞")
    ax.axvline(TC, color="gray", ls=":")
    ax.set(xlabel="T", ylabel=label)
axes[0].legend(fontsize=8)
binder = parts["binder"]
for L, c in binder["curves"].items():
    axes[2].errorbar(
        binder["temperatures"], c["binder"], yerr=c["binder_error"], fmt="o-", ms=3, lw=1, label=f"L = {L}"
    )
axes[2].axvline(TC, color="k", lw=1)
axes[2].set(xlabel="T", ylabel="Binder U4")
axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()
for pair, (tc, err) in binder["crossings"].items():
    print(f"Binder crossing L = {pair}: Tc = {tc:.4f} ± {err:.4f}   (exact {TC:.4f})")

# %% [markdown]
# ## 2. A CNN finds the phase transition
#
# The classifier is a small CNN with circular padding (the lattice is periodic) that gives the same
# answer for a configuration and its spin-flipped copy (the Z2 symmetry of H); a dense network is
# trained alongside. Neither is ever told what happens between T = 2.0 and 2.5. An ensemble per
# size averages out the training randomness; the fit weights each Tc(L) by its error.

# %%
tc = parts["tc"]
for L, r in tc["per_size"].items():
    dense = f"dense {r['dense']['tc']:.3f}" if "dense" in r else ""
    print(
        f"L = {L:>3}: Tc(L) CNN {r['cnn']['tc']:.4f} ± {r['cnn']['tc_error']:.4f}   {dense}   ({r['cnn']['members']} networks)"
    )
print(f"fit {tc['fit']['form']}: chi2 = {tc['fit']['chi2']:.2f} for {tc['fit']['dof']} degrees of freedom")
print(
    f"extrapolated Tc(L -> inf) = {tc['tc_estimate']:.4f} ± {tc['tc_error']:.4f}   exact {TC:.4f}   (relative error {tc['relative_error']:.2%})"
)

# %%
fig, (ax, ax_fit) = plt.subplots(1, 2, figsize=(11, 3.4))
for L, r in tc["per_size"].items():
    line = ax.errorbar(
        r["temperatures"], r["cnn"]["curve"], yerr=r["cnn"]["curve_error"], fmt="-o", ms=3, label=f"CNN, L = {L}"
    )
    if "dense" in r:
        ax.plot(r["temperatures"], r["dense"]["curve"], ":", color=line[0].get_color())
ax.axhline(0.5, color="gray", lw=0.8)
ax.axvline(TC, color="k", ls="--", lw=0.8, label="exact Tc")
ax.axvspan(CONFIG.tc.train_below, CONFIG.tc.train_above, color="gray", alpha=0.15, label="never trained on")
ax.set(xlabel="T", ylabel="P(ordered)  (dotted: dense)")
ax.legend(fontsize=7)
sizes = np.array([int(L) for L in tc["per_size"]])
ax_fit.errorbar(
    1 / sizes,
    list(tc["tc_by_size"].values()),
    yerr=list(tc["tc_error_by_size"].values()),
    fmt="o",
    capsize=3,
    label="Tc(L), CNN",
)
if np.isfinite(tc["tc_fit_slope"]):
    xs = np.linspace(0, 1 / sizes.min(), 50)
    ax_fit.plot(xs, tc["tc_estimate"] + tc["tc_fit_slope"] * xs, "-", label="Tc + a/L")
ax_fit.axhline(TC, color="k", ls="--", lw=0.8, label="exact Tc")
ax_fit.set(xlabel="1/L", ylabel="Tc(L)")
ax_fit.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. ν, confusion, PCA and a lattice the network never saw
#
# * **Data collapse**: plotted against (T − Tc) L^(1/ν), the share of configurations the CNN calls
#   ordered falls on one curve for all sizes when ν is right (2-D Ising: ν = 1).
# * **Learning by confusion**: label the data "T < T′" for a proposed T′, train, measure the accuracy.
#   Wrong T′ split a phase in two and confuse the network; the curve is W-shaped, the middle peak at
#   Tc (here on the classifier's largest lattice, each temperature weighted by its share of the T axis).
# * **PCA**: the first principal component of the raw configurations is the magnetization.
# * **Triangular lattice**: six neighbours, Tc = 4/ln 3 ≈ 3.641 (Houtappel 1950). The square-lattice
#   CNN, applied to triangular-lattice configurations, says where they order.

# %%
fig, axes = plt.subplots(2, 2, figsize=(11, 7))
col = parts["collapse"]
for L, r in tc["per_size"].items():
    x = (
        (np.asarray(r["temperatures"]) - col["tc"]) * int(L) ** (1 / col["nu"])
        if np.isfinite(col["nu"])
        else r["temperatures"]
    )
    axes[0, 0].plot(x, r["cnn"]["ordered_fraction"], "o", ms=3, label=f"L = {L}")
axes[0, 0].set(
    xlabel="(T − Tc) L^(1/ν)",
    ylabel="share classified ordered",
    title=f"collapse: ν = {col['nu']:.2f} ± {col['nu_error']:.2f}",
    xlim=(-15, 15),
)
axes[0, 0].legend(fontsize=7)
conf = parts["confusion"]
axes[0, 1].plot(conf["proposals"], conf["accuracy"], "o-", ms=3)
axes[0, 1].axvline(TC, color="k", lw=1)
axes[0, 1].set(
    xlabel="proposed T′", ylabel="accuracy", title=f"confusion (L = {conf['L']}): middle peak {conf['peak']:.3f}"
)
pca = parts["pca"]
for L in [k for k in pca if k.isdigit()]:
    axes[1, 0].plot(
        pca[L]["temperatures"], pca[L]["binder"], "o-", ms=3, label=f"L = {L}, |r| = {pca[L]['r_abs_p1_abs_m']:.3f}"
    )
axes[1, 0].axvline(TC, color="k", lw=1)
axes[1, 0].set(xlabel="T", ylabel="Binder cumulant of PC 1", title=f"PCA: crossing {pca['tc']:.3f}")
axes[1, 0].legend(fontsize=7)
tri = parts["triangular"]
axes[1, 1].plot(tri["temperatures"], tri["curve"], "o-", ms=3)
axes[1, 1].axhline(0.5, color="gray", lw=0.8)
axes[1, 1].axvline(TC_TRIANGULAR, color="k", lw=1)
axes[1, 1].set(
    xlabel="T", ylabel="P(ordered)", title=f"triangular L = {tri['L']}: {tri['tc']:.3f} (exact {TC_TRIANGULAR:.3f})"
)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Pooling vs the renormalization group
#
# Coarse-grain 2×2 blocks, again and again (L → L/2 → L/4 ...), at T below, at and above Tc:
# **majority rule** (Kadanoff's block spin) keeps the symmetry and flows to the ordered fixed point
# below Tc, to the disordered one above, and stays put at Tc; **max pooling** breaks the up/down
# symmetry (a block is up if any spin is): every temperature flows towards "all up"; **average
# pooling** conserves the magnetization exactly and smooths the fluctuations away.

# %%
rg = parts["rg"]
fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True)
for column, method in enumerate(("majority", "max", "avg")):
    for T_key, obs in rg["flows"][method].items():
        for row, key in enumerate(("abs_magnetization", "nn_correlation")):
            axes[row, column].plot(obs["L"], obs[key], "o-", label=f"T = {float(T_key):.3f}")
    axes[0, column].set_title(method)
    axes[1, column].set_xlabel("lattice size after coarse-graining")
    axes[1, column].set_xscale("log", base=2)
axes[0, 0].set_ylabel("|m|")
axes[1, 0].set_ylabel("nearest-neighbour correlation")
axes[0, 0].legend(fontsize=8)
axes[0, 0].invert_xaxis()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The table
#
# Every number of the study beside its exact value (the same table as `report.md`):

# %%
for r in study.rows:
    verdict = {True: "pass", False: "FAIL", None: "-"}[r["passed"]]
    exact = "" if r["exact"] is None else f"exact {r['exact']:.4f}"
    print(f"{verdict:>4}  {r['quantity']:<16} {r['value']:.4f} ± {r['error']:.4f}  {exact:<14} {r['method']}")

# %% [markdown]
# **Exercises.** (a) Train the classifier with a wider gap (`TcConfig(train_below=1.8, train_above=2.8)`):
# does Tc(L) move? (b) Why does a crossing of a *fixed* threshold on |m| converge to the temperature
# where Yang's m(T) equals that threshold, and why is that so close to Tc (hint: β = 1/8)? (c) From a
# terminal: `cnnlab ising study --quick`, `cnnlab ising tc --help`.
