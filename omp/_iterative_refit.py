"""Warm-started iterative restricted solves (see :mod:`omp.refit`).

For the losses without a closed form, ``beta_S`` is computed on the support's
coordinates, warm-started from the previous fit; ``swap_loss`` prices a swap by
two solver iterations, an upper bound on the restricted minimum, and
``try_swap`` refits a swap from the second-order model's point
(:meth:`~omp.refit.Refit.swap_point`) and gives up as soon as ``L`` is
predicted to stay above the bar.

* **Non-quadratic datafits with a plain layout** (logistic, multinomial):
  damped Newton with Armijo backtracking, on the predictor ``Z = A x`` of the
  support's columns ``A`` of ``X`` (updated along the search direction, one
  product per iteration). The Hessian is ``A^T W A / n + ridge I`` with ``W``
  the per-sample curvature of F, built from the factors ``diag(D_i) - U_i
  U_i^T`` the datafit declares (``sigma(z) sigma(-z)`` binary, ``diag(p) - p
  p^T`` multinomial with ``p = softmax(z)``) or else from its Hessian blocks; a
  damping of ``1e-12`` times its largest diagonal entry keeps the multinomial
  Hessian, singular along the class-shift direction when ``ridge = 0``,
  invertible (it changes the steps, not the fixed point). Early give-up
  (``try_swap``): when ``L - lambda^2 > bar`` for the Newton decrement
  ``lambda^2 = g^T H^{-1} g``, i.e. even twice the decrease the Newton model
  predicts would leave ``L`` above the bar (a heuristic for a non-quadratic
  ``L``: it can only reject a swap, never accept one).
* **Any other datafit** (a coefficient layout that is not the plain flattening
  of ``X``'s columns, e.g. a restricted multi-output datafit): L-BFGS (scipy)
  on ``datafit.restrict(coords)``.

Stopping: ``||grad_S L(beta_S)||_2 <= tol * ||grad L(0)||_2``. A fit that misses
it is counted in ``failures`` and surfaces in the search's result as status
``"inexact_refit"``.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk as syrk
from scipy.linalg.lapack import dpotrf as potrf
from scipy.linalg.lapack import dpotri as potri
from scipy.linalg.lapack import dpotrs as potrs
from scipy.optimize import minimize

from ._refit_base import (
    Refit,
    _symmetric_gram,
    coefficient_layout,
    restricted_predictor,
)

__all__ = ["LbfgsRefit", "NewtonRefit"]

_NEWTON_DAMPING = 1e-12
_ARMIJO = 1e-4
#: Relative change of L below which the Armijo test is decided by rounding.
_VALUE_ROUNDING = 8 * np.finfo(float).eps
#: Solver iterations that price a candidate swap.
_TRIAL_ITER = 2
_MAX_BACKTRACKS = 60


def _factored_gram(A, outputs, diagonal, rank_one, n_samples):
    """``A^T W A / n`` for per-sample blocks ``W_i = diag(D_i) - U_i U_i^T``.

    ``A`` holds the support's columns of ``X``, ``outputs`` the output column of
    each. The single-output case without a rank-one term is one symmetric
    rank-n update (BLAS syrk), which computes only the lower triangle, half the
    flops of a general product; the Cholesky factorization reads no more than
    that. Otherwise two products:
    ``(A D)^T A`` masked to equal outputs, minus ``(A U)^T (A U)``.
    """
    if sp.issparse(A):
        return _sparse_factored_gram(A, outputs, diagonal, rank_one, n_samples)
    if rank_one is None and diagonal.ndim == 1:
        return syrk(1.0 / n_samples, A * np.sqrt(diagonal)[:, None], trans=1, lower=1)
    n_rows = A.shape[0]
    weighted = A * diagonal.reshape(n_rows, -1)[:, outputs]
    gram = (weighted.T @ A) * (outputs[:, None] == outputs[None, :])
    if rank_one is not None:
        shifted = A * rank_one.reshape(n_rows, -1)[:, outputs]
        gram -= shifted.T @ shifted
    return gram / n_samples


def _sparse_factored_gram(A, outputs, diagonal, rank_one, n_samples):
    """:func:`_factored_gram` of sparse (CSC) columns, in ``O(nnz(A))`` products.

    Entry ``t`` of column ``c``, at row ``i``, is weighted by ``W[i, outputs[c]]``
    directly in the stored values, never through a dense ``(n, |S|)`` weight.
    """
    A = sp.csc_matrix(A, dtype=np.float64)
    n_rows = A.shape[0]
    entry_outputs = np.repeat(outputs, np.diff(A.indptr))

    def weighted_by(weights):
        values = A.data * weights.reshape(n_rows, -1)[A.indices, entry_outputs]
        return sp.csc_matrix((values, A.indices, A.indptr), shape=A.shape)

    gram = (weighted_by(diagonal).T @ A).toarray()
    gram *= outputs[:, None] == outputs[None, :]
    if rank_one is not None:
        shifted = weighted_by(rank_one)
        gram -= (shifted.T @ shifted).toarray()
    return gram / n_samples


class _IterativeRefit(Refit):
    """Warm-started restricted solves on ``datafit.restrict(coords)``."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups)
        self.tol = tol
        self.max_iter = max_iter
        self._beta = np.zeros(datafit.n_features)
        self._trial = None
        # (coords, lower Cholesky factor of the damped Hessian) of the last
        # Newton iteration of the last solve, and of the committed fit.
        self._last_factor = self._factor = None

    @abstractmethod
    def _solve(self, coords, x, target, max_iter, bar=None):
        """Minimize ``L`` over ``coords`` from ``x``; ``(x, L, ||grad|| <= target)``.

        With ``bar``, the solver may give up early once ``L`` is predicted to
        stay above ``bar`` (the caller then discards the solve).
        """

    def swap_loss(self, entering, leaving) -> float:
        """An upper bound on ``L(beta_S')``, ``S' = S + entering - leaving``.

        At most ``_TRIAL_ITER`` solver iterations from the warm start (``beta_S``
        with the leaving groups zeroed): the loss they reach bounds the restricted
        minimum from above, so a swap that looks improving is improving. The fit
        is unchanged; the trial point warm-starts a following ``fit(S')`` or
        ``try_swap``.
        """
        order = tuple(g for g in self.order if g not in leaving) + tuple(entering)
        beta, loss, _ = self._minimize(order, self._beta, _TRIAL_ITER)
        self._trial = (order, beta)
        return loss

    def fit(self, order) -> float:
        """Minimize ``L`` over the coordinates of the groups in ``order``."""
        order = tuple(int(g) for g in order)
        self._commit(order, *self._minimize(order, self._start(order), self.max_iter))
        return self.loss

    def try_swap(self, entering, leaving, bar) -> bool:
        """Fit ``S' = S + entering - leaving`` and keep it if ``L < bar``.

        The solve starts from the trial point of :meth:`swap_loss` if there is
        one, else, for a single swap priced by :meth:`swap_prices` on this fit,
        from the model's minimizer (:meth:`swap_point`), and gives up early when
        ``L`` is predicted to stay above ``bar``. A rejected swap leaves the fit
        on ``S`` untouched, without a solve to go back.
        """
        order = tuple(g for g in self.order if g not in leaving) + tuple(
            int(g) for g in entering
        )
        start = self._start(order)
        if (
            start is self._beta
            and len(entering) == len(leaving) == 1
            and (self._model is not None)
        ):
            # Priced case: the second-order model's point on S'.
            start = self.swap_point(entering, leaving)
        beta, loss, converged = self._minimize(order, start, self.max_iter, bar)
        if not loss < bar:
            return False  # Rejected case: the fit stays on S.
        self._commit(order, beta, loss, converged)
        return True

    def _start(self, order):
        """The trial point of swap_loss for ``order`` if any, else ``beta_S``."""
        trial, self._trial = self._trial, None
        if trial is not None and trial[0] == order:
            # Trial case: continue from the point swap_loss reached.
            return trial[1]
        return self._beta

    def _commit(self, order, beta, loss, converged):
        self._beta, self.loss, self.order = beta, loss, order
        self.failures += not converged
        self._changed()
        # The solver's last curvature factor, at (nearly) the committed point.
        self._factor, self._last_factor = self._last_factor, None

    def _minimize(self, order, start, max_iter, bar=None):
        """Restricted solve warm-started at ``start[coords]``; full-length result."""
        self._last_factor = None
        coords = self.groups.coords(np.array(order, dtype=np.intp))
        beta = np.zeros(self.datafit.n_features)
        if coords.size == 0:
            return beta, self.loss_at_zero, True
        target = self.tol * max(self.gradient_scale, np.finfo(float).tiny)
        values, loss, converged = self._solve(
            coords, start[coords], target, max_iter, bar
        )
        beta[coords] = values
        return beta, float(loss), converged

    def coef(self) -> np.ndarray:
        """The last fitted ``beta_S``."""
        return self._beta.copy()

    def snapshot(self):
        """The current fit, for :meth:`restore`."""
        return self.order, self._beta, self.loss

    def restore(self, snapshot) -> float:
        """Come back to a fit taken by :meth:`snapshot`, without a solve."""
        self.order, self._beta, self.loss = snapshot
        self._trial = None
        self._changed()
        self._factor = None
        return self.loss


