"""A validation split carved from the training data by a fixed index split.

Tuning (:mod:`benchmarks.tune`) selects on data the test split never sees: each
configuration trains on ``train'``, the training split minus a held-out part,
and is scored on that part. The held-out part is the first
``round(fraction * n)`` indices of a permutation of ``range(n)`` drawn from a
fixed seed, independent of the training seed, so every method, configuration
and seed sees the same split.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Subset

from nonconvex_reg.validation import check_scalar

__all__ = ["IndexSubset", "holdout_split"]


class IndexSubset(Subset):
    """:class:`torch.utils.data.Subset` that keeps the dataset's ``collate_fn``.

    Datasets whose ``__getitems__`` returns stacked batches (Criteo's caches)
    need their own collate function; the trainer looks it up as an attribute.
    """

    def __getattr__(self, name):
        if name == "collate_fn":
            return self.dataset.collate_fn
        raise AttributeError(name)


def holdout_split(dataset, fraction: float, *, seed: int = 0):
    """``(train', held_out)``: ``dataset`` minus a held-out ``fraction``, and it.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style, with ``len``.
    fraction : float
        Share held out, in (0, 1).
    seed : int, default=0
        Seed of the permutation (not the training seed).

    Returns
    -------
    tuple of IndexSubset
        Disjoint, together all of ``dataset``; both non-empty.

    Raises
    ------
    ValueError
        If ``fraction`` is outside (0, 1) or leaves a part empty.

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> train, held = holdout_split(TensorDataset(torch.arange(10)), 0.2)
    >>> len(train), len(held), sorted(held.indices + train.indices) == list(range(10))
    (8, 2, True)
    """
    fraction = check_scalar(
        fraction,
        "fraction",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    n = len(dataset)
    n_held = round(fraction * n)
    if not 1 <= n_held <= n - 1:
        raise ValueError(
            f"`fraction` must leave both parts of the {n} samples non-empty; got "
            f"{fraction} ({n_held} held out)."
        )
    order = np.random.default_rng(seed).permutation(n).tolist()
    return IndexSubset(dataset, order[n_held:]), IndexSubset(dataset, order[:n_held])
