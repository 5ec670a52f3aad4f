"""The result of a training run: the trained model and what the run measured."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """What a finished run returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model, finalized (plain, exact block zeros) when pruned.
    pruner : object or None
        The finalized pruner (its ``report()`` and masks stay readable).
    steps : int
        Optimizer steps taken in total (over every resume).
    epochs : float
        ``steps / steps_per_epoch``.
    train_loss : float or None
        Mean training loss of the last logging interval.
    eval : dict or None
        The last periodic evaluation.
    final_eval : dict or None
        The evaluation of the finalized model.
    report : PruningReport or None
        ``pruner.report()`` after finalization.
    run_dir : str or None
    checkpoint : str or None
        The last checkpoint written or loaded.
    model_path : str or None
        ``run_dir/model.pt``: the finalized model's ``state_dict``.
    resumed_from : str or None
        The checkpoint this run resumed from.
    """

    model: torch.nn.Module = field(repr=False)
    pruner: object | None = field(repr=False)
    steps: int
    epochs: float
    train_loss: float | None
    eval: dict | None
    final_eval: dict | None
    report: object | None = field(repr=False)
    run_dir: str | None
    checkpoint: str | None
    model_path: str | None
    resumed_from: str | None

    def to_dict(self) -> dict:
        """JSON-ready summary (without the model and the pruner)."""
        return {
            "steps": self.steps,
            "epochs": self.epochs,
            "train_loss": self.train_loss,
            "eval": self.eval,
            "final_eval": self.final_eval,
            "report": None if self.report is None else self.report.to_dict(),
            "run_dir": self.run_dir,
            "checkpoint": self.checkpoint,
            "model_path": self.model_path,
            "resumed_from": self.resumed_from,
        }
