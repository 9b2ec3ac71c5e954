"""Dataset names and :func:`load_dataset`, the one entry point that turns a name into a Dataset.

Downloaded datasets (MNIST, Fashion-MNIST, KMNIST, CIFAR-10) are read from ``data_dir`` when given
(the network is never touched then) or from the cache folder (``$CNNLAB_DATA``, default
``~/.cache/cnnlab``), downloading what is missing. Embedded datasets (``digits``, ``mnist1d``)
need no files. ``folder:PATH`` reads your own images. Other parts of cnnlab add readers of their
own files with :func:`register_path_dataset`: :mod:`cnnlab.physics.dataset` adds ``ising:PATH``
when it is imported (the ``cnnlab`` command does so), so that this package never imports physics.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset
from .download import DownloadError, default_cache_dir, obtain, read_verified
from .embedded import load_digits_dataset, load_mnist1d
from .formats import read_cifar10_python, read_idx_pair
from .images import load_image_folder
from .sources import SOURCES, RemoteSource

#: Valid dataset names -> one-line description (``KIND:PATH`` names take a path).
DATASETS: dict[str, str] = {
    **{name: source.description for name, source in SOURCES.items()},
    "digits": "scikit-learn's 8x8 handwritten digits, 1437/360, embedded (no download)",
    "mnist1d": "MNIST-1D signals of length 40 (Greydanus & Kobak 2020), 4000/1000, generated locally",
    "folder:PATH": "your own images, one sub-folder per class (optionally train/ and test/)",
}
#: ``KIND`` of ``KIND:PATH`` names -> the function that reads such a path into a Dataset.
PATH_READERS: dict[str, Callable[[str], Dataset]] = {"folder": load_image_folder}
_BUILT_IN = (*SOURCES, "digits", "mnist1d", "folder")


def register_path_dataset(kind: str, reader: Callable[[str], Dataset], description: str) -> None:
    """Make ``load_dataset("KIND:PATH")`` call ``reader(PATH)``, and list ``KIND:PATH`` in :data:`DATASETS`.

    Registering a kind again replaces its reader (a module that is reloaded registers anew).

    Args:
        kind: a lowercase name (letters, digits, ``-``, ``_``) other than cnnlab's own dataset names.
        reader: path -> :class:`~cnnlab.data.dataset.Dataset`.
        description: one line for ``cnnlab datasets``.

    Example:
        >>> register_path_dataset("folder", load_image_folder, "your own images")
        Traceback (most recent call last):
        ...
        ValueError: kind must not be one of cnnlab's own dataset names (mnist, fashion-mnist, kmnist, cifar10, digits, mnist1d, folder), got 'folder'
    """
    if (
        not isinstance(kind, str)
        or not kind
        or kind != kind.lower()
        or not kind.replace("-", "").replace("_", "").isalnum()
    ):
        raise ValueError(f"kind must be a lowercase name like 'ising', got {kind!r}")
    if kind in _BUILT_IN:
        raise ValueError(f"kind must not be one of cnnlab's own dataset names ({', '.join(_BUILT_IN)}), got {kind!r}")
    PATH_READERS[kind] = reader
    DATASETS[f"{kind}:PATH"] = description


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load a dataset by name into memory.

    Args:
        name: one of :data:`DATASETS` (case-insensitive), e.g. ``"mnist"``, ``"digits"``,
            ``"folder:my_digits"``, ``"ising:runs/ising.npz"`` (once :mod:`cnnlab.physics.dataset` is imported).
        data_dir: a folder holding the dataset's standard files (``*-idx?-ubyte.gz`` for the MNIST
            family, ``cifar-10-python.tar.gz`` for CIFAR-10); they are checksum-verified and the
            network is not used.
        download: download missing files into the cache (ignored with ``data_dir``).
        cache_dir: the cache folder; default ``$CNNLAB_DATA`` or ``~/.cache/cnnlab``.

    Returns:
        a :class:`~cnnlab.data.dataset.Dataset` of float32 tensors (images in [0, 1]) and int64 labels.

    Raises:
        ValueError: unknown name, checksum mismatch, malformed file, ``data_dir`` for a dataset
            that takes no files.
        FileNotFoundError: a file missing from ``data_dir``, or
            :class:`~cnnlab.data.download.DownloadError` when offline.

    Example:
        >>> load_dataset("digits")
        Dataset('digits', train=1437, test=360, input_shape=(1, 8, 8), classes=10)
        >>> load_dataset("mnist2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown dataset 'mnist2'; valid names: mnist, fashion-mnist, kmnist, cifar10, digits, mnist1d, folder:PATH...
    """
    if not isinstance(name, str):
        raise TypeError(f"load_dataset: name must be a string, got {type(name).__name__}")
    kind, sep, path = name.partition(":")
    kind = kind.strip().lower()
    if sep:
        if kind not in PATH_READERS or not path:
            raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
        _no_data_dir(name, data_dir)
        return PATH_READERS[kind](path)
    if kind in SOURCES:
        return _load_remote(SOURCES[kind], data_dir, download, cache_dir)
    if kind in ("digits", "mnist1d"):
        _no_data_dir(name, data_dir)
        return load_digits_dataset() if kind == "digits" else load_mnist1d()
    raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")


