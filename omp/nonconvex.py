"""OMPR via nonconvex regularization: Algorithm 2 of arXiv:2402.17902 (Appendix B).

Round ``r`` with support ``S`` of ``k'`` groups and ``beta_S`` the restricted
optimum. The *selection step* solves the subproblem in which the groups of ``S``
are not penalized,

    beta_hat = argmin_beta L(beta) + lam q^{-1}( sum_{i not in S} q(||beta|_{T_i}||) ),

with ``lam`` just below ``tau_S = max_{i not in S} ||grad_{T_i} L(beta_S)||_2``
(our reading of the paper's "lam sufficiently large"; it gives no value), and picks
``i = argmax_{i not in S} ||beta_hat|_{T_i}||_2``. The *removal step* drops
``j = argmin_{j in S} ||beta_S|_{T_j}||_2``. The swap is kept if the re-optimized
loss drops by more than ``tol * L(0)``; otherwise the search stops at a local
optimum (the paper runs a fixed number R of rounds: pass ``max_iter=R``).

How the subproblem is solved and certified (derived here from Lemmas 2.4 and 2.5
and the proof of Theorem 1.1, with the groups of ``S`` left out of the penalty):

1. The convex group-LASSO subproblem ``P(beta) = L(beta) + lam sum_{i not in S}
   ||beta_i||`` is solved by FISTA with adaptive restart from ``beta_S``, until the
   largest KKT residual is at most ``subproblem_tol * tau_S``.
2. If its minimizer ``beta_GL`` has exactly one nonzero group outside ``S``, then
   for every strictly increasing subadditive ``q`` with ``q(0) = 0`` the
   objective above is ``>= P`` everywhere (Lemma 2.4) with equality at
   ``beta_GL`` (Lemma 2.5), so ``beta_GL`` is a global minimizer of the
   nonconvex subproblem: the selection is *certified*. If it has several, the
   margin ``lam = (1 - m) tau_S`` is divided by 10 and step 1 repeated, down to
   ``m = 1e-9``.
3. The nonconvex objective with the given ``q`` is then descended from
   ``beta_GL`` by linearize-and-prox steps (as for objective (1) in
   :func:`nonconvex_reg.solve_penalized`): at a certified point it stays put
   (its KKT residual is reported), otherwise it finds a stationary point.

By Lemma 3.2 of Axiotis & Yasuda (2023) the selected group is the argmax of
the gradient norm, the selection step of group OMP (as arXiv:2402.17902 notes in
its discussion of Theorem 1.1): every round records whether the two rules agreed
(``info["disagreements"]``).
"""

from __future__ import annotations

import time

import numpy as np
from numpy.linalg import LinAlgError

from nonconvex_reg import (
    GroupLassoPenalty,
    GroupPenalty,
    Groups,
    L1MaskPenalty,
    group_prox,
)
from nonconvex_reg.solvers.objectives import effective_weight, penalty_value
from nonconvex_reg.solvers.optimality import kkt_residual
from nonconvex_reg.threads import with_thread_limit
from nonconvex_reg.validation import check_int, check_scalar

from .greedy import (
    INIT_STRATEGIES,
    _check_search_args,
    _finish,
    _initial_supports,
    swap_search,
)
from .select import top_k_groups

__all__ = ["nonconvex_selection", "ompr_nonconvex"]

_MARGIN_FLOOR = 1e-9
_CHECK_EVERY = 10
_BACKTRACK = 0.5
_MAX_BACKTRACKS = 60


def lipschitz(datafit) -> float:
    """``datafit.lipschitz()``, or the same bound by another LAPACK driver.

    scipy's ``eigh(subset_by_index=...)`` (LAPACK dsyevr) can raise "Internal
    Error" on a Gram matrix with one repeated eigenvalue (an orthogonal design);
    the per-group bound of the single group of all coordinates is the same
    number, computed through ``numpy.linalg.eigvalsh``.
    """
    try:
        return float(datafit.lipschitz())
    except LinAlgError:
        everything = Groups.from_sizes([datafit.n_features])
        return float(datafit.lipschitz_group(everything)[0])


def _check_penalty(penalty):
    if penalty is None:
        return L1MaskPenalty()
    if not isinstance(penalty, GroupPenalty):
        raise TypeError(
            f"`penalty` must be a GroupPenalty; got {type(penalty).__name__}."
        )
    if not (penalty.is_increasing and penalty.is_subadditive):
        raise ValueError(
            "`penalty` must be strictly increasing and subadditive (the hypotheses "
            f"of Theorem B.3); got {penalty!r}."
        )
    return penalty


