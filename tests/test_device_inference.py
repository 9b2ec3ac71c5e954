"""Inputs follow the model's device on every inference path: cnnlab.load's Model, export, every experiment.

Checked two ways without a GPU: on a fake accelerator (``tests/fake_device.py``: mixing its tensors
with CPU tensors, or ``.numpy()`` on them, fails as on CUDA), comparing every number with the same
computation on the CPU; and by reading the source: a network is only ever called on inputs that went
through :func:`cnnlab.train.device.to_device_of` (directly, or via ``Model.normalize``).
"""

import ast
import importlib
from pathlib import Path

import pytest
import torch
from fake_device import FAKE, FakeDevice, OnFake
from torch.utils._python_dispatch import _disable_current_modes

import cnnlab
from cnnlab import engine
from cnnlab.evaluate import evaluate_model
from cnnlab.experiments import invariance, runner
from cnnlab.experiments.activations import inspect_activations
from cnnlab.experiments.filters import inspect_filters
from cnnlab.export import export
from cnnlab.model import Model

SRC = Path(cnnlab.__file__).resolve().parent
# The package exports functions named like these modules; the modules themselves:
compare, efficiency, transfer = (
    importlib.import_module(f"cnnlab.experiments.{m}") for m in ("compare", "efficiency", "transfer")
)


def train_on_cpu_then_move_to_fake(monkeypatch) -> None:
    """Experiments train on the CPU as usual, then get their network back on the fake accelerator."""
    real = runner.train

    def train(config, data, prepare=None, log=None):
        with _disable_current_modes():  # training itself stays on the CPU, outside the fake device
            trained = real(config, data, prepare, log)
        trained.net.to(FAKE)
        return trained

    for module in (runner, compare, invariance, efficiency, transfer):
        monkeypatch.setattr(module, "train", train)


def on_fake(model: Model) -> Model:
    model.to(FAKE)
    assert isinstance(next(model.net.parameters()), OnFake)
    return model


def test_the_fake_device_fails_like_cuda():
    with FakeDevice():
        net = torch.nn.Linear(3, 2).to(FAKE)
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            net(torch.zeros(4, 3))
        out = net(torch.zeros(4, 3).to(FAKE))
        with pytest.raises(TypeError, match="can't convert fake-accelerator device type tensor to numpy"):
            out.numpy()
        assert out.detach().cpu().numpy().shape == (4, 2) and out.sum().item() == pytest.approx(out.cpu().sum().item())


def test_loaded_model_takes_inputs_from_any_device(digits_run, digits):
    reference = cnnlab.load(digits_run)
    x = digits.x_test[:50]
    expected, features = reference.predict_proba(x), reference.activations(x)
    with FakeDevice():
        model = on_fake(cnnlab.load(digits_run))
        for inputs in (x, x.to(FAKE), x[0]):  # CPU batch, a batch already on the device, one example
            proba = model.predict_proba(inputs)
            assert type(proba) is torch.Tensor and proba.device.type == "cpu"
            assert torch.allclose(proba, expected[: len(proba)], atol=1e-6)
        acts = model.activations(x)
        assert all(type(a) is torch.Tensor and a.device.type == "cpu" for a in acts)
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(acts, features))
        fake_inputs = x.to(FAKE)
    # The other way round: a CPU model and inputs that live on the accelerator (CUDA inputs, CPU model).
    assert torch.allclose(reference.predict_proba(fake_inputs), expected, atol=1e-6)


def test_evaluate_with_model_and_data_on_either_device(digits_run, digits, tmp_path):
    expected = evaluate_model(cnnlab.load(digits_run), digits.x_test, digits.y_test)
    with FakeDevice():
        model = on_fake(cnnlab.load(digits_run))
        on_device = evaluate_model(model, digits.x_test, digits.y_test, out=tmp_path)
        data_on_device = evaluate_model(cnnlab.load(digits_run), digits.x_test.to(FAKE), digits.y_test.to(FAKE))
    for result in (on_device, data_on_device):
        assert result["confusion"] == expected["confusion"]
        assert result["accuracy"] == pytest.approx(expected["accuracy"])
    assert (tmp_path / "confusion_matrix.png").is_file()


def test_export_checks_with_inputs_from_another_device(digits_run, digits, tmp_path):
    with FakeDevice():
        inputs = digits.x_test[:20].to(FAKE)
    result = export(digits_run, "torchscript", out=tmp_path / "m.pt", inputs=inputs)
    assert result.examples == 20 and result.max_abs_diff < 1e-4


def test_filters_and_activations_of_a_model_on_the_device(digits_run, tmp_path, monkeypatch):
    plain_filters = inspect_filters(digits_run)
    plain_acts = inspect_activations(digits_run, "test:3", unit="0:4,4")
    real = Model.from_run.__func__
    monkeypatch.setattr(Model, "from_run", classmethod(lambda cls, *a, **k: on_fake(real(cls, *a, **k))))
    with FakeDevice():
        filters = inspect_filters(digits_run, out=tmp_path / "filters")
        acts = inspect_activations(digits_run, "test:3", out=tmp_path / "acts", unit="0:4,4")
    assert filters.rows == plain_filters.rows
    assert acts.prediction["class"] == plain_acts.prediction["class"]
    assert acts.unit["span"] == plain_acts.unit["span"] and acts.unit["gradient_inside"]
    assert torch.allclose(torch.tensor(acts.unit["sensitivity"]), torch.tensor(plain_acts.unit["sensitivity"]))
    assert (tmp_path / "acts" / "receptive_field.png").is_file() and (tmp_path / "filters" / "filters.png").is_file()


