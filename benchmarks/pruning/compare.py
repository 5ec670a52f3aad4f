"""Whether a pruning benchmark rerun reproduces a reference record.

``sapp bench pruning --compare REFERENCE.json`` checks issue 6's bar "the
committed results match a rerun within noise". Runs are matched by ``(task,
method, block, sparsity, seed, steps)``; only what both records hold is compared,
so a quick rerun can be checked against the full results (the quick grid's
Criteo cells are part of the full grid, with the same recipe; its MNIST-1D runs
are shorter and match nothing there).

Two figures:

* per metric, the largest absolute difference between matched runs (0 when the
  rerun is bit-identical: a seed fixes the initialization, the batch order and
  the data, and each run uses one torch thread);
* per cell (``task, method, block, sparsity``) and the task's primary metric,
  the difference of the means over the shared seeds against the noise, the
  larger of the two records' sample standard deviations over those seeds. The
  rerun *matches* when every cell's difference is at most its noise.
"""

from __future__ import annotations

import statistics

from ..results import markdown_table
from .report import PRIMARY_METRIC, is_metric

__all__ = ["compare_records", "comparison_markdown"]

_RUN_KEY = ("task", "method", "block", "sparsity", "seed", "steps")
_NOT_METRICS = set(_RUN_KEY)


def _runs(record: dict) -> dict[tuple, dict]:
    return {tuple(row[k] for k in _RUN_KEY): row for row in record["rows"]}


def _std(values) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def compare_records(reference: dict, record: dict) -> dict:
    """Compare the runs ``record`` shares with ``reference`` (module docstring).

    Parameters
    ----------
    reference, record : dict
        Records of :func:`~benchmarks.pruning.runs.pruning_benchmark` (as written to
        ``pruning*.json``).

    Returns
    -------
    dict
        ``matched_runs``, ``unmatched_runs`` (runs of ``record`` that
        ``reference`` lacks), ``max_abs_difference`` (metric -> largest
        difference over matched runs), ``cells`` (per cell: ``task``,
        ``method``, ``block``, ``sparsity``, ``metric``, ``n_seeds``,
        ``reference_mean``, ``mean``, ``difference``, ``noise``, ``within``)
        and ``matches`` (every cell within its noise).

    Raises
    ------
    ValueError
        If the two records share no run.
    """
    reference_runs, runs = _runs(reference), _runs(record)
    shared = [key for key in runs if key in reference_runs]
    if not shared:
        raise ValueError(
            "`reference` shares no run (task, method, block, sparsity, seed, "
            "steps) with this run; compare records of overlapping grids."
        )
    max_abs = {}
    for key in shared:
        new, old = runs[key], reference_runs[key]
        for metric in new.keys() - _NOT_METRICS:
            if is_metric(new[metric]) and is_metric(old.get(metric)):
                gap = abs(new[metric] - old[metric])
                max_abs[metric] = max(max_abs.get(metric, 0.0), gap)
    by_cell: dict[tuple, list[tuple]] = {}
    for key in shared:
        by_cell.setdefault(key[:4], []).append(key)
    cells = []
    for (task, method, block, sparsity), keys in by_cell.items():
        metric = PRIMARY_METRIC[task][0]
        old = [reference_runs[k][metric] for k in keys]
        new = [runs[k][metric] for k in keys]
        difference = statistics.fmean(new) - statistics.fmean(old)
        noise = max(_std(old), _std(new))
        cells.append(
            {
                "task": task,
                "method": method,
                "block": block,
                "sparsity": sparsity,
                "metric": metric,
                "n_seeds": len(keys),
                "reference_mean": statistics.fmean(old),
                "mean": statistics.fmean(new),
                "difference": difference,
                "noise": noise,
                "within": abs(difference) <= noise,
            }
        )
    return {
        "matched_runs": len(shared),
        "unmatched_runs": len(runs) - len(shared),
        "max_abs_difference": dict(sorted(max_abs.items())),
        "cells": cells,
        "matches": all(cell["within"] for cell in cells),
    }


def _cell_row(c) -> list:
    sparsity = "-" if c["sparsity"] is None else f"{c['sparsity']:.0%}"
    return [
        c["task"],
        c["method"],
        c["block"] or "-",
        sparsity,
        c["metric"],
        f"{c['reference_mean']:.4f}",
        f"{c['mean']:.4f}",
        f"{c['difference']:+.4f}",
        f"{c['noise']:.4f}",
    ]


def comparison_markdown(comparison: dict, reference_name: str) -> str:
    """:func:`compare_records`' result as Markdown: the verdict, then what differs."""
    outside = [c for c in comparison["cells"] if not c["within"]]
    gaps = ", ".join(
        f"{metric} {gap:.2g}"
        for metric, gap in comparison["max_abs_difference"].items()
    )
    verdict = "matches" if comparison["matches"] else "does NOT match"
    lines = [
        f"## Rerun against {reference_name}",
        "",
        f"This run {verdict} the reference: {comparison['matched_runs']} runs "
        f"compared ({comparison['unmatched_runs']} not in the reference), "
        f"{len(comparison['cells'])} cells, {len(outside)} with a mean difference "
        "beyond the larger std over seeds. Largest run-by-run difference: "
        f"{gaps or 'no shared metric'}.",
    ]
    if outside:
        header = ["task", "method", "block", "sparsity", "metric", "reference"]
        header += ["rerun", "difference", "noise"]
        lines += ["", *markdown_table(header, [_cell_row(c) for c in outside])]
    return "\n".join(lines) + "\n"
