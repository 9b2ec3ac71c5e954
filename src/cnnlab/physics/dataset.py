"""Datasets of equilibrium Ising configurations: generate, save, load (a versioned, safe file).

Each configuration comes from its own Markov chain (multi-spin-coded Metropolis, compiled:
:mod:`cnnlab.physics.compiled`; up to ``max_chains`` chains per temperature, all temperatures
simulated together), so samples are independent by construction; when more samples than chains
are asked for, snapshots are ``sweeps_between`` sweeps apart, at least twice the measured
integrated autocorrelation time. The chains start ordered and are thermalized for ``20 tau(L, T)``
sweeps, with the Metropolis autocorrelation time modelled as ``tau = 0.02 min(L, xi(T))^2.17``
(measured at Tc: 10 sweeps at L=16, 38 at L=32) and a generous correlation length
``xi(T) = 0.6 / |1 - T/Tc|``: far from Tc a few hundred sweeps suffice, near Tc the full
``20 tau(L)``. The autocorrelation times measured after thermalization are stored in the metadata.

File format (``.npz`` read with ``allow_pickle=False``, so loading cannot execute code)::

    meta                 JSON text: format, version, seed, sizes, temperatures, samples,
                         thermalization, sweeps_between, tau_int per size and temperature, sha256
    spins_L{L}           uint8 (N, ceil(L*L/8)): np.packbits of (spin < 0), row-major
    temperature_L{L}     float64 (N,)

Example:
    >>> data = generate([4], [1.0, 4.0], samples=8, seed=0, thermalization=20)
    >>> data.spins[4].shape, data.temperatures[4].tolist()[::8]
    ((16, 4, 4), [1.0, 4.0])
    >>> data.meta["per_size"]["4"]["chains_per_temperature"]
    [64, 64]

``save(data, "ising.npz")`` writes the file, ``load("ising.npz")`` reads it back. Importing this
module adds ``ising:PATH`` to :func:`cnnlab.data.load_dataset` (:func:`load_ising_dataset`).
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.registry import register_path_dataset
from cnnlab.physics.compiled import CompiledLattice
from cnnlab.physics.exact import TC, TC_TRIANGULAR
from cnnlab.physics.ising import check_temperatures
from cnnlab.physics.limits import MAX_SAMPLES, check_work
from cnnlab.physics.msc import WORD, check_lattice_size
from cnnlab.physics.observables import integrated_autocorrelation_time

__all__ = [
    "FORMAT",
    "VERSION",
    "IsingData",
    "cache_path",
    "default_thermalization",
    "generate",
    "load",
    "load_ising_dataset",
    "save",
]

FORMAT = "cnnlab-ising-dataset"
VERSION = 1


@dataclass
class IsingData:
    """Configurations per lattice size: ``spins[L]`` int8 (N, L, L), ``temperatures[L]`` (N,)."""

    spins: dict[int, np.ndarray]
    temperatures: dict[int, np.ndarray]
    meta: dict = field(default_factory=dict)


def default_thermalization(L: int, T: float | None = None) -> int:
    """Sweeps discarded before sampling: 20 tau(L, T), tau = 0.02 min(L, xi(T))^2.17, at least 200.

    ``T=None`` means at Tc (the longest). The correlation length xi(T) = 0.6 / |1 - T/Tc| is
    generous (about twice the exact one above Tc), so the model errs on the long side.

    Example:
        >>> default_thermalization(16), default_thermalization(32), default_thermalization(64)
        (200, 739, 3323)
        >>> default_thermalization(64, 2.2), default_thermalization(64, 1.5)
        (258, 200)
    """
    size = float(L)
    if T is not None and T != TC:
        size = min(size, 0.6 / abs(1.0 - T / TC))
    return max(200, math.ceil(20 * 0.02 * size**2.17))


def _progress(total: int, enabled: bool, desc: str):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, file=sys.stderr, leave=False)


def samples_per_temperature(samples, n_temperatures: int) -> list[int]:
    """``samples`` as one positive count per temperature (an int is used for every one).

    Example:
        >>> samples_per_temperature(8, 3), samples_per_temperature([8, 64], 2)
        ([8, 8, 8], [8, 64])
    """
    counts = [samples] * n_temperatures if isinstance(samples, (int, np.integer)) else list(samples)
    if len(counts) != n_temperatures or not all(
        isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 1 <= c <= MAX_SAMPLES for c in counts
    ):
        shown = samples if isinstance(samples, (int, np.integer)) else f"{len(counts)} counts"
        raise ValueError(
            f"samples must be an integer between 1 and {MAX_SAMPLES}, or one per temperature ({n_temperatures}); "
            f"got {shown!r}"
        )
    return [int(c) for c in counts]


def _thermalize(lattice, therm: np.ndarray, bar=None) -> None:
    """Sweep word w for ``therm[w]`` sweeps, all words that still need sweeps together."""
    done = 0
    for level in np.unique(therm):
        lattice.sweep(int(level - done), select=np.flatnonzero(therm >= level) if level > therm.min() else None)
        if bar is not None:
            bar.update(int(level - done))
        done = int(level)


def generate(
    sizes,
    temperatures,
    samples,
    *,
    seed: int = 0,
    thermalization: int | None = None,
    max_chains: int = 1024,
    autocorr_sweeps: int = 100,
    threads: int = 1,
    lattice: str = "square",
    progress: bool = False,
) -> IsingData:
    """Simulate and collect ``samples`` configurations per temperature for each lattice size.

    Args:
        sizes: lattice sides (even).
        temperatures: the temperature grid.
        samples: configurations per (size, temperature): one count, or one per temperature
            (e.g. more near Tc).
        thermalization: sweeps before sampling (default :func:`default_thermalization` per L and T).
        max_chains: chains per temperature (more samples are taken as successive snapshots).
        autocorr_sweeps: sweeps measured after thermalization to estimate tau_int.
        threads: Monte Carlo threads (the result does not depend on it).
        lattice: ``"square"`` or ``"triangular"`` (L a multiple of 3; its Tc is 4/ln 3).
    """
    if lattice not in ("square", "triangular"):
        raise ValueError(f"lattice must be 'square' or 'triangular', got {lattice!r}")
    sizes = [check_lattice_size(L, even=lattice == "square") for L in sizes]
    temps = check_temperatures(temperatures)
    counts = samples_per_temperature(samples, len(temps))
    if not isinstance(max_chains, int) or max_chains < WORD:
        raise ValueError(f"max_chains must be an integer >= {WORD}, got {max_chains!r}")
    words_per_t = np.array([min(-(-c // WORD), max_chains // WORD) for c in counts])
    for L in sizes:  # memory of the saved configurations (int8) and of the lattice, before any work
        check_work(L, int(words_per_t.sum()) * WORD, max(default_thermalization(L), autocorr_sweeps), bytes_per_chain=0)
        check_work(L, sum(counts), 1, bytes_per_chain=L * L, what="dataset")
    tc_ratio = TC / (TC_TRIANGULAR if lattice == "triangular" else TC)  # thermalization model in units of Tc
    word_t = np.repeat(np.arange(len(temps)), words_per_t)  # temperature index of every word
    snapshots = max(-(-c // (w * WORD)) for c, w in zip(counts, words_per_t))
    spins, temp_out, info = {}, {}, {}
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    for L, child in zip(sizes, seeds):
        if thermalization is None:
            therm_t = np.array([default_thermalization(L, float(T) * tc_ratio) for T in temps])
        else:
            therm_t = np.full(len(temps), int(thermalization))
        mc = CompiledLattice.create(
            L,
            temps[word_t],
            chains=WORD,
            start="cold",
            seed=int(child.generate_state(1)[0]),
            threads=threads,
            lattice=lattice,
        )
        with _progress(int(therm_t.max()) + autocorr_sweeps, progress, f"L={L} thermalize") as bar:
            _thermalize(mc, therm_t[word_t], bar)
            sweeps = []
            for _ in range(autocorr_sweeps):
                mc.sweep()
                sweeps.append(np.abs(mc.measure()[1]).reshape(-1, WORD))  # (words, 64)
                bar.update()
        series = np.stack(sweeps, axis=-1) if autocorr_sweeps else np.zeros((len(word_t), WORD, 0))
        taus = [
            integrated_autocorrelation_time(series[word_t == t].reshape(-1, autocorr_sweeps))
            if autocorr_sweeps >= 2
            else float("nan")
            for t in range(len(temps))
        ]
        between = [max(1, math.ceil(2 * tau)) if np.isfinite(tau) else 1 for tau in taus]
        shots = []
        for k in range(snapshots):
            if k:
                # Every word gets its own temperature's spacing; those done early wait.
                need = np.array([between[t] for t in word_t])
                _thermalize(mc, need)
            shots.append(mc.spins().reshape(-1, WORD, L, L))  # (words, 64, L, L)
        stacked = np.stack(shots, axis=1)  # (words, snapshots, 64, L, L)
        per_t = [stacked[word_t == t].transpose(1, 0, 2, 3, 4).reshape(-1, L, L)[:c] for t, c in enumerate(counts)]
        spins[L] = np.concatenate(per_t)
        temp_out[L] = np.repeat(temps, counts)
        info[str(L)] = {
            "thermalization": therm_t.tolist(),
            "sweeps_between": between if snapshots > 1 else None,
            "chains_per_temperature": (words_per_t * WORD).tolist(),
            "tau_int_abs_magnetization": taus,
        }
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "seed": seed,
        "sizes": sizes,
        "temperatures": temps.tolist(),
        "samples": counts if len(set(counts)) > 1 else counts[0],
        "algorithm": "metropolis (multi-spin coded, compiled)",
        "lattice": lattice,
        "start": "cold",
        "per_size": info,
        "tc": TC_TRIANGULAR if lattice == "triangular" else TC,
    }
    return IsingData(spins, temp_out, meta)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


def save(data: IsingData, path) -> Path:
    """Write ``data`` to ``path`` (.npz), atomically (a temporary file renamed into place)."""
    path = Path(path)
    arrays: dict[str, Any] = {}
    for L, spins in data.spins.items():
        arrays[f"spins_L{L}"] = np.packbits((spins < 0).reshape(len(spins), -1), axis=1)
        arrays[f"temperature_L{L}"] = np.asarray(data.temperatures[L], dtype=np.float64)
    meta = dict(data.meta, sha256=_digest(arrays))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    tmp.replace(path)
    return path


def load(path) -> IsingData:
    """Read a file written by :func:`save`; refuses foreign, corrupted or newer-version files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Ising dataset {str(path)!r} does not exist; create it with 'cnnlab ising dataset'")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable cnnlab Ising dataset (.npz): {err}") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{path} is not a cnnlab Ising dataset: no valid 'meta' entry") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a cnnlab Ising dataset: format {meta.get('format') if isinstance(meta, dict) else None!r}, expected {FORMAT!r}"
        )
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path}: Ising dataset version {meta.get('version')!r} is not supported (this cnnlab reads version {VERSION})"
        )
    if _digest(arrays) != meta.get("sha256"):
        raise ValueError(f"{path}: checksum mismatch, the file is corrupted; generate it again")
    spins, temps = {}, {}
    for L in meta["sizes"]:
        packed = arrays[f"spins_L{L}"]
        bits = np.unpackbits(packed, axis=1, count=L * L).reshape(-1, L, L)
        spins[L] = 1 - 2 * bits.astype(np.int8)
        temps[L] = arrays[f"temperature_L{L}"]
    return IsingData(spins, temps, meta)


