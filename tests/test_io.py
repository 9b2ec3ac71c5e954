"""cnnlab.io: atomic writes leave either the old file or the new one, never a part."""

import pytest

from cnnlab.io import atomic_write, atomic_write_text


def test_writes_and_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "config.json"
    atomic_write_text(path, "{}\n")
    assert path.read_text() == "{}\n"
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temporary file left


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")

    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write("half a fi")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, write)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_text_encoding(tmp_path):
    path = tmp_path / "report.md"
    atomic_write_text(path, "96.2 ± 0.6 %", encoding="utf-8")
    assert path.read_bytes() == "96.2 ± 0.6 %".encode()
