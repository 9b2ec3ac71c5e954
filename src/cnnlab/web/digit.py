"""Turning what the page (or an API client) sends into one MNIST-style 28x28 image.

Two input forms: a 2-D array of numbers in [0, 1] (MNIST's convention is ink = 1 on 0), or PNG
bytes (any mode). Both are then preprocessed as MNIST was, by
:func:`cnnlab.data.images.preprocess_digit`: a light background (from the border) is inverted, the
ink is cropped to its bounding box, scaled so the longer side is 20 px, and put with its centre of
mass at pixel (14, 14) of a 28x28 frame.

Every rejection is a ``ValueError`` naming the rule and the value; :class:`ImageDecodeError` marks
bytes that are not an image, :class:`ImageTooLarge` an image over the pixel limit.
"""

from __future__ import annotations

import io
import math

import numpy as np

from cnnlab.data.images import preprocess_digit

MAX_SIDE_ARRAY = 512  # JSON images: 512x512 numbers are ~1 MB of text, the body cap anyway
MAX_SIDE_PNG = 2048  # checked from the header, before any pixel is decoded (decompression bombs)
MIN_SIDE = 8


class ImageDecodeError(ValueError):
    """The bytes are not a decodable PNG/JPEG image."""


class ImageTooLarge(ValueError):
    """The image has more pixels than the server accepts."""


def array_from_json(image) -> np.ndarray:
    """A JSON ``image`` (list of rows of numbers in [0, 1]) as a float32 ``(H, W)`` array.

    Raises:
        ValueError: when it is not a list of equal-length rows of finite numbers in [0, 1], or a
            side is outside [8, 512].

    Example:
        >>> array_from_json([[0, 0.5]] * 8).shape
        Traceback (most recent call last):
        ...
        ValueError: image must be at least 8x8 (28x28 for MNIST), got 8x2
        >>> array_from_json([[0.0] * 28] * 28).shape
        (28, 28)
    """
    if not isinstance(image, list) or not image or not all(isinstance(row, list) for row in image):
        raise ValueError(f"image must be a list of rows (e.g. 28 lists of 28 numbers in [0, 1]), got {_kind(image)}")
    width = len(image[0])
    for i, row in enumerate(image):
        if len(row) != width:
            raise ValueError(f"image rows must all have the same length: row 0 has {width}, row {i} has {len(row)}")
        for j, value in enumerate(row):
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError(f"image[{i}][{j}] must be a number in [0, 1], got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"image values must be in [0, 1] (0 = background, 1 = ink), got image[{i}][{j}] = {value!r}"
                )
    height = len(image)
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"image must be at least {MIN_SIDE}x{MIN_SIDE} (28x28 for MNIST), got {height}x{width}")
    if max(height, width) > MAX_SIDE_ARRAY:
        raise ImageTooLarge(f"image must be at most {MAX_SIDE_ARRAY}x{MAX_SIDE_ARRAY} numbers, got {height}x{width}")
    return np.asarray(image, dtype=np.float32)


def array_from_png(data: bytes) -> np.ndarray:
    """Image bytes (PNG, or any format Pillow reads) as float32 grey levels ``(H, W)`` in [0, 1].

    Transparent pixels are composited over white. Either polarity works afterwards:
    :func:`preprocess` inverts a light background.

    Raises:
        ImageDecodeError: when Pillow cannot decode the bytes.
        ImageTooLarge: when a side exceeds 2048 pixels (checked before decoding).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageDecodeError("empty body: send PNG bytes (Content-Type: image/png) or JSON with an 'image' field")
    try:
        img = Image.open(io.BytesIO(data))
        width, height = img.size
        if max(width, height) > MAX_SIDE_PNG:
            raise ImageTooLarge(f"image must be at most {MAX_SIDE_PNG}x{MAX_SIDE_PNG} pixels, got {width}x{height}")
        if min(width, height) < MIN_SIDE:
            raise ValueError(f"image must be at least {MIN_SIDE}x{MIN_SIDE} pixels, got {width}x{height}")
        img.load()
        # Transparency over white, like cnnlab.data.images.read_grey: a drawing on a transparent canvas is ink on paper.
        rgba = img.convert("RGBA")
        flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageDecodeError(f"cannot decode the image ({type(err).__name__}: {err}); send a PNG") from None
    return np.asarray(flat, dtype=np.float32) / 255.0


def preprocess(image: np.ndarray) -> np.ndarray:
    """The MNIST-style 28x28 frame of a grey ``(H, W)`` image, either polarity (:func:`preprocess_digit`).

    A blank image (no two pixels differ by 0.1) gives an all-zero frame: a cleared drawing pad is
    a valid input, not an error.

    Example:
        >>> img = np.ones((100, 60), dtype=np.float32); img[10:90, 20:40] = 0.0   # dark bar on white
        >>> out = preprocess(img)
        >>> out.shape, int((out.max(1) > 0.1).sum())   # the 80-px bar becomes 20 rows of ink
        ((28, 28), 20)
        >>> float(preprocess(np.ones((40, 40))).max())
        0.0
    """
    if float(np.ptp(image)) < 0.1:
        return np.zeros((28, 28), dtype=np.float32)
    return preprocess_digit(image)


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
