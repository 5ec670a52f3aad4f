"""``sapp bench solvers``: our solvers against their peers, as benchopt curves.

:mod:`~benchmarks.solvers.runs` builds the datasets and times every run,
:mod:`~benchmarks.solvers.peers` adapts each solver to one signature,
:mod:`~benchmarks.solvers.report` writes the tables and the plot and
:mod:`~benchmarks.solvers.cli` is the command.
"""

from .peers import SOLVER_NAMES, SOLVERS
from .report import (
    SPEED_BAR,
    plot_suboptimality,
    save_solvers,
    solver_markdown,
    speed_ratios,
)
from .runs import PENALTY_NAMES, PLOT_FLOOR, TARGETS, planted_groups, solver_benchmark

__all__ = [
    "PENALTY_NAMES",
    "PLOT_FLOOR",
    "SOLVERS",
    "SOLVER_NAMES",
    "SPEED_BAR",
    "TARGETS",
    "planted_groups",
    "plot_suboptimality",
    "save_solvers",
    "solver_markdown",
    "solver_benchmark",
    "speed_ratios",
]
