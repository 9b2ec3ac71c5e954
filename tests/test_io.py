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


def test_a_write_that_fails_for_an_os_reason_names_the_target(tmp_path):
    from cnnlab.io import WriteError

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WriteError) as err:
        atomic_write_text(blocker / "run" / "config.json", "{}")
    assert str(err.value) == f"cannot write {blocker}/run/config.json: {blocker} is a file, not a folder"

    def full(tmp: str) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteError, match=f"cannot write {tmp_path}/x.json: No space left on device"):
        atomic_write(tmp_path / "x.json", full)


def test_temporaries_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    import os

    dead = tmp_path / ".metrics.jsonl.999999999.abcd1234.tmp"  # a pid that cannot be running
    live = tmp_path / f".model.safetensors.{os.getpid()}.efgh5678.tmp"  # this process: a write in progress
    foreign = tmp_path / ".someone-elses.tmp"
    for path in (dead, live, foreign):
        path.write_text("half")
    atomic_write_text(tmp_path / "results.json", "{}")
    assert not dead.exists() and live.exists() and foreign.exists()


def test_written_files_get_the_mode_open_would_give(tmp_path):
    # mkstemp creates 0600 files; a run folder or a static site must stay readable as any new file would.
    atomic_write_text(tmp_path / "a.txt", "x")
    with open(tmp_path / "b.txt", "w") as handle:
        handle.write("x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == (tmp_path / "b.txt").stat().st_mode & 0o777
