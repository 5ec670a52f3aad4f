"""What to do with a trained run: find it, reload it, evaluate it, export it.

``sapp eval`` and ``sapp export`` take a run folder (see :mod:`neural.recipes.run`),
its ``model.pt`` or one of its ``ckpt-*.pt``. The model is rebuilt from the run's
``recipe.toml`` and the weights loaded with ``torch.load(weights_only=True)``
after the SHA-256 check. A training checkpoint still carries the pruner's
parametrizations (masks, SA++ logits): the pruner is rebuilt around the model
with the same options and its phase state loaded, so the model runs as it
trained at that step, or is finalized (``finalize=True``) into a plain model
with exact block zeros.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from nonconvex_reg.validation import check_choice, check_int

from ..export import ExportReport, export_block_sparse, save_exported
from ..export.serialize import FORMAT
from ..train import call_model, evaluate, load_checkpoint, resolve_device
from ..train.checkpoint import MODEL_NAME, CheckpointManager
from .build import (
    build_dataset,
    build_model,
    check_data_root,
    data_root,
    ensure_synthetic_data,
    example_inputs,
    pruned_layers,
    pruner_factory,
)
from .recipe import Recipe, load_recipe
from .run import RECIPE_FILE, RESULT_FILE

__all__ = [
    "EvalResult",
    "ExportResult",
    "RunFiles",
    "evaluate_checkpoint",
    "export_checkpoint",
    "load_trained_model",
    "locate_run",
]


@dataclass(frozen=True)
class RunFiles:
    """A run folder and the weights file to load from it."""

    run_dir: Path
    weights: Path

    @property
    def recipe_path(self) -> Path:
        """The run's ``recipe.toml``."""
        return self.run_dir / RECIPE_FILE


def locate_run(checkpoint) -> RunFiles:
    """The run folder and weights of a run folder, its ``model.pt`` or a checkpoint.

    A folder gives its ``model.pt`` when training finished, else its newest
    checkpoint.

    Raises
    ------
    FileNotFoundError
        If the path, the weights or the run's ``recipe.toml`` do not exist.
    """
    path = Path(checkpoint)
    if not path.exists():
        raise FileNotFoundError(f"`checkpoint` {str(path)!r} does not exist.")
    if path.is_dir():
        run_dir, weights = path, path / MODEL_NAME
        if not weights.is_file():
            found = CheckpointManager(path).checkpoints()
            if not found:
                raise FileNotFoundError(
                    f"`checkpoint` {str(path)!r} holds neither {MODEL_NAME} nor a "
                    "checkpoint."
                )
            weights = found[-1]
    else:
        run_dir, weights = path.parent, path
    files = RunFiles(run_dir, weights)
    if not files.recipe_path.is_file():
        raise FileNotFoundError(
            f"`checkpoint` {str(path)!r}: its folder holds no {RECIPE_FILE}, so the "
            "model cannot be rebuilt (give a run folder of sapp train or a file in it)."
        )
    return files


def load_trained_model(files: RunFiles, recipe: Recipe, *, finalize: bool):
    """Rebuild the run's model and load its weights (``weights_only=True``).

    ``model.pt`` holds the finalized model. A training checkpoint holds the
    pruner's parametrizations too: the pruner is rebuilt around the model and
    its state loaded, then (``finalize``) folded into a plain model.

    Returns
    -------
    model : torch.nn.Module
        On the CPU, in eval mode.
    step : int or None
        The checkpoint's step, or the finished run's.

    Raises
    ------
    CheckpointError
        If the file is corrupt (SHA-256) or not a checkpoint.
    ValueError
        If the weights do not fit the recipe's model.
    """
    state = load_checkpoint(files.weights)
    model = build_model(recipe)
    try:
        if "position" not in state:  # model.pt: the finalized model
            model.load_state_dict(state["model"])
            result = files.run_dir / RESULT_FILE
            step = json.loads(result.read_text())["steps"] if result.is_file() else None
            return model.eval(), step
        pruner_state = state["pruner"]
        total = pruner_state["config"]["timeline"]["total_steps"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no optimizer: inference
            pruner = pruner_factory(recipe)(model, None, total)
        model.load_state_dict(state["model"])
        pruner.load_state_dict(pruner_state)
    except (KeyError, RuntimeError, ValueError) as error:
        raise ValueError(
            f"{str(files.weights)!r} does not fit the model of "
            f"{str(files.recipe_path)!r}: {error}"
        ) from None
    if finalize:
        model = pruner.finalize()
    return model.eval(), state["position"]["step"]


@dataclass(frozen=True)
class EvalResult:
    """Metrics of a trained model on its recipe's evaluation split.

    Attributes
    ----------
    checkpoint : str
        The weights file evaluated.
    run_dir : str
    recipe : str
    step : int or None
    metrics : dict
        ``loss``, ``accuracy``, ``n_samples`` (and ``auc`` for Criteo).
    """

    checkpoint: str
    run_dir: str
    recipe: str
    step: int | None
    metrics: dict

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "checkpoint": self.checkpoint,
            "run_dir": self.run_dir,
            "recipe": self.recipe,
            "step": self.step,
            "metrics": dict(self.metrics),
        }

    def __str__(self) -> str:
        step = "" if self.step is None else f" at step {self.step}"
        lines = [f"{self.recipe}: {self.checkpoint}{step}", "metric        value"]
        for key, value in self.metrics.items():
            text = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"{key:<12} {text:>7}")
        return "\n".join(lines)


