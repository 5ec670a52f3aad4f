"""``sapp bench pruning``: every pruning method x block size x sparsity, at CPU scale.

:mod:`~benchmarks.pruning.runs` trains the grid (its cell runner serves the
ablation and tuning benchmarks too), :mod:`~benchmarks.pruning.swaps` measures the
blocks swapped per sparse-phase entry, :mod:`~benchmarks.pruning.holdout` carves
a validation split from the training data, :mod:`~benchmarks.pruning.report`
writes the tables, verdicts and plots, :mod:`~benchmarks.pruning.compare` checks
a rerun against a record and :mod:`~benchmarks.pruning.cli` is the command.
"""

from .compare import compare_records, comparison_markdown
from .holdout import holdout_split
from .report import (
    CELL_KEYS,
    LABELS,
    PRIMARY_METRIC,
    compare_means,
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
    cell_recipe,
    default_grids,
    prepare_criteo,
    pruning_benchmark,
    run_cell,
    run_cells,
)
from .swaps import swap_columns

__all__ = [
    "CELL_KEYS",
    "DENSE",
    "LABELS",
    "METHODS",
    "PAPER_METHODS",
    "PRIMARY_METRIC",
    "TASKS",
    "PruningGrid",
    "cell_recipe",
    "compare_means",
    "compare_records",
    "comparison_markdown",
    "default_grids",
    "holdout_split",
    "plot_pruning",
    "prepare_criteo",
    "pruning_benchmark",
    "pruning_markdown",
    "run_cell",
    "run_cells",
    "summarize",
    "swap_columns",
    "verdicts",
    "write_pruning_results",
]
