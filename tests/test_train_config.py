"""TrainConfig: every field validated with a message that names it; JSON and TOML files with overrides."""

import pytest

from cnnlab.train import TrainConfig


def test_config_validation_and_files(tmp_path):
    with pytest.raises(
        ValueError, match="optimizer must be one of sgd, adam, adamw, rmsprop, adagrad, adadelta, got 'adamm'"
    ):
        TrainConfig(optimizer="adamm").validate()
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="early_stopping needs a validation set"):
        TrainConfig(early_stopping=3).validate()
    (tmp_path / "c.toml").write_text('model = "mlp"\nepochs = 7\nlr = 0.01\n')
    cfg = TrainConfig.from_file(tmp_path / "c.toml", epochs=2)
    assert (cfg.model, cfg.epochs, cfg.lr) == ("mlp", 2, 0.01)
    (tmp_path / "c.json").write_text('{"modle": "mlp"}')
    with pytest.raises(ValueError, match="unknown field\\(s\\) modle"):
        TrainConfig.from_file(tmp_path / "c.json")


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"model": 5}, ValueError, "model must be a non-empty string, got 5"),
        ({"dataset": ["digits"]}, ValueError, r"dataset must be a non-empty string, got \['digits'\]"),
        ({"data_dir": 3}, ValueError, "data_dir must be a folder name"),
        ({"channels_last": "yes"}, ValueError, "channels_last must be true or false, got 'yes'"),
        ({"eval_every_epoch": 1}, ValueError, "eval_every_epoch must be true or false, got 1"),
        ({"lr": float("inf")}, ValueError, "lr must be a finite number > 0, got inf"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number > 0, got nan"),
        ({"weight_decay": float("inf")}, ValueError, "weight_decay must be a finite number >= 0"),
        ({"momentum": float("nan")}, ValueError, "momentum must be between 0.0 and 0.9999, got nan"),
        ({"seed": 2**63}, ValueError, "seed must be at most 9,223,372,036,854,775,807"),
        ({"seed": 1.5}, ValueError, "seed must be an integer >= 0, got 1.5"),
        ({"epochs": 10**6}, ValueError, "epochs must be at most 100,000"),
        ({"batch_size": True}, ValueError, "batch_size must be an integer >= 1, got True"),
        ({"augment_shift": 5000}, ValueError, "augment_shift must be at most 1,024"),
        ({"optimizer": ["sgd"]}, ValueError, "optimizer must be one of"),
    ],
)
def test_every_field_is_checked_for_type_range_and_finiteness(fields, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**fields).validate()


def test_toml_types_are_strict_and_files_bounded(tmp_path):
    (tmp_path / "c.toml").write_text('channels_last = "yes"\n')
    with pytest.raises(ValueError, match="channels_last must be true or false"):
        TrainConfig.from_file(tmp_path / "c.toml").validate()
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="is not valid JSON"):
        TrainConfig.from_file(tmp_path / "deep.json")
    (tmp_path / "big.json").write_text("{" + " " * 2_000_000 + "}")
    with pytest.raises(ValueError, match="is larger than 1,000,000 bytes"):
        TrainConfig.from_file(tmp_path / "big.json")


def test_a_run_folders_config_json_trains_again_as_configured(tmp_path):
    from cnnlab.train import fit

    config = TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05, seed=3)
    fit(config, out=tmp_path / "run")
    again = TrainConfig.from_file(tmp_path / "run" / "config.json", epochs=2)
    assert again == config.replace(epochs=2)
    (tmp_path / "hand.json").write_text('{"model": "logreg", "spec": "flatten-linear"}')
    with pytest.raises(ValueError, match="unknown field"):  # only a run's own record is skipped
        TrainConfig.from_file(tmp_path / "hand.json")
