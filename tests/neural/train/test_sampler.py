import pickle

import pytest
import torch
from torch.utils.data import TensorDataset

from neural.train.sampler import (
    IndexBatch,
    ResumableBatchSampler,
    SeededDataset,
    make_loader,
    seed_worker,
)

from .conftest import NoisyData


def _epoch(sampler, epoch, start=0):
    sampler.set_epoch(epoch, start)
    return [list(batch) for batch in sampler]


def test_an_epoch_partitions_the_permutation():
    sampler = ResumableBatchSampler(50, 8, seed=3)
    batches = _epoch(sampler, 0)
    assert len(batches) == sampler.batches_per_epoch == len(sampler) == 6
    flat = [i for batch in batches for i in batch]
    assert len(set(flat)) == 48  # disjoint; the short last batch is dropped
    assert flat == sampler.permutation(0)[:48].tolist()
    assert sorted(sampler.permutation(0).tolist()) == list(range(50))


def test_without_drop_last_every_sample_is_visited_once():
    sampler = ResumableBatchSampler(50, 8, seed=3, drop_last=False)
    batches = _epoch(sampler, 2)
    assert [len(b) for b in batches] == [8] * 6 + [2]
    assert sorted(i for b in batches for i in b) == list(range(50))


def test_order_is_a_function_of_seed_and_epoch():
    a, b = ResumableBatchSampler(40, 4, seed=1), ResumableBatchSampler(40, 4, seed=1)
    assert _epoch(a, 0) == _epoch(b, 0)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 0) != _epoch(ResumableBatchSampler(40, 4, seed=2), 0)
    # seed 0 epoch 1 is not seed 1 epoch 0 (hashed, not summed)
    assert _epoch(ResumableBatchSampler(40, 4, seed=0), 1) != _epoch(
        ResumableBatchSampler(40, 4, seed=1), 0
    )
    unshuffled = ResumableBatchSampler(10, 5, shuffle=False)
    assert (
        _epoch(unshuffled, 0)
        == _epoch(unshuffled, 7)
        == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    )


@pytest.mark.parametrize("start", [0, 1, 4, 6])
def test_resume_offset_skips_exactly_the_consumed_batches(start):
    sampler = ResumableBatchSampler(50, 8, seed=5)
    full = _epoch(sampler, 3)
    assert _epoch(sampler, 3, start) == full[start:]
    assert len(sampler) == 6 - start
    resumed = ResumableBatchSampler(50, 8, seed=5, epoch=3, start_batch=start)
    assert [list(b) for b in resumed] == full[start:]


def test_batches_carry_their_position_and_a_seed():
    sampler = ResumableBatchSampler(50, 8, seed=5, epoch=2, start_batch=4)
    batches = list(sampler)
    assert [(b.epoch, b.batch) for b in batches] == [(2, 4), (2, 5)]
    assert batches[0].seed != batches[1].seed
    copy = pickle.loads(pickle.dumps(batches[0]))  # sent to loader workers
    assert copy == batches[0] and copy.seed == batches[0].seed
    assert copy.batch == 4


@pytest.mark.parametrize("drop_last", [True, False])
def test_ranks_are_disjoint_and_cover_each_global_batch_in_order(drop_last):
    world, n = 3, 67
    samplers = [
        ResumableBatchSampler(
            n, 12, seed=9, world_size=world, rank=r, drop_last=drop_last
        )
        for r in range(world)
    ]
    per_rank = [_epoch(s, 1) for s in samplers]
    assert len({len(p) for p in per_rank}) == 1  # lock-step: same number of batches
    for b in range(samplers[0].batches_per_epoch):
        together = [i for rank in per_rank for i in rank[b]]
        assert together == samplers[0].global_batch(1, b)
    visited = sorted(i for rank in per_rank for batch in rank for i in batch)
    assert visited == (list(range(n)) if not drop_last else sorted(visited))
    if drop_last:
        assert len(visited) == len(set(visited)) == 60
    else:  # 67 = 5 * 12 + 7: the last global batch splits 3 / 2 / 2
        assert [len(rank[-1]) for rank in per_rank] == [3, 2, 2]
    assert all(len(batch) == 4 for rank in per_rank for batch in rank[:5])


