"""Restricted re-optimization: ``beta_S = argmin {L(beta) : beta zero outside S}``.

Every search of :mod:`omp` scores a support ``S`` of groups by ``L(beta_S)``, the
loss after fully re-optimizing on it (the re-optimization step of group OMP
in arXiv:2402.17902's discussion of Theorem 1.1; its Algorithm 2, Appendix B,
re-optimizes the groups of ``S`` through its unpenalized subproblem).
:func:`make_refit` picks an engine, with the contract of
:class:`~omp._refit_base.Refit`, by what the datafit is:

* **Squared losses** (``LeastSquares``, ``MultiResponse``): exact, by block
  Cholesky factors of the restricted normal equations, updated as groups enter
  and leave (:class:`~omp._cholesky_refit.QuadraticRefit`).
* **Logistic and multinomial losses**: damped Newton with Armijo backtracking on
  ``datafit.restrict(coords)``, warm-started from the previous fit
  (:class:`~omp._iterative_refit.NewtonRefit`).
* **Any other datafit**: L-BFGS (scipy) on ``datafit.restrict(coords)``
  (:class:`~omp._iterative_refit.LbfgsRefit`).

Stopping of the iterative engines: ``||grad_S L(beta_S)||_2 <= tol *
||grad L(0)||_2``. A fit that misses it is counted in ``failures`` and surfaces in
the search's result as status ``"inexact_refit"``.
"""

from __future__ import annotations

import numpy as np

from nonconvex_reg import LeastSquares, MultiResponse

from ._cholesky_refit import QuadraticRefit
from ._iterative_refit import CURVATURE, LbfgsRefit, NewtonRefit

__all__ = ["make_refit"]


def _has_plain_layout(datafit) -> bool:
    """Whether ``beta`` is exactly the C-order flattening of ``coef_shape``."""
    return int(np.prod(datafit.coef_shape)) == datafit.n_features and (
        datafit.X.shape[1] == datafit.coef_shape[0]
    )


def make_refit(datafit, groups, *, tol=1e-8, max_iter=100):
    """The restricted re-optimization engine for ``datafit`` (see the module).

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    tol : float, default=1e-8
        Iterative engines stop at ``||grad_S L|| <= tol * ||grad L(0)||``.
    max_iter : int, default=100
        Newton (or L-BFGS) iterations per restricted solve.

    Returns
    -------
    Refit
        A :class:`~omp._cholesky_refit.QuadraticRefit`,
        :class:`~omp._iterative_refit.NewtonRefit` or
        :class:`~omp._iterative_refit.LbfgsRefit`: ``fit(order) -> loss``,
        ``coef()``, ``gradient()``, ``loss``, ``order``, ``loss_at_zero`` and
        ``failures``.
    """
    plain = _has_plain_layout(datafit)
    if plain and isinstance(datafit, LeastSquares | MultiResponse):
        return QuadraticRefit(datafit, groups)
    if plain and type(datafit) in CURVATURE:
        return NewtonRefit(datafit, groups, tol, max_iter)
    return LbfgsRefit(datafit, groups, tol, max_iter)
