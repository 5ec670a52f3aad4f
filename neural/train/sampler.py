"""A deterministic, resumable, distributed-aware batch sampler and its DataLoader.

Epoch ``e`` visits the samples in the permutation drawn by a ``torch.Generator``
seeded with ``mix_seed(PERMUTATION, seed, e)`` (the identity without shuffling),
cut into global batches of ``batch_size`` samples; batch ``b`` of the epoch is::

    global batch b = perm[b G : (b + 1) G],        G = batch_size = world_size * P

and rank ``r`` takes the contiguous slice ``[r P, (r + 1) P)`` of it, so the ranks
are disjoint, together cover each global batch in order, and a single process
with the same ``G`` sees the same samples in each step. The position is a pure
function of ``(seed, epoch, batch)``: a resumed run calls
:meth:`ResumableBatchSampler.set_epoch` with the first batch not yet consumed and
the sampler skips the earlier ones without loading them.

Each yielded batch is an :class:`IndexBatch`, a list of indices tagged with its
position and a data seed ``mix_seed(DATA, seed, epoch, batch, rank)``;
:func:`make_loader` wraps the dataset so that loading a batch (in the main
process or in a worker) runs on private generators seeded with it. Random
augmentations therefore depend only on the batch's position: never on the
number of workers, on which worker loads the batch, or on where a run was
resumed.
"""

from __future__ import annotations

import functools
import math
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler
from torch.utils.data._utils.collate import default_collate

from nonconvex_reg.validation import check_int

from .rng import mix_seed, seeded_rng

__all__ = [
    "IndexBatch",
    "ResumableBatchSampler",
    "SeededDataset",
    "make_loader",
    "seed_worker",
]

# Stream tags of mix_seed: distinct streams for distinct uses of one seed.
_PERMUTATION, _DATA, _WORKER, _LOADER = 1, 2, 3, 4


class IndexBatch(list):
    """Indices of one per-rank batch, tagged with its position and data seed.

    Parameters
    ----------
    indices : iterable of int
    epoch, batch : int
        Position of the global batch.
    seed : int
        Seed of the private generators that load this batch.
    """

    def __init__(self, indices, *, epoch: int, batch: int, seed: int):
        super().__init__(indices)
        self.epoch = epoch
        self.batch = batch
        self.seed = seed


