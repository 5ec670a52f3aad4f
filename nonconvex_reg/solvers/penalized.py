"""Local solver for group-penalized problems with any penalty (arXiv:2402.17902).

    sum form:      min_beta  L(beta) + lam * sum_g q(||beta_g||)
    inverse form:  min_beta  L(beta) + lam * q^{-1}(sum_g q(||beta_g||))   (1)

Sum form: proximal gradient with the exact nonconvex group prox; FISTA with restart
when q is convex (then the result is the global minimum), the plain monotone method
otherwise (a first-order stationary point).

Inverse form: the penalty does not separate over groups. Each step linearizes the
outer ``q^{-1}`` at the current point, which turns the penalty into the sum form
with weight ``w = lam / q'(q^{-1}(sum_g q(a_g)))`` (derived here; see
``objectives``), takes one proximal gradient step on that sum form, and
backtracks the step until objective (1) decreases. A fixed point satisfies the
first-order conditions of (1).

Stopping, both forms: the largest per-group KKT residual
(``optimality.kkt_residual``) is at most ``tol * tau`` with
``tau = max_g ||grad_g L(0)||``, the natural gradient scale of the problem.
These are *local* methods for nonconvex q; :func:`~.global_min.global_minimum`
is the global one.
"""

from __future__ import annotations

import time

import numpy as np

from ..penalties import group_prox
from ..threads import with_thread_limit
from ..validation import check_int, check_scalar
from ._prox_gradient import run_anderson, run_prox_gradient
from .group_lasso import _check_problem, solve_group_lasso, tau
from .objectives import (
    check_form,
    check_penalty,
    effective_weight,
    inverse_form_zero_residual,
    objective_value,
)
from .optimality import kkt_residual
from .result import SolverResult

__all__ = ["solve_penalized"]

_BACKTRACK_FACTOR = 2.0
_MAX_BACKTRACKS = 60
#: A step must lower objective (1) by more than rounding (4 ulps) to count.
_MIN_DECREASE = 4 * np.finfo(float).eps


def _kkt(datafit, groups, penalty, lam, form, beta):
    norms = groups.norms(beta)
    gradient = datafit.gradient(beta)
    if form == "inverse" and not norms.any():
        # Zero point of objective (1): the weight is undefined there.
        return inverse_form_zero_residual(gradient, groups, penalty, lam)
    weight = effective_weight(penalty, norms, lam, form)
    return kkt_residual(gradient, beta, norms, groups, penalty, weight)