class NewtonRefit(_IterativeRefit):
    """Damped Newton with Armijo backtracking (non-quadratic plain datafits)."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups, tol, max_iter)
        self._columns, self._outputs, self._n_outputs = coefficient_layout(datafit)

    def _curvature(self, A, outputs, z):
        """``A^T grad^2 F(Z) A`` over the support's coordinates (lower triangle).

        From the factors the datafit declares
        (:meth:`~nonconvex_reg.Datafit.hessian_factors_from_predictor`), else from
        its per-sample Hessian blocks.
        """
        datafit = self.datafit
        factors = datafit.hessian_factors_from_predictor(z)
        if factors is None:
            # Case without declared factors: one product per pair of outputs.
            return _symmetric_gram(A, outputs, datafit.hessian_blocks_from_predictor(z))
        return _factored_gram(A, outputs, *factors, datafit.n_samples)

    def _value_and_gradient(self, A, outputs, x, z):
        """``L`` and its gradient over the restricted coordinates, from ``Z``."""
        datafit = self.datafit
        theta = datafit.dual_point_from_predictor(z)
        value = datafit.loss_from_predictor(z) + 0.5 * datafit.ridge * float(x @ x)
        if self._n_outputs == 1:
            return value, datafit.ridge * x - A.T @ theta
        grad = datafit.ridge * x
        for o in range(self._n_outputs):
            mask = outputs == o
            grad[mask] -= A[:, mask].T @ theta[:, o]
        return value, grad

    def _support_inverse(self, coords, X_support, out_support, blocks):
        """``H_SS^{-1}`` from the solver's last factor on ``S`` when there is one.

        That factor is of the Hessian one Newton step before ``beta_S`` (the
        solve stops at the gradient test), a step below the refit tolerance.
        """
        if self._factor is None or not np.array_equal(self._factor[0], np.sort(coords)):
            return super()._support_inverse(coords, X_support, out_support, blocks)
        sorted_coords, factor = self._factor
        inverse, _ = potri(factor, lower=1)
        inverse = np.tril(inverse) + np.tril(inverse, -1).T
        position = np.searchsorted(sorted_coords, coords)
        return inverse[np.ix_(position, position)]

    def _solve(self, coords, x, target, max_iter, bar=None):
        A = self.datafit.X[:, self._columns[coords]]
        outputs = self._outputs[coords]
        diagonal = np.diag_indices(coords.size)
        z = restricted_predictor(A, outputs, x, self._n_outputs)
        value, grad = self._value_and_gradient(A, outputs, x, z)
        for _ in range(max_iter):
            if np.linalg.norm(grad) <= target:
                return x, value, True
            hessian = self._curvature(A, outputs, z)
            hessian[diagonal] += self.datafit.ridge
            hessian[diagonal] += _NEWTON_DAMPING * max(hessian[diagonal].max(), 1e-300)
            factor, info = potrf(hessian, lower=1, clean=0, overwrite_a=1)
            if info == 0:
                direction = -potrs(factor, grad, lower=1)[0]
                self._last_factor = (coords, factor)
            else:
                # Numerically indefinite case: fall back to steepest descent.
                direction = -grad
            slope = float(grad @ direction)
            if not slope < 0:
                # Not a descent direction (rounding): steepest descent instead.
                direction, slope = -grad, -float(grad @ grad)
            elif bar is not None and value + slope > bar:
                # Early rejection case: L stays above bar even if it drops by
                # twice the Newton model's predicted decrease, -slope / 2.
                return x, value, False
            change = restricted_predictor(A, outputs, direction, self._n_outputs)
            step = 1.0
            for _ in range(_MAX_BACKTRACKS):
                candidate = x + step * direction
                new_z = z + step * change
                new_value, new_grad = self._value_and_gradient(
                    A, outputs, candidate, new_z
                )
                if new_value <= value + _ARMIJO * step * slope:
                    break
                if new_value - value <= _VALUE_ROUNDING * abs(value) and (
                    np.linalg.norm(new_grad) < np.linalg.norm(grad)
                ):
                    # Rounding case: the decrease is below the resolution of L;
                    # accept the step if it shrinks the gradient.
                    break
                step *= 0.5
            else:
                # Line-search failure: no decrease measurable in double precision.
                return x, value, bool(np.linalg.norm(grad) <= target)
            x, z, value, grad = candidate, new_z, new_value, new_grad
        return x, value, bool(np.linalg.norm(grad) <= target)


class LbfgsRefit(_IterativeRefit):
    """L-BFGS (scipy) for datafits whose coefficient layout is not plain."""

    def _solve(self, coords, x, target, max_iter, bar=None):
        sub = self.datafit.restrict(coords)
        result = minimize(
            sub.value_and_gradient,
            x,
            jac=True,
            method="L-BFGS-B",
            # L-BFGS-B tests the max-norm; this bound implies the 2-norm target.
            options={
                "gtol": target / np.sqrt(coords.size),
                "ftol": 0.0,
                "maxiter": max_iter,
            },
        )
        value, grad = sub.value_and_gradient(result.x)
        return result.x, value, bool(np.linalg.norm(grad) <= target)
