"""Training from a recipe, and the run folder it leaves: ``sapp train``.

A run folder (``runs/<recipe>-<method>-<time>`` by default) holds

* ``recipe.toml``: the resolved recipe, written first; eval and export rebuild
  the model from it;
* ``data/``: synthetic data, when the recipe generates them and names no path;
* ``ckpt-*.pt`` (+ ``.sha256``), ``latest``, ``metrics.jsonl``, ``metrics.csv``,
  ``support.csv`` (the pruner's support history: blocks swapped at every entry
  into a sparse phase, overlap with the final support) and ``model.pt`` (the
  finalized model), written by :class:`~neural.train.Trainer`;
* ``result.json``: :meth:`TrainResult.to_dict` plus the recipe and wall time;
  its pruning report summarizes the support history per layer.

Training is planned first (:func:`plan_training`: every check, nothing written),
then run (:func:`run_training`). ``steps`` shortens or lengthens a recipe: the
warm-up keeps its share of training (``train.warmup_steps`` is rescaled, and the
plan's notes say so). :mod:`neural.recipes.trained` evaluates and exports the
finished run.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nonconvex_reg.validation import check_int

from ..atomic import atomic_file
from ..train import RESUME_FREE, Trainer, TrainResult
from .build import (
    build_dataset,
    build_model,
    check_data_root,
    data_root,
    ensure_synthetic_data,
    n_train_samples,
    pruner_factory,
)
from .recipe import Recipe, load_recipe

__all__ = [
    "RECIPE_FILE",
    "RESULT_FILE",
    "TrainPlan",
    "default_run_dir",
    "plan_training",
    "run_training",
    "train_recipe",
]

RECIPE_FILE = "recipe.toml"
RESULT_FILE = "result.json"


def _is_main() -> bool:
    return os.environ.get("RANK", "0") == "0"


def default_run_dir(recipe: Recipe, *, parent="runs", now=None) -> Path:
    """``runs/<recipe>-<method>-<YYYYmmdd-HHMMSS>`` (``-2``, ... if taken).

    Examples
    --------
    >>> import datetime
    >>> from neural.recipes import load_recipe
    >>> when = datetime.datetime(2024, 5, 1, 12, 0, 0)
    >>> default_run_dir(load_recipe("criteo_sapp:quick"), now=when).as_posix()
    'runs/criteo_sapp-quick-sapp-20240501-120000'
    """
    now = datetime.datetime.now() if now is None else now
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", recipe.name)
    stem = f"{name}-{recipe.method}-{now:%Y%m%d-%H%M%S}"
    path, n = Path(parent) / stem, 1
    while path.exists():
        n += 1
        path = Path(parent) / f"{stem}-{n}"
    return path


@dataclass
class TrainPlan:
    """A checked training run, not started (:func:`plan_training`).

    Attributes
    ----------
    recipe : Recipe
        With ``steps`` applied.
    config : TrainConfig
    run_dir : pathlib.Path
    data_root : pathlib.Path or None
    steps_per_epoch : int
    total_steps : int
    generate_data : bool
        Whether synthetic data will be written into ``data_root`` first.
    notes : list of str
        What the plan changed or will write, for the user.
    """

    recipe: Recipe
    config: object
    run_dir: Path
    data_root: Path | None
    steps_per_epoch: int
    total_steps: int
    generate_data: bool
    notes: list[str] = field(default_factory=list)
    train_data: object = field(default=None, repr=False)


def _differences(stored: dict, current: dict, prefix="") -> list[str]:
    keys = sorted(set(stored) | set(current))
    found = []
    for key in keys:
        name = f"{prefix}{key}"
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{name}.")
        elif a != b:
            found.append(f"{name}: {a!r} -> {b!r}")
    return found


def _check_resume(recipe: Recipe, run_dir: Path) -> None:
    stored = load_recipe(run_dir / RECIPE_FILE).to_dict()
    current = recipe.to_dict()
    for raw in (stored, current):
        raw.pop("name")
        raw.pop("description")
        for key in RESUME_FREE:
            raw["train"].pop(key, None)
    changed = _differences(stored, current)
    if changed:
        raise ValueError(
            f"`resume`: the recipe differs from the run's {RECIPE_FILE} in "
            f"{changed}; resume with the same recipe or use another --run-dir."
        )


def plan_training(
    recipe: Recipe,
    *,
    run_dir=None,
    resume: bool = False,
    steps: int | None = None,
    rescale_warmup: bool = True,
) -> TrainPlan:
    """Check everything a run needs, writing nothing.

    Parameters
    ----------
    recipe : Recipe
    run_dir : path, optional
        Default :func:`default_run_dir`. Without ``resume`` it must not exist or
        be empty.
    resume : bool, default=False
        Continue the run in ``run_dir`` (its ``recipe.toml`` must match, except
        :data:`~neural.train.RESUME_FREE` options).
    steps : int, optional
        Train this many steps instead of the recipe's length.
    rescale_warmup : bool, default=True
        With ``steps``, scale ``train.warmup_steps`` by ``steps / recipe steps``.

    Returns
    -------
    TrainPlan

    Raises
    ------
    ValueError, TypeError, FileNotFoundError, FileExistsError
        Naming the option, folder or key at fault.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"`recipe` must be a Recipe; got {type(recipe).__name__}.")
    if resume and run_dir is None:
        raise ValueError("`resume` needs the run's folder: pass --run-dir.")
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(recipe)
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(f"`run_dir` {str(run_dir)!r} is a file, not a folder.")
    occupied = run_dir.is_dir() and any(run_dir.iterdir())
    if occupied and not resume:
        raise FileExistsError(
            f"`run_dir` {str(run_dir)!r} already exists and is not empty; pass "
            "--resume to continue its run or choose another folder."
        )
    if resume and occupied and not (run_dir / RECIPE_FILE).is_file():
        raise FileNotFoundError(
            f"`run_dir` {str(run_dir)!r} holds no {RECIPE_FILE}: not a sapp run."
        )
    notes = []
    path = recipe.data.get("path")
    if path is not None and not Path(path).is_absolute():  # eval runs from anywhere
        recipe = recipe.updated({"data.path": str(Path(path).absolute())})
    root = data_root(recipe, run_dir)
    check_data_root(recipe, root)
    train_data = None
    n_train = n_train_samples(recipe)
    if n_train is None:
        train_data = build_dataset(recipe, "train", root)
        n_train = len(train_data)
    batch = recipe.train["batch_size"]
    per_epoch = (
        n_train // batch if recipe.train["drop_last"] else math.ceil(n_train / batch)
    )
    if per_epoch == 0:
        raise ValueError(
            f"`train.batch_size` must be at most the {n_train} training samples "
            f"(drop_last=True); got {batch}."
        )
    if steps is not None:
        steps = check_int(steps, "steps", low=1)
        planned = recipe.train.get("total_steps") or recipe.train["epochs"] * per_epoch
        updates = {"train.total_steps": steps}
        warmup = recipe.train["warmup_steps"]
        if rescale_warmup and warmup:
            scaled = min(round(warmup * steps / planned), steps - 1)
            updates["train.warmup_steps"] = scaled
            notes.append(
                f"--steps {steps}: train.warmup_steps scaled {warmup} -> {scaled} "
                f"(the same share of the {planned} steps the recipe plans)"
            )
        recipe = recipe.updated(updates)
    total = recipe.train.get("total_steps") or recipe.train["epochs"] * per_epoch
    if recipe.train["warmup_steps"] >= total:
        raise ValueError(
            f"`train.warmup_steps` must be less than the run's {total} steps; got "
            f"{recipe.train['warmup_steps']} (--set train.warmup_steps=N)."
        )
    if resume and (run_dir / RECIPE_FILE).is_file():
        _check_resume(recipe, run_dir)
    generate = recipe.data["kind"].startswith("synthetic_") and not root.exists()
    if generate:
        notes.append(
            f"synthetic data ({recipe.data['kind']}) will be written to {root}"
        )
    return TrainPlan(
        recipe=recipe,
        config=recipe.train_config(run_dir, resume),
        run_dir=run_dir,
        data_root=root,
        steps_per_epoch=per_epoch,
        total_steps=total,
        generate_data=generate,
        notes=notes,
        train_data=train_data,
    )


