"""Figures of the Ising experiments (PNG files). matplotlib is imported only when a figure is drawn.

- :func:`plot_observables`: energy, |m|, susceptibility, specific heat, Binder vs T, with the
  exact curves (Onsager, Yang) and Tc;
- :func:`plot_tc`: P(ordered) vs T for each L with Tc(L) marked, and Tc(L) vs 1/L with the fit;
- :func:`plot_rg_flow` and :func:`plot_rg_lattices`: the coarse-graining flows and lattices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.physics.exact import TC, onsager_energy, yang_magnetization

__all__ = ["plot_observables", "plot_rg_flow", "plot_rg_lattices", "plot_tc"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    """Write the figure as PNG atomically (readers never see half a file), then close it."""
    from cnnlab.io import atomic_write

    path = Path(path)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    finally:
        _pyplot().close(fig)
    return path


def plot_observables(rows: list[dict], path, exact_curves: bool = True) -> Path:
    """Observables (dicts from :meth:`cnnlab.physics.ising.Simulation.observables`) vs T.

    ``exact_curves``: draw Onsager's energy, Yang's magnetization and Tc (square lattice only).
    """
    plt = _pyplot()
    T = np.array([r["T"] for r in rows])
    fine = np.linspace(min(T.min(), 1.0), max(T.max(), 3.5), 400)
    names = [
        ("energy_per_spin", "energy per spin", onsager_energy),
        ("abs_magnetization", "|m|", yang_magnetization),
        ("susceptibility", "susceptibility", None),
        ("specific_heat", "specific heat", None),
        ("binder", "Binder U4", None),
    ]
    fig, grid = plt.subplots(2, 3, figsize=(12, 6.4))
    axes = grid.reshape(-1)
    for ax, (key, label, exact) in zip(axes, names):
        ax.errorbar(
            T,
            [r[key] for r in rows],
            yerr=[r[key + "_error"] for r in rows],
            fmt="o",
            ms=3,
            capsize=2,
            label=f"Monte Carlo, L={rows[0]['L']}",
        )
        if exact is not None and exact_curves:
            ax.plot(fine, exact(fine), "k-", lw=1, label="exact (L = inf)")
        if exact_curves:
            ax.axvline(TC, color="gray", ls=":", lw=1)
        ax.set_xlabel("T")
        ax.set_title(label)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].axis("off")
    axes[-1].legend(handles, labels, loc="center", title=f"dotted: Tc = {TC:.4f}")
    fig.tight_layout()
    return _save(fig, path)


def plot_tc(result: dict, path) -> Path:
    """P(ordered) vs T per L (CNN solid, dense dashed) with Tc(L), and the 1/L extrapolation."""
    plt = _pyplot()
    fig, (ax, fit) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    sizes = sorted(result["per_size"], key=int)
    for i, L in enumerate(sizes):
        r = result["per_size"][L]
        colour = f"C{i}"
        ax.errorbar(
            r["temperatures"],
            r["cnn"]["curve"],
            yerr=r["cnn"]["curve_error"],
            color=colour,
            ms=3,
            fmt="o-",
            lw=1,
            capsize=1.5,
            label=f"CNN L={L}: Tc(L)={r['cnn']['tc']:.3f}",
        )
        if "dense" in r:
            ax.plot(r["temperatures"], r["dense"]["curve"], color=colour, ls="--", lw=1, label=f"dense L={L}")
        ax.axvline(r["cnn"]["tc"], color=colour, ls=":", lw=1)
    ax.axvline(TC, color="k", lw=1, label=f"exact Tc = {TC:.4f}")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.axvspan(
        result["config"]["train_below"],
        result["config"]["train_above"],
        color="gray",
        alpha=0.12,
        label="not trained on",
    )
    ax.set_xlabel("T")
    ax.set_ylabel("P(ordered)")
    ax.legend(fontsize=7)
    inv = np.array([1 / int(L) for L in sizes])
    tcs = [result["per_size"][L]["cnn"]["tc"] for L in sizes]
    errs = [result["per_size"][L]["cnn"]["tc_error"] for L in sizes]
    fit.errorbar(inv, tcs, yerr=errs, fmt="o", capsize=2, label="Tc(L) (CNN)")
    xs = np.linspace(0, inv.max() * 1.1, 50)
    info = result.get("fit", {})
    line = info.get("line") or {"tc": result["tc_estimate"], "slope": result.get("tc_fit_slope", np.nan)}
    if np.isfinite(line.get("slope", np.nan)):
        fit.plot(xs, line["tc"] + line["slope"] * xs, "-", lw=1, label=f"Tc + a/L: {line['tc']:.4f}")
    if info.get("constant"):
        fit.axhline(
            info["constant"]["tc"], color="C2", ls="--", lw=1, label=f"weighted mean: {info['constant']['tc']:.4f}"
        )
    fit.set_title(f"Tc = {result['tc_estimate']:.4f} +- {result['tc_error']:.4f}", fontsize=9)
    fit.axhline(TC, color="k", lw=1, label="exact")
    fit.set_xlabel("1/L")
    fit.set_ylabel("Tc(L)")
    fit.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_rg_flow(result: dict, path) -> Path:
    """|m| and the nn correlation vs coarse-graining step; colour = temperature, style = method."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {"majority": "o-", "max": "s--", "avg": "^:"}
    for method, flows in result["flows"].items():
        for i, (T, obs) in enumerate(flows.items()):
            steps = range(len(obs["L"]))
            for ax, key in zip(axes, ("abs_magnetization", "nn_correlation")):
                ax.plot(steps, obs[key], styles[method], color=f"C{i}", ms=4, lw=1, label=f"{method}, T={float(T):.3f}")
    for ax, title in zip(axes, ("|m|", "nearest-neighbour correlation")):
        ax.set_xlabel("coarse-graining step (b = 2)")
        ax.set_title(title)
    axes[1].legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return _save(fig, path)


def plot_rg_lattices(examples: dict, path) -> Path:
    """Rows: temperatures; columns: the lattice, then each method's coarse-grained lattices."""
    plt = _pyplot()
    methods = list(examples)
    temps = list(examples[methods[0]])
    steps = len(examples[methods[0]][temps[0]]) - 1
    cols = 1 + len(methods) * steps
    fig, axes = plt.subplots(len(temps), cols, figsize=(1.3 * cols, 1.45 * len(temps)), squeeze=False)
    for r, T in enumerate(temps):
        panels = [(f"T={float(T):.3f}", examples[methods[0]][T][0])]
        panels += [(f"{m} x{2 ** (k + 1)}", examples[m][T][k + 1]) for m in methods for k in range(steps)]
        for c, (title, lattice) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(lattice, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
