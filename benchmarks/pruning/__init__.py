"""``sapp bench pruning``: every pruning method x block size x sparsity, at CPU scale.

:mod:`~benchmarks.pruning.runs` trains the grid, :mod:`~benchmarks.pruning.report`
writes its tables, verdicts and plots, :mod:`~benchmarks.pruning.compare` checks a
rerun against a record and :mod:`~benchmarks.pruning.cli` is the command.
"""

from .compare import compare_records, comparison_markdown
from .report import (
    PRIMARY_METRIC,
    plot_pruning,
    pruning_markdown,
    summarize,
    verdicts,
    write_pruning_results,
)
from .runs import (
    DENSE,
    METHODS,
    PAPER_METHODS,
    TASKS,
    PruningGrid,
    default_grids,
    pruning_benchmark,
)

__all__ = [
    "DENSE",
    "METHODS",
    "PAPER_METHODS",
    "PRIMARY_METRIC",
    "TASKS",
    "PruningGrid",
    "compare_records",
    "comparison_markdown",
    "default_grids",
    "plot_pruning",
    "pruning_benchmark",
    "pruning_markdown",
    "summarize",
    "verdicts",
    "write_pruning_results",
]
