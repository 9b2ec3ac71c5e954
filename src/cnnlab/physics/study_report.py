"""The study's report: ``report.md`` (the table with a pass/fail column), PNG figures, ``result.json``.

matplotlib is imported only when a figure is drawn. Every file is written atomically.

Example:
    >>> print(format_value(2.26919, 0.0012), format_value(0.97, 0.0), format_value(2.27, float("nan")))
    2.2692 +- 0.0012 0.9700 2.2700
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cnnlab.physics import plots
from cnnlab.physics.exact import TC, TC_TRIANGULAR
from cnnlab.physics.reports import finite

__all__ = ["format_value", "markdown", "write_report"]


def format_value(value: float, error: float) -> str:
    """``value +- error`` with four decimals (the error left out when zero or unknown)."""
    if error and math.isfinite(error):
        return f"{value:.4f} +- {error:.4f}"
    return f"{value:.4f}"


def markdown(result: dict) -> str:
    """The report's text: the table (each number beside its exact value), figures and timings."""
    mode = "quick mode (small lattices: rough numbers, criteria not expected to pass)" if result["quick"] else "full"
    lines = [
        "# The 2-D Ising phase transition, measured seven ways",
        "",
        f"`cnnlab ising study` ({mode}). Exact values: Tc = 2/ln(1+sqrt 2) = {TC:.6f} (Onsager), "
        f"triangular lattice Tc = 4/ln 3 = {TC_TRIANGULAR:.6f}, nu = 1.",
        "",
        "| quantity | method | measured | exact | criterion | pass |",
        "|---|---|---|---|---|---|",
    ]
    cell = lambda text: str(text).replace("|", "\\|")  # a | inside a cell would end it
    for r in result["rows"]:
        exact = "" if r["exact"] is None else f"{r['exact']:.4f}"
        verdict = {True: "pass", False: "FAIL", None: "-"}[r["passed"]]
        lines.append(
            f"| {cell(r['quantity'])} | {cell(r['method'])} | {format_value(r['value'], r['error'])} | {exact} "
            f"| {r['criterion']} | {verdict} |"
        )
    lines += ["", "## Figures", ""]
    for name, caption in FIGURES:
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    total = sum(result["seconds"].values())
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items())
    lines += ["## Time", "", f"{total:.0f} s in all: {parts}.", ""]
    return "\n".join(lines)


FIGURES = [
    ("binder.png", "Binder cumulant U4(T) of the Monte Carlo data: the curves of all sizes cross at Tc"),
    ("tc.png", "P(ordered) from the CNN (solid) and the dense network (dashed); Tc(L) extrapolated in 1/L"),
    (
        "collapse.png",
        "The share of configurations the CNN calls ordered against (T - Tc) L^(1/nu): one curve for every L",
    ),
    ("confusion.png", "Learning by confusion: test accuracy against the proposed Tc, W-shaped"),
    ("pca.png", "PCA: the first component is the magnetization; its Binder cumulant crosses at Tc"),
    ("triangular.png", "The square-lattice CNN on triangular-lattice configurations"),
    ("rg_flow.png", "Majority-rule block spins vs max and average pooling: flows"),
    ("rg_lattices.png", "Majority-rule block spins vs max and average pooling: lattices"),
]


def _pyplot():
    return plots._pyplot()


