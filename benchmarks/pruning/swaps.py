r"""The combinatorial step in the benchmarks: blocks swapped per sparse-phase entry.

SA++ and ACDC alternate dense and sparse phases, so a block pruned in one sparse
phase can return in the next; that replacement is the OMPR-like local search the
paper credits (arXiv:2402.17902, Section 3 and Appendix B). From a finished
pruner's support history (:meth:`neural.pruning.base.BlockPruner.history`, one
record per layer and sparse-phase entry) :func:`swap_columns` derives a run's
columns:

* ``sparse_entries``: entries into a sparse phase (1 for one-shot and gradual
  pruning, whose support never returns to dense);
* ``swaps_in_by_entry``: for entries ``i = 1, 2, ...`` the blocks swapped in
  since entry ``i - 1``, summed over the pruned layers;
* ``swaps_in_per_entry``: their mean over the entries after the first, ``None``
  (reported "n/a") with a single entry, where there is nothing to swap against;
* ``first_jaccard_final``: the Jaccard overlap of the first sparse support with
  the final one, averaged over the pruned layers (1: the first choice was kept).

:func:`swaps_markdown` tabulates them per method and cell (mean ± std over
seeds) and :func:`plot_swaps` draws the swaps-in per entry index, one line per
method and one panel per task.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from ..results import markdown_table, save_figure

__all__ = [
    "SWAP_COLUMNS",
    "mean_swaps_by_entry",
    "plot_swaps",
    "swap_cell_text",
    "swap_columns",
    "swaps_markdown",
]

#: The row fields :func:`swap_columns` adds.
SWAP_COLUMNS = (
    "sparse_entries",
    "swaps_in_per_entry",
    "first_jaccard_final",
    "swaps_in_by_entry",
)


def swap_columns(records) -> dict:
    """A run's swap columns (module docstring) from its support records.

    Parameters
    ----------
    records : sequence of neural.pruning.history.SupportRecord
        ``pruner.history()`` after training (``jaccard_final`` filled in).

    Returns
    -------
    dict
        The keys of :data:`SWAP_COLUMNS`.

    Examples
    --------
    >>> import torch
    >>> from neural.pruning.history import support_records
    >>> a, b = torch.tensor([1, 1, 0, 0]).bool(), torch.tensor([0, 1, 1, 0]).bool()
    >>> records = support_records(["fc"], [(3, [a]), (7, [b]), (9, [b])], final=[b])
    >>> swap_columns(records)  # doctest: +NORMALIZE_WHITESPACE
    {'sparse_entries': 3, 'swaps_in_per_entry': 0.5,
     'first_jaccard_final': 0.3333333333333333, 'swaps_in_by_entry': [1, 0]}
    """
    entries: dict[int, list] = {}
    for record in records:
        entries.setdefault(record.entry, []).append(record)
    ordered = [entries[i] for i in sorted(entries)]
    by_entry = [sum(r.swapped_in for r in rows) for rows in ordered[1:]]
    first = [r.jaccard_final for r in ordered[0]] if ordered else []
    return {
        "sparse_entries": len(ordered),
        "swaps_in_per_entry": statistics.fmean(by_entry) if by_entry else None,
        "first_jaccard_final": (
            statistics.fmean(first) if first and None not in first else None
        ),
        "swaps_in_by_entry": by_entry,
    }


def swap_cell_text(cell: dict | None) -> str:
    """``"swaps ± std (entries; J first-final)"`` of a summarized cell, or "-"."""
    if cell is None or "sparse_entries_mean" not in cell:
        return "-"
    entries = round(cell["sparse_entries_mean"])
    swaps = (
        f"{cell['swaps_in_per_entry_mean']:.1f} ± {cell['swaps_in_per_entry_std']:.1f}"
        if "swaps_in_per_entry_mean" in cell
        else "n/a"
    )
    jaccard = cell.get("first_jaccard_final_mean")
    jaccard = "-" if jaccard is None else f"{jaccard:.2f}"
    return f"{swaps} ({entries}; J {jaccard})"


def swaps_markdown(cells, grid: dict, methods, labels) -> list[str]:
    """Lines of one task's "swaps per sparse entry" table (one row per cell).

    ``cells`` are :func:`~benchmarks.pruning.report.summarize`'s; ``grid`` one
    of the record's grids; ``labels`` maps a method to its column title.
    """
    task = grid["task"]
    rows = []
    for block in grid["blocks"]:
        for sparsity in grid["sparsities"]:
            found = {
                c["method"]: c
                for c in cells
                if c["task"] == task
                and (c["block"], c["sparsity"]) == (block, sparsity)
            }
            rows.append(
                [block, f"{sparsity:.0%}"]
                + [swap_cell_text(found.get(m)) for m in methods]
            )
    return markdown_table(["block", "sparsity", *(labels[m] for m in methods)], rows)


def mean_swaps_by_entry(rows) -> list[float]:
    """Mean over ``rows`` of ``swaps_in_by_entry``, entry by entry (1, 2, ...)."""
    series = [r["swaps_in_by_entry"] for r in rows if r.get("swaps_in_by_entry")]
    if not series:
        return []
    length = min(len(s) for s in series)
    return [statistics.fmean(s[i] for s in series) for i in range(length)]


def plot_swaps(record: dict, path, labels) -> Path:
    """PNG of the blocks swapped in at each sparse-phase entry, per task.

    One panel per task, one line per method: the mean over seeds and over the
    task's (block, sparsity) cells of the swaps-in at entry ``i`` (against entry
    ``i - 1``), summed over the pruned layers. Methods with a single sparse entry
    (one-shot, gradual) have no line; the legend says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [g["task"] for g in record["grids"]]
    figure, axes = plt.subplots(
        1, len(tasks), figsize=(5.2 * len(tasks), 3.6), squeeze=False
    )
    for ax, task in zip(axes[0], tasks, strict=True):
        for method in record["methods"]:
            rows = [
                r for r in record["rows"] if r["task"] == task and r["method"] == method
            ]
            means = mean_swaps_by_entry(rows)
            if means:
                entries = range(1, len(means) + 1)
                ax.plot(entries, means, marker="o", label=labels[method])
            else:
                ax.plot([], [], " ", label=f"{labels[method]}: 1 sparse entry")
        ax.set_title(f"{task}: mean over seeds and cells")
        ax.set_xlabel("sparse-phase entry (against the previous one)")
        ax.set_ylabel("blocks swapped in")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