class _Subproblem:
    """The subproblem of one selection step: data, ``S``, ``lam`` and helpers."""

    def __init__(self, datafit, groups, inside, lam, scale):
        self.datafit = datafit
        self.groups = groups
        self.lam = lam
        self.scale = scale
        outside = np.flatnonzero(~inside)
        self.outside = outside
        self.coords, self.sub_groups = groups.subset(outside)
        self.inside_coords = groups.coords(inside)
        self.step = 1.0 / lipschitz(datafit)

    def outside_norms(self, beta):
        return self.sub_groups.norms(beta[self.coords])

    def kkt(self, beta, gradient, penalty, weight):
        """Largest KKT residual: ``||grad_S L||`` and the penalized groups'."""
        inside = (
            np.linalg.norm(gradient[self.inside_coords])
            if self.inside_coords.size
            else 0.0
        )
        outside = kkt_residual(
            gradient[self.coords],
            beta[self.coords],
            self.outside_norms(beta),
            self.sub_groups,
            penalty,
            weight,
        )
        return max(float(inside), float(outside.max()))


def _group_lasso(problem, beta, tol, max_iter):
    """FISTA with adaptive restart on ``L + lam sum_{i not in S} ||beta_i||``."""
    penalty = GroupLassoPenalty()
    step, lam = problem.step, problem.lam
    x = beta.copy()
    y = x
    momentum = 1.0
    for it in range(1, max_iter + 1):
        gradient = problem.datafit.gradient(y)
        x_new = y - step * gradient
        x_new[problem.coords] = group_prox(
            penalty, x_new[problem.coords], problem.sub_groups, step * lam
        )
        if (y - x_new) @ (x_new - x) > 0:
            # Restart case: the momentum direction points uphill.
            momentum, y = 1.0, x_new
        else:
            following = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
            y = x_new + ((momentum - 1.0) / following) * (x_new - x)
            momentum = following
        x = x_new
        if it % _CHECK_EVERY == 0:
            residual = problem.kkt(x, problem.datafit.gradient(x), penalty, lam)
            if residual <= tol * problem.scale:
                return x, residual, True
    residual = problem.kkt(x, problem.datafit.gradient(x), penalty, lam)
    return x, residual, residual <= tol * problem.scale


def _nonconvex_descent(problem, penalty, beta, tol, max_iter):
    """Monotone linearize-and-prox descent on the nonconvex subproblem."""

    def objective(x):
        return problem.datafit.value(x) + penalty_value(
            penalty, problem.outside_norms(x), problem.lam, "inverse"
        )

    def weight_and_residual(x, gradient):
        norms = problem.outside_norms(x)
        weight = effective_weight(penalty, norms, problem.lam, "inverse")
        return weight, problem.kkt(x, gradient, penalty, weight)

    current = objective(beta)
    step = problem.step
    for it in range(max_iter):
        gradient = problem.datafit.gradient(beta)
        weight, residual = weight_and_residual(beta, gradient)
        if residual <= tol * problem.scale:
            return beta, residual, it
        for _ in range(_MAX_BACKTRACKS):
            # Backtracking case: shrink the step until the objective decreases.
            candidate = beta - step * gradient
            candidate[problem.coords] = group_prox(
                penalty, candidate[problem.coords], problem.sub_groups, step * weight
            )
            value = objective(candidate)
            if value < current and problem.outside_norms(candidate).any():
                break
            step *= _BACKTRACK
        else:
            # Stalled case: no decrease measurable in double precision.
            return beta, residual, it
        beta, current = candidate, value
    gradient = problem.datafit.gradient(beta)
    return beta, weight_and_residual(beta, gradient)[1], max_iter


