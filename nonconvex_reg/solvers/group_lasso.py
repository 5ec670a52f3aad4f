"""Group LASSO, objective (2) of Theorem 1.1 (arXiv:2402.17902), for every datafit.

    min_beta  L(beta) + lam * sum_g ||beta|_{T_g}||_2

Working sets, an inner proximal Newton solver, and certified stopping:

1. At the current point compute the duality gap (one ``X^T theta`` over all of
   X; ``X B`` comes from the working set's columns,
   ``nonconvex_reg.solvers.optimality.group_lasso_primal_dual``).
   Stop when ``gap <= tol * P(beta)``; since ``gap >= P(beta) - P*``, the relative
   suboptimality is then at most ``tol / (1 - tol)``.
2. Otherwise build a working set: the current support plus the groups whose dual
   constraint ``||(X^T theta)_g|| <= lam`` is closest to violation, scored by
   ``(lam - ||(X^T theta)_g||) / ||X_g||_F`` (the rule of celer, Massias et al.
   2018, with the Frobenius norm, which costs one pass over X, in place of the
   spectral norm); the set at least doubles the support.
3. Solve the problem restricted to the working set (``datafit.restrict``) until
   its own gap is below ``0.01`` times the outer gap, by proximal Newton steps
   (``_prox_newton``) whose quadratic models are minimized by block coordinate
   descent with per-group curvatures and Anderson extrapolation (``_bcd``); the
   curvatures need the spectral norms ``||X_g||_2``, computed for a group the
   first time it enters a working set. For
   the squared loss this is BCD on the restricted problem itself. Per-group steps
   keep their length when the working set has more columns than samples, where a
   full-gradient step ``1 / ||X_S||^2`` becomes short.
4. After convergence, certify every group as zero or nonzero
   (``nonconvex_reg.solvers.optimality.certify_group_lasso_support``: gap-safe
   spheres for zeros, restricted strong convexity for nonzeros); groups certified
   zero are set to exactly zero, and if a group stays uncertain the tolerance is
   tightened (down to ``1e-13``) while that can still certify it (a zero group
   near its threshold, or a strongly convex restriction): at once to half the gap
   at which the current dual point would certify every uncertain group
   (``Certificate.sufficient_gap``), and by at least a factor of 100.
5. Polish: one more prox-Newton step on the groups not certified zero, its model
   solved to ``1e-4`` times the KKT residual, kept if it still meets the stopping
   rule. Near the solution it squares the KKT residual, so the returned point is
   accurate well past the gap that stopped the loop (the gap is quadratic in the
   residual, so a gap test alone leaves ``beta`` accurate to about ``sqrt(tol)``).

``info["working_sets"]`` lists, for every inner solve (step 3 or 5), the number
of groups it was restricted to and the BCD epochs it ran.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..penalties import GroupLassoPenalty
from ..threads import with_thread_limit
from ..validation import check_int, check_scalar
from ._bcd import BlockLayout
from ._prox_newton import solve_prox_newton
from .optimality import (
    certify_group_lasso_support,
    group_lasso_primal_dual,
    kkt_residual,
)
from .result import SolverResult

__all__ = ["tau", "solve_group_lasso"]

_TIGHTEST_TOL = 1e-13
_INNER_GAP_FRACTION = 0.01
_POLISH_FORCING = 1e-4
_POLISH_MIN_EPOCHS = 10


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

    This is the threshold ``tau`` that arXiv:2402.17902 quotes from Axiotis & Yasuda
    2023 (arXiv:2307.07405) in its discussion of Theorem 1.1.
    """
    _check_groups(datafit, groups)
    return float(groups.norms(datafit.gradient(np.zeros(datafit.n_features))).max())


