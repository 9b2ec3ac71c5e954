"""Readers for the dataset file formats: IDX (MNIST family) and CIFAR-10's python tarball.

Both readers take bytes that were already checksum-verified and still validate the structure, so a
wrong file gives a clear error instead of garbage arrays.

CIFAR-10's python version stores each batch as a pickle. ``pickle.load`` on downloaded data could run
arbitrary code, so batches are read with a restricted unpickler that resolves only the few globals
a NumPy array needs (``_reconstruct``, ``ndarray``, ``dtype``, ``_codecs.encode``) and refuses every
other one. (The binary version of CIFAR-10 avoids pickles altogether, but the python tarball is the
file most people already have, and torchvision reads the same one.)
"""

from __future__ import annotations

import _codecs
import hashlib
import io
import math
import pickle
import struct
import tarfile
from typing import ClassVar

import numpy as np

# IDX type codes (http://yann.lecun.com/exdb/mnist/): all multi-byte values are big-endian.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(content: bytes, ndim: int | None = None, source: str = "IDX data") -> np.ndarray:
    """Parse an (uncompressed) IDX file into an array.

    The header is: two zero bytes, a type code, the number of dimensions, then each dimension as
    a big-endian uint32; the data follow and must have exactly ``prod(dims)`` elements.

    Args:
        content: the file's bytes (already gunzipped).
        ndim: the expected number of dimensions (3 for images, 1 for labels), or None.
        source: a name for the error messages.

    Shape:
        output: the dimensions stored in the header, e.g. ``(60000, 28, 28)``.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        array([7, 8, 9], dtype=uint8)
    """
    if len(content) < 4 or content[:2] != b"\0\0":
        raise ValueError(f"{source}: not an IDX file (the first two bytes must be zero, got {content[:4]!r})")
    code, nd = content[2], content[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{source}: unknown IDX type code 0x{code:02x}; expected one of "
            + ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES)
        )
    if ndim is not None and nd != ndim:
        raise ValueError(f"{source}: expected {ndim} dimensions, the header says {nd}")
    header = 4 + 4 * nd
    if len(content) < header:
        raise ValueError(f"{source}: truncated header ({len(content)} bytes, need {header})")
    dims = struct.unpack(f">{nd}I", content[4:header])
    dtype = _IDX_DTYPES[code]
    count = math.prod(dims)
    if len(content) - header != count * dtype.itemsize:
        raise ValueError(
            f"{source}: header says {dims} x {dtype.itemsize} bytes = "
            f"{count * dtype.itemsize} bytes of data, the file has {len(content) - header}"
        )
    return np.frombuffer(content, dtype=dtype, count=count, offset=header).reshape(dims)


def read_idx_pair(images: bytes, labels: bytes, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Parse an images file and its labels file, checking that they belong together.

    Shape:
        images: ``(N, H, W)`` uint8; labels: ``(N,)`` uint8.
    """
    x = parse_idx(images, ndim=3, source=f"{source}images")
    y = parse_idx(labels, ndim=1, source=f"{source}labels")
    if len(x) != len(y):
        raise ValueError(f"{source}: {len(x)} images but {len(y)} labels")
    return x, y


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild dicts, lists, strings, numbers and NumPy arrays, nothing else."""

    _reconstruct = np.zeros(1).__reduce__()[0]
    ALLOWED: ClassVar[dict] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # written by NumPy 1.x (and CIFAR)
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by NumPy 2.x
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs.encode,  # Python 3 protocol-2 pickles store bytes this way
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only NumPy arrays and builtin "
                "containers are allowed in a CIFAR batch"
            ) from None


def restricted_loads(data: bytes):
    """Unpickle ``data`` allowing only builtin containers and NumPy arrays.

    Strings written by Python 2 (as in the official CIFAR files) are decoded as latin-1, the
    encoding NumPy needs to restore its arrays.

    Example:
        >>> import pickle, numpy as np
        >>> restricted_loads(pickle.dumps({"a": np.arange(3)}, protocol=2))["a"]
        array([0, 1, 2])
        >>> restricted_loads(pickle.dumps(eval))
        Traceback (most recent call last):
        ...
        _pickle.UnpicklingError: refusing to load global builtins.eval: only NumPy arrays and builtin containers are allowed in a CIFAR batch
    """
    return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def read_cifar10_python(blob: bytes, members_md5: dict[str, str], source: str = "cifar-10-python.tar.gz"):
    """Read CIFAR-10's python tarball from memory, without extracting it to disk.

    Args:
        blob: the bytes of ``cifar-10-python.tar.gz``.
        members_md5: batch name (``data_batch_1`` ... ``data_batch_5``, ``test_batch``) -> md5.
        source: a name for the error messages.

    Returns:
        ``(x_train, y_train, x_test, y_test)`` as uint8 / int64 arrays.

    Shape:
        x_train: ``(50000, 3, 32, 32)``, x_test: ``(10000, 3, 32, 32)`` (channels first, RGB).
    """
    batches = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for name, md5 in members_md5.items():
            member = f"cifar-10-batches-py/{name}"
            try:
                handle = tar.extractfile(member)
            except KeyError:
                handle = None
            if handle is None:  # absent, or present as a directory or link rather than a file
                raise ValueError(f"{source}: member {member} is missing")
            data = handle.read()
            if hashlib.md5(data).hexdigest() != md5:
                raise ValueError(f"{source}: member {member} has md5 {hashlib.md5(data).hexdigest()}, expected {md5}")
            try:
                batch = restricted_loads(data)
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
                raise ValueError(f"{source}: cannot read {member}: {err}") from err
            batches[name] = _parse_cifar_batch(batch, f"{source}:{member}")
    train = [batches[n] for n in members_md5 if n != "test_batch"]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = batches["test_batch"]
    return x_train, y_train, x_test, y_test


def _parse_cifar_batch(batch, source: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise ValueError(f"{source}: expected a dict with 'data' and 'labels'")
    x, y = np.asarray(batch["data"]), np.asarray(batch["labels"], dtype=np.int64)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise ValueError(f"{source}: expected uint8 data (N, 3072) and N labels, got {x.dtype} {x.shape} and {y.shape}")
    return x.reshape(-1, 3, 32, 32), y  # rows are R(1024) G(1024) B(1024), row-major 32x32
