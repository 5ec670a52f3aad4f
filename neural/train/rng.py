"""Seeds and random-number-generator states, for runs that resume bit for bit.

Every seed the trainer uses is derived from the user's ``seed`` and integer keys
(epoch, batch, rank, worker) by :func:`mix_seed`, a hash through numpy's
``SeedSequence``: ``mix_seed(tag, seed, *keys)`` differs for any change of the
keys, so streams never collide by accident (``seed + epoch`` would make epoch 1
of seed 0 equal epoch 0 of seed 1).

The global generators a training step draws from (dropout uses torch's, user code
may use numpy's or Python's) are captured by :func:`get_rng_state` as tensors and
plain numbers only, so a checkpoint holding them loads with
``torch.load(weights_only=True)``; :func:`set_rng_state` restores them.
:func:`seeded_rng` runs a block with all three generators seeded and then puts the
previous states back: data loading and evaluation draw from their own streams and
never shift the training stream.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from nonconvex_reg.validation import check_int

__all__ = [
    "get_rng_state",
    "mix_seed",
    "seed_everything",
    "seeded_rng",
    "set_rng_state",
]

_SEED_BITS = 63  # torch.manual_seed takes any int below 2**64; keep it positive


def mix_seed(*keys) -> int:
    """Hash non-negative integer keys into one 63-bit seed.

    Parameters
    ----------
    *keys : int
        Non-negative integers, e.g. a stream tag, the run's seed, the epoch.

    Returns
    -------
    int
        A seed in ``[0, 2**63)``, a deterministic function of ``keys``.

    Raises
    ------
    ValueError, TypeError
        If no key is given or a key is not a non-negative integer.

    Examples
    --------
    >>> mix_seed(1, 0, 5) == mix_seed(1, 0, 5), mix_seed(1, 0, 5) == mix_seed(1, 5, 0)
    (True, False)
    """
    if not keys:
        raise ValueError("`keys` must hold at least one integer; got none.")
    # The count goes first: SeedSequence ignores trailing zero words, and
    # (1, 0, 1) must differ from (1, 0, 1, 0).
    entropy = [len(keys), *(check_int(key, "keys", low=0) for key in keys)]
    (word,) = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)
    return int(word) >> (64 - _SEED_BITS)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), numpy's and Python's global generators.

    Parameters
    ----------
    seed : int
        Non-negative seed; numpy receives ``seed mod 2**32`` (its accepted range).
    """
    seed = check_int(seed, "seed", low=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the legacy global state)
    torch.manual_seed(seed)


def _seed_host(seed: int) -> None:
    # Like seed_everything, without touching the CUDA generators (not forked here).
    seed = check_int(seed, "seed", low=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.default_generator.manual_seed(seed)


def get_rng_state(cuda: bool = False) -> dict:
    """The global generators' states as tensors and plain numbers.

    Parameters
    ----------
    cuda : bool, default=False
        Also capture every CUDA device's generator.

    Returns
    -------
    dict
        ``{"torch", "cuda", "numpy", "python"}``; loadable with
        ``torch.load(weights_only=True)``.
    """
    _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    version, words, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if cuda else None,
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "state": torch.tensor(words, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }


def set_rng_state(state: dict) -> None:
    """Restore the generators captured by :func:`get_rng_state`.

    Parameters
    ----------
    state : dict
        The output of :func:`get_rng_state` (possibly after a save/load round
        trip, its tensors on any device: they are read on the host).

    Raises
    ------
    ValueError
        If ``state`` lacks one of the keys ``torch``, ``numpy``, ``python``.
    """
    missing = {"torch", "numpy", "python"} - set(state)
    if missing:
        raise ValueError(
            "`state` must hold the keys torch, numpy and python; missing "
            f"{sorted(missing)}."
        )
    torch.set_rng_state(state["torch"].to("cpu", torch.uint8))
    if state.get("cuda") is not None:
        torch.cuda.set_rng_state_all([s.to("cpu", torch.uint8) for s in state["cuda"]])
    numpy_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            "MT19937",
            numpy_state["keys"].cpu().numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (
            python_state["version"],
            tuple(int(word) for word in python_state["state"].tolist()),
            python_state["gauss_next"],
        )
    )


@contextlib.contextmanager
def seeded_rng(seed: int | None = None):
    """Run a block on private generator streams; the global states come back after.

    Parameters
    ----------
    seed : int, optional
        Seed of torch's CPU, numpy's and Python's generators inside the block;
        ``None`` leaves them as they are (the block only cannot shift them).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_rng_state()
    >>> with seeded_rng(7):
    ...     _ = torch.rand(3)
    >>> bool(torch.equal(before, torch.get_rng_state()))
    True
    """
    numpy_state = np.random.get_state()  # noqa: NPY002
    python_state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            if seed is not None:
                _seed_host(seed)
            yield
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002
            random.setstate(python_state)
