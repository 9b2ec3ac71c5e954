"""``cnnlab ising simulate | dataset | tc | rg``: the 2-D Ising model's Monte Carlo and CNN experiments.

Every command writes a run folder (``--out``, default ``runs/ising-<command>-<time>``) with
``result.json`` and PNG figures, prints a short summary, and with ``--json`` prints one JSON object
as the last line of stdout (the summary then goes to stderr).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import typer

ising_app = typer.Typer(
    help="2-D Ising model: Monte Carlo, datasets, Tc from a CNN, pooling vs renormalization.", no_args_is_help=True
)


def parse_sizes(text: str, name: str = "--L") -> list[int]:
    """``"16,32"`` -> [16, 32]; each an integer >= 2.

    Example:
        >>> parse_sizes("16, 32")
        [16, 32]
    """
    sizes = []
    for part in str(text).split(","):
        try:
            L = int(part)
        except ValueError:
            raise ValueError(f"{name} must be comma-separated integers such as 16,32; got {text!r}") from None
        if L < 2:
            raise ValueError(f"{name}: each lattice side must be >= 2, got {L}")
        sizes.append(L)
    return sizes


def parse_temperatures(text: str, name: str = "--T") -> list[float]:
    """``"2.0"``, ``"1.5,2.0"`` or an inclusive range ``"START:STOP:STEP"``; every T > 0.

    Example:
        >>> parse_temperatures("1.0:1.2:0.1")
        [1.0, 1.1, 1.2]
    """
    text = str(text).strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError(f"{name} range must be START:STOP:STEP (three numbers), got {text!r}")
            start, stop, step = parts
            if step <= 0 or stop < start:
                raise ValueError(f"{name} range START:STOP:STEP needs STEP > 0 and STOP >= START, got {text!r}")
            count = math.floor((stop - start) / step + 1e-9) + 1
            temps = [round(start + i * step, 10) for i in range(count)]
        else:
            temps = [float(p) for p in text.split(",")]
    except ValueError as err:
        if str(err).startswith(name):
            raise
        raise ValueError(f"{name} must be a number, a comma-separated list or START:STOP:STEP, got {text!r}") from None
    bad = [t for t in temps if not math.isfinite(t) or t <= 0]
    if bad:
        raise ValueError(f"{name}: temperatures must be finite and > 0, got {bad[0]} in {text!r}")
    return temps


def _run_dir(out: Path | None, command: str) -> Path:
    folder = out if out is not None else Path("runs") / f"ising-{command}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _emit(as_json: bool):
    """Human lines to stdout, or to stderr when stdout's last line is the JSON object."""
    return (lambda line: typer.echo(line, err=True)) if as_json else typer.echo


def _finish(folder: Path, result: dict, as_json: bool) -> None:
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    if as_json:
        typer.echo(json.dumps(result))


def _check_threads(threads: int) -> int:
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    return threads


@ising_app.command("simulate")
def simulate(
    L: int = typer.Option(32, "--L", help="Lattice side (even for metropolis)."),
    T: str = typer.Option("2.0", "--T", help="Temperature(s): 2.0, 1.5,2.0 or START:STOP:STEP."),
    sweeps: int = typer.Option(2000, "--sweeps", help="Measured sweeps per chain."),
    thermalization: int = typer.Option(
        None, "--thermalization", help="Sweeps discarded first (default max(100, sweeps/4))."
    ),
    chains: int = typer.Option(None, "--chains", help="Chains per temperature (default 64 metropolis, 4 wolff)."),
    algorithm: str = typer.Option("metropolis", "--algorithm", help="metropolis | wolff."),
    measure_every: int = typer.Option(1, "--measure-every", help="Sweeps between measurements."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", help="Metropolis worker threads."),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Monte Carlo observables with error bars, compared with Onsager's energy and Yang's magnetization."""
    from cnnlab.physics import exact, ising, plots

    temps = parse_temperatures(T)
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
        progress=True,
    )
    rows = sim.observables()
    for row in rows:
        row["onsager_energy"] = float(exact.onsager_energy(row["T"]))
        row["yang_magnetization"] = float(exact.yang_magnetization(row["T"]))
    folder = _run_dir(out, "simulate")
    plots.plot_observables(rows, folder / "observables.png")
    result = {"config": sim.to_dict()["config"], "tc_exact": exact.TC, "results": rows, "run_dir": str(folder)}
    # Top level: the values for one temperature, or a list per key (one entry per temperature).
    result.update(rows[0] if len(rows) == 1 else {key: [r[key] for r in rows] for key in rows[0]})
    log = _emit(as_json)
    log(f"{algorithm}, L={L}, {sim.config.chains} chains x {sweeps} sweeps per T -> {folder}")
    log(
        f"{'T':>6} {'energy/spin':>20} {'Onsager':>8} {'|m|':>18} {'Yang':>7} {'chi':>8} {'C':>7} {'U4':>6} {'tau_|m|':>8}"
    )
    for r in rows:
        log(
            f"{r['T']:6.3f} {r['energy_per_spin']:10.5f} +- {r['energy_per_spin_error']:.5f} {r['onsager_energy']:8.4f} "
            f"{r['abs_magnetization']:8.5f} +- {r['abs_magnetization_error']:.5f} {r['yang_magnetization']:7.4f} "
            f"{r['susceptibility']:8.3f} {r['specific_heat']:7.3f} {r['binder']:6.3f} {r['tau_int_abs_magnetization']:8.1f}"
        )
    _finish(folder, result, as_json)


@ising_app.command("dataset")
def dataset(
    L: str = typer.Option("16,32", "--L", help="Lattice sides, e.g. 16,32,64."),
    T: str = typer.Option("1.0:3.5:0.05", "--T", help="Temperature grid START:STOP:STEP or a list."),
    samples: int = typer.Option(256, "--samples", help="Configurations per (L, T)."),
    seed: int = typer.Option(0, "--seed"),
    thermalization: int = typer.Option(None, "--thermalization", help="Sweeps before sampling (default 20 tau(L))."),
    threads: int = typer.Option(1, "--threads"),
    out: Path = typer.Option(None, "--out", help="File to write (default: the cache, $CNNLAB_DATA/ising/)."),
    force: bool = typer.Option(False, "--force", help="Regenerate even if the cached file exists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Decorrelated configurations with metadata in a versioned .npz; use as --dataset ising:PATH."""
    from cnnlab.physics import dataset as ising_data

    sizes, temps = parse_sizes(L), parse_temperatures(T)
    path = out if out is not None else ising_data.cache_path(sizes, temps, samples, seed, thermalization)
    log = _emit(as_json)
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
        log(
            f"  L={size}: thermalization {info['thermalization']} sweeps, max tau_int(|m|) = "
            f"{max(info['tau_int_abs_magnetization']):.1f} sweeps"
        )
    log(f"train on it: cnnlab train --dataset ising:{path}")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "cached": cached,
                    "configurations": total,
                    "meta": {k: v for k, v in data.meta.items() if k != "sha256"},
                }
            )
        )


