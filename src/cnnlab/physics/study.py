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

import torch

from cnnlab.physics import study_parts as parts
from cnnlab.physics.study_config import StudyConfig, StudyResult
from cnnlab.physics.tc import load_or_generate

__all__ = ["StudyConfig", "StudyResult", "run_study"]


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
