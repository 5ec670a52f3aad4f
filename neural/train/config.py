"""The training configuration: one validated, frozen dataclass of plain values.

Its :meth:`TrainConfig.to_dict` (plain types only) goes into every checkpoint;
a resumed run checks that the options which shape the trajectory still match
(:data:`RESUME_FREE` lists those that may change between a run and its resume).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nonconvex_reg.validation import check_choice, check_int, check_scalar

from .evaluate import LOSSES
from .optim import OPTIMIZERS, SCHEDULES

__all__ = ["RESUME_FREE", "TrainConfig"]

RESUME_FREE = frozenset(
    {
        "resume",
        "run_dir",
        "device",
        "num_workers",
        "progress",
        "tensorboard",
        "keep_checkpoints",
    }
)
"""Options a resumed run may change: they do not alter the weights' trajectory."""


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool; got {value!r}.")
    return value


def _check_optional_int(value, name, low):
    return None if value is None else check_int(value, name, low=low)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the model, the data and the pruner.

    Parameters
    ----------
    run_dir : str or None, default=None
        Folder of checkpoints and metrics; ``None`` writes nothing (no resume).
    total_steps : int, optional
        Optimizer steps of the run, ``>= 1``. Give it or ``epochs``, not both.
    epochs : int, optional
        Passes over the training set; ``total_steps = epochs * steps_per_epoch``.
    batch_size : int, default=256
        Global batch size (summed over the ranks), ``>= 1``.
    loss : {"cross_entropy", "bce_with_logits"}, default="cross_entropy"
    optimizer : {"sgd", "adam", "adamw"}, default="sgd"
    lr : float, default=0.1
        Peak (SGD) or initial (Adam) learning rate, ``> 0``.
    momentum : float, default=0.9
        SGD momentum, in ``[0, 1)``.
    nesterov : bool, default=False
    weight_decay : float, default=0.0
        ``>= 0``; SA++'s logits inherit it (Appendix C.1, trick 2).
    betas : pair of float, default=(0.9, 0.999)
    eps : float, default=1e-8
    schedule : {"constant", "warmup_cosine", "exponential"}, default="constant"
    warmup_steps : int, default=0
        Linear warm-up steps of ``"warmup_cosine"``.
    final_lr : float, optional
        Last step's learning rate of ``"exponential"`` (required there).
    grad_clip_norm : float, optional
        Clip the global gradient norm to this value (``> 0``).
    seed : int, default=0
        Seeds the data order, the data loading and the global generators.
    shuffle : bool, default=True
    drop_last : bool, default=True
    num_workers : int, default=0
        ``DataLoader`` worker processes.
    device : str, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    mixed_precision : bool, default=True
        bf16 autocast on CUDA; ignored on the CPU.
    channels_last : bool, default=False
        ``channels_last`` model and 4-D inputs on CUDA (convolutional models);
        ignored on the CPU.
    deterministic : bool, default=False
        ``torch.use_deterministic_algorithms(True)`` (and deterministic cuDNN,
        with ``CUBLAS_WORKSPACE_CONFIG`` set if absent). CPU runs resume bit for
        bit without it; CUDA runs need it for that.
    log_every : int, default=50
        Steps per logging interval (mean training loss, rank 0 writes).
    eval_every : int, optional
        Steps between evaluations on the eval dataset.
    eval_batch_size : int, optional
        Global evaluation batch size; default ``batch_size``.
    final_eval : bool, default=True
        Evaluate the finalized model at the end (when an eval dataset is given).
    checkpoint_every : int, optional
        Steps between checkpoints; one is always written at the end when
        ``run_dir`` is set.
    keep_checkpoints : int, default=3
        Newest checkpoints kept.
    resume : bool, default=False
        Continue from the newest valid checkpoint in ``run_dir`` (start afresh if
        there is none). Without it, a ``run_dir`` holding checkpoints is refused.
    progress : bool, optional
        Progress bar; default when stderr is a terminal (rank 0 only).
    tensorboard : {"auto", True, False}, default="auto"
        TensorBoard scalars as well (``"auto"``: when installed).

    Raises
    ------
    ValueError, TypeError
        On any bad option, naming it and the accepted range.

    Examples
    --------
    >>> config = TrainConfig(total_steps=1000, optimizer="adam", lr=2e-2,
    ...                      schedule="exponential", final_lr=3e-4,
    ...                      loss="bce_with_logits")
    >>> TrainConfig.from_dict(config.to_dict()) == config
    True
    """

    run_dir: str | None = None
    total_steps: int | None = None
    epochs: int | None = None
    batch_size: int = 256
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    schedule: str = "constant"
    warmup_steps: int = 0
    final_lr: float | None = None
    grad_clip_norm: float | None = None
    seed: int = 0
    shuffle: bool = True
    drop_last: bool = True
    num_workers: int = 0
    device: str = "auto"
    mixed_precision: bool = True
    channels_last: bool = False
    deterministic: bool = False
    log_every: int = 50
    eval_every: int | None = None
    eval_batch_size: int | None = None
    final_eval: bool = True
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    resume: bool = False
    progress: bool | None = None
    tensorboard: bool | str = field(default="auto")

    def __post_init__(self):
        if self.run_dir is not None and not isinstance(self.run_dir, str):
            raise TypeError(
                f"`run_dir` must be a str or None; got {type(self.run_dir).__name__} "
                "(pass str(path))."
            )
        if (self.total_steps is None) == (self.epochs is None):
            raise ValueError(
                "exactly one of `total_steps` and `epochs` must be given; got "
                f"total_steps={self.total_steps!r}, epochs={self.epochs!r}."
            )
        _check_optional_int(self.total_steps, "total_steps", 1)
        _check_optional_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", low=1)
        check_choice(self.loss, "loss", LOSSES)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_scalar(self.lr, "lr", low=0.0, low_inclusive=False)
        check_scalar(self.momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
        _check_bool(self.nesterov, "nesterov")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0.0):
            raise ValueError(
                "`nesterov=True` needs optimizer='sgd' and momentum in (0, 1); got "
                f"optimizer={self.optimizer!r}, momentum={self.momentum!r}."
            )
        check_scalar(self.weight_decay, "weight_decay", low=0.0)
        if not isinstance(self.betas, tuple) or len(self.betas) != 2:
            raise TypeError(
                f"`betas` must be a tuple of two floats; got {self.betas!r}."
            )
        for i, beta in enumerate(self.betas):
            check_scalar(beta, f"betas[{i}]", low=0.0, high=1.0, high_inclusive=False)
        check_scalar(self.eps, "eps", low=0.0, low_inclusive=False)
        check_choice(self.schedule, "schedule", SCHEDULES)
        check_int(self.warmup_steps, "warmup_steps", low=0)
        if self.warmup_steps and self.schedule != "warmup_cosine":
            raise ValueError(
                "`warmup_steps` applies to schedule='warmup_cosine' only; got "
                f"{self.warmup_steps} with schedule={self.schedule!r}."
            )
        if (self.final_lr is None) == (self.schedule == "exponential"):
            raise ValueError(
                "`final_lr` must be given for schedule='exponential' and only there; "
                f"got final_lr={self.final_lr!r} with schedule={self.schedule!r}."
            )
        if self.final_lr is not None:
            check_scalar(self.final_lr, "final_lr", low=0.0, low_inclusive=False)
        if self.grad_clip_norm is not None:
            check_scalar(
                self.grad_clip_norm, "grad_clip_norm", low=0.0, low_inclusive=False
            )
        check_int(self.seed, "seed", low=0)
        for name in (
            "shuffle",
            "drop_last",
            "mixed_precision",
            "channels_last",
            "deterministic",
            "final_eval",
            "resume",
        ):
            _check_bool(getattr(self, name), name)
        check_int(self.num_workers, "num_workers", low=0)
        if not isinstance(self.device, str):
            raise TypeError(f"`device` must be a str; got {self.device!r}.")
        check_int(self.log_every, "log_every", low=1)
        _check_optional_int(self.eval_every, "eval_every", 1)
        _check_optional_int(self.eval_batch_size, "eval_batch_size", 1)
        _check_optional_int(self.checkpoint_every, "checkpoint_every", 1)
        check_int(self.keep_checkpoints, "keep_checkpoints", low=1)
        if self.resume and self.run_dir is None:
            raise ValueError("`resume=True` needs a `run_dir`; got run_dir=None.")
        if self.progress is not None:
            _check_bool(self.progress, "progress")
        if self.tensorboard not in ("auto", True, False):
            raise ValueError(
                "`tensorboard` must be one of ('auto', True, False); "
                f"got {self.tensorboard!r}."
            )

    def to_dict(self) -> dict:
        """Plain types only (tuples become lists): for JSON and checkpoints."""
        values = dataclasses.asdict(self)
        values["betas"] = list(self.betas)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused.

        Raises
        ------
        ValueError
            If ``values`` holds a key that is not an option.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"`values` holds unknown options {unknown}; known: {sorted(known)}."
            )
        values = dict(values)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)

    def resume_mismatches(self, saved: dict) -> dict:
        """Options that differ from a checkpoint's config, except :data:`RESUME_FREE`.

        Returns
        -------
        dict
            ``{name: (saved, current)}``; empty when the run may resume.
        """
        current = self.to_dict()
        return {
            key: (saved.get(key), value)
            for key, value in current.items()
            if key not in RESUME_FREE and saved.get(key) != value
        }
