"""Nonconvex group regularizers of differentiable pruning (arXiv:2402.17902).

The setup and theory of the paper's Sections 1-2: penalties on group norms, the
mask reparameterizations they are equivalent to, datafits, solvers with certified
supports, a cvxpy oracle, and numerical checks of Lemmas 2.1-2.5 and Theorem 1.1.

The names below load on first use (PEP 562, ``nonconvex_reg.lazy.lazy_exports``),
so ``import nonconvex_reg``, and the modules of ``omp`` and ``neural`` that only
need ``nonconvex_reg.validation``, import neither numba (the design kernels)
nor ``scipy.optimize`` (the masks); ``from nonconvex_reg import LeastSquares``,
``nonconvex_reg.LeastSquares`` and ``nonconvex_reg.SUB`` for every subpackage or
module ``SUB`` work as with eager imports.
"""

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:  # what readers and type checkers see; at run time, _EXPORTS
    from .datafits import Datafit, LeastSquares, Logistic, Multinomial, MultiResponse
    from .datasets import Problem, make_problem, make_sparse_design
    from .groups import Groups
    from .masks import (
        GroupMask,
        IdentityMask,
        L1Mask,
        MaskedResult,
        PowerPropMask,
        SoftmaxMask,
        check_mask_identity,
        minimize_masked,
    )
    from .oracle import cvxpy_group_lasso
    from .penalties import (
        GroupLassoPenalty,
        GroupPenalty,
        L1MaskPenalty,
        LogPenalty,
        LqPenalty,
        PowerPropPenalty,
        SoftmaxPenalty,
        group_prox,
    )
    from .solvers import (
        ConvergenceWarning,
        SolverResult,
        global_minimum,
        solve_group_lasso,
        solve_penalized,
        tau,
    )
    from .theorem import (
        TheoremCheck,
        check_lemma_2_4,
        check_lemma_2_5,
        check_theorem_1_1,
    )

#: Public name -> the module that defines it, imported on first access.
_EXPORTS = {
    "ConvergenceWarning": "nonconvex_reg.solvers",
    "Datafit": "nonconvex_reg.datafits",
    "GroupLassoPenalty": "nonconvex_reg.penalties",
    "GroupMask": "nonconvex_reg.masks",
    "GroupPenalty": "nonconvex_reg.penalties",
    "Groups": "nonconvex_reg.groups",
    "IdentityMask": "nonconvex_reg.masks",
    "L1Mask": "nonconvex_reg.masks",
    "L1MaskPenalty": "nonconvex_reg.penalties",
    "LeastSquares": "nonconvex_reg.datafits",
    "LogPenalty": "nonconvex_reg.penalties",
    "Logistic": "nonconvex_reg.datafits",
    "LqPenalty": "nonconvex_reg.penalties",
    "MaskedResult": "nonconvex_reg.masks",
    "MultiResponse": "nonconvex_reg.datafits",
    "Multinomial": "nonconvex_reg.datafits",
    "PowerPropMask": "nonconvex_reg.masks",
    "PowerPropPenalty": "nonconvex_reg.penalties",
    "Problem": "nonconvex_reg.datasets",
    "SoftmaxMask": "nonconvex_reg.masks",
    "SoftmaxPenalty": "nonconvex_reg.penalties",
    "SolverResult": "nonconvex_reg.solvers",
    "TheoremCheck": "nonconvex_reg.theorem",
    "check_lemma_2_4": "nonconvex_reg.theorem",
    "check_lemma_2_5": "nonconvex_reg.theorem",
    "check_mask_identity": "nonconvex_reg.masks",
    "check_theorem_1_1": "nonconvex_reg.theorem",
    "cvxpy_group_lasso": "nonconvex_reg.oracle",
    "global_minimum": "nonconvex_reg.solvers",
    "group_prox": "nonconvex_reg.penalties",
    "make_problem": "nonconvex_reg.datasets",
    "make_sparse_design": "nonconvex_reg.datasets",
    "minimize_masked": "nonconvex_reg.masks",
    "solve_group_lasso": "nonconvex_reg.solvers",
    "solve_penalized": "nonconvex_reg.solvers",
    "tau": "nonconvex_reg.solvers",
}

__all__ = [
    "ConvergenceWarning",
    "Datafit",
    "GroupLassoPenalty",
    "GroupMask",
    "GroupPenalty",
    "Groups",
    "IdentityMask",
    "L1Mask",
    "L1MaskPenalty",
    "LeastSquares",
    "LogPenalty",
    "Logistic",
    "LqPenalty",
    "MaskedResult",
    "MultiResponse",
    "Multinomial",
    "PowerPropMask",
    "PowerPropPenalty",
    "Problem",
    "SoftmaxMask",
    "SoftmaxPenalty",
    "SolverResult",
    "TheoremCheck",
    "check_lemma_2_4",
    "check_lemma_2_5",
    "check_mask_identity",
    "check_theorem_1_1",
    "cvxpy_group_lasso",
    "global_minimum",
    "group_prox",
    "make_problem",
    "make_sparse_design",
    "minimize_masked",
    "solve_group_lasso",
    "solve_penalized",
    "tau",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
