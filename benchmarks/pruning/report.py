"""Report of ``sapp bench pruning``: mean ± std over seeds, SA++ verdicts, plots.

From a :func:`~benchmarks.pruning.runs.pruning_benchmark` record (one row per trained
model): :func:`summarize` gives every cell's mean and sample standard deviation
over seeds; :func:`verdicts` compares SA++ with the best other method in each
(task, block, sparsity) cell, a win or a loss being a lead in the task's primary
metric larger than the larger of the two standard deviations (the paper's Table 2
hypothesis, arXiv:2402.17902; the rule is :func:`compare_means`);
:func:`pruning_markdown` writes Table 2-shaped tables, the blocks swapped per
sparse-phase entry (:mod:`benchmarks.pruning.swaps`), the verdicts and their
trends in block size and sparsity; :func:`plot_pruning` plots each metric
against sparsity; and :func:`write_pruning_results` writes ``<stem>.{json,md}``,
``<stem>_<task>.png`` and ``<stem>_swaps.png``.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from ..results import markdown_table, save_figure, write_results
from .runs import DENSE
from .swaps import plot_swaps, swaps_markdown

__all__ = [
    "CELL_KEYS",
    "LABELS",
    "PRIMARY_METRIC",
    "compare_means",
    "is_metric",
    "plot_pruning",
    "pruning_markdown",
    "summarize",
    "verdicts",
    "write_pruning_results",
]

#: Each method's name in tables and legends.
LABELS = {
    DENSE: "dense",
    "magnitude": "magnitude",
    "gmp": "gradual magnitude",
    "powerprop": "block powerprop",
    "acdc": "ACDC",
    "sapp": "SA++",
}
#: The metric each task is ranked by, and whether larger is better.
PRIMARY_METRIC = {"criteo": ("loss", False), "mnist1d": ("accuracy", True)}


# ---------------------------------------------------------------------- summary


#: Row fields that identify a run rather than measure it.
_RUN_FIELDS = ("task", "method", "block", "sparsity", "seed", "steps")
CELL_KEYS = ("task", "method", "block", "sparsity")


def is_metric(value) -> bool:
    """Whether a row value is a number to average (not a label, list or None)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def summarize(record: dict, keys=CELL_KEYS) -> list[dict]:
    """Mean and standard deviation over seeds of every metric, per cell.

    Parameters
    ----------
    record : dict
        With ``rows``, one per trained model.
    keys : sequence of str, default=CELL_KEYS
        The row fields that make a cell (``("task", "method", "block",
        "sparsity")``; the ablation adds its ``variant``).

    Returns
    -------
    list of dict
        One per cell, with its keys, ``n_seeds`` and, per numeric metric ``m``
        (missing or ``None`` values left out; a cell without any has no entry),
        ``m_mean`` and ``m_std`` (sample std; 0 with one value).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in record["rows"]:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    skip = {*_RUN_FIELDS, *keys}
    cells = []
    for key, rows in groups.items():
        cell = {**dict(zip(keys, key, strict=True)), "n_seeds": len(rows)}
        names = dict.fromkeys(m for r in rows for m in r if m not in skip)
        for metric in names:
            values = [r[metric] for r in rows if is_metric(r.get(metric))]
            if not values:
                continue
            cell[f"{metric}_mean"] = statistics.fmean(values)
            cell[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(cell)
    return cells


def compare_means(cell: dict, other: dict, metric: str, larger_better: bool):
    """``(lead, noise, verdict)`` of ``cell`` against ``other`` in ``metric``.

    ``lead`` is ``cell``'s advantage (positive: better), ``noise`` the larger of
    the two standard deviations, ``verdict`` ``"wins"`` if ``lead > noise``,
    ``"loses"`` if ``lead < -noise``, else ``"ties"``: the rule of every
    comparison in the benchmarks' reports.
    """
    sign = 1.0 if larger_better else -1.0
    lead = sign * (cell[f"{metric}_mean"] - other[f"{metric}_mean"])
    noise = max(cell[f"{metric}_std"], other[f"{metric}_std"])
    verdict = "wins" if lead > noise else "loses" if lead < -noise else "ties"
    return lead, noise, verdict


def _lookup(cells, task, method, block, sparsity):
    for cell in cells:
        if (cell["task"], cell["method"]) == (task, method) and (
            method == DENSE or (cell["block"], cell["sparsity"]) == (block, sparsity)
        ):
            return cell
    return None


def verdicts(record: dict) -> list[dict]:
    """SA++ against the best other method in every (task, block, sparsity) cell.

    ``lead`` is SA++'s advantage in the task's primary metric (positive: SA++
    better); ``verdict`` is ``"wins"`` when SA++ is best by more than the larger
    standard deviation of the two, ``"loses"`` when another method is better by
    more than that, ``"ties"`` otherwise.
    """
    cells = summarize(record)
    out = []
    for grid in record["grids"]:
        task = grid["task"]
        metric, larger_better = PRIMARY_METRIC[task]
        for block in grid["blocks"]:
            for sparsity in grid["sparsities"]:
                sapp = _lookup(cells, task, "sapp", block, sparsity)
                others = [
                    c
                    for m in record["methods"]
                    if m != "sapp"
                    if (c := _lookup(cells, task, m, block, sparsity)) is not None
                ]
                if sapp is None or not others:
                    continue
                sign = 1.0 if larger_better else -1.0
                best = max(others, key=lambda c: sign * c[f"{metric}_mean"])
                lead, noise, verdict = compare_means(sapp, best, metric, larger_better)
                out.append(
                    {
                        "task": task,
                        "block": block,
                        "sparsity": sparsity,
                        "metric": metric,
                        "runner_up": best["method"],
                        "lead": lead,
                        "noise": noise,
                        "verdict": verdict,
                    }
                )
    return out


def _trend(rows, along: str, fixed: str) -> tuple[int, int]:
    """(times the lead grew, comparisons) from the smallest to the largest ``along``."""
    grew = total = 0
    for value in sorted({r[fixed] for r in rows}):
        line = sorted((r for r in rows if r[fixed] == value), key=lambda r: r[along])
        if len(line) >= 2:
            total += 1
            grew += line[-1]["lead"] > line[0]["lead"]
    return grew, total


def _fmt(cell, metric, digits) -> str:
    if cell is None or f"{metric}_mean" not in cell:
        return "-"
    mean, std = cell[f"{metric}_mean"], cell[f"{metric}_std"]
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _fmt_chance(cell) -> str:
    return "-" if cell is None else f"{cell['chance_mean']:.3f}"


_METRICS = {
    "criteo": (
        ("loss", "validation log-loss (lower is better)", 4),
        ("auc", "validation AUC (higher is better)", 4),
        (
            "precision",
            "planted-support precision (share of kept blocks on planted features)",
            3,
        ),
        ("recall", "planted-feature recall", 3),
    ),
    "mnist1d": (("accuracy", "test accuracy (higher is better)", 4),),
}


def pruning_markdown(record: dict) -> str:
    """Tables shaped like the paper's Table 2 (one per sparsity), verdicts, trends."""
    cells = summarize(record)
    lines = [
        "# Block pruning: magnitude (one-shot, gradual), block powerprop, ACDC and "
        "SA++ (issues 6, 15)",
        "",
        f"Command: `{record['command']}`; machine: {record['machine']}; "
        f"{record['jobs']} worker processes, 1 torch thread each; versions: "
        f"{record['versions']}. Mean ± standard deviation over seeds; see "
        "`benchmarks/pruning/runs.py` for the setup.",
        "",
    ]
    for grid in record["grids"]:
        task = grid["task"]
        steps = {r["steps"] for r in record["rows"] if r["task"] == task}
        lines += [f"## {task}", ""]
        if task == "criteo":
            facts = record["tasks"]["criteo"]
            lines += [
                f"Synthetic Criteo-format data ({facts['n_train']} train / "
                f"{facts['n_val']} validation rows) labelled by a planted teacher "
                f"reading features {facts['planted_features']}; the teacher's own "
                f"log-loss (the floor) is {facts['bayes_log_loss']:.4f}. Pruned: "
                f"tower.layers.0 (400 x 390); {sorted(steps)} steps; seeds "
                f"{grid['seeds']}.",
                "",
            ]
        else:
            lines += [
                f"MLP 40-256-256-10 on MNIST-1D, layers.0 and layers.2 pruned; "
                f"{sorted(steps)} steps; seeds {grid['seeds']}.",
                "",
            ]
        dense = _lookup(cells, task, DENSE, None, None)
        for metric, title, digits in _METRICS[task]:
            for sparsity in grid["sparsities"]:
                blocks = grid["blocks"]
                header = [
                    f"{title}, sparsity {sparsity:.0%}",
                    *(f"B={b}" for b in blocks),
                ]
                methods = record["methods"]
                rows = []
                if metric in ("loss", "auc", "accuracy"):
                    rows.append(
                        ["dense", *(_fmt(dense, metric, digits) for _ in blocks)]
                    )
                if metric == "precision":
                    chance = [
                        _lookup(cells, task, methods[0], b, sparsity) for b in blocks
                    ]
                    rows.append(["chance", *(_fmt_chance(c) for c in chance)])
                for method in methods:
                    found = [_lookup(cells, task, method, b, sparsity) for b in blocks]
                    rows.append(
                        [LABELS[method], *(_fmt(c, metric, digits) for c in found)]
                    )
                lines += [*markdown_table(header, rows), ""]
    lines += _swap_section(record, cells)
    lines += _verdict_section(record)
    return "\n".join(lines)


