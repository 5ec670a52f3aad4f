"""Solvers for group LASSO (2), sum-form penalties and objective (1)."""

from .global_min import global_minimum
from .group_lasso import solve_group_lasso, tau
from .penalized import solve_penalized
from .result import STATUS_MESSAGES, ConvergenceWarning, SolverResult, StatusResult

__all__ = [
    "STATUS_MESSAGES",
    "ConvergenceWarning",
    "SolverResult",
    "StatusResult",
    "global_minimum",
    "solve_group_lasso",
    "solve_penalized",
    "tau",
]
