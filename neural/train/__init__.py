"""Training engine: optimizers, schedules, resumable data, checkpoints, metrics, DDP.

:func:`train` (or :class:`Trainer`) runs a :class:`TrainConfig` on a model and a
map-style dataset, optionally with a pruner built by a factory
``(model, optimizer, total_steps) -> pruner`` (e.g. :func:`neural.prune`). Runs
checkpoint atomically and resume bit for bit on the CPU; under ``torchrun`` they
use ``DistributedDataParallel``. See ``neural.train.trainer`` for the order of
construction and what a checkpoint holds.
"""

from .checkpoint import (
    CheckpointError,
    CheckpointManager,
    CheckpointWarning,
    load_checkpoint,
    save_checkpoint,
    verify_checkpoint,
)
from .config import RESUME_FREE, TrainConfig
from .device import autocast, call_model, resolve_device, to_device
from .distributed import DistributedContext, init_distributed, launched_by_torchrun
from .evaluate import LOSSES, compute_loss, evaluate, roc_auc
from .metrics import CSV_COLUMNS, MetricsWriter, read_metrics
from .optim import (
    OPTIMIZERS,
    SCHEDULES,
    ConstantLR,
    ExponentialDecay,
    WarmupCosine,
    build_optimizer,
    build_scheduler,
)
from .result import TrainResult
from .rng import get_rng_state, mix_seed, seed_everything, seeded_rng, set_rng_state
from .sampler import (
    IndexBatch,
    ResumableBatchSampler,
    SeededDataset,
    make_loader,
    seed_worker,
)
from .state import capture_state, check_resumable, restore_rng, restore_state
from .trainer import PrunerFactory, Trainer, train

__all__ = [
    "CSV_COLUMNS",
    "LOSSES",
    "OPTIMIZERS",
    "RESUME_FREE",
    "SCHEDULES",
    "CheckpointError",
    "CheckpointManager",
    "CheckpointWarning",
    "ConstantLR",
    "DistributedContext",
    "ExponentialDecay",
    "IndexBatch",
    "MetricsWriter",
    "PrunerFactory",
    "ResumableBatchSampler",
    "SeededDataset",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "WarmupCosine",
    "autocast",
    "build_optimizer",
    "build_scheduler",
    "capture_state",
    "check_resumable",
    "call_model",
    "compute_loss",
    "evaluate",
    "get_rng_state",
    "init_distributed",
    "launched_by_torchrun",
    "load_checkpoint",
    "make_loader",
    "mix_seed",
    "read_metrics",
    "resolve_device",
    "restore_rng",
    "restore_state",
    "roc_auc",
    "save_checkpoint",
    "seed_everything",
    "seed_worker",
    "seeded_rng",
    "set_rng_state",
    "to_device",
    "train",
    "verify_checkpoint",
]
