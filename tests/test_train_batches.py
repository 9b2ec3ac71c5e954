"""The training step's feed: epoch batches drawn as before (CPU runs unchanged), made on the data's device, per-step totals read back in intervals."""

import pytest
import torch
from fake_device import FAKE, FakeDevice, OnFake

from cnnlab.data import random_translate, translate
from cnnlab.train import NonFiniteLossError, TrainConfig, Trainer, fit
from cnnlab.train.batches import StepTotals, epoch_batches


def per_step_batches(x, y, batch_size, generator, shift):
    """The batches as the trainer drew them before they could live on a GPU: a shuffle, then one draw per step."""
    order = torch.randperm(len(y), generator=generator)
    for start in range(0, len(y), batch_size):
        index = order[start : start + batch_size]
        xb = x[index]
        if shift:
            xb = random_translate(xb, shift, generator)
        yield xb, y[index], len(index)


@pytest.mark.parametrize("shape", [(1, 8, 8), (2, 12)])
@pytest.mark.parametrize("shift", [0, 2])
def test_epoch_batches_draw_exactly_what_per_step_draws_did(shape, shift):
    x, y = torch.randn(203, *shape), torch.arange(203)  # 203 = 3 * 64 + 11: a short last batch
    old, new = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(2):  # two epochs: the generator goes on from where the first left it
        before = list(per_step_batches(x, y, 64, old, shift))
        after = list(epoch_batches(x, y, 64, new, shift))
        assert [n for *_, n in after] == [64, 64, 64, 11]
        for (xa, ya, na), (xb, yb, nb) in zip(before, after, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb) and na == nb


def test_batches_are_made_and_translated_on_the_data_device():
    x, y = torch.randn(50, 1, 6, 6), torch.arange(50)
    offsets = torch.randint(-2, 3, (50, 2), generator=torch.Generator().manual_seed(0))
    expected = list(epoch_batches(x, y, 16, torch.Generator().manual_seed(1), augment_shift=2))
    with FakeDevice():
        on_device = translate(x.to(FAKE), offsets, 2)  # offsets from the CPU follow the images
        assert isinstance(on_device, OnFake) and torch.equal(on_device.cpu(), translate(x, offsets, 2))
        got = list(epoch_batches(x.to(FAKE), y.to(FAKE), 16, torch.Generator().manual_seed(1), augment_shift=2))
        assert all(isinstance(xb, OnFake) and isinstance(yb, OnFake) for xb, yb, _ in got)
        assert all(torch.equal(a.cpu(), b) and torch.equal(c.cpu(), d) for (a, c, _), (b, d, _) in zip(got, expected))


def test_step_totals_read_back_in_one_go():
    totals = StepTotals(every=3, device=torch.device("cpu"))
    for loss, correct in ((1.0, 4), (0.5, 2), (float("nan"), 1)):
        totals.add(torch.tensor(loss), torch.tensor(correct))
    assert totals.full and totals.count == 3
    steps = totals.read(combine=lambda t: t * 2)  # e.g. the sum over two processes
    assert steps[:2] == [(1, 2.0), (2, 1.0)] and steps[2][0] == 3 and steps[2][1] != steps[2][1]
    assert totals.count == 0 and totals.correct == 14 and totals.loss != totals.loss
    totals.add(torch.tensor(0.25), torch.tensor(1))
    assert totals.read() == [(4, 0.25)]  # steps are numbered across reads


def test_reading_back_every_k_steps_changes_no_number(digits):
    cfg = TrainConfig(
        model="conv(4,3,p=1)-bn-relu-flatten-linear", dataset="digits", epochs=2, augment_shift=1, threads=1
    )
    every_step = fit(cfg, dataset=digits)
    trainer = Trainer(cfg, digits, log=None)
    trainer.sync_every = 7  # 23 steps per epoch: reads after steps 7, 14, 21 and 23
    in_intervals = trainer.run()
    assert in_intervals.metric("train_loss") == every_step.metric("train_loss")
    assert in_intervals.metric("train_accuracy") == every_step.metric("train_accuracy")
    assert in_intervals.final["test_accuracy"] == every_step.final["test_accuracy"]


def test_a_nan_stops_training_within_one_interval_naming_its_step(digits):
    cfg = TrainConfig(model="flatten-linear", dataset="digits", epochs=2, optimizer="sgd", lr=1e37, momentum=0.0)
    with pytest.raises(NonFiniteLossError) as exact:
        fit(cfg, dataset=digits)  # CPU: read back every step, stops before the bad step's update
    trainer = Trainer(cfg, digits, log=None)
    trainer.sync_every = 10
    taken = []
    trainer.optimizer.register_step_post_hook(lambda *args: taken.append(1))
    with pytest.raises(NonFiniteLossError) as bounded:
        trainer.run()
    assert str(bounded.value) == str(exact.value)  # the same epoch, step and learning rate are named
    step = int(str(exact.value).split("step ")[1].split(";")[0])
    assert step - 1 <= len(taken) < step + 10 - 1  # at most one interval of steps past the bad one
