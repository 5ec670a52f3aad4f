"""Report of ``sapp bench pruning``: mean ± std over seeds, SA++ verdicts, plots.

From a :func:`~benchmarks.pruning.runs.pruning_benchmark` record (one row per trained
model): :func:`summarize` gives every cell's mean and sample standard deviation
over seeds; :func:`verdicts` compares SA++ with the best other method in each
(task, block, sparsity) cell, a win or a loss being a lead in the task's primary
metric larger than the larger of the two standard deviations (the paper's Table 2
hypothesis, arXiv:2402.17902); :func:`pruning_markdown` writes Table 2-shaped
tables, the verdicts and their trends in block size and sparsity;
:func:`plot_pruning` plots each metric against sparsity; and
:func:`write_pruning_results` writes ``<stem>.{json,md}`` and ``<stem>_<task>.png``.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from ..results import markdown_table, save_figure, write_results
from .runs import DENSE

__all__ = [
    "PRIMARY_METRIC",
    "plot_pruning",
    "pruning_markdown",
    "summarize",
    "verdicts",
    "write_pruning_results",
]

_LABELS = {
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


def summarize(record: dict) -> list[dict]:
    """Mean and standard deviation over seeds of every metric, per cell.

    Returns
    -------
    list of dict
        One per ``(task, method, block, sparsity)``, with ``n_seeds`` and, per
        metric ``m``, ``m_mean`` and ``m_std`` (sample std; 0 with one seed).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in record["rows"]:
        key = (row["task"], row["method"], row["block"], row["sparsity"])
        groups.setdefault(key, []).append(row)
    cells = []
    for (task, method, block, sparsity), rows in groups.items():
        cell = {
            "task": task,
            "method": method,
            "block": block,
            "sparsity": sparsity,
            "n_seeds": len(rows),
        }
        for metric in rows[0]:
            values = [r[metric] for r in rows]
            if metric in ("task", "method", "block", "sparsity", "seed", "steps"):
                continue
            cell[f"{metric}_mean"] = statistics.fmean(values)
            cell[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        cells.append(cell)
    return cells


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
                lead = sign * (sapp[f"{metric}_mean"] - best[f"{metric}_mean"])
                noise = max(sapp[f"{metric}_std"], best[f"{metric}_std"])
                verdict = (
                    "wins" if lead > noise else "loses" if lead < -noise else "ties"
                )
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
        "# Block pruning: magnitude, block powerprop, ACDC and SA++ (issue 6)",
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
                        [_LABELS[method], *(_fmt(c, metric, digits) for c in found)]
                    )
                lines += [*markdown_table(header, rows), ""]
    lines += _verdict_section(record)
    return "\n".join(lines)


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
                    _LABELS[r["runner_up"]],
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
                ax.errorbar(
                    x, y, yerr=err, marker="o", capsize=3, label=_LABELS[method]
                )
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
    """``<stem>.{json,md}`` and one ``<stem>_<task>.png`` per task, atomically."""
    written = write_results(folder, stem, record, pruning_markdown(record))
    for grid in record["grids"]:
        written.append(
            plot_pruning(
                record, grid["task"], Path(folder) / f"{stem}_{grid['task']}.png"
            )
        )
    return written
