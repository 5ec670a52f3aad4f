"""cvxpy oracle for group LASSO, objective (2) of Theorem 1.1 in arXiv:2402.17902.

The problem is written as the math reads, one cvxpy expression per datafit, and
solved by Clarabel (interior point; status checked), with a tight-tolerance SCS
fallback. Interior-point solutions never have exact zeros: Clarabel leaves inactive
groups at norms near 1e-6 (ANCHORS.md). The support is therefore read from the
optimality conditions, with the gap-safe tests of
:mod:`nonconvex_reg.solvers.optimality` evaluated at the oracle's point: groups
proven zero are set to exactly zero, and a group that can be proven neither zero
nor nonzero is reported in ``uncertain``.

This is the oracle, not the engine: it is 100x or more slower than
:func:`~nonconvex_reg.solvers.solve_group_lasso` (see benchmarks/). cvxpy is
imported inside the functions that build and solve the problem, when the oracle
is first called: it takes about a second to import, and ``import nonconvex_reg``
should not pay for it.
"""

from __future__ import annotations

import time

import numpy as np

from .datafits import LeastSquares, Logistic, Multinomial, MultiResponse
from .penalties import GroupLassoPenalty
from .solvers.group_lasso import _check_problem
from .solvers.optimality import certify_group_lasso_support, kkt_residual
from .solvers.result import SolverResult
from .validation import check_choice

__all__ = ["cvxpy_group_lasso"]

_SOLVERS = ("CLARABEL", "SCS")
_SCS_OPTIONS = {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200_000}


def _coef_matrix(b, datafit):
    import cvxpy as cp

    return cp.reshape(b, datafit.coef_shape, order="C")


def _least_squares(b, d):
    import cvxpy as cp

    return cp.sum_squares(d.y - d.X @ b) / (2 * d.n_samples)


def _multi_response(b, d):
    import cvxpy as cp

    return cp.sum_squares(d.y - d.X @ _coef_matrix(b, d)) / (2 * d.n_samples)


def _logistic(b, d):
    import cvxpy as cp

    return cp.sum(cp.logistic(-cp.multiply(d.y, d.X @ b))) / d.n_samples


def _multinomial(b, d):
    import cvxpy as cp

    scores = d.X @ _coef_matrix(b, d)
    one_hot = np.eye(d.coef_shape[1])[d.y]
    data_term = cp.sum(cp.log_sum_exp(scores, axis=1)) - cp.sum(
        cp.multiply(one_hot, scores)
    )
    return data_term / d.n_samples


# The datafit formulas F(X B), written as in nonconvex_reg/datafits (one per class).
_LOSSES = {
    LeastSquares: _least_squares,
    MultiResponse: _multi_response,
    Logistic: _logistic,
    Multinomial: _multinomial,
}


def _problem(datafit, groups, lam):
    import cvxpy as cp

    loss = _LOSSES.get(type(datafit))
    if loss is None:
        raise TypeError(
            f"`datafit` must be one of {[c.__name__ for c in _LOSSES]}; "
            f"got {type(datafit).__name__}."
        )
    b = cp.Variable(datafit.n_features)
    objective = loss(b, datafit) + datafit.ridge / 2 * cp.sum_squares(b)
    group_norms = [cp.norm(b[groups[g]], 2) for g in range(groups.n_groups)]
    objective = objective + lam * cp.sum(cp.hstack(group_norms))
    return cp.Problem(cp.Minimize(objective)), b


def cvxpy_group_lasso(datafit, groups, lam, *, solver="CLARABEL") -> SolverResult:
    """Solve group LASSO with cvxpy and certify the support by KKT.

    Parameters
    ----------
    datafit : LeastSquares, MultiResponse, Logistic or Multinomial
    groups : Groups
    lam : float
        Regularization strength, ``> 0``.
    solver : {"CLARABEL", "SCS"}, default="CLARABEL"
        First solver tried; if it fails or reports an inaccurate status, the other
        one is tried (SCS with tolerances 1e-10).

    Returns
    -------
    SolverResult
        ``status="oracle"`` when solved and every group certified;
        ``"converged_uncertified"`` when some group stays uncertain. ``info`` names
        the cvxpy solver used and its status.

    Raises
    ------
    RuntimeError
        If no solver returns an optimal status.
    """
    import cvxpy as cp

    start = time.perf_counter()
    lam = _check_problem(datafit, groups, lam)
    check_choice(solver, "solver", _SOLVERS)
    problem, b = _problem(datafit, groups, lam)
    attempts = []
    for name in (solver, *[s for s in _SOLVERS if s != solver]):
        options = _SCS_OPTIONS if name == "SCS" else {}
        try:
            problem.solve(solver=name, **options)
        except cp.error.SolverError as err:
            attempts.append(f"{name}: {err}")
            continue
        attempts.append(f"{name}: {problem.status}")
        if problem.status == cp.OPTIMAL:
            break
    else:
        raise RuntimeError(f"cvxpy could not solve the group LASSO: {attempts}.")
    certificate = certify_group_lasso_support(
        datafit, groups, np.asarray(b.value, dtype=np.float64), lam
    )
    beta, pd, uncertain = certificate.beta, certificate.pd, certificate.uncertain
    residual = kkt_residual(
        pd.gradient, beta, pd.norms, groups, GroupLassoPenalty(), lam
    )
    return SolverResult(
        beta=beta,
        objective=pd.primal,
        support=np.flatnonzero(pd.norms > 0),
        status="converged_uncertified" if uncertain.any() else "oracle",
        n_iter=len(attempts),
        kkt_residual=float(residual.max()),
        duality_gap=pd.gap,
        time=time.perf_counter() - start,
        uncertain=np.flatnonzero(uncertain),
        info={"solver_attempts": attempts},
    )
