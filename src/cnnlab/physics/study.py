"""``cnnlab ising study``: the phase transition measured every way the papers do, each beside its exact value.

1. **Binder cumulant crossing** of Monte Carlo data (the classical baseline a physicist checks
   every ML number against): ``U4(T, L)`` at three sizes, Tc where the two largest cross.
2. **CNN and dense network** (Carrasquilla & Melko 2017; :mod:`cnnlab.physics.tc`): Tc(L) where
   P(ordered) = 1/2, extrapolated in 1/L.
3. **nu from a data collapse** of the CNN's P(ordered; T, L) against ``(T - Tc) L^(1/nu)``.
4. **Learning by confusion** (van Nieuwenburg et al. 2017): the W-shaped accuracy's middle peak.
5. **PCA** (Wang 2016): the first component is the magnetization; Tc from its Binder crossing.
6. **Transfer to the triangular lattice** (Tc = 4/ln 3): the square-lattice CNN, never shown a
   triangular configuration, finds where they order.
7. **Pooling vs renormalization** (:mod:`cnnlab.physics.rg`).

:func:`run_study` returns a :class:`StudyResult`; :mod:`cnnlab.physics.study_report` writes the
report (markdown table with a pass/fail column, PNG figures, ``result.json``).

Example:
    >>> StudyConfig.quick_mode().binder_sizes
    [8, 16]
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from cnnlab.physics import study_parts as parts
from cnnlab.physics.tc import TcConfig, load_or_generate

__all__ = ["StudyConfig", "StudyResult", "run_study"]


def _grid(start: float, stop: float, step: float) -> list[float]:
    return np.round(np.arange(start, stop + step / 2, step), 10).tolist()


@dataclass
class StudyConfig:
    """Sizes and effort of every part of the study; :meth:`quick_mode` is the CI version."""

    quick: bool = False
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    tc: TcConfig = field(default_factory=TcConfig)
    binder_sizes: list[int] = field(default_factory=lambda: [16, 32, 64])
    binder_temperatures: list[float] = field(default_factory=lambda: _grid(2.2, 2.34, 0.01))
    binder_chains: int = 256
    binder_sweeps: int = 4000
    # Confusion runs on the classifier's data at its largest size (the accuracy weighted uniformly in
    # T): at L = 32 the middle peak sits 1.3-1.6 % above Tc (finite size), at L = 64 0.6 % below.
    confusion_proposals: list[float] = field(default_factory=lambda: [1.55, 1.85, *_grid(2.13, 2.41, 0.04), 2.75, 3.05])
    confusion_epochs: int = 5
    pca_sizes: list[int] = field(default_factory=lambda: [24, 32])  # two of the classifier's sizes
    triangular_size: int = 48
    triangular_temperatures: list[float] = field(default_factory=lambda: _grid(3.2, 4.1, 0.05))
    triangular_samples: int = 256
    rg_size: int = 64
    rg_steps: int = 4

    @classmethod
    def full_mode(cls, seed: int = 0, threads: int = 1, device: str = "cpu") -> StudyConfig:
        """The full study (about 10 minutes on 2 cores)."""
        return cls(seed=seed, threads=threads, device=device, tc=TcConfig(seed=seed, threads=threads, device=device))

    @classmethod
    def quick_mode(cls, seed: int = 0, threads: int = 1, device: str = "cpu") -> StudyConfig:
        """Small lattices and few samples: every step runs in about a minute (numbers are rough)."""
        tc = TcConfig(
            sizes=[8, 16],
            coarse=_grid(1.0, 2.0, 0.25) + _grid(2.5, 3.5, 0.25),
            fine=_grid(2.1, 2.4, 0.1),
            samples=64,
            critical_samples=64,
            epochs=10,
            ensemble=1,
            bootstrap=20,
            seed=seed,
            threads=threads,
            device=device,
        )
        return cls(
            quick=True,
            seed=seed,
            threads=threads,
            device=device,
            tc=tc,
            binder_sizes=[8, 16],
            binder_temperatures=_grid(2.1, 2.5, 0.05),
            binder_chains=64,
            binder_sweeps=400,
            confusion_proposals=[1.55, 1.85, 2.05, 2.2, 2.35, 2.75, 3.05],
            confusion_epochs=3,
            pca_sizes=[8, 16],
            triangular_size=12,
            triangular_temperatures=_grid(3.0, 4.4, 0.2),
            triangular_samples=64,
            rg_size=16,
            rg_steps=2,
        )


@dataclass
class StudyResult:
    """Every measurement of the study: ``rows`` is the report's table, ``parts`` the details."""

    config: StudyConfig
    rows: list[dict] = field(default_factory=list)
    parts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    rg_examples: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)  # L -> a trained square-lattice CNN (Z2Symmetric)

    def add(self, quantity: str, method: str, value: float, error: float, exact, criterion: str, passed) -> None:
        self.rows.append(
            {
                "quantity": quantity,
                "method": method,
                "value": float(value),
                "error": float(error),
                "exact": exact,
                "criterion": criterion,
                "passed": None if passed is None else bool(passed),
            }
        )

    def to_dict(self) -> dict:
        return {
            "quick": self.config.quick,
            "rows": self.rows,
            "all_passed": all(r["passed"] is not False for r in self.rows),
            "parts": self.parts,
            "seconds": self.seconds,
            "config": asdict(self.config),
        }


def run_study(config: StudyConfig, *, cache: bool = True, progress=None) -> StudyResult:
    """Run every part of the study (see the module docstring); ``progress(line)`` reports each part.

    Args:
        cache: reuse/save the phase classifier's configurations under ``$CNNLAB_DATA/ising``.
    """
    say = progress or (lambda line: None)
    if len(config.pca_sizes) < 2 or not set(config.pca_sizes) <= set(config.tc.sizes):
        raise ValueError(f"pca_sizes {config.pca_sizes} must be two or more of tc.sizes {config.tc.sizes}")
    result = StudyResult(config)
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, config.tc.torch_threads))

    def timed(name: str, step):
        started = time.perf_counter()
        say(f"study: {name} ...")
        out = step()
        result.seconds[name] = time.perf_counter() - started
        return out

    try:
        timed("binder", lambda: parts.binder_part(config, result))
        data, _ = timed("data", lambda: load_or_generate(config.tc, cache))
        tc_result = timed("tc", lambda: parts.tc_part(config, result, data))
        timed("confusion", lambda: parts.confusion_part(config, result, data))
        timed("pca", lambda: parts.pca_part(config, result, data))
        timed("triangular", lambda: parts.triangular_part(config, result, tc_result))
        timed("rg", lambda: parts.rg_part(config, result))
    finally:
        torch.set_num_threads(before)
    result.models = tc_result.models
    return result
