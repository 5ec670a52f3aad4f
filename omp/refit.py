"""Restricted re-optimization: ``beta_S = argmin {L(beta) : beta zero outside S}``.

Every search of :mod:`omp` scores a support ``S`` of groups by ``L(beta_S)``, the
loss after fully re-optimizing on it (group OMP and OMPR; Algorithm 2 in
Appendix B of arXiv:2402.17902 leaves the groups of ``S`` unpenalized, which
re-optimizes them the same way). :func:`make_refit` builds the engine the
searches use, for any caller that needs the same exact refits (the benchmarks
re-solve another solver's support with it). It picks the engine from what the
datafit declares, never from its class:

* **Quadratic datafits** (declared ``is_quadratic``: ``LeastSquares``,
  ``MultiResponse``): exact, by block Cholesky factors of the restricted normal
  equations, updated as groups enter and leave.
* **Other datafits** whose ``beta`` is the plain C-order flattening of the
  coefficients of ``X``'s columns (logistic, multinomial): damped Newton with
  Armijo backtracking on the support's columns, warm-started from the previous
  fit, with the curvature of the declared
  :meth:`~nonconvex_reg.Datafit.hessian_factors_from_predictor` (or of the
  Hessian blocks).
* **Any other layout** (a restricted multi-output datafit): L-BFGS (scipy) on
  ``datafit.restrict(coords)``.

Stopping of the iterative engines: ``||grad_S L(beta_S)||_2 <= tol *
||grad L(0)||_2``. A fit that misses it is counted in ``failures`` and surfaces in
the search's result as status ``"inexact_refit"``.
"""

from __future__ import annotations

import numpy as np

from ._cholesky_refit import QuadraticRefit
from ._iterative_refit import LbfgsRefit, NewtonRefit
from ._refit_base import Refit

__all__ = ["Refit", "make_refit"]


def _has_plain_layout(datafit) -> bool:
    """Whether ``beta`` is exactly the C-order flattening of ``coef_shape``."""
    return int(np.prod(datafit.coef_shape)) == datafit.n_features and (
        datafit.X.shape[1] == datafit.coef_shape[0]
    )


def make_refit(datafit, groups, *, tol=1e-8, max_iter=100) -> Refit:
    """The restricted re-optimization engine for ``datafit`` (see the module).

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
        Partition of the datafit's ``n_features`` coefficients.
    tol : float, default=1e-8
        Iterative engines stop at ``||grad_S L|| <= tol * ||grad L(0)||``.
    max_iter : int, default=100
        Newton (or L-BFGS) iterations per restricted solve.

    Returns
    -------
    Refit
        An engine with the contract of :class:`Refit`: ``fit(order) -> loss``
        refits on the groups in ``order``; ``coef()``, ``gradient()``, ``loss``,
        ``order``, ``loss_at_zero`` and ``failures`` describe the last fit.

    Examples
    --------
    >>> from nonconvex_reg import make_problem
    >>> problem = make_problem("logistic", n_groups=4, group_size=2, seed=0)
    >>> refit = make_refit(problem.datafit, problem.groups, tol=1e-10)
    >>> loss = refit.fit([0, 2])
    >>> bool(loss < refit.loss_at_zero), refit.failures
    (True, 0)
    >>> sorted(set(problem.groups.group_of[refit.coef() != 0].tolist()))
    [0, 2]
    """
    plain = _has_plain_layout(datafit)
    if plain and datafit.is_quadratic:
        return QuadraticRefit(datafit, groups)
    if plain:
        return NewtonRefit(datafit, groups, tol, max_iter)
    return LbfgsRefit(datafit, groups, tol, max_iter)
