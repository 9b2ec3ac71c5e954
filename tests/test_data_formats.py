"""IDX header validation and CIFAR-10's python tarball read through a restricted unpickler."""

import dataclasses
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from cnnlab.data import load_dataset, sources
from cnnlab.data.formats import parse_idx, read_cifar10_python, restricted_loads


def test_parse_idx_images_and_big_endian_ints():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    blob = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2, 3, 4) + images.tobytes()
    np.testing.assert_array_equal(parse_idx(blob, ndim=3), images)
    ints = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">2i", -5, 70000)
    assert parse_idx(ints).tolist() == [-5, 70000]


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "first two bytes must be zero"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x01\x00\x00", "truncated header"),
        (
            b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08",
            r"header says \(3,\) x 1 bytes = 3 bytes of data, the file has 2",
        ),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x07\x08", "the file has 2"),
    ],
)
def test_parse_idx_rejects_malformed_headers(blob, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(blob)


def test_parse_idx_checks_dimensions():
    labels = bytes([0, 0, 8, 1, 0, 0, 0, 1, 3])
    with pytest.raises(ValueError, match="expected 3 dimensions, the header says 1"):
        parse_idx(labels, ndim=3)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def cifar_tarball(batches: dict) -> tuple[bytes, dict]:
    """A cifar-10-python.tar.gz in memory with the given batches pickled like the official files."""
    buffer, md5s = io.BytesIO(), {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, batch in batches.items():
            data = pickle.dumps(batch, protocol=2)
            md5s[name] = hashlib.md5(data).hexdigest()
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), md5s


def fake_cifar():
    rng = np.random.default_rng(1)
    batches = {}
    for i in range(1, 6):
        batches[f"data_batch_{i}"] = {
            "batch_label": f"training batch {i} of 5",
            "data": rng.integers(0, 256, (2, 3072), dtype=np.uint8),
            "labels": [i, 9 - i],
            "filenames": ["a.png", "b.png"],
        }
    batches["test_batch"] = {
        "batch_label": "testing batch 1 of 1",
        "data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
        "labels": [0, 5, 9],
        "filenames": ["c.png", "d.png", "e.png"],
    }
    return batches


def test_cifar_tarball_loads_from_data_dir(tmp_path, monkeypatch):
    batches = fake_cifar()
    blob, md5s = cifar_tarball(batches)
    spec = sources.FileSpec("cifar-10-python.tar.gz", md5=(hashlib.md5(blob).hexdigest(),))
    fake = dataclasses.replace(sources.SOURCES["cifar10"], files=(spec,), members=md5s)
    monkeypatch.setitem(sources.SOURCES, "cifar10", fake)
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(blob)

    ds = load_dataset("cifar10", data_dir=tmp_path)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    assert ds.y_train.tolist() == [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]
    assert ds.y_test.tolist() == [0, 5, 9]
    # Row layout of a CIFAR batch: 1024 red, 1024 green, 1024 blue values, each 32x32 row-major.
    row = batches["data_batch_2"]["data"][1]
    for c, i, j in [(0, 0, 0), (1, 5, 7), (2, 31, 30)]:
        assert ds.x_train[3, c, i, j].item() == pytest.approx(row[c * 1024 + i * 32 + j] / 255)
    assert ds.classes[0] == "airplane" and ds.num_classes == 10


def test_cifar_member_with_wrong_md5_is_refused():
    blob, md5s = cifar_tarball(fake_cifar())
    md5s["data_batch_3"] = "0" * 32
    with pytest.raises(ValueError, match="data_batch_3 has md5 .*, expected 0000"):
        read_cifar10_python(blob, md5s)


def test_cifar_pickle_with_foreign_global_is_refused():
    batches = fake_cifar()
    batches["data_batch_1"] = {"data": Evil(), "labels": [0]}
    blob, md5s = cifar_tarball(batches)
    with pytest.raises(ValueError, match=r"refusing to load global (posix|nt)\.system"):
        read_cifar10_python(blob, md5s)


def test_restricted_loads_reads_numpy_1x_style_pickles():
    # The official CIFAR batches (Python 2, NumPy 1.x) name numpy.core.multiarray._reconstruct.
    data = pickle.dumps({"data": np.arange(4, dtype=np.uint8)}, protocol=2)
    old_style = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert old_style != data
    np.testing.assert_array_equal(restricted_loads(old_style)["data"], np.arange(4))