@ising_app.command("tc")
def tc(
    L: str = typer.Option("16,32", "--L", help="Lattice sides, e.g. 16,32,64."),
    T: str = typer.Option("1.0:3.5:0.05", "--T", help="Temperature grid."),
    samples: int = typer.Option(256, "--samples", help="Configurations per (L, T); half train, half test."),
    model: str = typer.Option(None, "--model", help="CNN spec (default: the GAP CNN with circular padding)."),
    epochs: int = typer.Option(8, "--epochs"),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples for the errors."),
    ensemble: int = typer.Option(
        3, "--ensemble", help="Networks averaged at the largest L (smaller L get proportionally more)."
    ),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads"),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse the generated configurations."),
    out: Path = typer.Option(None, "--out", help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Train a CNN on T < 2.0 vs T > 2.5, find Tc(L) where P(ordered) = 1/2, extrapolate L -> inf."""
    from cnnlab.physics import phases, plots

    sizes, temps = parse_sizes(L), parse_temperatures(T)
    _check_threads(threads)
    if len(sizes) < 2:
        raise ValueError(f"--L needs at least two sizes for the L -> infinity extrapolation, got {L!r}")
    if ensemble < 1:
        raise ValueError(f"--ensemble must be >= 1, got {ensemble}")
    config = phases.TcConfig(
        sizes=sizes,
        temperatures=temps,
        samples=samples,
        epochs=epochs,
        bootstrap=bootstrap,
        ensemble=ensemble,
        seed=seed,
        threads=threads,
        model=model or phases.CNN_SPEC,
    )
    result = phases.run_tc(config, cache=cache, progress=True).to_dict()
    folder = _run_dir(out, "tc")
    plots.plot_tc(result, folder / "tc.png")
    result["run_dir"] = str(folder)
    log = _emit(as_json)
    log(
        f"Tc from the CNN: {result['tc_estimate']:.4f} +- {result['tc_error']:.4f} "
        f"(exact {result['tc_exact']:.5f}, off by {100 * result['relative_error']:.2f} %) -> {folder}"
    )
    for size, r in result["per_size"].items():
        log(
            f"  L={size}: Tc(L) = {r['cnn']['tc']:.4f} +- {r['cnn']['tc_error']:.4f} (dense: {r['dense']['tc']:.4f}); "
            f"accuracy in 2.0 <= T <= 2.5: CNN {r['cnn']['accuracy_critical']:.3f} ({r['cnn']['parameters']} parameters), "
            f"dense {r['dense']['accuracy_critical']:.3f} ({r['dense']['parameters']} parameters)"
        )
    _finish(folder, result, as_json)


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
    from cnnlab.physics import plots
    from cnnlab.physics import rg as rg_module
    from cnnlab.physics.exact import TC

    temps = parse_temperatures(T) if T is not None else [1.8, TC, 3.0]
    result = rg_module.run_rg(L, temps, samples=samples, steps=steps, seed=seed)
    data = result.to_dict()
    folder = _run_dir(out, "rg")
    plots.plot_rg_flow(data, folder / "rg_flow.png")
    plots.plot_rg_lattices(result.examples, folder / "rg_lattices.png")
    data["run_dir"] = str(folder)
    log = _emit(as_json)
    log(f"coarse-graining L={L} x{steps} steps, {samples} configurations per T -> {folder}")
    for method, flows in data["flows"].items():
        for temp, obs in flows.items():
            m = " ".join(f"{v:.3f}" for v in obs["abs_magnetization"])
            c = " ".join(f"{v:.3f}" for v in obs["nn_correlation"])
            log(f"  {method:>8} T={float(temp):.3f}  |m|: {m}   nn: {c}")
    _finish(folder, data, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(ising_app, name="ising")


__all__ = ["ising_app", "parse_sizes", "parse_temperatures", "register"]
