"""cnnlab.evaluate: accuracy, per-class accuracy, confusion matrix and worst mistakes, against hand counts."""

import pytest
import torch

from cnnlab import engine
from cnnlab.evaluate import confusion, evaluate_model
from cnnlab.model import Model


def test_confusion_counts_true_by_predicted():
    matrix = confusion(torch.tensor([0, 1, 1, 2, 2]), torch.tensor([0, 1, 2, 2, 0]), 3)
    assert matrix.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 1]]


def fixed_model() -> Model:
    """A linear model on 2 inputs whose logits are the inputs themselves: the prediction is argmax(x)."""
    net = engine.build("flatten-linear(2)", (1, 2))
    with torch.no_grad():
        net[1].weight.copy_(torch.eye(2))
        net[1].bias.zero_()
    return Model(net, ["a", "b"], [0.0], [1.0])


def test_metrics_and_worst_mistakes(tmp_path):
    x = torch.tensor([[[3.0, 0.0]], [[0.0, 1.0]], [[0.0, 5.0]], [[2.0, 0.0]]])  # predicted a, b, b, a
    y = torch.tensor([0, 1, 0, 1])
    result = evaluate_model(fixed_model(), x, y, out=tmp_path, worst=1)
    assert result["accuracy"] == 0.5 and result["examples"] == 4
    assert result["confusion"] == [[1, 1], [1, 1]]
    assert result["per_class_accuracy"] == {"a": 0.5, "b": 0.5}
    logits = x.flatten(1)
    assert result["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item())
    # The most confident mistake: example 2 (b with p = softmax([0, 5])[1]).
    assert result["confidently_wrong"] == [
        {
            "index": 2,
            "true": "a",
            "predicted": "b",
            "probability": pytest.approx(torch.tensor([0.0, 5.0]).softmax(0)[1].item()),
        }
    ]
    assert [p.endswith("confusion_matrix.png") for p in result["plots"]] == [True]


def test_inputs_must_fit_the_model():
    with pytest.raises(ValueError, match=r"dataset inputs have shape \(1, 3\), the model needs \(1, 2\)"):
        evaluate_model(fixed_model(), torch.zeros(2, 1, 3), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="dataset has labels up to 4, the model knows 2 classes"):
        evaluate_model(fixed_model(), torch.zeros(2, 1, 2), torch.tensor([0, 4]))
