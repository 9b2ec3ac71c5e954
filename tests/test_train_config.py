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