def _swap_section(record, cells) -> list[str]:
    methods = [m for m in record["methods"] if m != DENSE]
    if not any("sparse_entries" in row for row in record["rows"]):
        return []  # a record written before the swap columns existed
    lines = [
        "## Swaps per sparse entry",
        "",
        "Blocks swapped in at each entry into a sparse phase against the previous "
        "sparse support, summed over the pruned layers and averaged over the "
        "entries after the first (mean ± std over seeds); in brackets the number "
        "of sparse entries and J, the Jaccard overlap of the first sparse support "
        "with the final one. One-shot and gradual pruning enter a sparse phase "
        "once: nothing to swap against (n/a).",
        "",
    ]
    for grid in record["grids"]:
        lines += [f"### {grid['task']}", ""]
        lines += [*swaps_markdown(cells, grid, methods, LABELS), ""]
    return lines


def _verdict_section(record) -> list[str]:
    rows = verdicts(record)
    if not rows:
        return []
    lines = [
        "## SA++ against the best other method",
        "",
        "Lead: SA++'s advantage in the task's primary metric (log-loss for criteo, "
        "accuracy for mnist1d; positive = SA++ better). Wins/loses: by more than "
        "the larger standard deviation of the two; otherwise a tie.",
        "",
        *markdown_table(
            ["task", "block", "sparsity", "runner-up", "lead", "noise", "verdict"],
            [
                [
                    r["task"],
                    r["block"],
                    f"{r['sparsity']:.0%}",
                    LABELS[r["runner_up"]],
                    f"{r['lead']:+.4f}",
                    f"{r['noise']:.4f}",
                    r["verdict"],
                ]
                for r in rows
            ],
        ),
    ]
    lines.append("")
    for task in dict.fromkeys(r["task"] for r in rows):
        task_rows = [r for r in rows if r["task"] == task]
        counts = {
            v: sum(r["verdict"] == v for r in task_rows)
            for v in ("wins", "ties", "loses")
        }
        sentence = (
            f"- {task}: SA++ wins {counts['wins']}, ties {counts['ties']} and "
            f"loses {counts['loses']} of {len(task_rows)} cells."
        )
        grew_b, total_b = _trend(task_rows, "block", "sparsity")
        grew_s, total_s = _trend(task_rows, "sparsity", "block")
        if total_b:
            sentence += (
                f" Its lead grows from the smallest to the largest block in "
                f"{grew_b} of {total_b} sparsities"
            )
        if total_s:
            sentence += (
                f"{';' if total_b else ' Its lead grows'} from the lowest to the "
                f"highest sparsity in {grew_s} of {total_s} block sizes"
            )
        lines.append(sentence + ("." if total_b or total_s else ""))
    lines.append("")
    return lines


