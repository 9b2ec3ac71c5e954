"""Datasets as in-memory tensors: downloads with checksums, embedded datasets, your own images.

Entry point: :func:`load_dataset` with a name from :data:`DATASETS`. Image helpers:
:func:`load_image` / :func:`preprocess_digit` (MNIST-style preprocessing of drawn digits).
Augmentation: :func:`random_translate` (:func:`random_offsets` drawn on the CPU, :func:`translate` on the
data's device) and :func:`shift`. Normalisation: :func:`normalize`.
"""

from .augment import random_offsets, random_translate, shift, translate
from .dataset import Dataset
from .download import ChecksumError, DownloadError, default_cache_dir
from .embedded import load_digits_dataset, load_mnist1d
from .images import MAX_PIXELS, load_image, load_image_folder, preprocess_digit, read_grey
from .normalization import channel_stats, normalize
from .registry import DATASETS, load_dataset, register_path_dataset
from .sources import SOURCES, FileSpec, RemoteSource

__all__ = [
    "DATASETS",
    "MAX_PIXELS",
    "SOURCES",
    "ChecksumError",
    "Dataset",
    "DownloadError",
    "FileSpec",
    "RemoteSource",
    "channel_stats",
    "default_cache_dir",
    "load_dataset",
    "load_digits_dataset",
    "load_image",
    "load_image_folder",
    "load_mnist1d",
    "normalize",
    "preprocess_digit",
    "random_offsets",
    "random_translate",
    "read_grey",
    "register_path_dataset",
    "shift",
    "translate",
]
