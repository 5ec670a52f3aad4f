r"""``sapp bench pruning``: every method x block size x sparsity, at CPU scale.

Two tasks, each trained from the built-in recipes (the same code path as
``sapp train``), every cell over several seeds:

* **criteo**: the paper's Table 2 (arXiv:2402.17902) on the synthetic
  Criteo-format data of the ``criteo_*:quick`` recipes, whose labels come from a
  planted block-sparse teacher (:mod:`neural.data.criteo_synthetic`). The full
  CriteoDNN (39 features embedded in R^10, a 390-400-400-400-1 tower, 1000
  buckets per column) is trained for the quick recipe's 400 steps, on batches
  of 512 (4 epochs of its 50 000 rows); only the first dense layer (400 x 390) is
  pruned, with B x B blocks (B = 20 leaves a ragged 10-column edge). Reported:
  validation log-loss and AUC on 10 000 fresh rows, and recovery of the planted
  support. The student's hidden units are unidentifiable (any permutation fits
  as well), so recovery is measured on the *input* side, the only identifiable
  one: a feature is *planted* when the teacher's W1 reads it; **precision** is
  the share of kept blocks whose columns touch a planted feature (``chance`` is
  that share for blocks kept uniformly at random), **recall** the share of
  planted features that some kept block reads.
* **mnist1d**: an MLP 40-256-256-10 on MNIST-1D (4000 train / 1000 test,
  generated locally) from the ``mnist1d_*`` recipes; its two hidden layers are
  pruned (the 10-row classifier stays dense); test accuracy.

Every method runs on its recipe's timeline (magnitude and powerprop: one-shot
with fine-tuning; ACDC and SA++: the paper's phase timelines) with the same
optimizer, steps and seeds, plus ``gmp``: gradual magnitude pruning, the
magnitude recipe on the ``gradual`` timeline (not in the paper; the strong form
of its magnitude baseline); a dense model trained the same way is the baseline.
Every pruned run also records how its support moved between sparse phases
(:mod:`benchmarks.pruning.swaps`: sparse entries, blocks swapped in per entry,
overlap of the first sparse support with the final one). The seed sets the
model's initialization and the batch order; the data are the same for every
seed. Cells are independent runs, spread over ``jobs`` worker
processes with one torch thread each.

The paper's hypothesis under test (arXiv:2402.17902, Table 2): SA++ has the lowest loss,
and its lead over the best other method grows with block size and sparsity. The
Markdown states, cell by cell, whether SA++ wins (its mean beats every other
method's by more than the larger of the two standard deviations), ties or loses.

Grids, each with 3 seeds, and their cost on the 2-core development machine
(``jobs=2``, idle; CPU time is the workers' user time):

========  ===========================  ===============================  ====  =====
mode      criteo (blocks, sparsities)  mnist1d (blocks, sparsities)     wall  CPU
========  ===========================  ===============================  ====  =====
quick     10, 20; 0.95                 8, 16; 0.8, 0.95 (500 steps)     4m    7.7m
full      5, 10, 20; 0.9 ... 0.99      4, 8, 16; 0.7 ... 0.95 (3000)    36m   71m
========  ===========================  ===============================  ====  =====

(96 and 411 runs.) ``--tasks``, ``--blocks`` and ``--sparsities`` run part of a
grid; ``--compare`` checks a rerun against a record
(:mod:`benchmarks.pruning.compare`). Writes ``pruning.{json,md}`` and
``pruning_<task>.png`` (``pruning_quick.*`` in quick mode, so a quick run never
overwrites the full one); the summaries, verdicts, tables and plots are in
:mod:`benchmarks.pruning.report`, the command in :mod:`benchmarks.pruning.cli`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import math
import multiprocessing
import tempfile
from pathlib import Path

import numpy as np

from nonconvex_reg.validation import check_int, check_subset

from ..results import run_metadata
from .holdout import holdout_split
from .swaps import swap_columns

__all__ = [
    "DENSE",
    "METHODS",
    "PAPER_METHODS",
    "TASKS",
    "PruningGrid",
    "cell_recipe",
    "default_grids",
    "prepare_criteo",
    "pruning_benchmark",
    "run_cell",
    "run_cells",
]

#: The paper's four methods (its Table 2).
PAPER_METHODS = ("magnitude", "powerprop", "acdc", "sapp")
#: Benchmark methods that run a pruner on another timeline than its recipe's:
#: name -> (recipe's method, ``prune`` keys replaced whole). "gmp" is gradual
#: magnitude pruning (cubic schedule from 10% to 70% of training, then sparse),
#: the strong form of the magnitude baseline; the paper's is one-shot.
_VARIANTS = {"gmp": ("magnitude", {"timeline": "gradual", "timeline_args": {}})}
#: Every method of the benchmark (its default).
METHODS = ("magnitude", "gmp", "powerprop", "acdc", "sapp")
TASKS = ("criteo", "mnist1d")
DENSE = "dense"
_PACKAGES = ("sapp", "torch", "numpy", "mnist1d")


@dataclasses.dataclass(frozen=True)
class PruningGrid:
    """The cells of one task: ``blocks x sparsities x seeds`` for every method.

    Attributes
    ----------
    task : {"criteo", "mnist1d"}
    blocks : tuple of int
        Square block sides.
    sparsities : tuple of float
        Block sparsities of the pruned layers, in [0, 1).
    seeds : tuple of int
    quick : bool
        Use the recipes' ``:quick`` variant (criteo always does: it is the
        synthetic-data variant).
    steps : int or None
        Training steps; None keeps the recipe's.
    overrides : tuple of (str, object)
        Recipe assignments applied to every cell, e.g.
        ``(("train.batch_size", 512),)`` (the keys of ``sapp train --set``).
    """

    task: str
    blocks: tuple[int, ...]
    sparsities: tuple[float, ...]
    seeds: tuple[int, ...]
    quick: bool = True
    steps: int | None = None
    overrides: tuple[tuple[str, object], ...] = ()

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"`task` must be one of {TASKS}; got {self.task!r}.")
        if not self.blocks or not self.sparsities or not self.seeds:
            raise ValueError("`blocks`, `sparsities` and `seeds` must be non-empty.")
        for block in self.blocks:
            check_int(block, "blocks", low=1)
        for sparsity in self.sparsities:
            if not 0.0 <= sparsity < 1.0:
                raise ValueError(f"`sparsities` must lie in [0, 1); got {sparsity}.")
        if self.steps is not None:
            check_int(self.steps, "steps", low=1)

    def recipe_name(self, method: str) -> str:
        """The built-in recipe of ``method`` (any method for the dense baseline)."""
        if method == DENSE:
            method = "magnitude"
        name = f"{self.task}_{_VARIANTS.get(method, (method,))[0]}"
        return f"{name}:quick" if self.quick or self.task == "criteo" else name

    def to_dict(self) -> dict:
        """The grid as a results record stores it (its overrides left out)."""
        return {
            "task": self.task,
            "blocks": list(self.blocks),
            "sparsities": list(self.sparsities),
            "seeds": list(self.seeds),
            "quick_recipe": self.quick or self.task == "criteo",
            "steps": self.steps,
        }


#: Criteo cells train on batches of 512 (the quick recipe's 1024 halved: 4 epochs
#: of the 50 000 rows in 400 steps), so that a cell takes about 10 s on one core.
_CRITEO = (("train.batch_size", 512),)


def default_grids(mode: str, seeds=(0, 1, 2)) -> list[PruningGrid]:
    """The cells of ``mode``, "quick", "full" or "demo" (module docstring)."""
    seeds = tuple(seeds)
    if mode == "quick":
        return [
            PruningGrid("criteo", (10, 20), (0.95,), seeds, overrides=_CRITEO),
            PruningGrid("mnist1d", (8, 16), (0.8, 0.95), seeds),
        ]
    if mode == "full":
        return [
            PruningGrid(
                "criteo",
                (5, 10, 20),
                (0.9, 0.95, 0.97, 0.98, 0.99),
                seeds,
                overrides=_CRITEO,
            ),
            PruningGrid("mnist1d", (4, 8, 16), (0.7, 0.8, 0.9, 0.95), seeds, False),
        ]
    if mode == "demo":
        return [PruningGrid("mnist1d", (16,), (0.8, 0.95), seeds)]
    raise ValueError(f"`mode` must be 'quick', 'full' or 'demo'; got {mode!r}.")


# --------------------------------------------------------------------------- runs


def cell_recipe(
    grid: PruningGrid,
    method: str,
    block: int,
    sparsity: float,
    seed: int,
    assignments=(),
):
    """The validated recipe of one cell (what :func:`run_cell` trains).

    The built-in recipe of ``method`` with the cell's block, sparsity and seed
    (MNIST-1D: both hidden layers pruned), the grid's ``steps`` and
    ``overrides``, the benchmark variant's ``prune`` keys (gmp), then
    ``assignments`` (pairs of dotted key and value, e.g. an ablation variant's or
    a tuning configuration's), in that order.
    """
    from neural.recipes import load_recipe
    from neural.recipes.recipe import recipe_from_dict

    cell = {
        "prune.block": block,
        "prune.sparsity": sparsity,
        "train.seed": seed,
    }
    if grid.task == "mnist1d":
        # Both hidden layers at every block size (at B = 16 the first has only
        # 48 blocks, under the recipe's min_blocks); the classifier stays dense.
        cell["prune.layers"] = ["layers.0", "layers.2"]
        cell["prune.min_blocks"] = 1
    if grid.steps is not None:
        cell["train.total_steps"] = grid.steps
    cell.update(grid.overrides)
    recipe = load_recipe(grid.recipe_name(method), assignments=cell)
    if method in _VARIANTS:
        # Replaced, not merged: one-shot's timeline_args mean nothing to gradual.
        raw = recipe.to_dict()
        raw["prune"].update(_VARIANTS[method][1])
        recipe = recipe_from_dict(raw)
    if assignments:
        recipe = recipe.updated(dict(assignments))
    warmup = recipe.train["warmup_steps"]
    if grid.steps is not None and warmup >= grid.steps:
        recipe = recipe.updated({"train.warmup_steps": grid.steps // 10})
    return recipe


_DATASETS: dict = {}


def _datasets(recipe, data_root: str | None):
    """Train and validation splits, built once per worker process and data table."""
    from neural.recipes.build import build_dataset

    key = (json.dumps(recipe.data, sort_keys=True), data_root)
    if key not in _DATASETS:
        _DATASETS.clear()  # one task's data at a time
        _DATASETS[key] = tuple(
            build_dataset(recipe, split, data_root) for split in ("train", "val")
        )
    return _DATASETS[key]


def _kept_blocks(model, layer: str, block: int) -> np.ndarray:
    """Boolean grid of the blocks of ``layer`` left nonzero by the pruner."""
    from neural import BlockGrid

    weight = model.get_submodule(layer).weight.detach()
    grid = BlockGrid(tuple(weight.shape), block)
    return (grid.block_norms(weight) > 0).numpy()


def _recovery(kept: np.ndarray, block: int, planted_columns: np.ndarray) -> dict:
    """Input-side recovery of the planted support (module docstring)."""
    n_columns = planted_columns.size
    n_col_blocks = kept.shape[1]
    touches = np.array(
        [
            planted_columns[c * block : min((c + 1) * block, n_columns)].any()
            for c in range(n_col_blocks)
        ]
    )
    read_columns = np.repeat(kept.any(axis=0), block)[:n_columns]
    features = planted_columns.reshape(-1, _EMBEDDING_DIM).any(axis=1)
    read_features = read_columns.reshape(-1, _EMBEDDING_DIM).any(axis=1)
    n_kept = int(kept.sum())
    return {
        "precision": float(kept[:, touches].sum() / n_kept) if n_kept else math.nan,
        "recall": float((read_features & features).sum() / features.sum()),
        "chance": float(touches.mean()),
    }


_EMBEDDING_DIM = 10  # CriteoDNN's embedding width: 10 columns per feature


def run_cell(cell: dict) -> dict:
    """Train one cell and return its metrics (run in a worker process).

    ``cell`` holds ``grid`` (a :class:`PruningGrid`), ``method``, ``block``,
    ``sparsity``, ``seed``, ``data_root`` and, for criteo, ``planted_columns``;
    optionally ``assignments`` (see :func:`cell_recipe`), ``val_fraction`` (train
    on the training split minus that held-out share and evaluate on it,
    :func:`~benchmarks.pruning.holdout.holdout_split`: the test split is not
    touched) and ``labels`` (fields copied into the row, e.g. a variant's name).
    Pruned runs also get the swap columns of
    :func:`~benchmarks.pruning.swaps.swap_columns`.
    """
    import torch

    from neural.recipes.build import build_model, pruner_factory
    from neural.train import Trainer

    grid, method = cell["grid"], cell["method"]
    recipe = cell_recipe(
        grid,
        method,
        cell["block"],
        cell["sparsity"],
        cell["seed"],
        cell.get("assignments", ()),
    )
    train, val = _datasets(recipe, cell["data_root"])
    if cell.get("val_fraction") is not None:
        train, val = holdout_split(train, cell["val_fraction"])
    torch.manual_seed(recipe.train["seed"])
    factory = None if method == DENSE else pruner_factory(recipe)
    result = Trainer(
        build_model(recipe),
        train,
        recipe.train_config(None),
        eval_data=val,
        pruner_factory=factory,
    ).fit()
    metrics = {k: float(v) for k, v in result.final_eval.items() if k != "n_samples"}
    metrics["eval_samples"] = int(result.final_eval["n_samples"])
    if grid.task == "criteo" and method != DENSE:
        kept = _kept_blocks(result.model, recipe.prune["layers"][0], cell["block"])
        metrics.update(_recovery(kept, cell["block"], cell["planted_columns"]))
    if method != DENSE:
        metrics["realized_sparsity"] = float(result.report.block_sparsity)
        metrics.update(swap_columns(result.pruner.history()))
    return {
        "task": grid.task,
        "method": method,
        "block": None if method == DENSE else cell["block"],
        "sparsity": None if method == DENSE else cell["sparsity"],
        "seed": cell["seed"],
        "steps": result.steps,
        **cell.get("labels", {}),
        **metrics,
    }


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _cells(grid: PruningGrid, methods, data_root, planted_columns) -> list[dict]:
    common = {"grid": grid, "data_root": data_root, "planted_columns": planted_columns}
    cells = [
        {
            **common,
            "method": DENSE,
            "block": grid.blocks[0],
            "sparsity": grid.sparsities[0],
            "seed": seed,
        }
        for seed in grid.seeds
    ]
    for block in grid.blocks:
        for sparsity in grid.sparsities:
            for method in methods:
                cells += [
                    {
                        **common,
                        "method": method,
                        "block": block,
                        "sparsity": sparsity,
                        "seed": seed,
                    }
                    for seed in grid.seeds
                ]
    return cells


def prepare_criteo(grid: PruningGrid, folder) -> tuple[str, np.ndarray, dict]:
    """Write the grid's synthetic Criteo data into ``folder/criteo`` once.

    Returns
    -------
    tuple
        The data folder (a cell's ``data_root``), the boolean mask of the
        teacher's planted input columns (a cell's ``planted_columns``) and the
        task's facts (planted features, Bayes log-loss, sizes).
    """
    from neural.data.criteo_synthetic import make_criteo_teacher
    from neural.recipes.build import ensure_synthetic_data

    recipe = cell_recipe(grid, "sapp", grid.blocks[0], grid.sparsities[0], 0)
    root = Path(folder) / "criteo"
    ensure_synthetic_data(recipe, root)
    data = recipe.data
    teacher = make_criteo_teacher(data["seed"], missing_rate=data["missing_rate"])
    planted = np.zeros(teacher.weight.shape[1], dtype=bool)
    for feature in teacher.relevant_features:
        planted[feature * _EMBEDDING_DIM : (feature + 1) * _EMBEDDING_DIM] = True
    summary = {
        "planted_features": [int(f) for f in teacher.relevant_features],
        "bayes_log_loss": float(teacher.calibration["bayes_log_loss"]),
        "n_train": data["n_train"],
        "n_val": data["n_val"],
    }
    return str(root), planted, summary


def pruning_benchmark(
    grids, *, methods=METHODS, jobs=2, progress=None, workdir=None
) -> dict:
    """Train every cell of ``grids`` and return the JSON-ready record.

    Parameters
    ----------
    grids : sequence of PruningGrid
        See :func:`default_grids`.
    methods : sequence of str, default=METHODS
        Subset of :data:`METHODS`; the dense baseline always runs.
    jobs : int, default=2
        Worker processes (one torch thread each); 1 trains in this process.
        Workers are spawned, so a script calling this with ``jobs > 1`` needs
        the ``if __name__ == "__main__":`` guard.
    progress : callable, optional
        ``progress(done, total, label)`` after each finished cell, as the other
        benchmarks call it (:func:`benchmarks.results.progress_bar`).
    workdir : path, optional
        Where the synthetic Criteo data are written (default: a temporary
        folder, removed afterwards).

    Returns
    -------
    dict
        Run metadata, ``grids``, ``tasks`` (per-task facts such as the planted
        features and the Bayes log-loss) and ``rows`` (one per trained model).
    """
    methods = check_subset(methods, "methods", METHODS)
    jobs = check_int(jobs, "jobs", low=1)
    grids = list(grids)
    if not grids or not all(isinstance(g, PruningGrid) for g in grids):
        raise TypeError("`grids` must be a non-empty sequence of PruningGrid.")
    # Every cell's recipe is built here first (milliseconds each), so that a bad
    # one fails before any training instead of after the whole grid.
    for grid in grids:
        for cell in _cells(grid, methods, None, None):
            cell_recipe(
                grid, cell["method"], cell["block"], cell["sparsity"], cell["seed"]
            )
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        cells, tasks = [], {}
        for grid in grids:
            data_root, planted = None, None
            if grid.task == "criteo":
                data_root, planted, tasks["criteo"] = prepare_criteo(grid, folder)
            cells += _cells(grid, methods, data_root, planted)
        rows = run_cells(cells, jobs, progress)
    grid_records = [g.to_dict() for g in grids]
    return {
        **run_metadata(_PACKAGES, jobs=jobs, methods=list(methods)),
        "grids": grid_records,
        "tasks": tasks,
        "rows": rows,
    }


def run_cells(cells, jobs: int, progress=None) -> list[dict]:
    """Rows of :func:`run_cell` for every cell, in order, over ``jobs`` workers.

    ``jobs`` spawned processes with one torch thread each (1: this process);
    ``progress(done, total, "task method")`` after each finished cell. The
    first failure cancels the cells not yet started and is raised.
    """
    rows = [None] * len(cells)

    def finished(i, row):
        rows[i] = row
        if progress is not None:
            done = sum(r is not None for r in rows)
            progress(done, len(cells), f"{row['task']} {row['method']}")

    if jobs == 1:
        for i, cell in enumerate(cells):
            finished(i, run_cell(cell))
        return rows
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_worker_init
    ) as pool:
        futures = {pool.submit(run_cell, cell): i for i, cell in enumerate(cells)}
        try:
            for future in concurrent.futures.as_completed(futures):
                finished(futures[future], future.result())
        except BaseException:
            pool.shutdown(cancel_futures=True)  # no waiting for the rest
            raise
    return rows