def test_per_rank_batch_matches_single_process_global_batch():
    single = _epoch(ResumableBatchSampler(64, 16, seed=0), 0)
    ranks = [
        _epoch(ResumableBatchSampler(64, 16, seed=0, world_size=2, rank=r), 0)
        for r in range(2)
    ]
    assert [a + b for a, b in zip(*ranks, strict=True)] == single


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "`n_samples`"),
        ({"batch_size": 10, "world_size": 4}, ValueError, "multiple of world_size=4"),
        (
            {"rank": 2, "world_size": 2},
            ValueError,
            r"`rank` must be an integer in \[0, 1\]",
        ),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"shuffle": 1}, TypeError, "`shuffle` must be a bool"),
        (
            {"start_batch": 7},
            ValueError,
            r"`start_batch` must be an integer in \[0, 6\]",
        ),
        (
            {"drop_last": False, "world_size": 4, "n_samples": 49},
            ValueError,
            r"last global batch \(1 samples\)",
        ),
    ],
)
def test_errors_name_the_argument(options, error, match):
    options = {"n_samples": 50, "batch_size": 8, **options}
    with pytest.raises(error, match=match):
        ResumableBatchSampler(
            options.pop("n_samples"), options.pop("batch_size"), **options
        )


def _loader_batches(dataset, sampler, num_workers):
    return [
        (x.clone(), y.clone())
        for x, y in make_loader(dataset, sampler, num_workers=num_workers)
    ]


def test_random_augmentation_depends_on_the_batch_only_not_on_workers_or_resume():
    data = NoisyData(48)
    sampler = ResumableBatchSampler(48, 8, seed=4)
    reference = _loader_batches(data, sampler, 0)
    assert not torch.equal(
        reference[0][0], data.base.tensors[0][sampler.global_batch(0, 0)]
    )
    with_workers = _loader_batches(data, sampler, 2)
    sampler.set_epoch(0, start_batch=3)
    resumed = _loader_batches(data, sampler, 0)
    for (x, y), (x2, y2) in zip(reference, with_workers, strict=True):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    for (x, _), (x2, _) in zip(reference[3:], resumed, strict=True):
        assert torch.equal(x, x2)


def test_loading_never_draws_from_the_global_generator():
    sampler = ResumableBatchSampler(48, 8, seed=4)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    _loader_batches(NoisyData(48), sampler, 0)  # loader creation and loading
    assert torch.equal(torch.rand(3), expected)


def test_collate_fn_attribute_is_used():
    data = TensorDataset(torch.arange(12.0).view(6, 2), torch.arange(6))
    data.collate_fn = lambda items: ("collated", len(items))
    sampler = ResumableBatchSampler(6, 3, shuffle=False)
    assert list(make_loader(data, sampler)) == [("collated", 3), ("collated", 3)]


def test_make_loader_checks_its_inputs():
    data = TensorDataset(torch.zeros(6, 2))
    with pytest.raises(ValueError, match="n_samples=7"):
        make_loader(data, ResumableBatchSampler(7, 3))
    with pytest.raises(TypeError, match="ResumableBatchSampler"):
        make_loader(data, [[0, 1]])

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(TypeError, match="map-style"):
        SeededDataset(Stream())


def test_seed_worker_is_deterministic_per_worker():
    seed_worker(0, seed=1, epoch=2)
    a = torch.rand(2)
    seed_worker(0, seed=1, epoch=2)
    assert torch.equal(torch.rand(2), a)
    seed_worker(1, seed=1, epoch=2)
    assert not torch.equal(torch.rand(2), a)


def test_index_batch_is_a_list():
    batch = IndexBatch([3, 1], epoch=0, batch=0, seed=5)
    assert batch == [3, 1] and isinstance(batch, list)
