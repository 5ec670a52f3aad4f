"""``sapp bench recipes``: every built-in recipe's quick variant, end to end.

Each run is what ``sapp train --recipe NAME:quick`` does (the same
:func:`~neural.recipes.run.plan_training` and
:func:`~neural.recipes.run.run_training`, into a temporary run folder): data
generation, training, evaluation of the finalized model. The record holds, per
recipe, the steps, the wall time of the whole run and the final evaluation; the
Markdown is the table the README quotes. The metrics are deterministic for a
given machine and torch thread count (seeded data, initialization and batch
order); across machines float reductions may run in another order, so they agree
only to the noise of the training run. The wall times are whatever the machine
gave.

``--quick`` runs the MNIST-1D and Criteo recipes only (the ImageNet ones train a
ResNet-18 on generated images, about a minute each on 2 cores). Writes
``recipes.{json,md}`` (``recipes_quick.*`` with ``--quick``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    progress_bar,
    run_metadata,
    write_results,
)

__all__ = ["add_arguments", "recipes_benchmark", "recipes_markdown", "run"]

_QUICK_EXPERIMENTS = ("mnist1d", "criteo")
_METRICS = ("accuracy", "loss", "auc")


def _recipe_row(name: str, folder: Path, steps: int | None) -> dict:
    from neural.recipes import load_recipe
    from neural.recipes.run import plan_training, run_training

    recipe = load_recipe(f"{name}:quick")
    plan = plan_training(recipe, run_dir=folder / name, steps=steps)
    start = time.perf_counter()
    result = run_training(plan)
    wall = time.perf_counter() - start
    final = result.final_eval or {}
    return {
        "recipe": name,
        "steps": result.steps,
        "wall_time_s": wall,
        "n_eval_samples": final.get("n_samples"),
        **{key: float(final[key]) for key in _METRICS if key in final},
        "block_sparsity": float(result.report.block_sparsity),
    }


def recipes_benchmark(names, *, steps=None, progress=None) -> dict:
    """Train every recipe of ``names`` in its quick variant; the JSON record.

    Parameters
    ----------
    names : sequence of str
        Built-in recipe names (:func:`neural.recipes.recipe.recipe_names`).
    steps : int, optional
        Train this many steps instead of each quick recipe's (tests).
    progress : callable, optional
        ``progress(done, total, label)`` after each run.

    Returns
    -------
    dict
        ``meta`` (run metadata) and ``rows`` (one per recipe, in order).

    Raises
    ------
    ValueError
        If ``names`` is empty or names an unknown recipe (nothing runs).
    """
    from neural.recipes.recipe import recipe_names

    names, known = list(names), recipe_names()
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise ValueError(f"`names` must be a non-empty list of {known}; got {names!r}.")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for done, name in enumerate(names, start=1):
            rows.append(_recipe_row(name, Path(folder), steps))
            if progress is not None:
                progress(done, len(names), name)
    meta = run_metadata(["sapp", "torch", "numpy"], steps=steps)
    return {"meta": meta, "rows": rows}


def _evaluation(row: dict) -> str:
    parts = [
        f"{key} {row[key]:.4f}" if key != "auc" else f"AUC {row[key]:.4f}"
        for key in _METRICS
        if key in row
    ]
    return ", ".join(parts)


def recipes_markdown(record: dict) -> str:
    """The table of :func:`recipes_benchmark`: steps, wall time, evaluation."""
    meta = record["meta"]
    body = [
        [
            f"`{r['recipe']}`",
            r["steps"],
            f"{r['wall_time_s']:.0f} s",
            f"{r['block_sparsity']:.3f}",
            _evaluation(r),
        ]
        for r in record["rows"]
    ]
    header = ["recipe (`:quick`)", "steps", "wall time", "block sparsity", "final eval"]
    lines = [
        "# Quick variants of the built-in recipes",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}. Each run is "
        "`sapp train --recipe NAME:quick` (data generation, training, evaluation "
        "of the finalized model); block sparsity is over every layer, dense "
        "ones included.",
        "",
        *markdown_table(header, body),
    ]
    return "\n".join(lines) + "\n"


def add_arguments(parser) -> None:
    """The options of ``sapp bench recipes``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="only the MNIST-1D and Criteo recipes (writes recipes_quick.*)",
    )
    parser.add_argument(
        "--recipes",
        nargs="+",
        metavar="NAME",
        help="these built-in recipes instead (each in its quick variant)",
    )
    add_output_arguments(parser, "recipes.{json,md}")


def run(args) -> int:
    """Run ``sapp bench recipes``; exit status 2 on an unknown recipe."""
    import sys

    from neural.recipes.recipe import recipe_names

    names = args.recipes or [
        n
        for n in recipe_names()
        if not args.quick or n.split("_")[0] in _QUICK_EXPERIMENTS
    ]
    unknown = [n for n in names if n not in recipe_names()]
    if unknown:
        print(
            f"sapp bench recipes: error: --recipes must name built-in recipes "
            f"({', '.join(recipe_names())}); got {', '.join(unknown)}.",
            file=sys.stderr,
        )
        return 2
    with progress_bar("sapp bench recipes", "run", args.json) as progress:
        record = recipes_benchmark(names, progress=progress)
    text = recipes_markdown(record)
    stem = "recipes_quick" if args.quick and not args.recipes else "recipes"
    paths = write_results(args.out, stem, record, text)
    print_record(record, text, paths, args.json)
    return 0
