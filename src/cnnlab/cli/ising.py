"""``cnnlab ising simulate | dataset | tc | rg | study``: the 2-D Ising model's Monte Carlo and ML experiments.

Every command (but ``dataset``) writes a run folder (``--out``, default ``runs/ising-<command>-<time>``)
with ``result.json`` and PNG figures, prints a short summary, and with ``--json`` prints one JSON
object as the last line of stdout (the summary then goes to stderr). This module only parses
arguments and prints: the work and the files are :mod:`cnnlab.physics`'s.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import typer

from cnnlab.cli._common import emit, run_dir
from cnnlab.io import check_folder, make_folder
from cnnlab.physics import limits

ising_app = typer.Typer(
    help="2-D Ising model: Monte Carlo, datasets, Tc from a CNN, the full phase-transition study, pooling vs RG.",
    no_args_is_help=True,
)

MAX_SIZES = 16
DEFAULT_THREADS = max(1, min(os.cpu_count() or 1, 8))


def parse_sizes(text: str, name: str = "--L") -> list[int]:
    """``"16,32"`` -> [16, 32]; each an integer in 2..4096, at most 16 of them.

    Example:
        >>> parse_sizes("16, 32")
        [16, 32]
    """
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts or len(parts) > MAX_SIZES:
        raise ValueError(f"{name} must list 1 to {MAX_SIZES} comma-separated integers such as 16,32; got {text!r}")
    sizes = []
    for part in parts:
        try:
            L = int(part)
        except ValueError:
            raise ValueError(f"{name} must be comma-separated integers such as 16,32; got {text!r}") from None
        if not 2 <= L <= limits.MAX_L:
            raise ValueError(f"{name}: each lattice side must be between 2 and {limits.MAX_L}, got {L}")
        sizes.append(L)
    return sizes


def _range(text: str, name: str) -> list[float]:
    parts = [float(p) for p in text.split(":")]
    if len(parts) != 3:
        raise ValueError(f"{name} range must be START:STOP:STEP (three numbers), got {text!r}")
    start, stop, step = parts
    if not all(math.isfinite(v) for v in parts):
        raise ValueError(f"{name} range START:STOP:STEP must be finite numbers, got {text!r}")
    if step <= 0 or stop < start:
        raise ValueError(f"{name} range START:STOP:STEP needs STEP > 0 and STOP >= START, got {text!r}")
    count = limits.temperature_count(start, stop, step, name)  # refused before the list is built
    return [round(start + i * step, 10) for i in range(count)]


def parse_temperatures(text: str, name: str = "--T") -> list[float]:
    """Comma-separated numbers and inclusive ranges ``START:STOP:STEP``; every T finite and > 0.

    Example:
        >>> parse_temperatures("1.0:1.2:0.1")
        [1.0, 1.1, 1.2]
        >>> parse_temperatures("1.0,2.5:2.7:0.1")
        [1.0, 2.5, 2.6, 2.7]
    """
    items = [p.strip() for p in str(text).split(",")]
    if not items or any(not p for p in items):
        raise ValueError(f"{name} must be a number, a comma-separated list or START:STOP:STEP, got {text!r}")
    temps: list[float] = []
    try:
        for item in items:
            temps += _range(item, name) if ":" in item else [float(item)]
            if len(temps) > limits.MAX_TEMPERATURES:
                raise ValueError(
                    f"{name}: at most {limits.MAX_TEMPERATURES} temperatures are allowed, got more in {text!r}"
                )
    except ValueError as err:
        if str(err).startswith(name):
            raise
        raise ValueError(f"{name} must be a number, a comma-separated list or START:STOP:STEP, got {text!r}") from None
    bad = [t for t in temps if not math.isfinite(t) or t <= 0]
    if bad:
        raise ValueError(f"{name}: temperatures must be finite and > 0, got {bad[0]} in {text!r}")
    return temps


def _count(name: str, value: int, high: int, low: int = 1) -> int:
    return limits.check_count(name, value, high, low)


def _run_dir(out: Path | None, command: str) -> Path:
    """``--out`` or ``runs/ising-COMMAND-TIME``, checked but not created: a file in the way or an
    unwritable parent is one line at once, before minutes of Monte Carlo; the folder is made when the
    results are written (:func:`cnnlab.io.make_folder`), so a mistake found on the way leaves no empty folder."""
    return check_folder(run_dir(out, f"ising-{command}"))


def _print_json(payload: dict, as_json: bool) -> None:
    from cnnlab.physics.reports import finite

    if as_json:
        typer.echo(json.dumps(finite(payload), allow_nan=False))


THREADS_HELP = "CPU threads for the Monte Carlo (its results do not depend on it)."


@ising_app.command("simulate")
def simulate(
    L: int = typer.Option(
        32, "--L", help="Lattice side (even for the square lattice, a multiple of 3 for triangular)."
    ),
    T: str = typer.Option("2.0", "--T", help="Temperature(s): 2.0, 1.5,2.0 or START:STOP:STEP."),
    sweeps: int = typer.Option(2000, "--sweeps", help=f"Measured sweeps per chain (<= {limits.MAX_SWEEPS})."),
    thermalization: int = typer.Option(
        None, "--thermalization", help="Sweeps discarded first (default max(100, sweeps/4))."
    ),
    chains: int = typer.Option(None, "--chains", help="Chains per temperature (default 64 metropolis, 4 wolff)."),
    algorithm: str = typer.Option("metropolis", "--algorithm", help="metropolis | wolff."),
    backend: str = typer.Option(
        "compiled", "--backend", help="compiled (numba) | numpy (the readable reference) | torch."
    ),
    lattice: str = typer.Option("square", "--lattice", help="square | triangular (compiled metropolis)."),
    device: str = typer.Option("cpu", "--device", help="Device of the torch backend (cpu, cuda)."),
    measure_every: int = typer.Option(1, "--measure-every", help="Sweeps between measurements."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(DEFAULT_THREADS, "--threads", help=THREADS_HELP),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Monte Carlo observables with error bars, compared with the exact results (Onsager, Yang, Houtappel)."""
    from cnnlab.physics import ising
    from cnnlab.physics.reports import SimulationReport

    temps = parse_temperatures(T)
    _count("--threads", threads, 1024)
    folder = _run_dir(out, "simulate")  # checked now, made when written
    sim = ising.simulate(
        L,
        temps,
        sweeps=sweeps,
        thermalization=thermalization,
        chains=chains,
        algorithm=algorithm,
        seed=seed,
        measure_every=measure_every,
        threads=threads,
        backend=backend,
        lattice=lattice,
        device=device,
        progress=True,
    )
    report = SimulationReport.from_simulation(sim)
    payload = report.write(make_folder(folder))
    log = emit(as_json)
    log(f"{algorithm} ({backend}, {lattice}), L={L}, {sim.config.chains} chains x {sweeps} sweeps per T -> {folder}")
    exact_name = "Houtappel" if lattice == "triangular" else "Onsager"
    log(
        f"{'T':>6} {'energy/spin':>20} {exact_name:>9} {'|m|':>18} {'Yang':>7} {'chi':>8} {'C':>7} {'U4':>6} {'tau_|m|':>8}"
    )
    for r in report.rows:
        e_exact = r.get("exact_energy", r.get("onsager_energy"))
        yang = f"{r['yang_magnetization']:7.4f}" if "yang_magnetization" in r else f"{'-':>7}"
        log(
            f"{r['T']:6.3f} {r['energy_per_spin']:10.5f} +- {r['energy_per_spin_error']:.5f} {e_exact:9.4f} "
            f"{r['abs_magnetization']:8.5f} +- {r['abs_magnetization_error']:.5f} {yang} "
            f"{r['susceptibility']:8.3f} {r['specific_heat']:7.3f} {r['binder']:6.3f} {r['tau_int_abs_magnetization']:8.1f}"
        )
    _print_json(payload, as_json)


