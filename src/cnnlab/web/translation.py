"""The translation lesson: how a network's answer changes when the digit moves, for the API and the page.

The lecture's point is that a cat may be anywhere in the picture: a convolution reads every position
with the same filter, a dense layer has one weight per pixel. The page shows it three ways, and
this module is the server's half (``static/js/translation.js`` computes the same in the browser):

* ``POST /api/forward`` with ``"center": false`` and ``"shift": [dx, dy]``
  (:func:`cnnlab.web.digit.network_input`);
* :func:`shift_sweep`: the probabilities of every class for the digit moved by each shift in
  [-K, K], horizontally and vertically (``POST /api/shift-sweep``);
* :func:`reference`: the shipped networks' accuracy on the shifted MNIST test set, measured once by
  ``scripts/translation_reference.py`` (``assets/translation.json``), the page's reference curve.

Example:
    >>> from cnnlab.web.models import default_models
    >>> img = np.zeros((28, 28), dtype=np.float32); img[6:22, 13:15] = 1.0   # a "1"
    >>> sweep = shift_sweep(default_models(), img, max_shift=2)
    >>> sweep["shifts"], len(sweep["results"]["cnn"]["horizontal"]), sweep["empty"]
    ([-2, -1, 0, 1, 2], 5, False)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import torch

from cnnlab.model import ASSETS, Model
from cnnlab.web import digit

#: The reference curve's file: written by scripts/translation_reference.py, shipped with the site.
REFERENCE = ASSETS / "translation.json"
#: The page's sweep: every shift from -8 to 8 pixels.
DEFAULT_MAX_SHIFT = 8
AXES = ("horizontal", "vertical")


def check_max_shift(value) -> int:
    """``max_shift`` of a sweep request: a whole number in [1, 27].

    Raises:
        ValueError: naming the rule and the value.

    Example:
        >>> check_max_shift(30)
        Traceback (most recent call last):
        ...
        ValueError: max_shift must be a whole number of pixels in [1, 27], got 30
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= digit.MAX_SHIFT:
        raise ValueError(f"max_shift must be a whole number of pixels in [1, {digit.MAX_SHIFT}], got {value!r}")
    return value


def shifted_frames(frame: np.ndarray, max_shift: int) -> torch.Tensor:
    """The frame moved by every shift in [-K, K]: first horizontally (dx = -K..K), then vertically.

    Shape:
        frame: ``(28, 28)``; output: ``(2 (2K + 1), 1, 28, 28)``.
    """
    shifts = range(-max_shift, max_shift + 1)
    frames = [digit.shift_frame(frame, k, 0) for k in shifts] + [digit.shift_frame(frame, 0, k) for k in shifts]
    return torch.from_numpy(np.stack(frames).astype(np.float32)).unsqueeze(1)


@torch.inference_mode()
def shift_sweep(models: Mapping[str, Model], frame: np.ndarray, max_shift: int = DEFAULT_MAX_SHIFT) -> dict:
    """Every model's probabilities for ``frame`` moved by each shift in [-K, K], horizontally and vertically.

    Args:
        models: name -> loaded model (1xHxW input; the shifted 28x28 frames are resized to H x W
            as the page does, :func:`cnnlab.web.digit.fit_frame`).
        frame: the network input ``(28, 28)`` in [0, 1] (after preprocessing; zero fill outside).
        max_shift: K, in [1, 27].

    Returns:
        ``{"shifts": [-K..K], "empty": bool, "results": {name: {"horizontal": [[p_0..p_9] per
        shift], "vertical": [...]}}}``; ``results`` is ``{}`` for a frame with no ink
        (:func:`cnnlab.web.digit.is_empty`): there is nothing to classify.
    """
    max_shift = check_max_shift(max_shift)
    shifts = list(range(-max_shift, max_shift + 1))
    if digit.is_empty(frame):
        return {"shifts": shifts, "empty": True, "results": {}}
    x = shifted_frames(frame, max_shift)
    n = len(shifts)
    results = {}
    for name, model in models.items():
        xm = torch.from_numpy(digit.fit_frame(x.numpy(), *model.input_shape[-2:]))
        probs = np.round(model.predict_proba(xm).double().numpy(), 6).tolist()
        results[name] = {"horizontal": probs[:n], "vertical": probs[n:]}
    return {"shifts": shifts, "empty": False, "results": results}


def reference() -> dict:
    """The shipped networks' test accuracy on MNIST shifted by -8..8 pixels (``assets/translation.json``).

    Example:
        >>> ref = reference()
        >>> ref["shifts"][0], ref["test_images"], sorted(ref["models"])
        (-8, 10000, ['cnn', 'mlp'])
        >>> ref["models"]["cnn"]["horizontal"][12] > ref["models"]["mlp"]["horizontal"][12]   # 4 px right
        True
    """
    return json.loads(REFERENCE.read_text())