def test_logit_change_moves_its_inputs(digits):
    net = engine.build("equivariant", (1, 8, 8), num_classes=10, seed=0)
    x = digits.x_test[:8]
    expected = invariance.logit_change(net, x, [(1, 0), (3, 0)])
    with FakeDevice():
        got = invariance.logit_change(net.to(FAKE), x, [(1, 0), (3, 0)])
    assert got == pytest.approx(expected, abs=1e-6)


def test_compare_translation_equivariance_and_transfer_on_the_device(digits, monkeypatch, tmp_path):
    """`cnnlab compare --translation --equivariance` crashed on a GPU: every experiment now moves its inputs."""
    config = compare.CompareConfig(
        dataset="digits",
        models=("logreg", "cnn-digits"),
        seeds=1,
        epochs=1,
        translation=True,
        equivariance=True,
        max_shift=2,
        eval_examples=100,
        threads=1,
    )
    plain = compare.compare(config, digits)
    train_on_cpu_then_move_to_fake(monkeypatch)
    with FakeDevice():
        result = compare.compare(config, digits, out=tmp_path)
        low, high = transfer.class_subset(digits, range(5)), transfer.class_subset(digits, range(5, 10))
        base = runner.recipe(digits, epochs=1).replace(model="cnn-digits", threads=1)
        pretrained = transfer.train(base, low).net  # on the fake device
        first = pretrained[0].weight.detach().cpu()
        tuned = transfer.fine_tune(pretrained, transfer.per_class(high, 5, 0), "frozen", base).net
    assert torch.equal(tuned[0].weight.detach().cpu(), first)  # frozen features copied across devices
    assert result.translation.curves == plain.translation.curves
    for label, numbers in plain.equivariance.trained.items():
        got = result.equivariance.trained[label]
        assert got["accuracy"] == numbers["accuracy"] and got["flipped"] == numbers["flipped"]
        assert got["logit_change"] == pytest.approx(numbers["logit_change"], rel=1e-4, abs=1e-6)
    assert (tmp_path / "equivariance.png").is_file() and (tmp_path / "result.json").is_file()


# -- the source: networks are called only on inputs that followed them ---------------------------------

#: Modules that run a trained network (the trainer moves its own batches; physics has its own helper).
INFERENCE = ["model.py", "export.py", "evaluate.py", "train/evaluation.py", "experiments", "web"]
NETWORK_CALLS = {"net", "deployed", "module", "loss_model", "features"}
MOVES = {"to_device_of", "normalize"}


def _calls(node: ast.AST) -> set[str]:
    return {
        c.func.id if isinstance(c.func, ast.Name) else c.func.attr
        for c in ast.walk(node)
        if isinstance(c, ast.Call) and isinstance(c.func, (ast.Name, ast.Attribute))
    }


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_network_call(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id in NETWORK_CALLS) or (
        isinstance(func, ast.Attribute) and func.attr in NETWORK_CALLS
    )


def unmoved_network_calls(source: str) -> list[str]:
    """``net(x)`` calls whose input was not moved by to_device_of / normalize (or derived from a moved tensor).

    Example: in ``x = to_device_of(net, x); y = shift(x, 1); net(y)`` the call is fine; ``net(x.double())``
    on a parameter ``x`` is reported.
    """
    problems = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        assigns = [
            (t.id, a.value)
            for a in ast.walk(function)
            if isinstance(a, ast.Assign)
            for t in a.targets
            if isinstance(t, ast.Name)
        ]
        moved: set[str] = set()
        changed = True
        while changed:  # names holding moved tensors, to a fixed point
            changed = False
            for name, value in assigns:
                derived = (
                    _calls(value) & MOVES
                    or _names(value) & moved
                    or any(_is_network_call(c) for c in ast.walk(value) if isinstance(c, ast.Call))
                )
                if derived and name not in moved:
                    moved.add(name)
                    changed = True
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and _is_network_call(call) and call.args:
                arg = call.args[0]
                if not (_calls(arg) & MOVES or _names(arg) & moved):
                    problems.append(f"{function.name}:{call.lineno}: {ast.unparse(call)}")
    return problems


def test_the_checker_finds_an_unmoved_call():
    assert unmoved_network_calls("def f(net, x):\n    return net(x.double())\n") == ["f:2: net(x.double())"]
    moved = "def f(net, x):\n    x = to_device_of(net, x)\n    y = shift(x, 1)\n    return net(y)\n"
    assert unmoved_network_calls(moved) == []


def test_every_network_call_in_inference_code_moves_its_inputs():
    files = [
        p for entry in INFERENCE for p in ((SRC / entry).rglob("*.py") if (SRC / entry).is_dir() else [SRC / entry])
    ]
    assert len(files) > 10
    problems = [f"{p.relative_to(SRC)}: {problem}" for p in files for problem in unmoved_network_calls(p.read_text())]
    assert problems == []
    # Moving a network's inputs is to_device_of's job; .cuda() hard-codes a device.
    assert not [p for p in SRC.rglob("*.py") if ".cuda(" in p.read_text() and "physics" not in p.parts]