def _ready_data(recipe, run_dir):
    root = data_root(recipe, run_dir)
    check_data_root(recipe, root)
    if root is not None and recipe.data["kind"].startswith("synthetic_"):
        ensure_synthetic_data(recipe, root)
    return root


def evaluate_checkpoint(
    checkpoint, *, data=None, batch_size: int | None = None
) -> EvalResult:
    """Evaluate a run's model (or a checkpoint of it) on the recipe's eval split.

    A training checkpoint is evaluated as it trains at that step (masks and
    attention applied, not finalized).

    Parameters
    ----------
    checkpoint : path
        A run folder, its ``model.pt`` or a ``ckpt-*.pt`` in it.
    data : path, optional
        Read the eval split from this dataset (as ``sapp train --data``).
    batch_size : int, optional
        Default ``train.eval_batch_size`` or ``train.batch_size``.

    Returns
    -------
    EvalResult
    """
    files = locate_run(checkpoint)
    recipe = load_recipe(files.recipe_path)
    if data is not None:
        recipe = recipe.with_data(data)
    train = recipe.train
    batch_size = check_int(
        batch_size or train.get("eval_batch_size") or train["batch_size"],
        "batch_size",
        low=1,
    )
    model, step = load_trained_model(files, recipe, finalize=False)
    dataset = build_dataset(recipe, "val", _ready_data(recipe, files.run_dir))
    device = resolve_device(train["device"])
    metrics = evaluate(
        model.to(device),
        dataset,
        loss=train["loss"],
        batch_size=batch_size,
        device=device,
        num_workers=train["num_workers"],
        mixed_precision=train["mixed_precision"],
        seed=train["seed"],
    )
    return EvalResult(
        str(files.weights), str(files.run_dir), recipe.name, step, metrics
    )


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_checkpoint` wrote.

    Attributes
    ----------
    checkpoint : str
    out : str
    recipe : str
    report : ExportReport
        Per-layer decisions.
    dense_bytes : int
        Size of the finalized model saved dense in the same file format.
    exported_bytes : int
        Size of ``out``.
    max_abs_error : float
        Largest output difference, exported vs dense, on the example batch.
    """

    checkpoint: str
    out: str
    recipe: str
    report: ExportReport
    dense_bytes: int
    exported_bytes: int
    max_abs_error: float

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "checkpoint": self.checkpoint,
            "out": self.out,
            "recipe": self.recipe,
            "report": self.report.to_dict(),
            "dense_bytes": self.dense_bytes,
            "exported_bytes": self.exported_bytes,
            "max_abs_error": self.max_abs_error,
        }

    def __str__(self) -> str:
        ratio = self.exported_bytes / self.dense_bytes
        return (
            f"{self.report}\n\n"
            f"dense     {self.dense_bytes:>12,d} bytes\n"
            f"exported  {self.exported_bytes:>12,d} bytes ({ratio:.1%}) -> {self.out}\n"
            f"max |exported - dense| output difference: {self.max_abs_error:.3g}"
        )


def _dense_bytes(model) -> int:
    buffer = io.BytesIO()
    torch.save(
        {"format": FORMAT, "layers": {}, "state_dict": model.state_dict()}, buffer
    )
    return buffer.tell()


def export_checkpoint(
    checkpoint,
    out,
    *,
    policy: str = "measure",
    batch_size: int = 16,
    repeats: int = 15,
) -> ExportResult:
    """Export a run's finalized model to block-sparse layers and save it to ``out``.

    The pruned layers and their blocks come from the run's recipe; a layer whose
    block does not divide its matrix stays dense (``ragged="dense"``). Timing
    (``policy="measure"``) runs on a random batch of the recipe's input shape.

    Parameters
    ----------
    checkpoint : path
        A run folder, its ``model.pt`` or a ``ckpt-*.pt`` (finalized first).
    out : path
        File to write (:func:`neural.export.save_exported`); its folder must exist.
    policy : {"measure", "sparse"}, default="measure"
    batch_size : int, default=16
        Rows of the example batch.
    repeats : int, default=15
        Timed calls per layer and form.

    Returns
    -------
    ExportResult
    """
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"`out` {str(out)!r} is a folder; give a file name.")
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"`out` {str(out)!r}: its folder {str(out.parent)!r} does not exist."
        )
    policy = check_choice(policy, "policy", ("measure", "sparse"))
    batch_size = check_int(batch_size, "batch_size", low=1)
    repeats = check_int(repeats, "repeats", low=1)
    files = locate_run(checkpoint)
    recipe = load_recipe(files.recipe_path)
    model, _ = load_trained_model(files, recipe, finalize=True)
    inputs = example_inputs(recipe, batch_size)
    exported, report = export_block_sparse(
        model,
        layers=pruned_layers(recipe),
        example_inputs=inputs,
        policy=policy,
        ragged="dense",
        repeats=repeats,
    )
    with torch.no_grad():
        error = (call_model(model, inputs) - call_model(exported, inputs)).abs().max()
    dense_bytes = _dense_bytes(model)
    exported_bytes = save_exported(exported, out)
    return ExportResult(
        str(files.weights),
        str(out),
        recipe.name,
        report,
        dense_bytes,
        exported_bytes,
        float(error),
    )
