"""Nonconvex group regularizers of differentiable pruning (arXiv:2402.17902).

The setup and theory of the paper's Sections 1-2: penalties on group norms, the
mask reparameterizations they are equivalent to, datafits, solvers with certified
supports, a cvxpy oracle, and numerical checks of Lemmas 2.1-2.5 and Theorem 1.1.
"""

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
