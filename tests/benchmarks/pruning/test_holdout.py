"""benchmarks/pruning/holdout.py: validation carved from the training data."""

import pytest
import torch
from torch.utils.data import TensorDataset

from benchmarks.pruning.holdout import holdout_split


def test_the_split_is_disjoint_complete_and_deterministic():
    data = TensorDataset(torch.arange(50))
    train, held = holdout_split(data, 0.2)
    assert (len(train), len(held)) == (40, 10)
    assert sorted(train.indices + held.indices) == list(range(50))
    again, _ = holdout_split(data, 0.2)
    assert again.indices == train.indices
    other, _ = holdout_split(data, 0.2, seed=1)
    assert other.indices != train.indices
    assert [int(held[i][0]) for i in range(3)] == held.indices[:3]


class _Stacked(TensorDataset):
    """A dataset with its own collate function, as Criteo's caches have."""

    @staticmethod
    def collate_fn(batch):
        return ("stacked", batch)


def test_the_dataset_collate_function_is_kept():
    train, held = holdout_split(_Stacked(torch.arange(10)), 0.3)
    assert train.collate_fn([1]) == ("stacked", [1])
    plain, _ = holdout_split(TensorDataset(torch.arange(10)), 0.3)
    assert not hasattr(plain, "collate_fn")


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.01])
def test_a_fraction_leaving_a_part_empty_is_refused(fraction):
    with pytest.raises(ValueError, match="`fraction`"):
        holdout_split(TensorDataset(torch.arange(10)), fraction)
