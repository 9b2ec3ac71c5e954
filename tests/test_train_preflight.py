"""train.preflight: a run that cannot work on its data, or would not fit in memory, is refused before it starts."""

import pytest

from cnnlab import spec as S
from cnnlab.train import TrainConfig, fit
from cnnlab.train.preflight import check_fits, train_size


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (TrainConfig(model="flatten-linear(5)"), "ends with 5 outputs, but the dataset has 10 classes"),
        (TrainConfig(model="lenet"), "filter wider than the padded input"),
        (TrainConfig(model="logreg", augment_shift=8), "augment_shift must be smaller than the input"),
        (TrainConfig(model="conv(1,1,p=3000)-gap-linear"), "needs about .* to train with batch 64"),
    ],
)
def test_check_fits_refuses_with_one_sentence(config, match):
    with pytest.raises(ValueError, match=match):
        check_fits(config, (1, 8, 8), 10, n_train=1437, n_test=360)


def test_the_batch_is_no_larger_than_the_data_and_the_limit_is_stated():
    small = check_fits(TrainConfig(model="logreg", batch_size=100_000), (1, 8, 8), 10, n_train=50, n_test=10)
    assert small.batch_size == 50
    with pytest.raises(S.MemoryBudgetError, match=r"the limit is 1 kB \(a hint\)"):
        check_fits(TrainConfig(model="logreg"), (1, 8, 8), 10, n_train=50, n_test=10, limit=1000, hint="a hint")


def test_train_size_follows_the_trainer():
    assert train_size(TrainConfig(val_split=0.2, train_subset=100), 1437) == 100
    with pytest.raises(ValueError, match="train_subset must be <= 1150"):
        train_size(TrainConfig(val_split=0.2, train_subset=5000), 1437)


def test_fit_checks_before_building(digits, monkeypatch):
    from cnnlab import engine

    monkeypatch.setattr(engine, "build", lambda *a, **k: pytest.fail("built before the check"))
    with pytest.raises(S.MemoryBudgetError):
        fit(TrainConfig(model="conv(1,1,p=3000)-gap-linear"), dataset=digits)
