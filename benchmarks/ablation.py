r"""``sapp bench ablation``: which parts of SA++ matter, one factor at a time.

Each *variant* is the default SA++ recipe of a cell (the ``*_sapp`` recipe as
``sapp bench pruning`` trains it, :func:`benchmarks.pruning.runs.cell_recipe`)
with a few recipe assignments changed; every other setting, the seeds and the
data stay the same. The factors and their variants (the default's value first):

===============  =============================================================
factor           variants
===============  =============================================================
``sparsify``     with the sparsification phase / without it: the ACDC
                 timeline of the task (``acdc_criteo``, ``acdc_imagenet``), the
                 paper's Table 3 (arXiv:2402.17902)
``reenter``      ``keep`` (Algorithm 1's mask) / ``zero`` (AC/DC's pruning)
``logit_decay``  the recipe's weight decay on the attention logits / toggled
                 (Appendix C.1, trick 2): both tasks' logits have 1e-4
                 (Criteo's recipe sets it, MNIST-1D's inherit the weights'), so
                 the variant sets 0; a recipe without decay gets
                 :data:`LOGIT_DECAY_ON`
``logit_lr``     logit learning rate x10 (the default,
                 ``SequentialAttentionPP.DEFAULT_LOGIT_LR_MULTIPLIER``, unless
                 the recipe sets one) / the others of x1, x10, x100
``c``            sparsification exponent 4 / 2 / 8 (the paper's Table 4)
``bounds``       attention clipped to ``[d, 1/d]`` (``"density"``, ``d = 1 -
                 sparsity``) / not clipped / clipped to :data:`NARROW_BOUNDS`
``update_every`` support updated every step of a sparsify phase / every
                 quarter and every half of the first sparsify phase's length
===============  =============================================================

:data:`LOGIT_DECAY_ON` is 1e-4 because the paper gives no value and 1e-4 is the
only weight decay our Adam recipes use.

Cells: each task's recipe default (Criteo 10x10 blocks at 90%, MNIST-1D 8x8 at
90%), not a cell picked from results; 3 seeds. The modes differ in MNIST-1D's
length (Criteo always trains the quick recipe's 400 steps):

=====  ===================  =========================  ====
mode   criteo               mnist1d                    runs
=====  ===================  =========================  ====
quick  10x10, 90%           8x8, 90%, 500 steps        72
full   10x10, 90%           8x8, 90%, 3000 steps       72
=====  ===================  =========================  ====

Every variant is compared with the default SA++ of its cell in the task's
primary metric (Criteo: validation log-loss, MNIST-1D: test accuracy) by the
pruning benchmark's rule (:func:`benchmarks.pruning.report.compare_means`):
*better* or *worse* when the difference exceeds the larger of the two standard
deviations over seeds, else *same*. The swap statistics of each variant
(:mod:`benchmarks.pruning.swaps`) show how much the support moved. Writes
``ablation.{json,md,png}`` (``ablation_quick.*`` in quick mode).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import tempfile
from pathlib import Path

from nonconvex_reg.validation import check_int, check_subset

from .pruning import report as pruning_report
from .pruning import runs
from .pruning.swaps import swap_cell_text
from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    progress_bar,
    run_metadata,
    save_figure,
    write_results,
)

__all__ = [
    "FACTORS",
    "LOGIT_DECAY_ON",
    "NARROW_BOUNDS",
    "Variant",
    "ablation_benchmark",
    "ablation_grids",
    "ablation_markdown",
    "add_arguments",
    "cell_variants",
    "comparisons",
    "plot_ablation",
    "run",
    "write_ablation_results",
]

FACTORS = (
    "sparsify",
    "reenter",
    "logit_decay",
    "logit_lr",
    "c",
    "bounds",
    "update_every",
)
#: Weight decay on the logits where the recipe gives them none (module docstring).
LOGIT_DECAY_ON = 1e-4
#: The narrower clip range of the attention A (mean 1), inside ``[d, 1/d]`` for
#: every sparsity of the grids (d <= 0.1).
NARROW_BOUNDS = [0.5, 2.0]
_NO_SPARSIFY = {"criteo": "acdc_criteo", "mnist1d": "acdc_imagenet"}
DEFAULT = "default"
_VERDICTS = {"wins": "better", "ties": "same", "loses": "worse"}
_PACKAGES = ("sapp", "torch", "numpy", "mnist1d")


@dataclasses.dataclass(frozen=True)
class Variant:
    """One variant of the default SA++ recipe.

    Attributes
    ----------
    factor : str
        One of :data:`FACTORS` (``"-"`` for the default itself).
    name : str
        Short label, e.g. ``"logit LR x10"``.
    assignments : tuple of (str, object)
        Recipe assignments applied to the cell's SA++ recipe.
    """

    factor: str
    name: str
    assignments: tuple[tuple[str, object], ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "factor": self.factor,
            "name": self.name,
            "assignments": dict(self.assignments),
        }


def _first_sparsify_steps(recipe) -> int:
    from neural.recipes.build import pruner_options
    from neural.schedules import PRESETS

    total = recipe.train["total_steps"]
    timeline = pruner_options(recipe, total)["timeline"]
    if isinstance(timeline, str):
        timeline = PRESETS[timeline](total)
    return next(p.stop - p.start for p in timeline.phases if p.kind == "sparsify")


def _logit_lr_multiplier(prune) -> float:
    """The logits' learning-rate multiplier a recipe's ``[prune]`` table gives."""
    from neural.pruning import SequentialAttentionPP

    if "logit_lr" in prune:
        raise ValueError(
            "the ablation varies `logit_lr_multiplier`; the recipe sets `logit_lr`."
        )
    return prune.get(
        "logit_lr_multiplier", SequentialAttentionPP.DEFAULT_LOGIT_LR_MULTIPLIER
    )


def cell_variants(task: str, recipe, factors=FACTORS) -> list[Variant]:
    """The default and the variants of ``factors`` for one cell's SA++ ``recipe``."""
    prune = recipe.prune
    decay = prune.get("logit_weight_decay", recipe.train["weight_decay"])
    quarter_half = sorted(
        {max(2, math.ceil(_first_sparsify_steps(recipe) / f)) for f in (4, 2)}
    )
    table = {
        "sparsify": [
            (
                "no sparsification phase",
                (
                    ("prune.timeline", _NO_SPARSIFY[task]),
                    ("prune.timeline_args", {}),
                ),
            )
        ],
        "reenter": [("reenter zero", (("prune.reenter", "zero"),))],
        "logit_decay": [
            (
                f"logit decay {'off' if decay else 'on'} "
                f"({0.0 if decay else LOGIT_DECAY_ON:g})",
                (("prune.logit_weight_decay", 0.0 if decay else LOGIT_DECAY_ON),),
            )
        ],
        "logit_lr": [
            (f"logit LR x{m}", (("prune.logit_lr_multiplier", float(m)),))
            for m in (1, 10, 100)
            if m != _logit_lr_multiplier(prune)
        ],
        "c": [(f"c={c}", (("prune.timeline_args.c", float(c)),)) for c in (2, 8)],
        "bounds": [
            ("no clipping", (("prune.attention_bounds", "none"),)),
            (
                f"clip {NARROW_BOUNDS}",
                (("prune.attention_bounds", list(NARROW_BOUNDS)),),
            ),
        ],
        "update_every": [
            (f"update every {n} steps", (("prune.update_every", n),))
            for n in quarter_half
        ],
    }
    variants = [Variant("-", DEFAULT)]
    for factor in factors:
        variants += [Variant(factor, name, a) for name, a in table[factor]]
    return variants