def cache_path(sizes, temperatures, samples, seed: int = 0, thermalization: int | None = None) -> Path:
    """Where :func:`generate` output with these parameters is cached: ``$CNNLAB_DATA/ising/``."""
    from cnnlab.data.download import default_cache_dir

    key = json.dumps(
        {
            "v": VERSION,
            "sizes": [int(L) for L in sizes],
            "temperatures": [round(float(t), 10) for t in temperatures],
            "samples": samples if isinstance(samples, (int, np.integer)) else [int(c) for c in samples],
            "seed": seed,
            "generator": "compiled-msc-1",  # a new sampler gives new data: never reuse the old cache
            "thermalization": thermalization,
        },
        sort_keys=True,
    )
    return default_cache_dir() / "ising" / f"ising-v{VERSION}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def load_ising_dataset(path, L: int | None = None, test_fraction: float = 0.25, seed: int = 0):
    """A :class:`cnnlab.data.dataset.Dataset` of one lattice size: spins as images, label = phase.

    Args:
        path: a file written by :func:`save` (``cnnlab ising dataset``).
        L: which lattice size (default: the smallest in the file).
        test_fraction: share of the configurations held out (random, seeded).

    Returns:
        ``x`` float32 (N, 1, L, L) in {-1, +1}; ``y`` 1 = ordered (T < Tc), 0 = disordered;
        ``meta`` holds the temperature grid and, for N <= 20000, each sample's temperature.
    """
    import torch

    from cnnlab.data.dataset import Dataset

    data = load(path)
    sizes = data.meta["sizes"]
    L = min(sizes) if L is None else L
    if L not in data.spins:
        raise ValueError(f"L={L} is not in {path}; it holds sizes {sizes}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    x, T = data.spins[L], data.temperatures[L]
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    tensor = lambda idx: torch.as_tensor(x[idx], dtype=torch.float32).unsqueeze(1)
    tc = float(data.meta.get("tc", TC))  # the lattice's own Tc (triangular: 4/ln 3)
    label = lambda idx: torch.as_tensor(T[idx] < tc, dtype=torch.int64)
    meta = {
        "source": str(path),
        "L": L,
        "tc": tc,
        "temperatures": data.meta["temperatures"],
        "generator": {k: data.meta[k] for k in ("seed", "samples", "algorithm")},
        "per_size": data.meta["per_size"][str(L)],
    }
    if len(x) <= 20000:
        meta["temperatures_train"], meta["temperatures_test"] = T[train].tolist(), T[test].tolist()
    return Dataset(
        f"ising:{path}", tensor(train), label(train), tensor(test), label(test), ["disordered", "ordered"], meta=meta
    )


register_path_dataset(
    "ising", load_ising_dataset, "2-D Ising configurations from cnnlab's Monte Carlo (see cnnlab ising)"
)