def _no_data_dir(name: str, data_dir) -> None:
    if data_dir is not None:
        raise ValueError(
            f"dataset {name!r} reads no files from data_dir; got data_dir={str(data_dir)!r} "
            "(data_dir is for mnist, fashion-mnist, kmnist and cifar10)"
        )


def _load_remote(source: RemoteSource, data_dir, download: bool, cache_dir) -> Dataset:
    """Verified file contents from ``data_dir`` or the cache, then the arrays."""
    if data_dir is not None:
        folder = Path(data_dir)
        missing = [f.filename for f in source.files if not (folder / f.filename).is_file()]
        if missing:
            raise FileNotFoundError(
                f"dataset {source.name!r}: data_dir {folder} lacks {', '.join(missing)}; "
                f"it must hold the files {', '.join(f.filename for f in source.files)}"
            )
        contents = [read_verified(folder / f.filename, f) for f in source.files]
        origin = str(folder)
    else:
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        folder = folder / source.name
        try:
            contents = [obtain(f, source.mirrors, folder, download=download) for f in source.files]
        except DownloadError as err:
            raise DownloadError(_offline_message(source, folder, err, download)) from err
        origin = str(folder)
    if source.format == "idx":
        x_train, y_train = read_idx_pair(contents[0], contents[1], source=f"{source.name} train ")
        x_test, y_test = read_idx_pair(contents[2], contents[3], source=f"{source.name} test ")
        x_train, x_test = x_train[:, None], x_test[:, None]  # (N, 1, 28, 28)
    elif source.format == "cifar-python":
        x_train, y_train, x_test, y_test = read_cifar10_python(contents[0], source.members)
    else:  # a catalogue entry without a reader is a bug in sources.py, not a user error
        raise NotImplementedError(f"no reader for format {source.format!r}")
    n_classes = len(source.classes)
    for y in (y_train, y_test):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"dataset {source.name!r}: labels must be in [0, {n_classes}), got [{y.min()}, {y.max()}]")
    return Dataset(
        name=source.name,
        x_train=_to_unit_float(x_train),
        y_train=torch.from_numpy(y_train.astype(np.int64)),
        x_test=_to_unit_float(x_test),
        y_test=torch.from_numpy(y_test.astype(np.int64)),
        classes=list(source.classes),
        meta={"source": origin, "files": [f.filename for f in source.files]},
    )


def _to_unit_float(x: np.ndarray) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1]."""
    return torch.from_numpy(x.astype(np.float32)).div_(255.0)


def _offline_message(source: RemoteSource, folder: Path, err: Exception, download: bool) -> str:
    names = ", ".join(f.filename for f in source.files)
    why = (
        "no mirror answered or delivered a verified file"
        if download
        else "the files are not in the cache and download=False"
    )
    return (
        f"cannot get dataset {source.name!r}: {why} ({err}). If you are offline, "
        f"download {names} elsewhere "
        f"(from {source.mirrors[0]}) and either pass their folder with --data-dir DIR "
        f"(Python: load_dataset({source.name!r}, data_dir=DIR)) or copy them into the cache "
        f"folder {folder} (set $CNNLAB_DATA to move the cache)."
    )
