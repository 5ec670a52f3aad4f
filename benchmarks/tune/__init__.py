"""``sapp bench tune``: every pruning method tuned with the same budget.

:mod:`~benchmarks.tune.spaces` holds each method's search space and the random
search, :mod:`~benchmarks.tune.runs` the protocol (selection on a validation
split of the training data, one test), :mod:`~benchmarks.tune.report` the tables
and :mod:`~benchmarks.tune.cli` the command.
"""

from .report import final_cells, tune_markdown, tuned_verdicts, write_tune_results
from .runs import BUDGETS, tune_benchmark, tune_grids, winners
from .spaces import SPACES, TUNE_METHODS, Knob, draw_configs

__all__ = [
    "BUDGETS",
    "SPACES",
    "TUNE_METHODS",
    "Knob",
    "draw_configs",
    "final_cells",
    "tune_benchmark",
    "tune_grids",
    "tune_markdown",
    "tuned_verdicts",
    "winners",
    "write_tune_results",
]