def nonconvex_selection(
    refit, penalty, *, lam_margin=1e-3, tol=1e-9, max_iter=20_000
) -> dict:
    """The selection step of Algorithm 2 at the current fit of ``refit``.

    Parameters
    ----------
    refit : restricted re-optimization engine fitted on ``S``
    penalty : GroupPenalty
        Strictly increasing and subadditive.
    lam_margin : float, default=1e-3
        First margin ``m`` of ``lam = (1 - m) tau_S``, divided by 10 while the
        group-LASSO subproblem has more than one new group.
    tol : float, default=1e-9
        KKT tolerance of both solves, relative to ``tau_S``.
    max_iter : int, default=20000
        Iterations of each solve.

    Returns
    -------
    dict
        ``group`` (the selected group, or None if ``tau_S = 0``),
        ``gradient_rule`` (the argmax of the gradient norm), ``certified``,
        ``lam_margin`` (the margin used), ``tau`` and ``runner_up`` (the two
        largest gradient norms outside ``S``), ``new_groups`` (nonzero groups
        outside ``S`` in the convex solution) and ``kkt`` (residual of the
        nonconvex subproblem at ``beta_hat``, relative to ``tau_S``).
    """
    groups = refit.groups
    inside = np.zeros(groups.n_groups, dtype=bool)
    inside[list(refit.order)] = True
    beta_S = refit.coef()
    scores = groups.norms(refit.gradient())
    outside_scores = np.sort(scores[~inside])[::-1]
    gradient_rule = int(top_k_groups(scores, 1, candidates=~inside)[0])
    report = {
        "gradient_rule": gradient_rule,
        "tau": float(outside_scores[0]),
        "runner_up": float(outside_scores[1]) if outside_scores.size > 1 else 0.0,
    }
    tau_S = report["tau"]
    if tau_S == 0:
        # Optimal case: beta_S is a global minimizer, nothing can enter.
        return {
            **report,
            "group": None,
            "certified": True,
            "lam_margin": None,
            "new_groups": 0,
            "kkt": 0.0,
        }
    margin = lam_margin
    while True:
        problem = _Subproblem(
            refit.datafit, groups, inside, (1.0 - margin) * tau_S, tau_S
        )
        beta_GL, _, converged = _group_lasso(problem, beta_S, tol, max_iter)
        new_groups = int(np.count_nonzero(problem.outside_norms(beta_GL)))
        if new_groups <= 1 or margin / 10 < _MARGIN_FLOOR:
            break
        margin /= 10
    if new_groups:
        beta_hat, residual, _ = _nonconvex_descent(
            problem, penalty, beta_GL, tol, max_iter
        )
    else:
        # Unconverged case: no new group yet, the selection is not certified.
        beta_hat, residual = beta_GL, np.inf
    norms = np.zeros(groups.n_groups)
    norms[problem.outside] = problem.outside_norms(beta_hat)
    group = int(top_k_groups(norms, 1, candidates=~inside)[0])
    return {
        **report,
        "group": group,
        "certified": bool(converged and new_groups == 1),
        "lam_margin": margin,
        "new_groups": new_groups,
        "kkt": float(residual / tau_S),
    }


