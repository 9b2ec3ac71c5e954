"""The study's configuration and its result: what :func:`cnnlab.physics.study.run_study` measures, and how hard.

Example:
    >>> StudyConfig.quick_mode().binder_sizes
    [8, 16]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cnnlab.physics.tc import TcConfig

__all__ = ["StudyConfig", "StudyResult"]


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
