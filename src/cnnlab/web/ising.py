"""The Ising playground's network: the phase classifier of ``cnnlab ising tc`` as a web model file.

``assets/web-ising`` is a run folder saved by ``cnnlab ising tc`` on real Monte Carlo data
(``scripts/train_ising_web_model.py`` makes it and records how in ``config.json``). The site ships
it as ``models/ising/classifier.cnnlab`` (:func:`model_file`), which the page ``ising.html`` runs with the
client-side engine. The network f ends in global average pooling, so the same weights work at any
even L; the classifier is the spin-flip average ``softmax((f(x) + f(-x)) / 2)`` on spins in
{-1, +1} (``config.json``: ``"symmetrize": "z2"``), which :func:`p_ordered` computes here for the
tests and the page computes in the browser.

Example:
    >>> from cnnlab.web.bundle import decode
    >>> header = decode(model_file()).header
    >>> header["name"], header["classes"], header["provenance"]["symmetrize"]
    ('ising', ['disordered', 'ordered'], 'z2')
    >>> spins = np.ones((2, 16, 16), dtype=np.float32)
    >>> bool(p_ordered(spins)[0] > 0.9)   # all spins up: ordered
    True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RUN = Path(__file__).resolve().parent.parent / "assets" / "web-ising"
MODEL_URL = "models/ising/classifier.cnnlab"


def load():
    """The shipped run folder as a model handle (``cnnlab.load``): its ``net`` is f at the saved L."""
    from cnnlab.web.runs import load_run

    return load_run(RUN)


def model_file() -> bytes:
    """``models/ising/classifier.cnnlab``: the network f with its provenance, the Z2 rule and the run's Ising facts."""
    from cnnlab.web.runs import from_model, provenance

    model = load()
    config = json.loads((RUN / "config.json").read_text())
    facts = provenance(config, RUN) | {
        "symmetrize": config.get("symmetrize"),
        "ising": config.get("ising", {}),
        "training": config.get("provenance", {}),
    }
    return from_model(model, "ising", title=config.get("title", "Ising CNN"), provenance=facts)


def p_ordered(spins) -> np.ndarray:
    """P(ordered) of the shipped classifier for configurations ``spins`` (N, L, L) of +-1, any even L.

    The network is built again for L (:func:`cnnlab.engine.build`) with the shipped weights, as the
    page's engine analyses the spec again for its L.
    """
    import torch

    from cnnlab import engine
    from cnnlab.train.device import to_device_of

    x = torch.as_tensor(np.asarray(spins, dtype=np.float32)).unsqueeze(1)  # (N, 1, L, L)
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"spins must have shape (N, L, L), got {tuple(np.shape(spins))}")
    saved = load().net
    net = engine.build(saved.spec_text, (1, x.shape[-1], x.shape[-1]), 2)
    net.load_state_dict(saved.state_dict())
    net.eval()
    x = to_device_of(net, x)
    with torch.no_grad():
        logits = 0.5 * (net(x) + net(-x))
        return torch.softmax(logits, dim=1)[:, 1].numpy()