def ablation_grids(mode: str, seeds=(0, 1, 2)) -> list[runs.PruningGrid]:
    """The cells of ``mode`` ("quick" or "full"; module docstring), one per grid."""
    seeds = tuple(seeds)
    criteo = {"overrides": (("train.batch_size", 512),)}  # as sapp bench pruning
    if mode == "quick":
        return [
            runs.PruningGrid("criteo", (10,), (0.9,), seeds, **criteo),
            runs.PruningGrid("mnist1d", (8,), (0.9,), seeds),
        ]
    if mode == "full":
        return [
            runs.PruningGrid("criteo", (10,), (0.9,), seeds, **criteo),
            runs.PruningGrid("mnist1d", (8,), (0.9,), seeds, False),
        ]
    raise ValueError(f"`mode` must be 'quick' or 'full'; got {mode!r}.")


def ablation_benchmark(
    grids, *, factors=FACTORS, jobs=2, progress=None, workdir=None
) -> dict:
    """Train the default SA++ and every variant of ``factors`` in every cell.

    Parameters
    ----------
    grids : sequence of PruningGrid
        The cells (:func:`ablation_grids`), each grid's blocks x sparsities.
    factors : sequence of str, default=FACTORS
        Non-empty subset of :data:`FACTORS`.
    jobs : int, default=2
        Worker processes, one torch thread each (1: this process).
    progress : callable, optional
        ``progress(done, total, label)`` after each run.
    workdir : path, optional
        Where the synthetic Criteo data go (default: a temporary folder).

    Returns
    -------
    dict
        Run metadata, ``factors``, ``grids``, ``tasks``, ``variants`` (per cell)
        and ``rows`` (one per run, with ``factor`` and ``variant``).

    Raises
    ------
    ValueError
        On an unknown or empty ``factors``, or ``jobs < 1``.
    """
    factors = check_subset(factors, "factors", FACTORS)
    jobs = check_int(jobs, "jobs", low=1)
    grids = list(grids)
    plan = []  # (grid, block, sparsity, variants)
    for grid in grids:
        for block in grid.blocks:
            for sparsity in grid.sparsities:
                recipe = runs.cell_recipe(grid, "sapp", block, sparsity, grid.seeds[0])
                variants = cell_variants(grid.task, recipe, factors)
                for variant in variants:  # every recipe checked before training
                    runs.cell_recipe(
                        grid, "sapp", block, sparsity, 0, variant.assignments
                    )
                plan.append((grid, block, sparsity, variants))
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        cells, tasks, data = [], {}, {}
        for grid, block, sparsity, variants in plan:
            if grid.task == "criteo" and "criteo" not in data:
                root, planted, tasks["criteo"] = runs.prepare_criteo(grid, folder)
                data["criteo"] = (root, planted)
            root, planted = data.get(grid.task, (None, None))
            cells += [
                {
                    "grid": grid,
                    "method": "sapp",
                    "block": block,
                    "sparsity": sparsity,
                    "seed": seed,
                    "data_root": root,
                    "planted_columns": planted,
                    "assignments": variant.assignments,
                    "labels": {"factor": variant.factor, "variant": variant.name},
                }
                for variant in variants
                for seed in grid.seeds
            ]
        rows = runs.run_cells(cells, jobs, progress)
    return {
        **run_metadata(_PACKAGES, jobs=jobs, factors=list(factors)),
        "grids": [g.to_dict() for g in grids],
        "tasks": tasks,
        "variants": [
            {
                "task": grid.task,
                "block": block,
                "sparsity": sparsity,
                "variants": [v.to_dict() for v in variants],
            }
            for grid, block, sparsity, variants in plan
        ],
        "rows": rows,
    }


