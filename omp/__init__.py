"""Group OMP, group OMPR and Algorithm 2 of arXiv:2402.17902, Appendix B (issue 3).

:func:`~omp.select.top_k_groups` is the selection rule every method of the
project shares, from group OMP to the neural pruners. The searches return an
:class:`OMPResult`; :func:`best_subset` is the exhaustive oracle they are measured
against, :func:`check_theorem_b3` checks the guarantee of Algorithm 2, and the
scikit-learn estimators adapt the searches to ``fit``/``predict``.
"""

from .estimators import GroupOMPRClassifier, GroupOMPRegressor, GroupOMPRRegressor
from .exhaustive import best_subset
from .greedy import group_omp, group_ompr
from .nonconvex import ompr_nonconvex
from .restricted import (
    RestrictedConstants,
    TheoremB3Check,
    check_theorem_b3,
    restricted_constants,
)
from .result import OMPResult
from .select import top_k_groups

__all__ = [
    "GroupOMPRClassifier",
    "GroupOMPRRegressor",
    "GroupOMPRegressor",
    "OMPResult",
    "RestrictedConstants",
    "TheoremB3Check",
    "best_subset",
    "check_theorem_b3",
    "group_omp",
    "group_ompr",
    "ompr_nonconvex",
    "restricted_constants",
    "top_k_groups",
]