@with_thread_limit
def solve_penalized(
    datafit,
    groups,
    penalty,
    lam,
    *,
    form="sum",
    tol=1e-8,
    max_iter=50_000,
    beta0=None,
) -> SolverResult:
    """Minimize a group-penalized objective locally, with certified stationarity.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    penalty : GroupPenalty
    lam : float
        Regularization strength, ``> 0``.
    form : {"sum", "inverse"}, default="sum"
        ``lam * sum q`` (Lemmas 2.1-2.3) or ``lam * q^{-1}(sum q)`` (objective (1)).
    tol : float, default=1e-8
        Stop when the largest KKT residual is at most ``tol * tau``. Residuals of
        the inverse form stall near ``1e-9 * tau`` in double precision (the
        objective stops decreasing measurably), hence the default.
    max_iter : int, default=50000
    beta0 : ndarray of shape (n_features,), optional
        Starting point; default zero for the sum form. For the inverse form the
        default is the group-LASSO solution (equal to the minimizer of (1) in the
        regime of Theorem 1.1), or ``-grad L(0) / Lip`` when that is zero and
        ``q'(0+) = 0`` (zero is then a fixed point of the linearized step).
    n_threads : int or None, default=None
        Most BLAS threads the call may use, ``>= 1``; None lets
        :func:`~nonconvex_reg.threads.default_n_threads` choose from the size of
        ``X``. A lower limit already in force (``threadpool_limits``) wins, and
        every library's limit is restored on return.

    Returns
    -------
    SolverResult
        ``status`` is ``"converged"`` for convex sum-form problems (global),
        ``"stationary"`` otherwise, ``"max_iter"`` on failure.

    Notes
    -----
    Time and memory, for ``n`` samples, ``p`` columns of X, ``K`` outputs and
    ``nnz`` stored values of X (``n p`` when dense; a scipy.sparse design is
    read in place, never densified):

    * once: ``||X||_2^2`` for the step, ``O(min(n, p)^2 max(n, p))`` when
      dense, and for a sparse X Lanczos iterations of ``O(nnz)`` each (tens of
      them) keeping 20 vectors of length ``min(n, p)``;
    * per iteration: two products with X, ``O(nnz K)``, and the group prox,
      ``O(p K)``; the KKT test every 10 iterations costs one more.

    Memory beyond X: ``O((n + p) K)`` vectors (Anderson keeps 6 iterates).

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg import Groups, LeastSquares, LqPenalty, solve_penalized
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 12))
    >>> y = X[:, :3] @ np.array([1.0, -2.0, 1.5])
    >>> res = solve_penalized(LeastSquares(X, y), Groups.equal(12, 3),
    ...                       LqPenalty(0.5), lam=0.3)
    >>> res.status, res.support.tolist()
    ('stationary', [0])
    """
    start = time.perf_counter()
    lam = _check_problem(datafit, groups, lam)
    check_penalty(penalty)
    form = check_form(form)
    tol = check_scalar(tol, "tol", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    lipschitz = datafit.lipschitz()
    scale = max(tau(datafit, groups), np.finfo(float).tiny)
    if beta0 is not None:
        beta = groups.check_coef(beta0, "beta0")
    elif form == "inverse":
        beta = _inverse_form_start(datafit, groups, penalty, lam, lipschitz)
    else:
        beta = np.zeros(datafit.n_features)

    def converged(point):
        return _kkt(datafit, groups, penalty, lam, form, point).max() <= tol * scale

    if form == "sum":
        beta, n_iter, done = run_prox_gradient(
            datafit,
            groups,
            penalty,
            lam,
            beta,
            lipschitz=lipschitz,
            accelerated=penalty.is_convex,
            converged=converged,
            max_iter=max_iter,
        )
    else:
        beta, n_iter, done = _inverse_form_descent(
            datafit, groups, penalty, lam, beta, lipschitz, converged, max_iter
        )
    if not done:
        status = "max_iter" if n_iter >= max_iter else "stalled"
    elif form == "sum" and penalty.is_convex:
        status = "converged"
    else:
        status = "stationary"
    residual = _kkt(datafit, groups, penalty, lam, form, beta)
    result = SolverResult(
        beta=beta,
        objective=objective_value(datafit, groups, penalty, lam, beta, form),
        support=np.flatnonzero(groups.norms(beta) > 0),
        status=status,
        n_iter=n_iter,
        kkt_residual=float(residual.max()),
        duality_gap=None,
        time=time.perf_counter() - start,
        info={"form": form, "penalty": repr(penalty)},
    )
    result.warn_if_not_converged("solve_penalized")
    return result


def _inverse_form_start(datafit, groups, penalty, lam, lipschitz):
    start = solve_group_lasso(datafit, groups, lam).beta
    if not start.any() and penalty.derivative_at_zero == 0:
        start = -datafit.gradient(start) / lipschitz
    return start


def _steepest_at_zero(gradient, groups, penalty):
    """Gradient restricted to the steepest-descent direction of (1) at zero.

    For ``order_at_zero <= 1`` the penalty's directional derivative at zero is
    ``lam`` times the group-l1 norm on one-group directions, so the steepest
    direction is the argmax-gradient group; otherwise (``a^2``-like) it is the
    full gradient (derived here, as in ``inverse_form_zero_residual``).
    """
    if penalty.order_at_zero > 1:
        return gradient
    best = int(np.argmax(groups.norms(gradient)))
    return gradient * groups.expand(np.arange(groups.n_groups) == best)


def _inverse_form_descent(
    datafit, groups, penalty, lam, beta, lipschitz, converged, max_iter
):
    """Monotone linearize-and-prox descent on objective (1), Anderson-accelerated."""
    state = {"step": 1.0 / lipschitz}

    def objective(x):
        return objective_value(datafit, groups, penalty, lam, x, "inverse")

    def step_map(x):
        grad = datafit.gradient(x)
        norms = groups.norms(x)
        if not norms.any():
            # Zero case: the linearization is undefined; step along the steepest
            # direction of (1) at zero (see inverse_form_zero_residual).
            weight, grad = 0.0, _steepest_at_zero(grad, groups, penalty)
        else:
            weight = effective_weight(penalty, norms, lam, "inverse")
        current = objective(x)
        step = min(state["step"] * _BACKTRACK_FACTOR, 1.0 / lipschitz)
        for _ in range(_MAX_BACKTRACKS):
            # Backtracking case: shrink the step until objective (1) decreases.
            candidate = x - step * grad
            if weight > 0:
                candidate = group_prox(penalty, candidate, groups, step * weight)
            if objective(candidate) < current - _MIN_DECREASE * max(1.0, abs(current)):
                state["step"] = step
                return candidate
            step /= _BACKTRACK_FACTOR
        return x

    return run_anderson(step_map, objective, beta, converged, max_iter)
