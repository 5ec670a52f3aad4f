r"""Data-parallel training under ``torchrun``: process group, DDP, collectives.

``torchrun --nproc_per_node N script.py`` (``python -m torch.distributed.run``)
starts N processes with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in their
environment. :func:`init_distributed`
reads them, joins the process group (NCCL on CUDA, Gloo on the CPU) and picks
the rank's device; ``wrap_model`` wraps the model in
``DistributedDataParallel``, whose backward pass averages the gradients over
the ranks, so every rank applies the same update to identical weights:

.. math::

    g = \frac{1}{R} \sum_{r=1}^{R} \nabla \frac{1}{P} \sum_{i \in B_r} \ell_i
      = \nabla \frac{1}{RP} \sum_{i \in B} \ell_i

(the gradient of the global batch's mean loss when the ``R`` per-rank batches
have ``P`` samples each). Wrap *after* the pruner has registered its
parametrizations: they replace the layers' parameters (and SA++ adds its
logits, whose gradients DDP then averages too). Without ``torchrun`` every
function here is a no-op on a single process.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .device import resolve_device

__all__ = [
    "DistributedContext",
    "all_gather_objects",
    "all_reduce_sum",
    "barrier",
    "broadcast_object",
    "init_distributed",
    "launched_by_torchrun",
    "shutdown",
    "unwrap_model",
    "wrap_model",
]

_INITIALIZATIONS = itertools.count()  # process groups this process created


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the job.

    Attributes
    ----------
    rank : int
        Global rank in ``[0, world_size)``.
    world_size : int
        Number of processes.
    local_rank : int
        Rank on this machine (its GPU index under ``torchrun``).
    backend : str or None
        ``"nccl"`` or ``"gloo"`` when a process group is in use, else ``None``.
    owns_group : bool
        Whether :func:`init_distributed` created the group (and
        ``shutdown`` destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_distributed(self) -> bool:
        """Whether collectives are needed (a process group is in use)."""
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that writes files."""
        return self.rank == 0


def _env_int(name: str, low: int) -> int:
    text = os.environ[name]
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise ValueError(
            f"environment variable {name} must be an integer >= {low}; got {text!r}."
        )
    return value


def launched_by_torchrun() -> bool:
    """Whether ``RANK`` and ``WORLD_SIZE`` are set (as ``torchrun`` does)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device="auto") -> tuple[DistributedContext, torch.device]:
    """Join the ``torchrun`` process group if there is one; pick the device.

    Parameters
    ----------
    device : str or torch.device, default="auto"
        See :func:`~neural.train.device.resolve_device`; under ``torchrun``,
        ``"auto"`` and ``"cuda"`` mean ``cuda:<LOCAL_RANK>``.

    Returns
    -------
    (DistributedContext, torch.device)

    Raises
    ------
    ValueError
        If ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` are malformed or inconsistent.
    RuntimeError
        If the process group is needed and ``torch.distributed`` is unavailable.

    Examples
    --------
    >>> context, device = init_distributed("cpu")  # not under torchrun
    >>> context.world_size, context.is_distributed, device.type
    (1, False, 'cpu')
    """
    if not launched_by_torchrun():
        return DistributedContext(), resolve_device(device)
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if rank >= world_size:
        raise ValueError(
            f"environment variable RANK must be in [0, {world_size - 1}]; got {rank}."
        )
    local_rank = _env_int("LOCAL_RANK", 0) if "LOCAL_RANK" in os.environ else 0
    resolved = resolve_device(device, local_rank=local_rank)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    if world_size == 1:
        return DistributedContext(0, 1, local_rank), resolved
    if not dist.is_available():
        raise RuntimeError(
            "torchrun started several processes but torch.distributed is not "
            "available in this build of torch."
        )
    backend = "nccl" if resolved.type == "cuda" else "gloo"
    owns = not dist.is_initialized()
    if owns:
        # torch names the default group "0" again after destroy_process_group,
        # and torchrun's store outlives the group: a second initialization in
        # the same job could read the first one's stale addresses. Every rank
        # initializes in the same order, so a per-process count is a shared
        # fresh key prefix.
        store, _, _ = next(dist.rendezvous("env://"))
        store = dist.PrefixStore(f"neural.train/{next(_INITIALIZATIONS)}", store)
        dist.init_process_group(
            backend=backend, store=store, rank=rank, world_size=world_size
        )
    else:
        backend = dist.get_backend()
    context = DistributedContext(rank, world_size, local_rank, backend, owns)
    return context, resolved


def shutdown(context: DistributedContext) -> None:
    """Destroy the process group if :func:`init_distributed` created it.

    Drop the ``DistributedDataParallel`` wrapper first. A barrier's work is held
    until the group is gone: the last reference to a finished work is then
    never dropped by a Gloo worker thread (its destructor needs the GIL) while
    this thread, holding the GIL, joins those threads in the group's
    destructor, a deadlock seen with torch 2.13.
    """
    if context.owns_group and dist.is_initialized():
        work = dist.barrier(async_op=True)
        work.wait()
        dist.destroy_process_group()
        del work


def barrier(context: DistributedContext) -> None:
    """Wait for every rank (no-op on one process)."""
    if context.is_distributed:
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Sum ``tensor`` over the ranks, in place; returns it."""
    if context.is_distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_gather_objects(obj, context: DistributedContext) -> list:
    """Every rank's ``obj`` (picklable), indexed by rank."""
    if not context.is_distributed:
        return [obj]
    gathered = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj, context: DistributedContext):
    """Rank 0's ``obj`` on every rank."""
    if not context.is_distributed:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def wrap_model(model, context: DistributedContext, device: torch.device):
    """``DistributedDataParallel(model)`` when distributed, else ``model``.

    Call it after the pruner is built (its parametrizations change the
    parameters). DDP broadcasts rank 0's parameters and buffers at wrapping, so
    the ranks start identical.
    """
    if not context.is_distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def unwrap_model(model):
    """The module inside a ``DistributedDataParallel`` wrapper (or ``model``)."""
    return getattr(model, "module", model) if _is_ddp(model) else model


def _is_ddp(model) -> bool:
    from torch.nn.parallel import DistributedDataParallel

    return isinstance(model, DistributedDataParallel)
