"""Transfer learning: class splits, few-shot subsets, resizing, and that frozen features stay frozen."""

import pytest
import torch

from cnnlab.experiments.runner import recipe, train
from cnnlab.experiments.transfer import (
    TransferConfig,
    class_subset,
    feature_layers,
    fine_tune,
    per_class,
    resize_images,
    start_from,
    transfer,
)


def test_class_subset_relabels_and_keeps_every_example(digits):
    high = class_subset(digits, [7, 5])
    assert high.classes == ["7", "5"]
    assert int((high.y_train == 0).sum()) == int((digits.y_train == 7).sum())
    assert int((high.y_test == 1).sum()) == int((digits.y_test == 5).sum())
    assert torch.equal(high.x_train[high.y_train == 0], digits.x_train[digits.y_train == 7])
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        class_subset(digits, [3, 12])


def test_per_class_picks_n_of_each_and_keeps_normalisation(digits):
    low = class_subset(digits, range(5))
    few = per_class(class_subset(digits, range(5, 10)), 4, seed=1, test_examples=50, normalization=low)
    assert torch.bincount(few.y_train).tolist() == [4] * 5
    assert len(few.y_test) == 50 and few.mean == low.mean and few.std == low.std
    with pytest.raises(ValueError, match="n per class must be <="):
        per_class(digits, 1000, seed=0)


def test_resize_digits_like_mnist(digits):
    big = resize_images(digits, (1, 28, 28))
    assert big.input_shape == (1, 28, 28) and len(big.y_train) == len(digits.y_train)
    assert big.x_train[:, :, :4].abs().max() == 0 and big.x_train[:, :, :, -4:].abs().max() == 0  # MNIST's margin
    assert big.x_train.max() <= 1 and big.x_train[:, :, 4:24, 4:24].mean() > 0.1


SPEC = "conv(4,3,p=1)-bn-relu-maxpool(2)-conv(8,3,p=1)-relu-flatten-linear(16)-relu-linear"


def _snapshot(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_frozen_features_train_only_the_head(digits):
    low, high = class_subset(digits, range(5)), class_subset(digits, range(5, 10))
    base = recipe(digits, epochs=2).replace(model=SPEC)
    pretrained = train(base, low).net
    n = feature_layers(pretrained)
    assert n == 7  # conv, bn, relu, maxpool, conv, relu, flatten
    before = {}

    def prepare(trainer):
        start_from(pretrained, "frozen")(trainer)
        before.update(_snapshot(trainer.net))
        optimized = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
        head = {id(p) for i in range(n, len(trainer.net)) for p in trainer.net[i].parameters()}
        assert optimized == head

    net = train(base.replace(seed=3, epochs=3), per_class(high, 10, 0, normalization=low), prepare=prepare).net
    after = _snapshot(net)
    features = [k for k in after if int(k.split(".")[0]) < n]
    head = [k for k in after if int(k.split(".")[0]) >= n]
    assert "1.running_mean" in features and "7.weight" in head
    for key in features:  # weights, BatchNorm affine parameters and running statistics
        assert torch.equal(after[key], before[key]), key
        assert torch.equal(after[key], pretrained.state_dict()[key]), key
    assert all(not torch.equal(after[k], before[k]) for k in head if not k.endswith("num_batches_tracked"))


def test_finetune_changes_features_and_scratch_ignores_pretraining(digits):
    low, high = class_subset(digits, range(5)), class_subset(digits, range(5, 10))
    base = recipe(digits, epochs=1).replace(model=SPEC)
    pretrained = train(base, low).net
    few = per_class(high, 10, 0, normalization=low)
    tuned = fine_tune(pretrained, few, "finetune", base.replace(epochs=2)).net
    assert not torch.equal(tuned[0].weight, pretrained[0].weight)
    scratch = fine_tune(None, few, "scratch", base.replace(epochs=1, seed=0)).net
    fresh = train(base.replace(epochs=1, seed=0), few).net
    assert torch.equal(scratch[0].weight, fresh[0].weight)
    with pytest.raises(ValueError, match="mode must be one of frozen, finetune, scratch"):
        start_from(pretrained, "partial")
    with pytest.raises(ValueError, match="do not match the pretrained"):
        train(base.replace(model="conv(2,3,p=1)-relu-flatten-linear"), few, prepare=start_from(pretrained, "frozen"))


def test_transfer_end_to_end_on_digits(tmp_path, digits):
    config = TransferConfig(
        source="digits",
        model=SPEC,
        n_per_class=(3, 20),
        seeds=2,
        targets=("kmnist=/nonexistent",),
        pretrain_epochs=10,
        min_steps=30,
        eval_examples=150,
    )
    result = transfer(config, source=digits, out=tmp_path)
    ((name, target),) = result.targets.items()
    assert name == "digits 5,6,7,8,9" and target["n"] == [3, 20]
    assert set(target["modes"]) == {"frozen", "finetune", "scratch"}
    assert all(len(v) == 2 for mode in target["modes"].values() for v in mode["values"])
    assert result.pretrain["test_accuracy"] > 0.8
    assert "kmnist" in result.skipped
    assert len(result.verdicts(name)) == 2
    assert (tmp_path / "transfer.png").is_file() and "## digits 5,6,7,8,9" in (tmp_path / "report.md").read_text(
        encoding="utf-8"
    )
