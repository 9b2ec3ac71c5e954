"""cnnlab: a laboratory for convolutional neural networks.

The core: :mod:`cnnlab.shapes` (output sizes, parameter counts, receptive fields), :mod:`cnnlab.spec`
(layer specs and presets), :mod:`cnnlab.reference` (NumPy glass box) and :mod:`cnnlab.engine`
(PyTorch), then :mod:`cnnlab.data` and :mod:`cnnlab.train`.
"""

__version__ = "0.1.0"
