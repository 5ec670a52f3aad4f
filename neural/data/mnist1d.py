"""MNIST-1D (Greydanus 2020) generated locally, as torch ``TensorDataset`` pairs.

Each sample is one of 10 fixed 12-point digit templates ``y`` transformed by the
``mnist1d`` package's ``transform``: zero-padded by ``p ~ U{36..60}`` points,
stretched to 72 points, scaled by ``1 + 0.4 (u - 1/2)``, circularly shifted by
``U{0..47}``, filled with correlated noise (``N(0, 0.25^2)`` smoothed by a
Gaussian of width 2) where zero, plus iid ``N(0, 0.02^2)`` noise, sheared by
``0.75 (u - 1/2)`` times a ramp, and subsampled to 40 points. The whole set is
then standardized with one global mean and standard deviation (over train and
test together, as the package does) and split 80/20 in generation order after
a shuffle. These are the package's defaults (``get_dataset_args``); the
published pickle uses ``seed=42``.

Only ``mnist1d.data.make_dataset`` is called, never ``get_dataset`` (which
downloads and writes a pickle by default). ``make_dataset`` reseeds numpy's
*global* RNG and Python's ``random``; :func:`mnist1d_datasets` saves and
restores both, so the caller's random streams are untouched (this makes it
unsafe to call from several threads at once). Nothing is cached: generating the
default 5000 samples takes 1.2-1.6 s on one CPU core.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import TensorDataset

from nonconvex_reg.validation import check_int, check_scalar

__all__ = ["MNIST1D_GENERATION_ARGS", "mnist1d_datasets"]

#: Generation parameters that ``overrides`` may change (``mnist1d`` names).
MNIST1D_GENERATION_ARGS = (
    "template_len",
    "padding",
    "scale_coeff",
    "max_translation",
    "corr_noise_scale",
    "iid_noise_scale",
    "shear_scale",
    "final_seq_length",
)


@contextlib.contextmanager
def _preserved_global_rngs():
    """Restore numpy's global RNG and Python's ``random`` on exit."""
    numpy_state = np.random.get_state()  # noqa: NPY002 (legacy global RNG)
    python_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)


def mnist1d_datasets(
    n_samples=5000,
    *,
    train_split=0.8,
    seed=0,
    channel_dim=False,
    shuffle_seq=False,
    overrides=None,
) -> tuple[TensorDataset, TensorDataset]:
    """Generate MNIST-1D and return ``(train, test)`` datasets of ``(x, y)``.

    Parameters
    ----------
    n_samples : int, default=5000
        Total number of samples (train + test), a positive multiple of 10
        (the package draws ``n_samples // 10`` per digit).
    train_split : float, default=0.8
        Fraction of the samples in the training set; both sets must be
        non-empty.
    seed : int, default=0
        Seed passed to the generator (``seed=42`` is the package default).
    channel_dim : bool, default=False
        Return ``x`` of shape ``(n, 1, L)`` (for 1-D convolutions) instead of
        ``(n, L)``.
    shuffle_seq : bool, default=False
        Apply one fixed random permutation to the time axis of every sample.
    overrides : mapping or None, default=None
        Other generation parameters by their ``mnist1d`` name, among
        ``MNIST1D_GENERATION_ARGS`` (e.g. ``{"iid_noise_scale": 0.05}``).

    Returns
    -------
    train, test : torch.utils.data.TensorDataset
        Tensors ``x`` float32 of shape ``(n, L)`` or ``(n, 1, L)`` with ``L = 40``
        by default, and ``y`` int64 of shape ``(n,)`` with values in 0..9.

    Raises
    ------
    ValueError
        On a count or split out of range, or an unknown ``overrides`` key.

    Notes
    -----
    The output depends only on the arguments (and the ``mnist1d`` version);
    the global numpy and Python RNG states are preserved.

    References
    ----------
    S. Greydanus and D. Kobak, "Scaling down deep learning with MNIST-1D",
    ICML 2024.

    Examples
    --------
    >>> train, test = mnist1d_datasets(100, seed=1)
    >>> len(train), len(test), tuple(train.tensors[0].shape), train.tensors[1].dtype
    (80, 20, (80, 40), torch.int64)
    """
    n_samples = check_int(n_samples, "n_samples", low=10)
    if n_samples % 10:
        raise ValueError(
            f"`n_samples` must be a positive multiple of 10; got {n_samples}."
        )
    train_split = check_scalar(
        train_split,
        "train_split",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    n_train = int(n_samples * train_split)
    if not 1 <= n_train <= n_samples - 1:
        raise ValueError(
            f"`train_split` must leave both sets non-empty for n_samples={n_samples}; "
            f"got {train_split!r} ({n_train} training samples)."
        )
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, Mapping):
        raise TypeError(f"`overrides` must be a mapping or None; got {overrides!r}.")
    unknown = sorted(set(overrides) - set(MNIST1D_GENERATION_ARGS))
    if unknown:
        raise ValueError(
            f"`overrides` keys must be among {MNIST1D_GENERATION_ARGS}; got {unknown}."
        )
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:  # pragma: no cover - declared dependency
        raise ImportError(
            "mnist1d_datasets needs the `mnist1d` package (pip install mnist1d)."
        ) from error

    args = get_dataset_args()
    args.num_samples = n_samples
    args.train_split = train_split
    args.seed = seed
    args.shuffle_seq = bool(shuffle_seq)
    for key, value in overrides.items():
        setattr(args, key, value)
    with _preserved_global_rngs():
        data = make_dataset(args)

    def _dataset(x, y):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if channel_dim:
            x = x.unsqueeze(1)
        return TensorDataset(x, torch.as_tensor(np.asarray(y, dtype=np.int64)))

    return _dataset(data["x"], data["y"]), _dataset(data["x_test"], data["y_test"])
