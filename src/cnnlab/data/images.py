"""Your own images: MNIST-style preprocessing of drawn digits, single files and class folders.

The MNIST recipe (LeCun et al.): the digit is scaled, keeping its aspect ratio, to fit a 20x20 box
with antialiasing, then placed in a 28x28 field so that its centre of mass is at the centre. A
digit drawn on paper or in a paint program is first turned into "white ink on black", like MNIST.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset

#: Images with more pixels than this are refused (decompression-bomb guard; 40 megapixels).
MAX_PIXELS = 40_000_000
#: File suffixes read as images in folder datasets.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

_SIZE, _BOX = 28, 20  # output field and the box the digit is scaled into
_MIN_CONTRAST = 0.1  # ink must be this much darker/lighter than the background (of 1.0)
_INK_LEVEL = 0.1  # pixels above this fraction of the peak ink count for the bounding box


def read_grey(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file into grey levels in [0, 1]; transparency is composited over white.

    Args:
        path: an image file PIL can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...).
        max_pixels: refuse larger images (width x height) before decoding them.

    Shape:
        output: ``(H, W)`` float32.

    Raises:
        FileNotFoundError: no such file.
        ValueError: ``cannot decode image PATH: ...``, or the image exceeds ``max_pixels``.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    too_big = f"image {path} is larger than the limit of {max_pixels} pixels (max_pixels; a decompression bomb?)"
    try:
        with warnings.catch_warnings():
            # PIL only warns between its own limit and twice it; make that an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size  # read from the header, nothing decoded yet
                if width * height > max_pixels:
                    raise _TooBig(f"{width}x{height} = {width * height} pixels")
                im.load()
                grey = _to_grey(ImageOps.exif_transpose(im))
    except _TooBig as err:
        raise ValueError(f"{too_big}: {err}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"{too_big}: {err}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ValueError(f"cannot decode image {path}: {err}") from None
    return grey


class _TooBig(Exception):
    pass


def _to_grey(im) -> np.ndarray:
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if im.mode.startswith("I;16"):  # 16-bit greyscale (PNG, TIFF)
        return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
    if im.mode in ("I", "F"):  # 32-bit integer or float (TIFF): the file does not say its range
        return _unit_range(np.asarray(im, dtype=np.float64)).astype(np.float32)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _unit_range(a: np.ndarray) -> np.ndarray:
    """32-bit grey levels to [0, 1] by the range they use: [0, 1] as is, else 8-bit, 16-bit, or the maximum.

    Example:
        >>> [round(float(_unit_range(np.array([0.0, top])).max()), 4) for top in (0.5, 200.0, 4000.0, 1e6)]
        [0.5, 0.7843, 0.061, 1.0]
    """
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)
    top = float(a.max()) if a.size else 0.0
    scale = next((s for s in (1.0, 255.0, 65535.0) if top <= s), top)
    return np.clip(a / scale, 0.0, 1.0)


def ink_levels(image: np.ndarray, source: str = "image") -> np.ndarray:
    """A drawing as ink levels: bright ink on a black background, the strongest ink scaled to 1.

    The first steps of :func:`preprocess_digit`, nothing cropped or moved: invert when the
    background is light (the median of the border pixels is above 0.5); subtract the background
    level and scale the darkest-to-lightest ink to 1.

    Args:
        image: grey levels, ``(H, W)``, either uint8 (0..255) or float in [0, 1].
        source: a name for the error messages, e.g. the file name.

    Shape:
        output: ``(H, W)`` float64 in [0, 1].

    Raises:
        ValueError: not 2-D, values out of range, or ``no ink`` (a blank image).

    Example:
        >>> paper = np.full((3, 4), 0.9); paper[1, 2] = 0.1   # one dark dot on light paper
        >>> ink_levels(paper)[1].round(3).tolist()
        [0.0, 0.0, 1.0, 0.0]
    """
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"{source}: expected a 2-D grey image (H, W), got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a / 255.0
    else:
        a = a.astype(np.float64)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError(
                f"{source}: float images must have values in [0, 1], got [{np.nanmin(a):.3g}, {np.nanmax(a):.3g}]"
            )
    border = np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])
    if np.median(border) > 0.5:
        a, border = 1.0 - a, 1.0 - border
    ink = a - np.median(border)
    peak = ink.max()
    if peak < _MIN_CONTRAST:
        raise ValueError(
            f"{source}: no ink: nothing differs from the background by more than {_MIN_CONTRAST} (the image is blank)"
        )
    return np.clip(ink / peak, 0.0, 1.0)


def resize_ink(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """``ink`` resized to ``height`` x ``width`` with Pillow's LANCZOS on float32, clipped to [0, 1].

    The one resampling of drawings and digits (the page's JS ports it exactly, ``engine/digit.js``);
    the clip removes LANCZOS's slight ringing below 0 and above 1.

    Shape:
        ink: ``(H, W)``; output: ``(height, width)`` float32.

    Example:
        >>> resize_ink(np.ones((4, 4)), 2, 3).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    from PIL import Image

    resized = Image.fromarray(np.asarray(ink, dtype=np.float32)).resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def preprocess_digit(image: np.ndarray, source: str = "image") -> np.ndarray:
    """Turn a drawn digit into an MNIST-like 28x28 image: white ink on black, 20 px, centred.

    Steps: :func:`ink_levels` (light paper inverted, background subtracted, ink scaled to 1); crop
    to the bounding box of the ink; resize (antialiased, aspect kept) so that the longer side is
    20 px; place in a 28x28 field with the centre of mass at pixel (14, 14), rounded to whole pixels.

    Args:
        image: grey levels, ``(H, W)``, either uint8 (0..255) or float in [0, 1].
        source: a name for the error messages, e.g. the file name.

    Shape:
        output: ``(28, 28)`` float32 in [0, 1].

    Raises:
        ValueError: not 2-D, values out of range, or ``no ink`` (a blank image).

    Example:
        >>> img = np.full((100, 60), 255, dtype=np.uint8)  # white paper
        >>> img[20:80, 25:35] = 0                          # a thick black stroke, a "1"
        >>> out = preprocess_digit(img)
        >>> out.shape, out.dtype, float(out.max())
        ((28, 28), dtype('float32'), 1.0)
        >>> rows = np.flatnonzero(out.max(axis=1) > 0.1)
        >>> int(rows[-1] - rows[0] + 1)                   # the longer side is 20 px
        20
    """
    ink = ink_levels(image, source)
    rows = np.flatnonzero((ink > _INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink > _INK_LEVEL).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = _BOX / max(h, w)
    nh, nw = max(1, int(np.floor(h * scale + 0.5))), max(1, int(np.floor(w * scale + 0.5)))
    small = resize_ink(crop, nh, nw).astype(np.float64)
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(nh)) / mass
    cx = (small.sum(axis=0) @ np.arange(nw)) / mass
    top, left = int(np.floor(_SIZE / 2 - cy + 0.5)), int(np.floor(_SIZE / 2 - cx + 0.5))
    out = np.zeros((_SIZE, _SIZE), dtype=np.float32)
    # Paste with clipping: a digit whose mass sits far off its box centre may lose an edge row.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + nh, _SIZE), min(left + nw, _SIZE)
    out[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    return out


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file of a digit and preprocess it like MNIST (see :func:`preprocess_digit`).

    Args:
        path: the image file.
        max_pixels: refuse larger images.

    Shape:
        output: ``(28, 28)`` float32 in [0, 1]; add ``[None, None]`` for a ``(1, 1, 28, 28)`` batch.
    """
    return preprocess_digit(read_grey(path, max_pixels), source=str(path))


def load_image_folder(path: str | os.PathLike, test_fraction: float = 0.2) -> Dataset:
    """A dataset from a folder of images, one sub-folder per class.

    Layouts: ``PATH/<class>/*.png`` is split per class into train and test (a fixed shuffle with
    seed 0; ``test_fraction`` of each class, rounded, goes to test); ``PATH/train/<class>/`` and
    ``PATH/test/<class>/`` are used as given. Class names are the sub-folder names, sorted. Every
    image goes through :func:`load_image` (grey, 28x28, MNIST-style).

    Shape:
        x_train: ``(N, 1, 28, 28)`` float32.

    Raises:
        NotADirectoryError: ``path`` is not a folder.
        ValueError: no class folders, a class without images, a test class unknown to training,
            an empty split, or an image that cannot be read.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"folder dataset: {root} is not a folder")
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = _class_names(root / "train")
        train = _list_images(root / "train", classes, classes)
        extra = sorted(set(_class_names(root / "test")) - set(classes))
        if extra:
            raise ValueError(f"folder dataset {root}: test classes {extra} have no train/ folder")
        present = [c for c in classes if (root / "test" / c).is_dir()]
        test = _list_images(root / "test", present, classes)
        layout = "train/test"
    else:
        classes = _class_names(root)
        train, test = [], []
        rng = np.random.RandomState(0)
        for label, files in _by_class(_list_images(root, classes, classes)).items():
            order = rng.permutation(len(files))
            n_test = int(np.floor(test_fraction * len(files) + 0.5))
            test += [(files[i], label) for i in order[:n_test]]
            train += [(files[i], label) for i in order[n_test:]]
        layout = f"split {1 - test_fraction:.0%}/{test_fraction:.0%} per class, seed 0"
    if not train or not test:
        raise ValueError(
            f"folder dataset {root}: the {'training' if not train else 'test'} split "
            f"is empty ({layout}); add images (5 or more per class) or use "
            "train/ and test/ sub-folders"
        )

    def tensors(items):
        x = np.stack([load_image(f) for f, _ in items])[:, None]  # (N, 1, 28, 28)
        return torch.from_numpy(x), torch.tensor([y for _, y in items], dtype=torch.int64)

    x_train, y_train = tensors(train)
    x_test, y_test = tensors(test)
    return Dataset(
        name=f"folder:{path}",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        classes=classes,
        meta={
            "root": str(root),
            "layout": layout,
            "preprocessing": "MNIST-style: grey, 20 px box, centre of mass at (14, 14)",
        },
    )


def _class_names(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise ValueError(
            f"folder dataset: {folder} has no class sub-folders "
            "(expected one folder of images per class, e.g. 0/ 1/ ... 9/)"
        )
    return names


def _list_images(folder: Path, names: list[str], classes: list[str]) -> list[tuple[Path, int]]:
    items = []
    for name in names:
        files = sorted(
            p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not files:
            raise ValueError(
                f"folder dataset: class folder {folder / name} has no images ({', '.join(IMAGE_SUFFIXES)})"
            )
        items += [(f, classes.index(name)) for f in files]
    return items


def _by_class(items):
    groups: dict[int, list[Path]] = {}
    for f, label in items:
        groups.setdefault(label, []).append(f)
    return groups
