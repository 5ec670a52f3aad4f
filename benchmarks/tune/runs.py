r"""``sapp bench tune``: equal-budget tuning of every method, then one test.

The protocol, fixed before any result was seen:

1. **Budget.** Every method (dense, one-shot magnitude, gradual magnitude,
   block powerprop, ACDC, SA++) gets the same number ``N`` of configurations:
   config 0 is the recipe's default, configs 1..N-1 are drawn by seeded random
   search from the method's space (:mod:`benchmarks.tune.spaces`). Random
   search because it needs no tuning of its own and, for a handful of knobs of
   unequal importance, covers each knob's range better than a grid of the same
   size (Bergstra & Bengio 2012). The dense model, which has no block or
   sparsity, is tuned once per task.
2. **Selection on a validation split carved from the training data.** The
   training split is cut once, by a fixed permutation
   (:func:`benchmarks.pruning.holdout.holdout_split`), into ``train'`` and a
   held-out part of ``val_fraction`` (default 0.2). Each configuration trains
   once (the first seed) on ``train'`` for the cell's full number of steps and
   is scored on the held-out part by the task's primary metric (Criteo:
   log-loss, lower is better; MNIST-1D: accuracy). The best score wins; a tie
   goes to the lower index, so the default wins ties.
3. **One test.** The winner and the default are each retrained on the whole
   training split over every seed and evaluated on the test split (Criteo: the
   10 000 fresh rows the pruning benchmark validates on; MNIST-1D: its test
   split), which no step above has read. When the default wins, its runs serve
   as both.

One seed in selection keeps the cost at ``N`` runs per method and cell; the
winner may then be a lucky draw, which step 3 exposes: "tuned" can come out
worse than "paper defaults" on the test split, and the tables keep it so.

Cells and sizes (one cell per task, the recipes' own block and sparsity; 3
seeds; the cost on the 2-core development machine is in the README):

=====  ======  ================  ==================================
mode   budget  criteo            mnist1d
=====  ======  ================  ==================================
quick  3       10x10, 90%        8x8, 90%, 500 steps
full   8       10x10, 90%        8x8, 90%, 3000 steps
=====  ======  ================  ==================================
"""

from __future__ import annotations

import tempfile

from nonconvex_reg.validation import check_int, check_scalar, check_subset

from ..pruning import report as pruning_report
from ..pruning import runs as pruning_runs
from ..results import run_metadata
from .spaces import TUNE_METHODS, draw_configs

__all__ = ["BUDGETS", "check_split", "tune_benchmark", "tune_grids", "winners"]

_PACKAGES = ("sapp", "torch", "numpy", "mnist1d")
#: Default budget of each mode.
BUDGETS = {"quick": 3, "full": 8}


def tune_grids(mode: str, seeds=(0, 1, 2)) -> list[pruning_runs.PruningGrid]:
    """The cells of ``mode`` ("quick" or "full"; module docstring)."""
    seeds = tuple(seeds)
    criteo = pruning_runs.PruningGrid(
        "criteo", (10,), (0.9,), seeds, overrides=(("train.batch_size", 512),)
    )
    if mode == "quick":
        return [criteo, pruning_runs.PruningGrid("mnist1d", (8,), (0.9,), seeds)]
    if mode == "full":
        return [
            criteo,
            pruning_runs.PruningGrid("mnist1d", (8,), (0.9,), seeds, False),
        ]
    raise ValueError(f"`mode` must be 'quick' or 'full'; got {mode!r}.")