@ising_app.command("dataset")
def dataset(
    L: str = typer.Option("16,32", "--L", help="Lattice sides, e.g. 16,32,64."),
    T: str = typer.Option("1.0:3.5:0.05", "--T", help="Temperature grid START:STOP:STEP or a list."),
    samples: int = typer.Option(256, "--samples", help=f"Configurations per (L, T), <= {limits.MAX_SAMPLES}."),
    seed: int = typer.Option(0, "--seed"),
    thermalization: int = typer.Option(None, "--thermalization", help="Sweeps before sampling (default 20 tau(L, T))."),
    threads: int = typer.Option(DEFAULT_THREADS, "--threads", help=THREADS_HELP),
    out: Path = typer.Option(None, "--out", help="File to write (default: the cache, $CNNLAB_DATA/ising/)."),
    force: bool = typer.Option(False, "--force", help="Regenerate even if the cached file exists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Decorrelated configurations with metadata in a versioned .npz; use as --dataset ising:PATH."""
    from cnnlab.physics import dataset as ising_data

    sizes, temps = parse_sizes(L), parse_temperatures(T)
    _count("--samples", samples, limits.MAX_SAMPLES)
    _count("--threads", threads, 1024)
    if thermalization is not None:
        _count("--thermalization", thermalization, limits.MAX_SWEEPS, low=0)
    path = out if out is not None else ising_data.cache_path(sizes, temps, samples, seed, thermalization)
    log = emit(as_json)
    if path.is_file() and out is None and not force:
        data, cached = ising_data.load(path), True
    else:
        data = ising_data.generate(
            sizes, temps, samples, seed=seed, thermalization=thermalization, threads=threads, progress=True
        )
        ising_data.save(data, path)
        cached = False
    total = sum(len(v) for v in data.spins.values())
    log(f"{'cached' if cached else 'wrote'} {path}: {total} configurations, L = {sizes}, {len(temps)} temperatures")
    for size, info in data.meta["per_size"].items():
        therm = info["thermalization"]
        therm = f"{min(therm)}..{max(therm)}" if isinstance(therm, list) else therm
        log(
            f"  L={size}: thermalization {therm} sweeps, max tau_int(|m|) = {max(info['tau_int_abs_magnetization']):.1f} sweeps"
        )
    log(f"train on it: cnnlab train --dataset ising:{path}")
    meta = {k: v for k, v in data.meta.items() if k != "sha256"}
    _print_json({"path": str(path), "cached": cached, "configurations": total, "meta": meta}, as_json)


@ising_app.command("tc")
def tc(
    L: str = typer.Option("24,32,64", "--L", help="Lattice sides (at least two), e.g. 24,32,64."),
    T: str = typer.Option(
        "1.0:2.0:0.1,2.5:3.5:0.1", "--T", help="Coarse grid far from Tc (training, and the curve's ends)."
    ),
    T_fine: str = typer.Option("2.1:2.44:0.02", "--T-fine", help="Fine grid near Tc (never trained on; the crossing)."),
    samples: int = typer.Option(128, "--samples", help="Configurations per (L, T) on the coarse grid; half train."),
    critical_samples: int = typer.Option(256, "--critical-samples", help="Configurations per (L, T) on the fine grid."),
    model: str = typer.Option(None, "--model", help="CNN spec (default: the GAP CNN with circular padding)."),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="Also train the dense network (100 hidden units)."),
    epochs: int = typer.Option(8, "--epochs"),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples for the errors."),
    ensemble: int = typer.Option(
        4, "--ensemble", help="Networks averaged at the largest L (smaller L get proportionally more)."
    ),
    seed: int = typer.Option(0, "--seed"),
    seeds: int = typer.Option(1, "--seeds", help="Repeat with seeds seed..seed+N-1 and report the mean and spread."),
    threads: int = typer.Option(DEFAULT_THREADS, "--threads", help=THREADS_HELP),
    torch_threads: int = typer.Option(1, "--torch-threads", help="CPU threads of each network (small: 1 is fastest)."),
    device: str = typer.Option("cpu", "--device", help="Where the classifiers train: cpu, cuda or auto."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse the generated configurations."),
    save_models: bool = typer.Option(
        True, "--save-model/--no-save-model", help="Save each size's CNN as a run folder model-L{L}."
    ),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Train CNNs on T < 2.0 vs T > 2.5, find Tc(L) where P(ordered) = 1/2, fit Tc(L) = Tc + a/L."""
    from cnnlab.physics import reports
    from cnnlab.physics import tc as tc_module
    from cnnlab.physics.phases import CNN_SPEC, DENSE_SPEC

    sizes, coarse, fine = parse_sizes(L), parse_temperatures(T), parse_temperatures(T_fine, "--T-fine")
    if len(sizes) < 2:
        raise ValueError(f"--L needs at least two sizes for the L -> infinity extrapolation, got {L!r}")
    for name, value, high in (
        ("--samples", samples, limits.MAX_SAMPLES),
        ("--critical-samples", critical_samples, limits.MAX_SAMPLES),
        ("--epochs", epochs, 1000),
        ("--bootstrap", bootstrap, 100_000),
        ("--ensemble", ensemble, 100),
        ("--seeds", seeds, 100),
        ("--threads", threads, 1024),
        ("--torch-threads", torch_threads, 1024),
    ):
        _count(name, value, high)
    folder = _run_dir(out, "tc")  # checked now, made when written
    log = emit(as_json)
    spread = reports.SeedSpread([], [], [])
    payload = {}
    for k in range(seeds):
        config = tc_module.TcConfig(
            sizes=sizes,
            coarse=coarse,
            fine=fine,
            samples=samples,
            critical_samples=critical_samples,
            model=model or CNN_SPEC,
            dense_model=DENSE_SPEC if dense else None,
            epochs=epochs,
            bootstrap=bootstrap,
            ensemble=ensemble,
            seed=seed + k,
            threads=threads,
            torch_threads=torch_threads,
            device=device,
        )
        result = tc_module.run_tc(config, cache=cache, progress=True)
        target = folder if seeds == 1 else folder / f"seed-{seed + k}"
        make_folder(target)
        payload = reports.write_tc(result, target, save_models=save_models)
        spread.seeds.append(seed + k)
        spread.estimates.append(result.tc_estimate)
        spread.errors.append(result.tc_error)
        log(
            f"seed {seed + k}: Tc from the CNN = {result.tc_estimate:.4f} +- {result.tc_error:.4f} "
            f"(exact {payload['tc_exact']:.5f}, off by {100 * payload['relative_error']:.2f} %; "
            f"fit {payload['fit']['form']}, chi2 = {payload['fit']['chi2']:.2f} for {payload['fit']['dof']} dof) -> {target}"
        )
        for size, r in payload["per_size"].items():
            dense_text = f" (dense: {r['dense']['tc']:.4f})" if "dense" in r else ""
            log(
                f"  L={size}: Tc(L) = {r['cnn']['tc']:.4f} +- {r['cnn']['tc_error']:.4f}{dense_text}; "
                f"accuracy in {config.train_below} < T < {config.train_above}: CNN {r['cnn']['accuracy_critical']:.3f} "
                f"({r['cnn']['parameters']} parameters, {r['cnn']['members']} networks)"
            )
    if save_models and seeds == 1:
        log(f"models: {', '.join(payload['models'].values())} (load with cnnlab.load; classifier = z2-symmetrised)")
    if seeds > 1:
        summary = spread.to_dict()
        reports.write_json(folder, summary, "seeds.json")
        log(
            f"{seeds} seeds: Tc = {summary['tc_mean']:.4f} +- {summary['tc_spread']:.4f} (mean +- spread), "
            f"exact {summary['tc_exact']:.5f}; every seed within {100 * summary['max_relative_error']:.2f} %"
        )
        payload = summary | {"run_dir": str(folder)}
    _print_json(payload, as_json)


@ising_app.command("rg")
def rg(
    L: int = typer.Option(64, "--L", help="Lattice side (divisible by 2^steps)."),
    T: str = typer.Option(None, "--T", help="Temperatures (default 1.8, Tc, 3.0)."),
    samples: int = typer.Option(64, "--samples", help="Configurations per temperature."),
    steps: int = typer.Option(4, "--steps", help="Coarse-graining steps (b = 2 each)."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Majority-rule block spins vs max and average pooling: flows of |m| and nn correlation."""
    from cnnlab.physics import reports
    from cnnlab.physics import rg as rg_module
    from cnnlab.physics.exact import TC

    temps = parse_temperatures(T) if T is not None else [1.8, TC, 3.0]
    _count("--samples", samples, limits.MAX_SAMPLES)
    folder = _run_dir(out, "rg")  # checked now, made when written
    result = rg_module.run_rg(L, temps, samples=samples, steps=steps, seed=seed)
    payload = reports.write_rg(result, make_folder(folder))
    log = emit(as_json)
    log(f"coarse-graining L={L} x{steps} steps, {samples} configurations per T -> {folder}")
    for method, flows in payload["flows"].items():
        for temp, obs in flows.items():
            m = " ".join(f"{v:.3f}" for v in obs["abs_magnetization"])
            c = " ".join(f"{v:.3f}" for v in obs["nn_correlation"])
            log(f"  {method:>8} T={float(temp):.3f}  |m|: {m}   nn: {c}")
    _print_json(payload, as_json)


@ising_app.command("study")
def study(
    quick: bool = typer.Option(False, "--quick", help="Small lattices, about a minute (for CI): rough numbers."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(DEFAULT_THREADS, "--threads", help=THREADS_HELP),
    device: str = typer.Option("cpu", "--device", help="Where the networks train: cpu, cuda or auto."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse the classifier's configurations."),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """The phase transition seven ways: Binder crossing, CNN and dense Tc, nu, confusion, PCA, triangular lattice, RG."""
    from cnnlab.physics.study import StudyConfig, run_study
    from cnnlab.physics.study_report import format_value, write_report

    _count("--threads", threads, 1024)
    make = StudyConfig.quick_mode if quick else StudyConfig.full_mode
    log = emit(as_json)
    config = make(seed=seed, threads=threads, device=device)
    folder = _run_dir(out, "study")  # checked now, made when written
    result = run_study(config, cache=cache, progress=log)
    report = write_report(result, make_folder(folder))
    log(f"report: {report}")
    for r in result.rows:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r["passed"]]
        exact = "" if r["exact"] is None else f"(exact {r['exact']:.4f})"
        log(f"  {verdict:>4}  {r['quantity']:<16} {format_value(r['value'], r['error']):>20} {exact:<16} {r['method']}")
    _print_json(result.to_dict() | {"run_dir": str(folder)}, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(ising_app, name="ising")


__all__ = ["ising_app", "parse_sizes", "parse_temperatures", "register"]
