"""cnnlab.model.Model: the one inference handle, from a run folder or the shipped assets."""

import json

import pytest
import torch

import cnnlab
from cnnlab import engine
from cnnlab.model import SHIPPED, Model
from cnnlab.train import CheckpointError, TrainConfig, fit
from cnnlab.train.device import module_device, to_device_of

SMALL_CNN = "conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-dropout(0.2)-linear"


@pytest.fixture(scope="module")
def run(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fit(TrainConfig(model=SMALL_CNN, dataset="digits", epochs=1, val_split=0.1), dataset=digits, out=out)
    return out


def test_load_predicts_like_the_trained_network(digits, run):
    model = cnnlab.load(run)
    assert isinstance(model, Model)
    prob = model.predict_proba(digits.x_test[:5])
    assert prob.shape == (5, 10) and torch.allclose(prob.sum(1), torch.ones(5))
    results = json.loads((run / "results.json").read_text())
    acc = (model.predict_proba(digits.x_test).argmax(1) == digits.y_test).float().mean().item()
    assert acc == pytest.approx(results["test_accuracy"], abs=1e-6)


def test_attributes_come_from_the_run_folder(digits, run):
    model = Model.from_run(run)
    config = json.loads((run / "config.json").read_text())
    assert model.spec == config["spec"] == SMALL_CNN.replace("linear", "linear(10)")
    assert model.input_shape == (1, 8, 8) and model.classes == digits.classes
    assert (
        (model.mean, model.std)
        == (digits.mean, digits.std)
        == (config["normalize"]["mean"], config["normalize"]["std"])
    )
    assert model.config == config and model.name == run.name and model.run_dir == run
    assert not model.net.training
    assert Model.from_run(run, name="mine").name == "mine"


def test_logits_and_activations_are_the_network_on_normalised_inputs(digits, run):
    model = Model.from_run(run)
    x = digits.x_test[:7]
    normalised = (x - digits.mean[0]) / digits.std[0]
    with torch.no_grad():
        expected = model.net(normalised)
        features = model.net.features(normalised)
    assert torch.allclose(model.predict_logits(x, batch_size=3), expected, atol=1e-6)
    assert torch.allclose(model.predict_logits(x[0]), expected[:1], atol=1e-6)  # one example, no batch axis
    got = model.activations(x)
    assert [tuple(a.shape[1:]) for a in got] == [info.out_shape for info in model.net.infos]
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, features))


def test_a_checkpoint_loads_like_the_final_weights(digits, run):
    final = Model.from_run(run)
    last = Model.from_run(run, weights="checkpoint-last.safetensors")
    assert torch.equal(final.predict_logits(digits.x_test), last.predict_logits(digits.x_test))


def test_missing_and_broken_run_folders(run, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a cnnlab run folder .it does not exist."):
        Model.from_run(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="has no best.safetensors; did training finish"):
        Model.from_run(run, weights="best.safetensors")
    (tmp_path / "config.json").write_text((run / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="corrupted or not a safetensors file"):
        Model.from_run(tmp_path)


def test_shipped_assets_are_small_run_folders_with_provenance():
    total = 0
    for name, folder in SHIPPED.items():
        config = json.loads((folder / "config.json").read_text())
        size = (folder / "model.safetensors").stat().st_size
        total += size
        assert size < 600_000, (name, size)
        assert config["dataset"] == "mnist" and config["normalize"] == {"mean": [0.1307], "std": [0.3081]}
        assert config["trained_by"] == "scripts/train_web_models.py" and len(config["data_sha256"]) == 4
        assert config["spec"] == config["model"]
    assert total < 1_000_000


def test_shipped_models_match_their_specs():
    models = {name: Model.from_assets(name) for name in SHIPPED}
    assert models["mlp"].net.num_params == 266_610
    assert models["cnn"].net.num_params == 61_706
    assert all(p.dtype == torch.float32 for m in models.values() for p in m.net.parameters())  # stored as float16
    assert not any(m.net.training for m in models.values())
    assert [m.name for m in models.values()] == ["mlp", "cnn"]
    with pytest.raises(ValueError, match="name must be one of the shipped models mlp, cnn, got 'lenet'"):
        Model.from_assets("lenet")


def test_inputs_follow_the_model():
    net = engine.build("flatten-linear(3)", (1, 2, 2), seed=0)
    assert module_device(net) == torch.device("cpu")
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")  # nothing to follow: the CPU
    meta = net.to("meta")
    assert module_device(meta) == torch.device("meta")
    assert to_device_of(meta, torch.zeros(2, 1, 2, 2)).device == torch.device("meta")


def _crafted(tmp_path, run, **changes):
    """A copy of ``run`` with config.json fields changed (a hand-edited or hostile run folder)."""
    import shutil

    folder = tmp_path / "crafted"
    shutil.copytree(run, folder)
    config = json.loads((folder / "config.json").read_text()) | changes
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"normalize": {"mean": [float("nan")], "std": [0.3]}}, "normalize.mean must be 1 finite number"),
        ({"normalize": {"mean": [0.1], "std": [0.0]}}, "normalize.std must be positive"),
        ({"input_shape": "1x8x8"}, "input_shape must be a list of 1 to 3 positive integers"),
        ({"classes": ["a", "b"]}, "the network's output is 10 but classes names 2"),
        ({"spec": 7}, "spec must be a spec text"),
        ({"spec": "conv(25000000,3)-relu-flatten-linear(10)"}, "needs about .* the limit is"),
    ],
)
def test_crafted_config_is_refused_before_anything_is_built(tmp_path, run, monkeypatch, changes, match):
    folder = _crafted(tmp_path, run, **changes)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built before the config was checked")

    monkeypatch.setattr(engine, "build", no_build)
    with pytest.raises(ValueError, match=match):
        Model.from_run(folder)


def test_weights_of_another_shape_are_refused_from_the_header(tmp_path, run, monkeypatch):
    folder = _crafted(tmp_path, run, spec="conv(8,3,p=1)-bn-relu-maxpool(2)-flatten-dropout(0.2)-linear(10)")
    from safetensors.torch import save_file

    save_file({"0.weight": torch.zeros(3)}, folder / "model.safetensors")
    built = []
    monkeypatch.setattr(engine, "build", lambda *a, **k: built.append(a) or engine.Network(*a[:2]))
    with pytest.raises(CheckpointError, match="was made for another network"):
        Model.from_run(folder)
    assert len(built) == 1  # only the shape-only build on the meta device: no weights were allocated


def test_nan_weights_are_refused_at_load(tmp_path, run):
    from safetensors.torch import load_file, save_file

    folder = _crafted(tmp_path, run)
    state = load_file(folder / "model.safetensors")
    state["0.weight"][0, 0, 0, 0] = float("nan")
    save_file(state, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"holds NaN or infinite values in 0.weight"):
        Model.from_run(folder)