# ------------------------------------------------------------------------ report

_KEYS = ("task", "block", "sparsity", "variant")


def comparisons(record: dict) -> list[dict]:
    """Every variant of every cell against its cell's default SA++.

    Returns
    -------
    list of dict
        ``task``, ``block``, ``sparsity``, ``factor``, ``variant``, the
        summarized ``cell`` (means and stds), ``difference`` (variant minus
        default in the primary metric), ``lead`` (positive: the variant is
        better), ``noise`` and ``verdict`` ("better", "same", "worse"; None for
        the default itself).
    """
    cells = {
        tuple(c[k] for k in _KEYS): c for c in pruning_report.summarize(record, _KEYS)
    }
    out = []
    for entry in record["variants"]:
        task, block, sparsity = entry["task"], entry["block"], entry["sparsity"]
        metric, larger_better = pruning_report.PRIMARY_METRIC[task]
        default = cells[(task, block, sparsity, DEFAULT)]
        for variant in entry["variants"]:
            cell = cells[(task, block, sparsity, variant["name"])]
            lead, noise, verdict = pruning_report.compare_means(
                cell, default, metric, larger_better
            )
            out.append(
                {
                    "task": task,
                    "block": block,
                    "sparsity": sparsity,
                    "factor": variant["factor"],
                    "variant": variant["name"],
                    "metric": metric,
                    "cell": cell,
                    "difference": cell[f"{metric}_mean"] - default[f"{metric}_mean"],
                    "lead": lead,
                    "noise": noise,
                    "verdict": None
                    if variant["name"] == DEFAULT
                    else _VERDICTS[verdict],
                }
            )
    return out