@with_thread_limit
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
        Any datafit; its design X may be dense or scipy.sparse (see Notes).
    groups : Groups
        Partition of the datafit's coefficients.
    lam : float
        Regularization strength, ``> 0``.
    tol : float, default=1e-10
        Stop when ``gap <= tol * P(beta)``; in ``(0, 1)``.
    max_iter : int, default=100
        Outer (working-set) iterations.
    max_inner_iter : int, default=20000
        Block coordinate descent epochs per working-set problem.
    beta0 : ndarray of shape (n_features,), optional
        Warm start.
    initial_working_set : int, default=10
        Size of the first working set.
    n_threads : int or None, default=None
        Most BLAS threads the call may use, ``>= 1``; None lets
        :func:`~nonconvex_reg.threads.default_n_threads` choose from the size of
        ``X``. A lower limit already in force (``threadpool_limits``) wins, and
        every library's limit is restored on return.

    Returns
    -------
    SolverResult
        ``status`` is ``"converged"`` when the gap met ``tol`` and every group was
        certified zero or nonzero.

    Notes
    -----
    Time and memory, for ``n`` samples, ``p`` columns of X, ``K`` outputs,
    groups of ``s`` columns, ``nnz`` stored values of X (``n p`` when dense,
    ``density * n p`` for a scipy.sparse design, which is read in place and
    never densified; CSR is converted to CSC once), a working set ``W`` and a
    solution support ``S``:

    * once per call: the column norms, ``O(nnz)``; per group that enters a
      working set, its spectral norm, ``O(s nnz_g + s^3)`` (exact group Gram);
    * per outer iteration: one ``X^T theta``, ``O(nnz K)``, and a sort of the
      group scores, ``O(n_groups log n_groups)``;
    * per BCD epoch: ``O(nnz(X_W) K)``, on the restriction to ``W`` (copied once
      per new working set);
    * the certificate: the strong convexity of the restriction to ``S`` (the
      Gram of its ``|S| s`` columns; beyond 4096 columns of a sparse design, a
      Gershgorin bound instead).

    Memory beyond X: ``O((n + p) K)`` vectors, ``X_W`` and ``X_S`` (at most a
    copy of the columns that ``W`` touches) and the ``(|S| s)^2`` Gram of the
    certificate. Measured in ``benchmarks/results/sparse.md``: n = 100,000,
    p = 1,000,000 at density 1e-4 solves with a peak RSS of about twice the
    matrix above the interpreter's.

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
    _, operator_norms = datafit.group_operator_norm_bounds(groups)
    ws_history = []
    previous = None
    current_tol = tol
    pd = group_lasso_primal_dual(datafit, groups, beta, lam)
    for outer in range(1, max_iter + 1):
        if pd.gap <= current_tol * pd.primal:
            certificate = certify_group_lasso_support(datafit, groups, beta, lam, pd=pd)
            if certificate.tightening_helps and current_tol > _TIGHTEST_TOL:
                # Uncertain case: a group is too close to its threshold; tighten
                # (until the current point falls short, and at once to half the
                # gap that would certify every uncertain group), and go on from
                # the certified point (its zeros are exact).
                beta, pd = certificate.beta, certificate.pd
                while current_tol > _TIGHTEST_TOL and pd.gap <= current_tol * pd.primal:
                    current_tol = max(current_tol * 1e-2, _TIGHTEST_TOL)
                target = 0.5 * certificate.sufficient_gap / pd.primal
                if target > 0:
                    current_tol = max(min(current_tol, target), _TIGHTEST_TOL)
                continue
            status = (
                "converged"
                if not certificate.uncertain.any()
                else "converged_uncertified"
            )
            # The polish may at most double the work done.
            spent = sum(n_inner for _, n_inner in ws_history)
            budget = min(max_inner_iter, max(spent, _POLISH_MIN_EPOCHS))
            certificate = _polish(
                datafit, groups, lam, certificate, budget, current_tol, ws_history
            )
            return _finish(groups, lam, certificate, status, outer, start, ws_history)
        support = pd.norms > 0
        score = (lam - pd.dual_norms) / np.maximum(operator_norms, 1e-300)
        score[support] = -np.inf
        ws_size = min(max(initial_working_set, 2 * int(support.sum())), groups.n_groups)
        working = np.sort(np.argsort(score, kind="stable")[:ws_size])
        if previous is None or not np.array_equal(working, previous[0]):
            # New working set: restrict, and lay the restriction out for BCD
            # (the previous restriction is released first: at most one copy of
            # the working set's columns is alive).
            previous = sub_datafit = layout = None
            previous = (working, *_layout(datafit, groups, working))
        _, coords, sub_datafit, layout = previous
        target = max(_INNER_GAP_FRACTION * pd.gap, 0.1 * current_tol * pd.primal)
        sub_beta, n_inner, _ = solve_prox_newton(
            sub_datafit, layout, lam, beta[coords], target, max_inner_iter
        )
        ws_history.append((int(ws_size), int(n_inner)))
        beta = np.zeros_like(beta)
        beta[coords] = sub_beta
        # X beta from the working set's own (contiguous) columns.
        predictor = sub_datafit.linear_predictor(sub_beta)
        pd = group_lasso_primal_dual(datafit, groups, beta, lam, predictor)
    certificate = certify_group_lasso_support(datafit, groups, beta, lam, pd=pd)
    return _finish(groups, lam, certificate, "max_iter", max_iter, start, ws_history)


def _layout(datafit, groups, selected):
    """The restriction of the problem to the groups ``selected``, laid out for BCD.

    The block curvatures are the exact operator norms of the selected groups
    only (the datafit computes each group's norm once), so a solve pays the
    spectral norms of the groups that enter a working set, not of every group.

    Returns
    -------
    coords : ndarray of int
    sub_datafit : Datafit
    layout : BlockLayout
    """
    coords, sub_groups = groups.subset(selected)
    sub_datafit = datafit.restrict(coords)
    squared_norms = datafit.group_operator_norms(groups, selected) ** 2
    return coords, sub_datafit, BlockLayout(sub_datafit, sub_groups, squared_norms)


def _polish(datafit, groups, lam, certificate, max_epochs, tol, ws_history):
    """One prox-Newton step on the groups not certified zero, its model solved tightly.

    The certificate speaks of the optimum, so it still holds at the new point,
    which is kept if it still meets the stopping rule ``gap <= tol * P``. Near the
    solution the step squares the KKT residual (for the squared loss, multiplies
    it by ``_POLISH_FORCING``).
    """
    kept = np.flatnonzero(~certificate.inactive)
    if kept.size == 0:
        return certificate
    coords, sub_datafit, layout = _layout(datafit, groups, kept)
    # No gap target (a computed gap of 0 is no proof of a KKT residual of 0).
    sub_beta, n_inner, _ = solve_prox_newton(
        sub_datafit,
        layout,
        lam,
        certificate.beta[coords],
        -np.inf,
        max_epochs,
        forcing=_POLISH_FORCING,
        max_steps=1,
    )
    ws_history.append((int(kept.size), int(n_inner)))
    polished = np.zeros_like(certificate.beta)
    polished[coords] = sub_beta
    predictor = sub_datafit.linear_predictor(sub_beta)
    pd = group_lasso_primal_dual(datafit, groups, polished, lam, predictor)
    if pd.gap > tol * pd.primal:
        return certificate
    return dataclasses.replace(certificate, beta=polished, pd=pd)


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