def plot_binder(part: dict, path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    T = part["temperatures"]
    for L, c in part["curves"].items():
        ax.errorbar(T, c["binder"], yerr=c["binder_error"], fmt="o-", ms=3, lw=1, capsize=2, label=f"L = {L}")
    ax.axvline(TC, color="k", lw=1, label=f"exact Tc = {TC:.4f}")
    for k, (pair, (tc, err)) in enumerate(part["crossings"].items()):
        if np.isfinite(tc):
            ax.axvline(tc, color=f"C{k + 3}", ls=":", lw=1, label=f"crossing {pair}: {tc:.4f} +- {err:.4f}")
    ax.set(xlabel="T", ylabel="U4 = 1 - <m^4>/(3<m^2>^2)")
    ax.legend(fontsize=7)
    return plots._save(fig, path)


def plot_collapse(tc_part: dict, fit: dict, path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for L, r in tc_part["per_size"].items():
        x = (np.asarray(r["temperatures"]) - fit["tc"]) * float(L) ** (1 / fit["nu"])
        y, e = r["cnn"]["ordered_fraction"], r["cnn"]["ordered_fraction_error"]
        ax.errorbar(x, y, yerr=e, fmt="o", ms=3, capsize=1.5, label=f"L = {L}")
    ax.axhspan(0.2, 0.8, color="gray", alpha=0.1, label="fitted window")
    ax.set(
        xlabel=f"(T - Tc) L^(1/nu), Tc = {fit['tc']:.4f}, nu = {fit['nu']:.3f}",
        ylabel="share classified ordered",
    )
    ax.set_xlim(-15, 15)
    ax.legend(fontsize=7)
    return plots._save(fig, path)


def plot_confusion(part: dict, path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(part["proposals"], part["accuracy"], "o-", ms=3)
    ax.axvline(TC, color="k", lw=1, label=f"exact Tc = {TC:.4f}")
    if np.isfinite(part["peak"]):
        ax.axvline(part["peak"], color="C1", ls="--", lw=1, label=f"middle peak {part['peak']:.4f}")
    ax.set(xlabel="proposed critical temperature T'", ylabel="test accuracy", title=f"L = {part['L']}")
    ax.legend(fontsize=7)
    return plots._save(fig, path)


def plot_pca(part: dict, path) -> Path:
    plt = _pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8))
    for L in [k for k in part if k.isdigit()]:
        p = part[L]
        ax.bar(f"L={L}", p["r_abs_p1_abs_m"], color="C0")
        bx.errorbar(p["temperatures"], p["binder"], yerr=p["binder_error"], fmt="o-", ms=3, lw=1, label=f"L = {L}")
    ax.set(ylim=(0.9, 1.0), ylabel="corr(|first component|, |m|)")
    bx.axvline(TC, color="k", lw=1, label="exact Tc")
    if np.isfinite(part["tc"]):
        bx.axvline(part["tc"], color="C3", ls="--", lw=1, label=f"crossing {part['tc']:.4f}")
    bx.set(xlabel="T", ylabel="Binder cumulant of the first component")
    bx.legend(fontsize=7)
    return plots._save(fig, path)


def plot_triangular(part: dict, path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(part["temperatures"], part["curve"], "o-", ms=3, label=f"triangular L = {part['L']}")
    ax.axhline(0.5, color="gray", lw=0.5)
    ax.axvline(TC_TRIANGULAR, color="k", lw=1, label=f"exact Tc = 4/ln 3 = {TC_TRIANGULAR:.4f}")
    if np.isfinite(part["tc"]):
        ax.axvline(part["tc"], color="C1", ls="--", lw=1, label=f"CNN: {part['tc']:.4f}")
    ax.set(
        xlabel="T", ylabel="P(ordered)", title=f"CNN trained on the square lattice (L = {part['network_trained_at']})"
    )
    ax.legend(fontsize=7)
    return plots._save(fig, path)


def write_report(study, folder) -> Path:
    """Write ``report.md``, the figures and ``result.json`` of a :class:`StudyResult` into ``folder``."""
    from cnnlab.io import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result = study.to_dict()
    parts = result["parts"]
    plot_binder(parts["binder"], folder / "binder.png")
    plots.plot_tc(parts["tc"], folder / "tc.png")
    plot_collapse(parts["tc"], parts["collapse"], folder / "collapse.png")
    plot_confusion(parts["confusion"], folder / "confusion.png")
    plot_pca(parts["pca"], folder / "pca.png")
    plot_triangular(parts["triangular"], folder / "triangular.png")
    plots.plot_rg_flow(parts["rg"], folder / "rg_flow.png")
    plots.plot_rg_lattices(study.rg_examples, folder / "rg_lattices.png")
    atomic_write_text(folder / "report.md", markdown(result))
    atomic_write_text(folder / "result.json", json.dumps(finite(result), indent=1, allow_nan=False) + "\n")
    return folder / "report.md"
