"""The parts of :func:`cnnlab.physics.study.run_study`: each measures one thing and adds its rows.

Each part takes the :class:`~cnnlab.physics.study_config.StudyConfig`, appends its table rows to the
:class:`~cnnlab.physics.study_config.StudyResult` (``result.add``) and its details to ``result.parts``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cnnlab.physics import dataset as ising_data
from cnnlab.physics.exact import TC, TC_TRIANGULAR
from cnnlab.physics.fss import collapse, curve_crossing
from cnnlab.physics.ising import simulate
from cnnlab.physics.phases import crossing, predict_ordered
from cnnlab.physics.rg import run_rg
from cnnlab.physics.tc import fit_sizes, run_tc
from cnnlab.physics.unsupervised import binder, confusion, confusion_peak, principal_components

if TYPE_CHECKING:  # pragma: no cover
    from cnnlab.physics.study_config import StudyConfig, StudyResult

__all__ = ["binder_part", "confusion_part", "pca_part", "rg_part", "tc_part", "triangular_part"]


def _fit_name(fit: dict) -> str:
    """Which finite-size fit gave Tc, in a few words for the table."""
    return (
        "the 1/L fit"
        if fit.get("form", "").startswith("Tc(L) = Tc + a")
        else "the weighted mean (1/L slope not resolved)"
    )


def _relative(value: float, exact: float) -> float:
    return abs(value - exact) / exact


def binder_part(config: StudyConfig, result: StudyResult) -> None:
    curves = {}
    for i, L in enumerate(config.binder_sizes):
        sim = simulate(
            L,
            config.binder_temperatures,
            sweeps=config.binder_sweeps,
            thermalization=ising_data.default_thermalization(L),
            chains=config.binder_chains,
            seed=config.seed + i,
            threads=config.threads,
        )
        rows = sim.observables()
        curves[L] = {key: [r[key] for r in rows] for key in ("binder", "binder_error", "energy_per_spin")}
    T = np.asarray(config.binder_temperatures)
    crossings = {}
    for small, large in itertools.pairwise(config.binder_sizes):
        a, b = curves[small], curves[large]
        crossings[f"{small}/{large}"] = curve_crossing(
            T, a["binder"], a["binder_error"], b["binder"], b["binder_error"]
        )
    tc, err = crossings[f"{config.binder_sizes[-2]}/{config.binder_sizes[-1]}"]
    result.parts["binder"] = {
        "temperatures": T.tolist(),
        "curves": {str(L): c for L, c in curves.items()},
        "crossings": crossings,
    }
    result.add(
        "Tc",
        f"Binder U4 crossing, L = {config.binder_sizes[-2]}/{config.binder_sizes[-1]}",
        tc,
        err,
        TC,
        "within 0.2 %",
        _relative(tc, TC) <= 0.002,
    )


def tc_part(config: StudyConfig, result: StudyResult, data):
    tc_result = run_tc(config.tc, data=data)
    d = tc_result.to_dict()
    result.parts["tc"] = d
    result.add(
        "Tc",
        "CNN, P(ordered) = 1/2 at L = " + ", ".join(map(str, config.tc.sizes)) + ", then " + _fit_name(d["fit"]),
        d["tc_estimate"],
        d["tc_error"],
        TC,
        "within 0.5 % and 2 sigma",
        _relative(d["tc_estimate"], TC) <= 0.005 and d["within_two_sigma"],
    )
    if config.tc.dense_model:
        fit = fit_sizes(config.tc.sizes, tc_result.per_size, "dense")
        result.parts["dense"] = fit
        result.add("Tc", "dense network (100 hidden), same fit", fit["tc"], fit["tc_error"], TC, "reported", None)
    curves = {}
    for L in config.tc.sizes:
        r = d["per_size"][str(L)]
        curves[L] = (
            np.asarray(r["temperatures"]),
            np.asarray(r["cnn"]["ordered_fraction"]),
            np.asarray(r["cnn"]["ordered_fraction_error"]),
        )
    c = collapse(curves)
    result.parts["collapse"] = c.to_dict()
    result.add(
        "nu",
        "data collapse of the share the CNN calls ordered",
        c.nu,
        c.nu_error,
        1.0,
        "1.0 +- 0.1",
        abs(c.nu - 1.0) <= 0.1,
    )
    return tc_result


def confusion_part(config: StudyConfig, result: StudyResult, data) -> None:
    L = max(config.tc.sizes)
    T = data.temperatures[L]
    proposals = list(config.confusion_proposals)
    accuracy = confusion(
        data.spins[L],
        T,
        proposals,
        epochs=config.confusion_epochs,
        seed=config.seed,
        device=config.device,
        threads=config.tc.torch_threads,
    )
    peak = confusion_peak(proposals, accuracy)
    result.parts["confusion"] = {"L": L, "proposals": proposals, "accuracy": accuracy.tolist(), "peak": peak}
    result.add(
        "Tc",
        f"learning by confusion, middle peak (L = {L}, dense network)",
        peak,
        float("nan"),
        TC,
        "within 1 %",
        _relative(peak, TC) <= 0.01,
    )


def pca_part(config: StudyConfig, result: StudyResult, data) -> None:
    part: dict[str, Any] = {}
    curves: dict[int, tuple] = {}
    missing = [L for L in config.pca_sizes if L not in data.spins]
    if missing or len(config.pca_sizes) < 2:
        raise ValueError(
            f"pca_sizes {config.pca_sizes} must be two or more of the classifier's sizes {sorted(data.spins)}"
        )
    for L in config.pca_sizes:
        spins, T = data.spins[L], data.temperatures[L]
        pca = principal_components(spins)
        p1 = pca.project(spins, centred=False)[:, 0]
        m = np.abs(spins.mean(axis=(1, 2)))
        r = float(np.corrcoef(np.abs(p1), m)[0, 1])
        grid = np.unique(T)
        u = [binder(p1[t == T]) for t in grid]
        # Error of U by the jackknife over the samples at each temperature, in blocks of 16.
        errors = []
        for t in grid:
            q = p1[t == T]
            blocks = np.array_split(np.arange(len(q)), 16)
            jack = [binder(np.delete(q, b)) for b in blocks]
            errors.append(float(np.sqrt((len(blocks) - 1) * np.var(jack))))
        curves[L] = (grid, np.array(u), np.array(errors))
        part[str(L)] = {
            "explained": pca.explained.tolist(),
            "r_abs_p1_abs_m": r,
            "temperatures": grid.tolist(),
            "binder": u,
            "binder_error": errors,
        }
        result.add("|r|", f"PCA: corr(|first component|, |m|), L = {L}", abs(r), 0.0, 1.0, ">= 0.95", abs(r) >= 0.95)
    small, large = config.pca_sizes[-2], config.pca_sizes[-1]
    near = (curves[large][0] > config.tc.train_below) & (curves[large][0] < config.tc.train_above)
    args = [
        curves[small][0][near],
        curves[small][1][near],
        curves[small][2][near],
        curves[large][1][near],
        curves[large][2][near],
    ]
    tc, err = curve_crossing(*args, degree=2)
    part["tc"], part["tc_error"] = tc, err
    result.parts["pca"] = part
    result.add(
        "Tc",
        f"PCA: Binder crossing of the first component, L = {small}/{large}",
        tc,
        err,
        TC,
        "within 2 %",
        _relative(tc, TC) <= 0.02,
    )


def triangular_part(config: StudyConfig, result: StudyResult, tc_result) -> None:
    L = config.triangular_size
    tri = ising_data.generate(
        [L],
        config.triangular_temperatures,
        config.triangular_samples,
        seed=config.seed + 7,
        threads=config.threads,
        lattice="triangular",
    )
    # The square-lattice CNN trained at the nearest size; its GAP layer makes it size-agnostic.
    source = min(tc_result.models, key=lambda s: abs(s - L))
    net = tc_result.models[source]
    size_agnostic = type(net)(torch.nn.Sequential(*net.net))
    x = torch.as_tensor(tri.spins[L], dtype=torch.float32).unsqueeze(1)
    p = predict_ordered(size_agnostic, x)
    T = tri.temperatures[L]
    grid = np.unique(T)
    curve = np.array([p[t == T].mean() for t in grid])
    tc = crossing(grid, curve)
    boot = [
        crossing(grid, [np.random.default_rng(k).choice(p[t == T], size=(t == T).sum()).mean() for t in grid])
        for k in range(100)
    ]
    err = float(np.nanstd(boot))
    result.parts["triangular"] = {
        "L": L,
        "network_trained_at": source,
        "temperatures": grid.tolist(),
        "curve": curve.tolist(),
        "tc": tc,
    }
    result.add(
        "Tc (triangular)",
        f"square-lattice CNN (L = {source}) on triangular L = {L}",
        tc,
        err,
        TC_TRIANGULAR,
        "within 2 %",
        _relative(tc, TC_TRIANGULAR) <= 0.02,
    )


def rg_part(config: StudyConfig, result: StudyResult) -> None:
    rg = run_rg(L=config.rg_size, temperatures=[1.8, TC, 3.0], samples=64, steps=config.rg_steps, seed=config.seed)
    d = rg.to_dict()
    result.parts["rg"] = d
    result.rg_examples = rg.examples
    critical = d["flows"]["majority"][f"{TC:.6g}"]["nn_correlation"]
    drift = max(critical) - min(critical)
    result.add(
        "RG fixed point",
        "majority rule at Tc: nn correlation drift over the flow",
        drift,
        0.0,
        0.0,
        "< 0.1",
        drift < 0.1,
    )
    up = d["flows"]["max"]["3"]["abs_magnetization"][-1]
    result.add(
        "max pooling", "|m| after max pooling at T = 3 (breaks Z2: flows to all up)", up, 0.0, 1.0, "> 0.9", up > 0.9
    )