def run_training(plan: TrainPlan) -> TrainResult:
    """Write ``recipe.toml`` (and synthetic data), train, write ``result.json``.

    Returns
    -------
    TrainResult
    """
    recipe, run_dir = plan.recipe, plan.run_dir
    if _is_main():
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(run_dir / RECIPE_FILE) as tmp:
            tmp.write_text(recipe.to_toml())
    ensure_synthetic_data(recipe, plan.data_root)
    train = plan.train_data
    if train is None:
        train = build_dataset(recipe, "train", plan.data_root)
    val = build_dataset(recipe, "val", plan.data_root)
    torch.manual_seed(recipe.train["seed"])
    model = build_model(recipe)
    start = time.perf_counter()
    result = Trainer(
        model, train, plan.config, eval_data=val, pruner_factory=pruner_factory(recipe)
    ).fit()
    wall = time.perf_counter() - start
    if _is_main():
        record = {**result.to_dict(), "recipe": recipe.name, "wall_time_s": wall}
        with atomic_file(run_dir / RESULT_FILE) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
    return result


def train_recipe(recipe, **options) -> TrainResult:
    """``run_training(plan_training(recipe, **options))``; ``recipe`` may be a name.

    Returns
    -------
    TrainResult
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    return run_training(plan_training(recipe, **options))
