"""Group LASSO, objective (2) of PAPER.md section 3.1, for every datafit.

    min_beta  L(beta) + lam * sum_g ||beta|_{T_g}||_2

Working-set proximal gradient with Anderson acceleration and certified stopping:

1. At the current point compute the duality gap (one product ``X B`` and one
   ``X^T theta``, :func:`~nonconvex_reg.solvers.optimality.group_lasso_primal_dual`).
   Stop when ``gap <= tol * P(beta)``; since ``gap >= P(beta) - P*``, the relative
   suboptimality is then at most ``tol / (1 - tol)``.
2. Otherwise build a working set: the current support plus the groups whose dual
   constraint ``||(X^T theta)_g|| <= lam`` is closest to violation, scored by
   ``(lam - ||(X^T theta)_g||) / ||X_g||`` (the rule of celer, Massias et al. 2018);
   the set at least doubles the support.
3. Solve the problem restricted to the working set (``datafit.restrict``) by
   proximal gradient with monotone Anderson extrapolation (Bertrand & Massias
   2021) until its own gap is below ``0.01`` times the outer gap. (FISTA with
   restart stalls when the working set has more columns than samples.)
4. After convergence, certify every group as zero or nonzero
   (:func:`~nonconvex_reg.solvers.optimality.certify_group_lasso_support`: gap-safe
   spheres for zeros, restricted strong convexity for nonzeros); groups certified
   zero are set to exactly zero, and if a group stays uncertain the tolerance is
   tightened (down to ``1e-13``) while that can still certify it (a zero group
   near its threshold, or a strongly convex restriction).
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_int, check_scalar
from ..penalties import GroupLassoPenalty
from ._prox_gradient import run_prox_gradient
from .optimality import (
    certify_group_lasso_support,
    group_lasso_primal_dual,
    kkt_residual,
)
from .result import SolverResult

__all__ = ["tau", "solve_group_lasso"]

_TIGHTEST_TOL = 1e-13
_INNER_GAP_FRACTION = 0.01
_INNER_METHOD = "anderson"


def _check_groups(datafit, groups):
    if groups.n_features != datafit.n_features:
        raise ValueError(
            f"`groups` must partition the datafit's {datafit.n_features} "
            f"coefficients; got {groups!r}."
        )


def _check_problem(datafit, groups, lam):
    _check_groups(datafit, groups)
    return check_scalar(lam, "lam", low=0.0, low_inclusive=False)


def tau(datafit, groups) -> float:
    """``tau = max_g ||grad_g L(0)||_2``: the smallest ``lam`` with solution 0.

    This is the threshold ``tau`` of PAPER.md section 3.4 (Axiotis & Yasuda 2023).
    """
    _check_groups(datafit, groups)
    return float(groups.norms(datafit.gradient(np.zeros(datafit.n_features))).max())


def _solve_restricted(datafit, groups, lam, beta, target_gap, max_iter):
    """Anderson-accelerated steps until the restricted gap is below target."""

    def converged(point):
        return group_lasso_primal_dual(datafit, groups, point, lam).gap <= target_gap

    return run_prox_gradient(
        datafit,
        groups,
        GroupLassoPenalty(),
        lam,
        beta,
        lipschitz=datafit.lipschitz(),
        accelerated=_INNER_METHOD,
        converged=converged,
        max_iter=max_iter,
    )


def solve_group_lasso(
    datafit,
    groups,
    lam,
    *,
    tol=1e-10,
    max_iter=100,
    max_inner_iter=20_000,
    beta0=None,
    initial_working_set=10,
) -> SolverResult:
    """Solve group LASSO to a certified relative duality gap.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
        Partition of the datafit's coefficients.
    lam : float
        Regularization strength, ``> 0``.
    tol : float, default=1e-10
        Stop when ``gap <= tol * P(beta)``; in ``(0, 1)``.
    max_iter : int, default=100
        Outer (working-set) iterations.
    max_inner_iter : int, default=20000
        FISTA iterations per working-set problem.
    beta0 : ndarray of shape (n_features,), optional
        Warm start.
    initial_working_set : int, default=10
        Size of the first working set.

    Returns
    -------
    SolverResult
        ``status`` is ``"converged"`` when the gap met ``tol`` and every group was
        certified zero or nonzero.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg import Groups, LeastSquares, solve_group_lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 12))
    >>> y = X[:, :3] @ np.array([1.0, -2.0, 1.5]) + 0.1 * rng.standard_normal(40)
    >>> groups = Groups.equal(12, 3)
    >>> res = solve_group_lasso(LeastSquares(X, y), groups, lam=0.5)
    >>> res.status, res.support.tolist()
    ('converged', [0])
    """
    start = time.perf_counter()
    lam = _check_problem(datafit, groups, lam)
    tol = check_scalar(
        tol, "tol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    max_iter = check_int(max_iter, "max_iter", low=1)
    max_inner_iter = check_int(max_inner_iter, "max_inner_iter", low=1)
    initial_working_set = check_int(initial_working_set, "initial_working_set", low=1)
    beta = (
        np.zeros(datafit.n_features)
        if beta0 is None
        else groups.check_coef(beta0, "beta0")
    )
    operator_norms = datafit.group_operator_norms(groups)
    ws_history = []
    previous = None
    current_tol = tol
    for outer in range(1, max_iter + 1):
        pd = group_lasso_primal_dual(datafit, groups, beta, lam)
        if pd.gap <= current_tol * pd.primal:
            certificate = certify_group_lasso_support(datafit, groups, beta, lam)
            if certificate.tightening_helps and current_tol > _TIGHTEST_TOL:
                # Uncertain case: a group is too close to its threshold; tighten.
                current_tol = max(current_tol * 1e-2, _TIGHTEST_TOL)
                continue
            status = (
                "converged"
                if not certificate.uncertain.any()
                else "converged_uncertified"
            )
            return _finish(groups, lam, certificate, status, outer, start, ws_history)
        support = pd.norms > 0
        score = (lam - pd.dual_norms) / np.maximum(operator_norms, 1e-300)
        score[support] = -np.inf
        ws_size = min(max(initial_working_set, 2 * int(support.sum())), groups.n_groups)
        working = np.sort(np.argsort(score, kind="stable")[:ws_size])
        if previous is None or not np.array_equal(working, previous[0]):
            # New working set: restrict (the restricted Lipschitz constant is
            # cached on the restricted datafit, so a repeated set reuses it).
            coords, sub_groups = groups.subset(working)
            previous = (working, coords, sub_groups, datafit.restrict(coords))
        _, coords, sub_groups, sub_datafit = previous
        target = max(_INNER_GAP_FRACTION * pd.gap, 0.1 * current_tol * pd.primal)
        sub_beta, n_inner, _ = _solve_restricted(
            sub_datafit, sub_groups, lam, beta[coords], target, max_inner_iter
        )
        ws_history.append((int(ws_size), int(n_inner)))
        beta = np.zeros_like(beta)
        beta[coords] = sub_beta
    certificate = certify_group_lasso_support(datafit, groups, beta, lam)
    return _finish(groups, lam, certificate, "max_iter", max_iter, start, ws_history)


def _finish(groups, lam, certificate, status, n_iter, start, ws_history):
    """Package a certified point as a :class:`SolverResult`."""
    beta, pd = certificate.beta, certificate.pd
    kkt = kkt_residual(pd.gradient, beta, pd.norms, groups, GroupLassoPenalty(), lam)
    result = SolverResult(
        beta=beta,
        objective=pd.primal,
        support=np.flatnonzero(pd.norms > 0),
        status=status,
        n_iter=n_iter,
        kkt_residual=float(kkt.max()),
        duality_gap=pd.gap,
        time=time.perf_counter() - start,
        uncertain=np.flatnonzero(certificate.uncertain),
        info={"working_sets": ws_history},
    )
    result.warn_if_not_converged("solve_group_lasso")
    return result
