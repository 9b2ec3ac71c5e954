"""Turning what the page (or an API client) sends into one MNIST-style 28x28 image.

Two input forms: a 2-D array of numbers in [0, 1] (MNIST's convention is ink = 1 on 0), or PNG
bytes (any mode). Both are then preprocessed as MNIST was, by
:func:`cnnlab.data.images.preprocess_digit`: a light background (from the border) is inverted, the
ink is cropped to its bounding box, scaled so the longer side is 20 px, and put with its centre of
mass at pixel (14, 14) of a 28x28 frame. The translation lesson turns the centring off
(:func:`as_drawn`: the whole drawing shrunk to 28x28, the digit stays where it was drawn) and moves
the frame by whole pixels (:func:`shift_frame`). :func:`network_input` is the one recipe the API
uses; ``static/js/engine/digit.js`` is its twin in the browser.

Every rejection is a ``ValueError`` naming the rule and the value; :class:`ImageDecodeError` marks
bytes that are not an image, :class:`ImageTooLarge` an image over the pixel limit.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch

from cnnlab.data.augment import shift
from cnnlab.data.images import ink_levels, preprocess_digit, resize_ink

SIZE = 28  # the page's frame: MNIST's 28x28
MAX_SHIFT = SIZE - 1  # a larger shift moves every pixel out of the frame
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


def as_drawn(image: np.ndarray) -> np.ndarray:
    """The 28x28 frame of a grey ``(H, W)`` image with the digit where it was drawn: no crop, no centring.

    The ink levels of :func:`cnnlab.data.images.ink_levels` (either polarity), the whole image
    resized (LANCZOS, aspect kept: the longer side becomes 28 px, the shorter one is centred). A
    digit drawn in a corner of the pad stays in that corner, at the size it was drawn. Blank
    images give an all-zero frame, as in :func:`preprocess`.

    Example:
        >>> pad = np.ones((280, 280), dtype=np.float32); pad[20:100, 30:50] = 0.0   # a bar, top left
        >>> frame = as_drawn(pad)
        >>> rows, cols = np.flatnonzero(frame.max(1) > 0.5), np.flatnonzero(frame.max(0) > 0.5)
        >>> (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))
        ((2, 9), (3, 4))
    """
    if float(np.ptp(image)) < 0.1:
        return np.zeros((SIZE, SIZE), dtype=np.float32)
    try:
        ink = ink_levels(image)
    except ValueError:  # contrast, but no ink above the background: as blank as a cleared pad
        return np.zeros((SIZE, SIZE), dtype=np.float32)
    h, w = ink.shape
    nh, nw = (
        (SIZE, max(1, int(np.floor(w * SIZE / h + 0.5))))
        if h >= w
        else (max(1, int(np.floor(h * SIZE / w + 0.5))), SIZE)
    )
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    out[top : top + nh, left : left + nw] = resize_ink(ink, nh, nw)
    return out


def shift_frame(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``frame`` moved ``dx`` pixels right and ``dy`` down, zero fill (no wrap): :func:`cnnlab.data.shift`.

    Equal to ``numpy.roll(frame, (dy, dx), (0, 1))`` with the wrapped rows and columns set to 0.

    Example:
        >>> shift_frame(np.arange(1.0, 10.0).reshape(3, 3), 1, -1).tolist()
        [[0.0, 4.0, 5.0], [0.0, 7.0, 8.0], [0.0, 0.0, 0.0]]
    """
    if dx == 0 and dy == 0:
        return frame
    return shift(torch.from_numpy(np.ascontiguousarray(frame)), dx, dy).numpy()


def fit_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """The page's frame resized to a network's input (LANCZOS, clipped to [0, 1]), as the page's ``fitFrame`` does.

    A user's network may take any image up to 64x64 (``cnnlab.web.runs.page_problem``); the pad is
    always drawn as a 28x28 frame, so each network sees the frame resized to its own height and width.

    Shape:
        frame: ``(..., 28, 28)``; output: ``(..., height, width)`` float32 (the frame itself at 28x28).

    Example:
        >>> frame = np.zeros((28, 28), dtype=np.float32); frame[8:20, 12:16] = 1
        >>> small = fit_frame(frame, 14, 14)
        >>> small.shape, float(small.min()) >= 0.0, float(small.max()) <= 1.0
        ((14, 14), True, True)
    """
    frame = np.asarray(frame, dtype=np.float32)
    if frame.shape[-2:] == (height, width):
        return frame
    flat = frame.reshape(-1, *frame.shape[-2:])
    return np.stack([resize_ink(f, height, width) for f in flat]).reshape(*frame.shape[:-2], height, width)


def is_empty(frame: np.ndarray) -> bool:
    """No pixel of the network input reaches 0.1: nothing drawn (or everything shifted out), no prediction.

    Example:
        >>> is_empty(np.zeros((28, 28))), is_empty(np.eye(28))
        (True, False)
    """
    return not bool((np.asarray(frame) >= 0.1).any())


def network_input(
    image: np.ndarray, prepare: bool = True, center: bool = True, offset: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """What the networks see: the drawing centred (:func:`preprocess`) or as drawn (:func:`as_drawn`), then shifted.

    Args:
        image: grey levels ``(H, W)`` in [0, 1], either polarity.
        prepare: False: ``image`` is already the 28x28 network input (ink = 1), used as it is.
        center: with preprocessing, crop, scale and centre the digit like MNIST (True) or keep it
            where it was drawn (False).
        offset: ``(dx, dy)`` whole pixels, right and down, zero fill, applied last.

    Raises:
        ValueError: without preprocessing, when the image is not 28x28.

    Example:
        >>> img = np.zeros((28, 28), dtype=np.float32); img[5:9, 5:9] = 1.0
        >>> network_input(img, prepare=False, offset=(2, 0))[5].nonzero()[0].tolist()
        [7, 8, 9, 10]
    """
    if prepare:
        frame = preprocess(image) if center else as_drawn(image)
    elif image.shape != (SIZE, SIZE):
        raise ValueError(f"with preprocess=false the image must be 28x28, got {image.shape[0]}x{image.shape[1]}")
    else:
        frame = image
    return shift_frame(frame, *offset)


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
