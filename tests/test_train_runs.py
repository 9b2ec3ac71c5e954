"""train.runs.prepare_run_folder: a new run never lands on top of another one unless asked to replace it."""

import pytest

from cnnlab.train.runs import prepare_run_folder


def test_new_and_empty_folders_are_fine(tmp_path):
    prepare_run_folder(tmp_path / "new")
    assert not (tmp_path / "new").exists()  # nothing is made unless asked
    prepare_run_folder(tmp_path / "new", create=True)
    assert (tmp_path / "new").is_dir()
    prepare_run_folder(tmp_path / "new")  # empty


def test_an_existing_run_needs_overwrite_which_clears_it(tmp_path):
    run = tmp_path / "run"
    (run / "evaluation").mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "model.onnx", "evaluation/confusion_matrix.png"):
        (run / name).write_text("old")
    with pytest.raises(ValueError, match="holds a run already; add --overwrite"):
        prepare_run_folder(run)
    prepare_run_folder(run, overwrite=True)
    assert list(run.iterdir()) == []


def test_a_folder_that_is_not_a_run_is_never_cleared(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a cnnlab run"):
        prepare_run_folder(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="is a file"):
        prepare_run_folder(tmp_path / "notes.txt")
