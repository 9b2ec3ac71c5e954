"""One forward pass with every layer's activations, as the JSON the page draws.

Example:
    >>> import numpy as np
    >>> from cnnlab.web.models import default_models
    >>> out = forward_all(default_models(), np.zeros((28, 28), dtype=np.float32))
    >>> sorted(out), [layer["shape"] for layer in out["cnn"]["layers"][:3]]
    (['cnn', 'mlp'], [[6, 28, 28], [6, 28, 28], [6, 14, 14]])
    >>> round(sum(out["mlp"]["probabilities"]), 3)
    1.0
"""

from __future__ import annotations

import base64

import numpy as np
import torch

from cnnlab import spec as S
from cnnlab.model import Model
from cnnlab.web.digit import fit_frame

ENCODINGS = ("list", "base64")


@torch.inference_mode()
def forward(model: Model, image: np.ndarray, encoding: str = "list") -> dict:
    """Probabilities and every layer's output for one 28x28 image in [0, 1].

    Args:
        model: a loaded network (a 1xHxW input other than 28x28 gets the frame resized, as on the page:
            :func:`cnnlab.web.digit.fit_frame`).
        image: ``(28, 28)`` float array, ink = 1, already MNIST-preprocessed.
        encoding: ``"list"``: each layer's ``values`` is a flat list (C order, rounded to 5
            decimals); ``"base64"``: little-endian float32 bytes in base64 (what the page uses: no
            float formatting on the server, no parsing in the browser).

    Returns:
        ``{"probabilities", "prediction", "label", "layers": [{"index", "shape", "values"}]}``;
        layer ``i`` is the output of module ``i`` (the network's input is not repeated).
    """
    image = fit_frame(image, *model.input_shape[-2:])
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).view(1, *model.input_shape)
    outputs = model.activations(x)
    last = outputs[-1][0]
    probs = last if isinstance(model.net.layers[-1], S.Softmax) else last.softmax(-1)
    layers = [
        {"index": i, "shape": list(out.shape[1:]), "values": _encode(out[0], encoding)} for i, out in enumerate(outputs)
    ]
    k = int(probs.argmax())
    return {
        "probabilities": [round(p, 6) for p in probs.tolist()],
        "prediction": k,
        "label": model.classes[k],
        "layers": layers,
    }


def forward_all(models: dict[str, Model], image: np.ndarray, encoding: str = "list") -> dict[str, dict]:
    """:func:`forward` for every model in ``models``, keyed by name."""
    return {name: forward(model, image, encoding) for name, model in models.items()}


def _encode(t: torch.Tensor, encoding: str):
    if encoding == "base64":
        return base64.b64encode(t.contiguous().numpy().astype("<f4").tobytes()).decode("ascii")
    return np.round(t.numpy().ravel().astype(np.float64), 5).tolist()
