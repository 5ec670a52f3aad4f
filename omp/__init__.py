"""Group OMP, group OMPR and Algorithm 2 of arXiv:2402.17902, Appendix B (issue 3).

:func:`~omp.select.top_k_groups` is the selection rule every method of the
project shares, from group OMP to the neural pruners. The searches return an
:class:`OMPResult`; :func:`best_subset` is the exhaustive oracle they are measured
against, :func:`check_theorem_b3` checks the guarantee of Algorithm 2, and the
scikit-learn estimators adapt the searches to ``fit``/``predict``.

The names below load on first use (PEP 562, ``nonconvex_reg.lazy.lazy_exports``),
so ``import omp``, and the neural pruners that use
:func:`~omp.select.top_k_groups`, import neither the solvers of
:mod:`nonconvex_reg` (numba, ``scipy.optimize``) nor scikit-learn;
``from omp import GroupOMPRRegressor``, ``omp.GroupOMPRRegressor`` and ``omp.SUB``
for every module ``SUB`` work as with eager imports.
"""

from typing import TYPE_CHECKING

from nonconvex_reg.lazy import lazy_exports

if TYPE_CHECKING:  # what readers and type checkers see; at run time, _EXPORTS
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

#: Public name -> the module that defines it, imported on first access.
_EXPORTS = {
    "GroupOMPRClassifier": "omp.estimators",
    "GroupOMPRRegressor": "omp.estimators",
    "GroupOMPRegressor": "omp.estimators",
    "OMPResult": "omp.result",
    "RestrictedConstants": "omp.restricted",
    "TheoremB3Check": "omp.restricted",
    "best_subset": "omp.exhaustive",
    "check_theorem_b3": "omp.restricted",
    "group_omp": "omp.greedy",
    "group_ompr": "omp.greedy",
    "ompr_nonconvex": "omp.nonconvex",
    "restricted_constants": "omp.restricted",
    "top_k_groups": "omp.select",
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

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
