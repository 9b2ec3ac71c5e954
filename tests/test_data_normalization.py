"""Per-channel normalisation: the statistics a dataset carries and the transform applied to inputs."""

import torch

from cnnlab.data import Dataset, channel_stats, normalize
from cnnlab.data.normalization import MIN_STD


def test_channel_stats_against_a_hand_computation():
    x = torch.tensor([[[[0.0, 2.0]], [[1.0, 1.0]]], [[[4.0, 6.0]], [[1.0, 1.0]]]])  # (N=2, C=2, 1, 2)
    mean, std = channel_stats(x)
    assert mean == [3.0, 1.0]
    assert std[0] == torch.tensor([0.0, 2.0, 4.0, 6.0]).std().item()  # sample std over N, H, W
    assert std[1] == MIN_STD  # a constant channel is not divided by zero


def test_normalize_is_per_channel_and_keeps_dtype_and_shape():
    x = torch.rand(5, 3, 4, 4, dtype=torch.float64)
    mean, std = [0.1, 0.2, 0.3], [1.0, 2.0, 4.0]
    out = normalize(x, mean, std)
    assert out.dtype == torch.float64 and out.shape == x.shape
    for c in range(3):
        assert torch.equal(out[:, c], (x[:, c] - mean[c]) / std[c])
    one_d = torch.rand(2, 1, 40)
    assert torch.allclose(normalize(one_d, [0.5], [0.25]), (one_d - 0.5) / 0.25)


def test_a_dataset_computes_its_statistics_from_the_training_set(digits):
    assert (digits.mean, digits.std) == channel_stats(digits.x_train)
    given = Dataset("d", digits.x_train, digits.y_train, digits.x_test, digits.y_test, digits.classes, [0.5], [0.25])
    assert (given.mean, given.std) == ([0.5], [0.25])
    standardized = normalize(digits.x_train, digits.mean, digits.std)
    assert abs(standardized.mean().item()) < 1e-5 and abs(standardized.std().item() - 1) < 1e-4