def _check(methods, budget, val_fraction, grids) -> tuple:
    methods = check_subset(methods, "methods", TUNE_METHODS)
    budget = check_int(budget, "budget", low=1)
    val_fraction = check_scalar(
        val_fraction,
        "val_fraction",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    grids = list(grids)
    if not grids or not all(isinstance(g, pruning_runs.PruningGrid) for g in grids):
        raise TypeError("`grids` must be a non-empty sequence of PruningGrid.")
    return methods, budget, val_fraction, grids


def _plan(grids, methods, budget) -> list[dict]:
    """One entry per (task, cell, method): its configurations (dense once a task)."""
    plan = []
    for grid in grids:
        cells = [(b, s) for b in grid.blocks for s in grid.sparsities]
        for method in methods:
            for block, sparsity in cells[:1] if method == "dense" else cells:
                recipe = pruning_runs.cell_recipe(grid, method, block, sparsity, 0)
                seed = [pruning_runs.TASKS.index(grid.task), TUNE_METHODS.index(method)]
                configs = draw_configs(method, recipe, budget, seed)
                for config in configs:  # every recipe checked before training
                    pruning_runs.cell_recipe(grid, method, block, sparsity, 0, config)
                plan.append(
                    {
                        "grid": grid,
                        "method": method,
                        "block": block,
                        "sparsity": sparsity,
                        "configs": configs,
                    }
                )
    return plan


def _cell(entry, data, config: int, seed: int, stage: str, val_fraction=None):
    root, planted = data.get(entry["grid"].task, (None, None))
    return {
        "grid": entry["grid"],
        "method": entry["method"],
        "block": entry["block"],
        "sparsity": entry["sparsity"],
        "seed": seed,
        "data_root": root,
        "planted_columns": planted,
        "assignments": tuple(entry["configs"][config].items()),
        "val_fraction": val_fraction,
        "labels": {"stage": stage, "config": config},
    }


def winners(selection_rows) -> dict:
    """``{(task, method, block, sparsity): index}`` of the best validation score.

    Ties go to the lower index (the default is config 0).
    """
    best: dict[tuple, tuple] = {}
    for row in selection_rows:
        metric, larger_better = pruning_report.PRIMARY_METRIC[row["task"]]
        key = (row["task"], row["method"], row["block"], row["sparsity"])
        score = row[metric] if larger_better else -row[metric]
        if key not in best or (score, -row["config"]) > best[key]:
            best[key] = (score, -row["config"])
    return {key: -value[1] for key, value in best.items()}


def tune_benchmark(
    grids,
    *,
    methods=TUNE_METHODS,
    budget=BUDGETS["full"],
    val_fraction=0.2,
    jobs=2,
    progress=None,
    workdir=None,
) -> dict:
    """Run the protocol of the module docstring and return the JSON-ready record.

    Parameters
    ----------
    grids : sequence of PruningGrid
        The cells (:func:`tune_grids`); the first seed selects, every seed tests.
    methods : sequence of str, default=TUNE_METHODS
        Non-empty subset of :data:`~benchmarks.tune.spaces.TUNE_METHODS`.
    budget : int, default=8
        Configurations per method and cell, ``>= 1``.
    val_fraction : float, default=0.2
        Share of the training split held out for selection, in (0, 1).
    jobs : int, default=2
        Worker processes, one torch thread each (1: this process).
    progress : callable, optional
        ``progress(done, total, label)`` after each run of either stage.
    workdir : path, optional
        Where the synthetic Criteo data go (default: a temporary folder).

    Returns
    -------
    dict
        Run metadata (``budget``, ``val_fraction``, ``methods``), ``grids``,
        ``tasks``, ``configs`` (per task, method and cell: the configurations
        and the index chosen) and ``rows`` (``stage`` "selection": one per
        configuration, scored on the held-out part; ``stage`` "final": test
        metrics per seed of the default and the winner).

    Raises
    ------
    ValueError, TypeError
        On an unknown or empty ``methods``, ``budget < 1``, ``val_fraction``
        outside (0, 1) or leaving a part empty, ``jobs < 1`` or bad ``grids``;
        before any training.
    """
    methods, budget, val_fraction, grids = _check(methods, budget, val_fraction, grids)
    jobs = check_int(jobs, "jobs", low=1)
    check_split(grids, val_fraction)
    plan = _plan(grids, methods, budget)
    done = [0]

    def staged(stage, total):
        def report(_done, _total, label):
            done[0] += 1
            if progress is not None:
                progress(done[0], total, f"{stage}: {label}")

        return report

    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        data, tasks = {}, {}
        for grid in grids:
            if grid.task == "criteo" and "criteo" not in data:
                root, planted, tasks["criteo"] = pruning_runs.prepare_criteo(
                    grid, folder
                )
                data["criteo"] = (root, planted)
        selection = [
            _cell(e, data, i, e["grid"].seeds[0], "selection", val_fraction)
            for e in plan
            for i in range(budget)
        ]
        n_final = sum(len(e["grid"].seeds) * 2 for e in plan)
        total = len(selection) + n_final  # at most: a chosen default runs once
        rows = pruning_runs.run_cells(selection, jobs, staged("selection", total))
        chosen = winners(rows)
        final = []
        for e in plan:
            key = (e["grid"].task, e["method"], _block(e), _sparsity(e))
            e["chosen"] = chosen[key]
            final += [
                _cell(e, data, i, seed, "final")
                for i in sorted({0, e["chosen"]})
                for seed in e["grid"].seeds
            ]
        total = len(selection) + len(final)  # now known
        rows += pruning_runs.run_cells(final, jobs, staged("final", total))
    return {
        **run_metadata(
            _PACKAGES,
            jobs=jobs,
            methods=list(methods),
            budget=budget,
            val_fraction=val_fraction,
        ),
        "grids": [g.to_dict() for g in grids],
        "tasks": tasks,
        "recipe_lr": {
            g.task: pruning_runs.cell_recipe(
                g, "sapp", g.blocks[0], g.sparsities[0], 0
            ).train["lr"]
            for g in grids
        },
        "configs": [
            {
                "task": e["grid"].task,
                "method": e["method"],
                "block": _block(e),
                "sparsity": _sparsity(e),
                "configs": e["configs"],
                "chosen": e["chosen"],
            }
            for e in plan
        ],
        "rows": rows,
    }


def _block(entry):
    return None if entry["method"] == pruning_runs.DENSE else entry["block"]


def _sparsity(entry):
    return None if entry["method"] == pruning_runs.DENSE else entry["sparsity"]


def check_split(grids, val_fraction) -> None:
    """Refuse a fraction that leaves ``train'`` or the held-out part empty."""
    from neural.recipes.build import n_train_samples

    for grid in grids:
        recipe = pruning_runs.cell_recipe(
            grid, "sapp", grid.blocks[0], grid.sparsities[0], 0
        )
        n = n_train_samples(recipe)
        if n is not None and not 1 <= round(val_fraction * n) <= n - 1:
            raise ValueError(
                f"`val_fraction` must leave both parts of {grid.task}'s {n} "
                f"training samples non-empty; got {val_fraction}."
            )
