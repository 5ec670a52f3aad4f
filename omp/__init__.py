"""Group OMP, group OMPR and Algorithm 2 of arXiv:2402.17902, Appendix B (issue 3).

:func:`~omp.select.top_k_groups` is the selection rule every method of the
project shares, from group OMP to the neural pruners. The searches return an
:class:`OMPResult`; :func:`best_subset` is the exhaustive oracle they are measured
against, :func:`check_theorem_b3` checks the guarantee of Algorithm 2, and the
scikit-learn estimators adapt the searches to ``fit``/``predict``.

The estimators load on first use (PEP 562), so ``import omp``, and the neural
pruners that use :func:`~omp.select.top_k_groups`, do not import scikit-learn;
``from omp import GroupOMPRRegressor`` and ``omp.GroupOMPRRegressor`` work as
with eager imports.
"""

import importlib

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

#: Public names that load on first use -> the module that defines them.
_LAZY = {
    "GroupOMPRClassifier": "omp.estimators",
    "GroupOMPRRegressor": "omp.estimators",
    "GroupOMPRegressor": "omp.estimators",
}

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


def __getattr__(name: str):
    """Import an estimator class on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
