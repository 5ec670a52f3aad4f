"""What a training checkpoint holds, and how a run is restored from it.

A checkpoint taken after step ``k`` stores (tensors and plain containers only,
so it loads with ``torch.load(weights_only=True)``):

===================  =========================================================
``model``            the unwrapped model's ``state_dict``: weights, and the
                     parametrizations' masks and SA++ logits
``optimizer``        momentum buffers / Adam moments, per-group options
``scheduler``        the ``LambdaLR`` step and the schedule's fields
``pruner``           the pruner's step, alive counts and configuration
``position``         ``step``, and the ``(epoch, batch)`` of the next batch
``log_accumulator``  the open logging interval's loss sum and count
``rng``              every rank's torch (CPU, CUDA), numpy and Python generators
``config``           :meth:`TrainConfig.to_dict`
===================  =========================================================

Why a resumed run ends bit-identical to an uninterrupted one (on the CPU): the
trajectory after step ``k`` is a function of that state and nothing else. The
data order of step ``k + 1`` is a pure function of ``(seed, epoch, batch)``,
and loading a batch runs on generators seeded by its position
(:class:`~neural.train.sampler.SeededDataset`), whatever the number of workers;
building loaders and evaluating never draw from the global generators, which
dropout and user code use. What remains is the kernels: CPU kernels are
deterministic for a fixed thread count; on CUDA set ``deterministic=True``.

Restore order: the model (into the model the pruner factory has just
parametrized, so the masks and logits have somewhere to go), the optimizer
(after the pruner added its logits' group), the schedule, then the
pruner's phase state; the generators last, right before the first step.
"""

from __future__ import annotations

import warnings

import torch

from .rng import seed_everything, set_rng_state

__all__ = ["capture_state", "check_resumable", "restore_rng", "restore_state"]


def capture_state(
    *,
    model,
    optimizer,
    scheduler,
    pruner,
    position: dict,
    log_accumulator: dict,
    rng_states: list,
    config,
) -> dict:
    """The checkpoint payload of a run between two steps (see the module table).

    Parameters
    ----------
    model : torch.nn.Module
        The unwrapped model.
    optimizer, scheduler : objects with ``state_dict()``
    pruner : object with ``state_dict()`` or None
    position : dict
        ``step``, ``epoch``, ``batch`` (of the next batch) and ``elapsed_s``.
    log_accumulator : dict
        ``loss_sum`` (a tensor) and ``count``.
    rng_states : list of dict
        :func:`~neural.train.rng.get_rng_state` of every rank, by rank.
    config : TrainConfig

    Returns
    -------
    dict
    """
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "pruner": None if pruner is None else pruner.state_dict(),
        "position": dict(position),
        "log_accumulator": {
            "loss_sum": log_accumulator["loss_sum"].detach().to("cpu"),
            "count": int(log_accumulator["count"]),
        },
        "rng": list(rng_states),
        "config": config.to_dict(),
        "versions": {"torch": str(torch.__version__)},
    }


def check_resumable(state: dict, *, config, pruner, path) -> None:
    """Refuse a checkpoint written with other options or another pruner setup.

    Raises
    ------
    ValueError
        Naming the file and every differing option (``(saved, current)``)
        outside :data:`~neural.train.config.RESUME_FREE`, or saying whether the
        checkpoint had a pruner.
    """
    mismatches = config.resume_mismatches(state["config"])
    if mismatches:
        raise ValueError(
            f"checkpoint {str(path)!r} was written with other options "
            f"(saved, current): {mismatches}; resume with the same options or "
            "start a new run_dir."
        )
    if (state["pruner"] is None) != (pruner is None):
        raise ValueError(
            f"checkpoint {str(path)!r} was written "
            f"{'without' if state['pruner'] is None else 'with'} a pruner; pass "
            "the same `pruner_factory` to resume it."
        )


def restore_state(state: dict, *, model, optimizer, scheduler, pruner) -> None:
    """Load model, optimizer, schedule and pruner states, in that order."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if pruner is not None:
        pruner.load_state_dict(state["pruner"])


def restore_rng(
    state: dict, *, rank: int, world_size: int, device, reseed: int, path
) -> bool:
    """Set this rank's generators from ``state``; reseed if the world size changed.

    Parameters
    ----------
    state : dict
        A checkpoint payload.
    rank, world_size : int
        This process's place in the job.
    device : torch.device
        CUDA generator states are restored on CUDA devices only.
    reseed : int
        Seed used when the checkpoint holds another number of ranks (the run
        continues, but not bit-identically: a warning says so).
    path : str
        The checkpoint, for the warning.

    Returns
    -------
    bool
        Whether the saved states were restored.
    """
    states = state["rng"]
    if len(states) != world_size:
        warnings.warn(
            f"checkpoint {str(path)!r} holds generator states of {len(states)} "
            f"ranks, this run has {world_size}: reseeding (the run continues, "
            "but not bit-identically).",
            UserWarning,
            stacklevel=2,
        )
        seed_everything(reseed)
        return False
    rng = dict(states[rank])
    if device.type != "cuda":
        rng["cuda"] = None
    set_rng_state(rng)
    return True
