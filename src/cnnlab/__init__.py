"""cnnlab: a laboratory for convolutional neural networks.

The core: :mod:`cnnlab.shapes` (output sizes, parameter counts, receptive fields), :mod:`cnnlab.spec`
(layer specs and presets), :mod:`cnnlab.reference` (NumPy glass box) and :mod:`cnnlab.engine`
(PyTorch), then :mod:`cnnlab.data` and :mod:`cnnlab.train`.
"""

from cnnlab._version import __version__

__all__ = ["__version__", "load"]


def load(run_dir, weights: str = "model.safetensors"):
    """Load a run folder for inference (``cnnlab.load(RUN_DIR).predict_proba(x)``).

    See :func:`cnnlab.train.runs.load`; imported lazily so that ``import cnnlab`` stays light.
    """
    from cnnlab.train.runs import load as _load

    return _load(run_dir, weights)
