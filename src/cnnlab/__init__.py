"""cnnlab: a laboratory for convolutional neural networks.

The core: :mod:`cnnlab.shapes` (output sizes, parameter counts, receptive fields), :mod:`cnnlab.spec`
(layer specs, presets and recipes), :mod:`cnnlab.reference` (NumPy glass box) and :mod:`cnnlab.engine`
(PyTorch), then :mod:`cnnlab.data`, :mod:`cnnlab.train` and :mod:`cnnlab.model` (the trained model).
"""

from cnnlab._version import __version__

__all__ = ["__version__", "load"]


def load(run_dir, weights: str = "model.safetensors"):
    """Load a run folder for inference: ``cnnlab.load(RUN_DIR).predict_proba(x)``.

    Returns a :class:`cnnlab.model.Model` (:meth:`~cnnlab.model.Model.from_run`); imported lazily so
    that ``import cnnlab`` stays light.
    """
    from cnnlab.model import Model

    return Model.from_run(run_dir, weights)
