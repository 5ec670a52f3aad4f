"""Warm-started iterative restricted solves (see :mod:`omp._refit`).

For the losses without a closed form, ``beta_S`` is computed on
``datafit.restrict(coords)``, warm-started from the previous fit; a swap is
priced by two solver iterations, an upper bound on the restricted minimum.

* **Logistic and multinomial losses**: damped Newton with Armijo backtracking.
  The Hessian is ``A^T W A / n + ridge I`` with ``A`` the support's columns of
  ``X`` and ``W`` the per-sample curvature, ``sigma(z) sigma(-z)`` (binary) or
  ``diag(p) - p p^T`` (multinomial, ``p = softmax(z)``); a damping of ``1e-12``
  times its largest diagonal entry keeps the multinomial Hessian, singular along
  the class-shift direction when ``ridge = 0``, invertible (it changes the steps,
  not the fixed point).
* **Any other datafit**: L-BFGS (scipy).

Stopping: ``||grad_S L(beta_S)||_2 <= tol * ||grad L(0)||_2``. A fit that misses
it is counted in ``failures`` and surfaces in the search's result as status
``"inexact_refit"``.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.blas import dsyrk as syrk
from scipy.optimize import minimize
from scipy.special import expit, softmax

from nonconvex_reg import Logistic, Multinomial

from ._refit_base import Refit, coefficient_layout

__all__ = ["CURVATURE", "LbfgsRefit", "NewtonRefit"]

_NEWTON_DAMPING = 1e-12
_ARMIJO = 1e-4
#: Relative change of L below which the Armijo test is decided by rounding.
_VALUE_ROUNDING = 8 * np.finfo(float).eps
#: Solver iterations that price a candidate swap.
_TRIAL_ITER = 2
_MAX_BACKTRACKS = 60


def _binary_curvature(A, outputs, z, n_samples):
    """``A^T diag(sigma(z) sigma(-z)) A / n`` (binary logistic), lower triangle.

    One symmetric rank-n update (BLAS syrk) computes only the lower triangle,
    half the flops of a general product; the Cholesky factorization reads no
    more than that.
    """
    scaled = A * np.sqrt(expit(z) * expit(-z))[:, None]
    return syrk(1.0 / n_samples, scaled, trans=1, lower=1)


def _multinomial_curvature(A, outputs, Z, n_samples):
    """``sum_i (a_i a_i^T) * (diag(p_i) - p_i p_i^T)[outputs]`` over samples, / n."""
    P = softmax(Z, axis=1)
    AP = A * P[:, outputs]
    same = outputs[:, None] == outputs[None, :]
    return ((AP.T @ A) * same - AP.T @ AP) / n_samples


#: Per-sample curvature of the losses with a Newton engine.
CURVATURE = {Logistic: _binary_curvature, Multinomial: _multinomial_curvature}


class _IterativeRefit(Refit):
    """Warm-started restricted solves on ``datafit.restrict(coords)``."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups)
        self.tol = tol
        self.max_iter = max_iter
        self._beta = np.zeros(datafit.n_features)
        self._trial = None

    @abstractmethod
    def _solve(self, sub, coords, x, target, max_iter):
        """Minimize ``sub`` from ``x``; returns ``(x, L, ||grad|| <= target)``."""

    def swap_loss(self, entering, leaving) -> float:
        """An upper bound on ``L(beta_S')``, ``S' = S + entering - leaving``.

        At most ``_TRIAL_ITER`` solver iterations from the warm start (``beta_S``
        with the leaving groups zeroed): the loss they reach bounds the restricted
        minimum from above, so a swap that looks improving is improving. The fit
        is unchanged; the trial point warm-starts a following ``fit(S')``.
        """
        order = tuple(g for g in self.order if g not in leaving) + tuple(entering)
        beta, loss, _ = self._minimize(order, self._beta, _TRIAL_ITER)
        self._trial = (order, beta)
        return loss

    def fit(self, order) -> float:
        """Minimize ``L`` over the coordinates of the groups in ``order``."""
        order = tuple(int(g) for g in order)
        start = self._beta
        if self._trial is not None and self._trial[0] == order:
            # Trial case: continue from the point swap_loss reached.
            start = self._trial[1]
        self._trial = None
        self._beta, self.loss, converged = self._minimize(order, start, self.max_iter)
        self.failures += not converged
        self.order = order
        return self.loss

    def _minimize(self, order, start, max_iter):
        """Restricted solve warm-started at ``start[coords]``; full-length result."""
        coords = self.groups.coords(np.array(order, dtype=np.intp))
        beta = np.zeros(self.datafit.n_features)
        if coords.size == 0:
            return beta, self.loss_at_zero, True
        sub = self.datafit.restrict(coords)
        target = self.tol * max(self.gradient_scale, np.finfo(float).tiny)
        values, loss, converged = self._solve(
            sub, coords, start[coords], target, max_iter
        )
        beta[coords] = values
        return beta, float(loss), converged

    def coef(self) -> np.ndarray:
        """The last fitted ``beta_S``."""
        return self._beta.copy()


class NewtonRefit(_IterativeRefit):
    """Damped Newton with Armijo backtracking (logistic and multinomial)."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups, tol, max_iter)
        self._curvature = CURVATURE[type(datafit)]
        self._columns, self._outputs, _ = coefficient_layout(datafit)

    def _solve(self, sub, coords, x, target, max_iter):
        A = self.datafit.X[:, self._columns[coords]]
        outputs = self._outputs[coords]
        diagonal = np.diag_indices(coords.size)
        value, grad = sub.value_and_gradient(x)
        for _ in range(max_iter):
            if np.linalg.norm(grad) <= target:
                return x, value, True
            hessian = self._curvature(
                A, outputs, sub.linear_predictor(x), self.datafit.n_samples
            )
            hessian[diagonal] += self.datafit.ridge
            hessian[diagonal] += _NEWTON_DAMPING * max(hessian[diagonal].max(), 1e-300)
            try:
                direction = -cho_solve(cho_factor(hessian, lower=True), grad)
            except LinAlgError:
                # Numerically indefinite case: fall back to steepest descent.
                direction = -grad
            slope = float(grad @ direction)
            if not slope < 0:
                # Not a descent direction (rounding): steepest descent instead.
                direction, slope = -grad, -float(grad @ grad)
            step = 1.0
            for _ in range(_MAX_BACKTRACKS):
                candidate = x + step * direction
                new_value, new_grad = sub.value_and_gradient(candidate)
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
            x, value, grad = candidate, new_value, new_grad
        return x, value, bool(np.linalg.norm(grad) <= target)


class LbfgsRefit(_IterativeRefit):
    """L-BFGS (scipy) for datafits without a Newton engine."""

    def _solve(self, sub, coords, x, target, max_iter):
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