class ResumableBatchSampler(Sampler):
    """Per-rank batches of a seeded per-epoch permutation, from any position.

    Parameters
    ----------
    n_samples : int
        Dataset length, ``>= 1``.
    batch_size : int
        Global batch size ``G``, a multiple of ``world_size``; each rank's batch
        holds ``G / world_size`` samples.
    seed : int, default=0
        Non-negative run seed.
    shuffle : bool, default=True
        Draw a new permutation every epoch; otherwise visit ``0, 1, ...``.
    drop_last : bool, default=True
        Drop the last global batch if it is short. Otherwise it is split into
        ``world_size`` contiguous near-equal slices (the first ones one sample
        longer), which needs at least ``world_size`` samples in it.
    world_size : int, default=1
    rank : int, default=0
        In ``[0, world_size)``.
    epoch : int, default=0
        Epoch to iterate first.
    start_batch : int, default=0
        First batch of that epoch to yield (the batches before it are skipped).

    Raises
    ------
    ValueError, TypeError
        On a bad argument, naming it and the accepted range.

    Examples
    --------
    >>> sampler = ResumableBatchSampler(10, 4, seed=0, shuffle=False,
    ...                                 world_size=2, rank=1)
    >>> [list(batch) for batch in sampler]
    [[2, 3], [6, 7]]
    >>> sampler.set_epoch(0, start_batch=1)
    >>> [list(batch) for batch in sampler]
    [[6, 7]]
    """

    def __init__(
        self,
        n_samples: int,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
        world_size: int = 1,
        rank: int = 0,
        epoch: int = 0,
        start_batch: int = 0,
    ):
        self.n_samples = check_int(n_samples, "n_samples", low=1)
        self.world_size = check_int(world_size, "world_size", low=1)
        self.rank = check_int(rank, "rank", low=0, high=self.world_size - 1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        if self.batch_size % self.world_size:
            raise ValueError(
                f"`batch_size` (global) must be a multiple of world_size="
                f"{self.world_size}; got {self.batch_size}."
            )
        self.seed = check_int(seed, "seed", low=0)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, bool):
                raise TypeError(f"`{name}` must be a bool; got {flag!r}.")
        self.shuffle = shuffle
        self.drop_last = drop_last
        tail = self.n_samples % self.batch_size
        if not drop_last and 0 < tail < self.world_size:
            raise ValueError(
                f"with drop_last=False the last global batch ({tail} samples) must "
                f"hold at least world_size={self.world_size} samples; use "
                "drop_last=True or another `batch_size`."
            )
        self.set_epoch(epoch, start_batch)

    @property
    def per_rank_batch_size(self) -> int:
        """``batch_size / world_size``: the samples of one rank's full batch."""
        return self.batch_size // self.world_size

    @property
    def batches_per_epoch(self) -> int:
        """Global batches in one epoch (steps per epoch)."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Position the sampler at batch ``start_batch`` of ``epoch``.

        Parameters
        ----------
        epoch : int
            ``>= 0``.
        start_batch : int, default=0
            In ``[0, batches_per_epoch]``; ``batches_per_epoch`` yields nothing.
        """
        self.epoch = check_int(epoch, "epoch", low=0)
        self.start_batch = check_int(
            start_batch, "start_batch", low=0, high=self.batches_per_epoch
        )

    def permutation(self, epoch: int) -> torch.Tensor:
        """The order in which ``epoch`` visits the samples (int64 tensor)."""
        if not self.shuffle:
            return torch.arange(self.n_samples)
        generator = torch.Generator().manual_seed(
            mix_seed(_PERMUTATION, self.seed, check_int(epoch, "epoch", low=0))
        )
        return torch.randperm(self.n_samples, generator=generator)

    def global_batch(self, epoch: int, batch: int) -> list[int]:
        """Indices of global batch ``batch`` of ``epoch``, every rank's together."""
        batch = check_int(batch, "batch", low=0, high=self.batches_per_epoch - 1)
        order = self.permutation(epoch)
        return order[batch * self.batch_size : (batch + 1) * self.batch_size].tolist()

    def _rank_slice(self, size: int) -> tuple[int, int]:
        if size == self.batch_size:
            width = self.per_rank_batch_size
            return self.rank * width, (self.rank + 1) * width
        base, extra = divmod(size, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def __len__(self) -> int:
        """Batches left in the current epoch from ``start_batch``."""
        return self.batches_per_epoch - self.start_batch

    def __iter__(self):
        """Yield this rank's batches of the epoch, from ``start_batch`` on."""
        epoch, order = self.epoch, self.permutation(self.epoch)
        for batch in range(self.start_batch, self.batches_per_epoch):
            chunk = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            start, stop = self._rank_slice(len(chunk))
            yield IndexBatch(
                chunk[start:stop].tolist(),
                epoch=epoch,
                batch=batch,
                seed=mix_seed(_DATA, self.seed, epoch, batch, self.rank),
            )


class SeededDataset(Dataset):
    """Wrap a map-style dataset so each :class:`IndexBatch` loads on its own seed.

    ``__getitems__`` (which ``DataLoader`` calls with a batch's indices) runs the
    wrapped dataset's ``__getitems__`` or ``__getitem__`` inside
    :func:`~neural.train.rng.seeded_rng` with the batch's seed, so torch's,
    numpy's and Python's generators give the same draws for that batch in any
    process, and the caller's generator states are left as they were.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style (``__len__`` and ``__getitem__``).
    """

    def __init__(self, dataset):
        if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
            raise TypeError(
                "`dataset` must be a map-style dataset (with __len__ and "
                f"__getitem__); got {type(dataset).__name__}."
            )
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(list(indices))
        return [self.dataset[i] for i in indices]

    def __getitems__(self, indices):
        """Load the samples of ``indices`` on the batch's private seed, if tagged."""
        seed = getattr(indices, "seed", None)
        if seed is None:
            return self._fetch(indices)
        with seeded_rng(seed):
            return self._fetch(indices)


def seed_worker(worker_id: int, *, seed: int, epoch: int, rank: int = 0) -> None:
    """``worker_init_fn``: seed a loader worker from ``(seed, epoch, rank, worker)``.

    Parameters
    ----------
    worker_id : int
        Given by ``DataLoader``.
    seed, epoch, rank : int
        The run's seed, the epoch the loader serves, the process rank.
    """
    worker_seed = mix_seed(_WORKER, seed, epoch, rank, worker_id)
    torch.manual_seed(worker_seed)
    np.random.seed(worker_seed % 2**32)  # noqa: NPY002
    random.seed(worker_seed)


def make_loader(
    dataset,
    sampler: ResumableBatchSampler,
    *,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """The ``DataLoader`` of one epoch: ``sampler``'s batches, seeded loading.

    Build one per epoch, after :meth:`ResumableBatchSampler.set_epoch`. Workers are
    seeded by :func:`seed_worker`; the loader's own base seed comes from a
    generator seeded by ``(seed, epoch, rank)``, so creating it never draws from
    torch's global generator.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style; its ``collate_fn`` attribute is used when it has one, else
        ``default_collate``. Wrapped in :class:`SeededDataset` unless it is one.
    sampler : ResumableBatchSampler
    num_workers : int, default=0
        Loader processes, ``>= 0``.
    pin_memory : bool, default=False
        Page-locked host batches (for CUDA).

    Returns
    -------
    torch.utils.data.DataLoader
    """
    if not isinstance(sampler, ResumableBatchSampler):
        raise TypeError(
            f"`sampler` must be a ResumableBatchSampler; got {type(sampler).__name__}."
        )
    num_workers = check_int(num_workers, "num_workers", low=0)
    inner = dataset.dataset if isinstance(dataset, SeededDataset) else dataset
    wrapped = dataset if isinstance(dataset, SeededDataset) else SeededDataset(dataset)
    if len(wrapped) != sampler.n_samples:
        raise ValueError(
            f"`dataset` has {len(wrapped)} samples but the sampler was built for "
            f"n_samples={sampler.n_samples}."
        )
    generator = torch.Generator().manual_seed(
        mix_seed(_LOADER, sampler.seed, sampler.epoch, sampler.rank)
    )
    return DataLoader(
        wrapped,
        batch_sampler=sampler,
        collate_fn=getattr(inner, "collate_fn", default_collate),
        num_workers=num_workers,
        pin_memory=pin_memory,
        worker_init_fn=functools.partial(
            seed_worker, seed=sampler.seed, epoch=sampler.epoch, rank=sampler.rank
        ),
        generator=generator,
    )
