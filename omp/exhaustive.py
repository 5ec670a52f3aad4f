"""The exhaustive oracle: the best support of ``k`` groups (Theorem B.3's comparator).

::

    S* = argmin_{|S| = k} L(beta_S),   beta_S = argmin {L(beta) : beta zero outside S}

``beta_{S*}`` is the comparator ``beta*`` of Theorem B.3 of arXiv:2402.17902 (read
as the best ``k``-group-sparse solution; the paper does not spell it out), and
the yardstick for how close the greedy searches get. The ``C(n_groups, k)``
supports are visited in lexicographic order, so consecutive supports share a
prefix: for squared losses each step costs one or a few block Cholesky appends
(``omp._cholesky_refit.QuadraticRefit``), for the other losses a
warm-started Newton solve. Ties go to the lexicographically first support.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from nonconvex_reg.validation import check_int

from .greedy import _check_search_args, _finish

__all__ = ["best_subset"]


def best_subset(
    datafit, groups, k, *, max_supports=200_000, refit_tol=1e-10, max_refit_iter=100
):
    """Global minimum of ``L`` over supports of exactly ``k`` groups.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    k : int
        Number of groups, in ``[0, n_groups]``.
    max_supports : int, default=200000
        Refuse to enumerate more than this many supports (``C(20, 10) = 184756``
        fits); ``>= 1``.
    refit_tol : float, default=1e-10
        Gradient tolerance of iterative refits, relative to ``||grad L(0)||``.
    max_refit_iter : int, default=100

    Returns
    -------
    OMPResult
        ``status="enumerated"``; ``info`` holds ``n_supports`` and
        ``runner_up_loss`` (the best loss over the other supports; ``inf`` when
        there is only one), so ``runner_up_loss - loss`` measures how unique the
        optimum is.

    Raises
    ------
    ValueError
        If ``k`` is out of range or ``C(n_groups, k) > max_supports``.

    Examples
    --------
    >>> from nonconvex_reg import make_problem
    >>> from omp import best_subset, group_ompr
    >>> problem = make_problem(n_groups=8, n_active=2, seed=1)
    >>> best = best_subset(problem.datafit, problem.groups, 2)
    >>> best.info["n_supports"], best.support.tolist() == sorted(
    ...     problem.true_support.tolist())
    (28, True)
    """
    start = time.perf_counter()
    k, refit = _check_search_args(datafit, groups, k, refit_tol, max_refit_iter)
    max_supports = check_int(max_supports, "max_supports", low=1)
    n_supports = math.comb(groups.n_groups, k)
    if n_supports > max_supports:
        raise ValueError(
            f"`k` = {k} gives C({groups.n_groups}, {k}) = {n_supports} supports; "
            f"best_subset enumerates at most `max_supports` = {max_supports}."
        )
    best, runner_up = (np.inf, ()), np.inf
    for support in itertools.combinations(range(groups.n_groups), k):
        loss = refit.fit(support)
        if loss < best[0]:
            best, runner_up = (loss, support), best[0]
        else:
            runner_up = min(runner_up, loss)
    refit.fit(best[1])
    info = {"n_supports": n_supports, "runner_up_loss": float(runner_up)}
    history = (refit.loss,)
    return _finish(refit, "enumerated", n_supports, history, start, info, "best_subset")