@with_thread_limit
def ompr_nonconvex(
    datafit,
    groups,
    k,
    *,
    penalty=None,
    init="omp",
    lam_margin=1e-3,
    tol=1e-10,
    max_iter=1000,
    subproblem_tol=1e-9,
    max_subproblem_iter=20_000,
    refit_tol=1e-8,
    max_refit_iter=100,
):
    r"""Algorithm 2: local search whose selection step is a nonconvex subproblem.

    .. math::

        \hat\beta = \arg\min_\beta L(\beta) + \lambda\, q^{-1}\Big(
        \sum_{i \notin S} q(\|\beta|_{T_i}\|_2)\Big), \quad
        i = \arg\max_{i \notin S} \|\hat\beta|_{T_i}\|_2, \quad
        j = \arg\min_{j \in S} \|\beta_S|_{T_j}\|_2,
        \quad S \leftarrow S \cup \{i\} \setminus \{j\}

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    k : int
        Size ``k'`` of the support, in ``[0, n_groups]``.
    penalty : GroupPenalty, optional
        Any strictly increasing subadditive penalty; default
        :class:`~nonconvex_reg.L1MaskPenalty` (the l1-mask of Lemma 2.2).
    init : {"omp", "threshold"} or array-like of int, default="omp"
        ``"omp"`` grows ``S`` from the empty set with the same selection step
        (the regularizer "implementing" group OMP, in the paper's discussion of
        Theorem 1.1); ``"threshold"`` takes the ``k`` largest gradient norms
        at 0; an array gives ``S``.
    lam_margin : float, default=1e-3
        Initial margin ``m`` in ``lam = (1 - m) tau_S``, in ``(0, 1)``.
    tol : float, default=1e-10
        Relative decrease (of ``L(0)``) a swap must achieve.
    max_iter : int, default=1000
        Rounds R of the local search.
    subproblem_tol : float, default=1e-9
        KKT tolerance of the subproblem solves, relative to ``tau_S``.
    max_subproblem_iter : int, default=20000
    refit_tol : float, default=1e-8
    max_refit_iter : int, default=100
    n_threads : int or None, default=None
        Most BLAS threads the call may use, ``>= 1``; None lets
        :func:`~nonconvex_reg.threads.default_n_threads` choose from the size of
        ``X``. A lower limit already in force (``threadpool_limits``) wins, and
        every library's limit is restored on return.

    Returns
    -------
    OMPResult
        ``info`` holds ``n_swaps``, ``n_selections``, ``n_uncertified`` and
        ``disagreements``: one dict per selection whose group differed from the
        gradient-norm rule's (``round``, ``nonconvex``, ``gradient_rule``,
        ``tau``, ``runner_up``, ``lam_margin``, ``certified``).

    Raises
    ------
    TypeError
        If ``penalty`` is not a GroupPenalty.
    ValueError
        If ``penalty`` is not subadditive, ``k`` is out of range, or another
        argument is out of its range.

    See Also
    --------
    group_ompr : the same search with the gradient-norm selection.

    Notes
    -----
    Each selection solves a group-LASSO subproblem over all groups by FISTA
    (and the nonconvex descent after it): sized for our numerical checks of
    Algorithm 2 and Theorem B.3, not for p in the thousands, where
    ``group_ompr(init="omp", n_candidates=1)`` follows the same path (the two
    selections agree; ``info["disagreements"]`` says where they would not).

    Examples
    --------
    >>> from nonconvex_reg import LqPenalty, make_problem
    >>> from omp import ompr_nonconvex
    >>> problem = make_problem(n_groups=6, n_active=2, seed=0)
    >>> result = ompr_nonconvex(problem.datafit, problem.groups, 2,
    ...                         penalty=LqPenalty(0.5))
    >>> result.status, result.info["disagreements"]
    ('converged', [])
    """
    start = time.perf_counter()
    k, refit = _check_search_args(datafit, groups, k, refit_tol, max_refit_iter)
    penalty = _check_penalty(penalty)
    lam_margin = check_scalar(
        lam_margin,
        "lam_margin",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    subproblem_tol = check_scalar(
        subproblem_tol, "subproblem_tol", low=0.0, low_inclusive=False
    )
    max_subproblem_iter = check_int(max_subproblem_iter, "max_subproblem_iter", low=1)
    selections = []

    def select():
        outcome = nonconvex_selection(
            refit,
            penalty,
            lam_margin=lam_margin,
            tol=subproblem_tol,
            max_iter=max_subproblem_iter,
        )
        selections.append(outcome)
        return outcome["group"]

    starts = _initial_supports(init, refit, k)
    if len(starts) != 1:
        raise ValueError(
            f"`init` must be one start ({INIT_STRATEGIES} or k group ids) for "
            f"ompr_nonconvex; got {len(starts)}."
        )
    support = starts[0][1]
    if support is None:
        # Greedy growth with the nonconvex selection step (group OMP's analogue).
        for _ in range(k):
            refit.fit((*refit.order, select()))
    else:
        refit.fit(support)
    initial_loss = refit.loss

    def propose(refit, inside):
        if inside.all() or not inside.any():
            return []  # Full or empty support: nothing to swap.
        entering = select()
        if entering is None:
            return []  # Optimal case: tau_S = 0.
        norms = groups.norms(refit.coef())
        leaving = int(top_k_groups(-norms, 1, candidates=inside)[0])
        return [((entering,), (leaving,))]

    status, n_iter, history, n_swaps = swap_search(
        refit, propose, tol=tol, max_iter=max_iter
    )
    disagreements = [
        {
            "round": r,
            "nonconvex": s["group"],
            **{
                key: s[key]
                for key in (
                    "gradient_rule",
                    "tau",
                    "runner_up",
                    "lam_margin",
                    "certified",
                )
            },
        }
        for r, s in enumerate(selections)
        if s["group"] is not None and s["group"] != s["gradient_rule"]
    ]
    info = {
        "penalty": repr(penalty),
        "initial_loss": initial_loss,
        "n_swaps": n_swaps,
        "n_selections": len(selections),
        "n_uncertified": sum(not s["certified"] for s in selections),
        "disagreements": disagreements,
    }
    return _finish(refit, status, n_iter, history, start, info, "ompr_nonconvex")