def ablation_markdown(record: dict) -> str:
    """One table per task and cell: each variant against the default SA++."""
    lines = [
        "# SA++ ablation: one factor at a time (issue 15)",
        "",
        f"Command: `{record['command']}`; machine: {record['machine']}; "
        f"{record['jobs']} worker processes, 1 torch thread each; versions: "
        f"{record['versions']}. Mean ± std over seeds; difference = variant minus "
        "default SA++ in the primary metric; better / worse: by more than the "
        "larger std of the two (else same). Swaps: blocks swapped in per "
        "sparse-phase entry after the first (entries; J = Jaccard of the first "
        "sparse support with the final one). See `benchmarks/ablation.py`.",
        "",
    ]
    rows = comparisons(record)
    for entry in record["variants"]:
        task, block, sparsity = entry["task"], entry["block"], entry["sparsity"]
        metric = pruning_report.PRIMARY_METRIC[task][0]
        title = "validation log-loss" if task == "criteo" else "test accuracy"
        seeds = next(g["seeds"] for g in record["grids"] if g["task"] == task)
        steps = sorted(
            {r["steps"] for r in record["rows"] if r["task"] == task}, reverse=True
        )
        lines += [
            f"## {task}, {block}x{block} blocks, {sparsity:.0%} sparsity",
            "",
            f"{title}; seeds {seeds}; {steps[0]} steps.",
            "",
        ]
        table = []
        for r in rows:
            if (r["task"], r["block"], r["sparsity"]) != (task, block, sparsity):
                continue
            cell = r["cell"]
            mean, std = cell[f"{metric}_mean"], cell[f"{metric}_std"]
            is_default = r["variant"] == DEFAULT
            table.append(
                [
                    r["factor"],
                    f"**{r['variant']}**" if is_default else r["variant"],
                    f"{mean:.4f} ± {std:.4f}",
                    "-" if is_default else f"{r['difference']:+.4f}",
                    "-" if is_default else f"{r['noise']:.4f}",
                    r["verdict"] or "-",
                    swap_cell_text(cell),
                ]
            )
        header = ["factor", "variant", title, "difference", "noise", "verdict"]
        lines += [*markdown_table([*header, "swaps per entry"], table), ""]
    return "\n".join(lines)


def plot_ablation(record: dict, path) -> Path:
    """PNG: each variant's lead over the default SA++, one panel per cell.

    Bars are the lead in the primary metric (positive: the variant is better),
    error bars the noise (the larger std); green better, red worse, grey same.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in comparisons(record) if r["verdict"] is not None]
    panels = [(e["task"], e["block"], e["sparsity"]) for e in record["variants"]]
    figure, axes = plt.subplots(
        1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False
    )
    colors = {"better": "tab:green", "worse": "tab:red", "same": "tab:grey"}
    for ax, (task, block, sparsity) in zip(axes[0], panels, strict=True):
        mine = [
            r
            for r in rows
            if (r["task"], r["block"], r["sparsity"]) == (task, block, sparsity)
        ]
        positions = range(len(mine))
        ax.barh(
            positions,
            [r["lead"] for r in mine],
            xerr=[r["noise"] for r in mine],
            color=[colors[r["verdict"]] for r in mine],
            capsize=3,
        )
        ax.set_yticks(list(positions), [r["variant"] for r in mine], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", linewidth=0.8)
        metric = "log-loss" if task == "criteo" else "accuracy"
        ax.set_xlabel(f"lead over default SA++ ({metric}; > 0 better)")
        ax.set_title(f"{task}, {block}x{block}, {sparsity:.0%}")
        ax.grid(alpha=0.3, axis="x")
    figure.tight_layout()
    return save_figure(figure, path)


def write_ablation_results(record: dict, folder, stem: str) -> list[Path]:
    """``<stem>.{json,md,png}``, atomically."""
    written = write_results(folder, stem, record, ablation_markdown(record))
    written.append(plot_ablation(record, Path(folder) / f"{stem}.png"))
    return written


# --------------------------------------------------------------------------- CLI


def add_arguments(parser) -> None:
    """The options of ``sapp bench ablation``."""
    from .pruning.cli import add_seed_and_job_arguments

    parser.add_argument(
        "--quick",
        action="store_true",
        help="MNIST-1D at 500 steps instead of 3000",
    )
    parser.add_argument("--tasks", nargs="+", choices=runs.TASKS, default=runs.TASKS)
    parser.add_argument(
        "--factors",
        nargs="+",
        default=list(FACTORS),
        metavar="FACTOR",
        help=f"only these factors (default all: {', '.join(FACTORS)})",
    )
    add_seed_and_job_arguments(parser, "seeds 0..N-1 per variant (default 3)")
    add_output_arguments(parser, "ablation.{json,md,png}")


def run(args) -> int:
    """Run ``sapp bench ablation``; returns the exit status."""
    unknown = [f for f in args.factors if f not in FACTORS]
    if unknown:
        print(
            f"sapp bench ablation: error: `--factors` must be among "
            f"{', '.join(FACTORS)}; got {', '.join(unknown)}.",
            file=sys.stderr,
        )
        return 2
    grids = [
        grid
        for grid in ablation_grids("quick" if args.quick else "full", range(args.seeds))
        if grid.task in args.tasks
    ]
    factors = tuple(dict.fromkeys(args.factors))
    with progress_bar("training", "run", args.json) as progress:
        record = ablation_benchmark(
            grids, factors=factors, jobs=args.jobs, progress=progress
        )
    stem = "ablation_quick" if args.quick else "ablation"
    written = write_ablation_results(record, args.out, stem)
    print_record(record, ablation_markdown(record), written, args.json)
    return 0