# ------------------------------------------------------------------------- plots


def plot_pruning(record: dict, task: str, path) -> Path:
    """PNG of the task's metrics against sparsity: one panel per block size.

    One curve per method (mean over seeds, error bars one standard deviation),
    the dense baseline as a dashed line. Criteo: log-loss and AUC rows;
    mnist1d: accuracy.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = next(g for g in record["grids"] if g["task"] == task)
    cells = summarize(record)
    metrics = [m for m in _METRICS[task] if m[0] in ("loss", "auc", "accuracy")]
    blocks = grid["blocks"]
    figure, axes = plt.subplots(
        len(metrics),
        len(blocks),
        figsize=(4.2 * len(blocks), 3.4 * len(metrics)),
        squeeze=False,
    )
    dense = _lookup(cells, task, DENSE, None, None)
    for row, (metric, title, _digits) in enumerate(metrics):
        for col, block in enumerate(blocks):
            ax = axes[row][col]
            for method in record["methods"]:
                points = [
                    (s * 100, c[f"{metric}_mean"], c[f"{metric}_std"])
                    for s in grid["sparsities"]
                    if (c := _lookup(cells, task, method, block, s)) is not None
                ]
                x, y, err = zip(*points, strict=True)
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=LABELS[method])
            if dense is not None:
                ax.axhline(
                    dense[f"{metric}_mean"], color="grey", linestyle="--", label="dense"
                )
            ax.set_title(f"{task}, {block}x{block} blocks")
            ax.set_xlabel("block sparsity of the pruned layers (%)")
            ax.set_ylabel(title.split(" (")[0])
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


def write_pruning_results(record: dict, folder, stem: str) -> list[Path]:
    """``<stem>.{json,md}``, ``<stem>_<task>.png`` per task and ``<stem>_swaps.png``.

    Written atomically, each file whole or not at all.
    """
    written = write_results(folder, stem, record, pruning_markdown(record))
    for grid in record["grids"]:
        written.append(
            plot_pruning(
                record, grid["task"], Path(folder) / f"{stem}_{grid['task']}.png"
            )
        )
    written.append(plot_swaps(record, Path(folder) / f"{stem}_swaps.png", LABELS))
    return written
