"""A drawing as an MNIST-style input: PNG decoding (transparent canvases too) and preprocessing."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.web import digit


def test_png_decoding_and_preprocessing():
    buf = io.BytesIO()
    rgba = np.zeros((40, 30, 4), dtype=np.uint8)  # transparent canvas ...
    rgba[5:35, 12:18] = (0, 0, 0, 255)  # ... with an opaque black stroke
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    grey = digit.array_from_png(buf.getvalue())
    assert grey.shape == (40, 30) and grey[0, 0] == 1.0 and grey[20, 15] == 0.0
    frame = digit.preprocess(grey)
    rows = np.flatnonzero(frame.max(1) > 0.1)
    assert frame.shape == (28, 28) and rows[-1] - rows[0] + 1 == 20  # the stroke is 20 px tall, ink = 1
    with pytest.raises(digit.ImageDecodeError, match="cannot decode"):
        digit.array_from_png(b"GIF89a broken")
    with pytest.raises(ValueError, match="at least 8x8 pixels, got 4x4"):
        buf = io.BytesIO()
        Image.new("L", (4, 4)).save(buf, "PNG")
        digit.array_from_png(buf.getvalue())
