"""Restricted re-optimization: ``beta_S = argmin {L(beta) : beta zero outside S}``.

Every search of :mod:`omp` scores a support ``S`` of groups by ``L(beta_S)``, the
loss after fully re-optimizing on it ("re-optimize the loss on the support",
PAPER.md section 3.4; Algorithm 2 of section 4.2 re-optimizes the groups of ``S``
through its unpenalized subproblem). :func:`make_refit` picks an engine by what
the datafit is:

* **Squared losses** (``LeastSquares``, ``MultiResponse``): exact, by Cholesky
  factors of the restricted normal equations. ``L(beta) = ||Y - X B||_F^2 / (2n)
  + ridge/2 ||beta||^2`` decouples over the ``K`` output columns; for output ``o``
  with rows ``R`` of ``B`` in the support,

      H = X_R^T X_R / n + ridge I = C C^T,   b = X_R^T y_o / n,   z = C^{-1} b,
      beta_R = C^{-T} z,   L(beta_S) = ||Y||_F^2 / (2n) - 1/2 sum_o ||z_o||^2.

  Appending a group with rows ``G`` grows ``C`` by one block row (block Cholesky):
  ``C_21 = (C^{-1} X_R^T X_G / n)^T``, ``C_22 = chol(X_G^T X_G / n + ridge I -
  C_21 C_21^T)`` and ``z_G = C_22^{-1} (b_G - C_21 z)``, at ``O(n m s + m^2 s)`` for
  ``m`` support rows and ``s`` new ones instead of ``O(n m^2 + m^3)`` from scratch.
  Dropping the last group truncates the factor; dropping one from the middle
  re-factors only the trailing block (:meth:`QuadraticRefit.remove`).
  :meth:`QuadraticRefit.fit` removes the groups that left and keeps the longest
  common prefix, so one swap, or one step of a lexicographic enumeration, costs a
  block append and at most one trailing update; :meth:`QuadraticRefit.swap_loss`
  prices a swap exactly without changing the fit.
  A Schur complement that is not numerically positive definite (collinear
  columns; more support rows than samples without ridge) gets a relative jitter
  of ``1e-10`` on its diagonal, counted in ``n_jittered``.
* **Logistic and multinomial losses**: damped Newton with Armijo backtracking on
  ``datafit.restrict(coords)``, warm-started from the previous fit; a swap is
  priced by two Newton iterations, an upper bound on the restricted minimum. The Hessian
  is ``A^T W A / n + ridge I`` with ``A`` the support's columns of ``X`` and ``W``
  the per-sample curvature, ``sigma(z) sigma(-z)`` (binary) or
  ``diag(p) - p p^T`` (multinomial, ``p = softmax(z)``); a damping of ``1e-12``
  times its largest diagonal entry keeps the multinomial Hessian, singular along
  the class-shift direction when ``ridge = 0``, invertible (it changes the steps,
  not the fixed point).
* **Any other datafit**: L-BFGS (scipy) on ``datafit.restrict(coords)``.

Stopping of the iterative engines: ``||grad_S L(beta_S)||_2 <= tol *
||grad L(0)||_2``. A fit that misses it is counted in ``failures`` and surfaces in
the search's result as status ``"inexact_refit"``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cholesky, solve_triangular
from scipy.linalg.blas import dsyrk as syrk
from scipy.optimize import minimize
from scipy.special import expit, softmax

from nonconvex_reg import LeastSquares, Logistic, Multinomial, MultiResponse

__all__ = ["QuadraticRefit", "make_refit"]

_JITTER = 1e-10
_INITIAL_CAPACITY = 64
_NEWTON_DAMPING = 1e-12
_ARMIJO = 1e-4
#: Relative change of L below which the Armijo test is decided by rounding.
_VALUE_ROUNDING = 8 * np.finfo(float).eps
#: Solver iterations that price a candidate swap (iterative engines).
_TRIAL_ITER = 2
_MAX_BACKTRACKS = 60


def _layout(datafit):
    """Column of ``X`` and output column of every coordinate (C-order ``B``)."""
    n_outputs = datafit.coef_shape[1] if len(datafit.coef_shape) == 2 else 1
    coords = np.arange(datafit.n_features)
    return coords // n_outputs, coords % n_outputs, n_outputs


def _has_plain_layout(datafit) -> bool:
    """Whether ``beta`` is exactly the C-order flattening of ``coef_shape``."""
    return int(np.prod(datafit.coef_shape)) == datafit.n_features and (
        datafit.X.shape[1] == datafit.coef_shape[0]
    )


class _Refit(ABC):
    """Shared state: the last fitted ordered support, its loss and the scales."""

    def __init__(self, datafit, groups):
        self.datafit = datafit
        self.groups = groups
        zero = np.zeros(datafit.n_features)
        value, gradient = datafit.value_and_gradient(zero)
        #: ``L(0)``, the scale of loss improvements.
        self.loss_at_zero = float(value)
        #: ``grad L(0)``.
        self.gradient_at_zero = gradient
        #: ``||grad L(0)||_2``, the scale of the gradient tolerance.
        self.gradient_scale = float(np.linalg.norm(gradient))
        self.order: tuple = ()
        self.loss = self.loss_at_zero
        self.failures = 0

    def gradient(self) -> np.ndarray:
        """``grad L(beta_S)`` over all coordinates (one product with ``X^T``)."""
        return self.datafit.gradient(self.coef())

    @abstractmethod
    def fit(self, order) -> float:
        """Fit the ordered support ``order``; returns ``L(beta_S)``."""

    @abstractmethod
    def swap_loss(self, entering, leaving) -> float:
        """``L`` (or an upper bound) on ``S + entering - leaving``; fit unchanged."""

    @abstractmethod
    def coef(self) -> np.ndarray:
        """``beta_S`` as a flat vector of length ``n_features``."""


class QuadraticRefit(_Refit):
    """Exact least squares on a support through a stack of block Cholesky factors.

    Parameters
    ----------
    datafit : LeastSquares or MultiResponse
    groups : Groups

    Attributes
    ----------
    order : tuple of int
        The groups of the current fit, in the order they were appended.
    loss : float
        ``L(beta_S)`` of the current fit.
    n_jittered : int
        Appends whose Schur complement needed the diagonal jitter.
    """

    def __init__(self, datafit, groups):
        super().__init__(datafit, groups)
        columns, outputs, n_outputs = _layout(datafit)
        self._X = datafit.X
        self._n = datafit.n_samples
        self._ridge = datafit.ridge
        self._Y = datafit.y.reshape(self._n, n_outputs)
        self._b = (self._X.T @ self._Y) / self._n  # X^T y_o / n per column and o
        self._offset = float(np.sum(self._Y * self._Y)) / (2 * self._n)
        self._n_outputs = n_outputs
        # Rows of B (columns of X) and flat coordinates of each group, per output.
        self._rows = []
        for g in range(groups.n_groups):
            coords = np.sort(groups[g])
            per_output = [coords[outputs[coords] == o] for o in range(n_outputs)]
            self._rows.append([(columns[c], c) for c in per_output])
        capacity = min(datafit.X.shape[1], _INITIAL_CAPACITY)
        self._factor = [np.zeros((capacity, capacity)) for _ in range(n_outputs)]
        self._columns = [np.zeros((self._n, capacity)) for _ in range(n_outputs)]
        self._z = [np.zeros(capacity) for _ in range(n_outputs)]
        self._size = [0] * n_outputs
        self._sizes = []  # per pushed group: rows added per output
        self.n_jittered = 0

    # ----------------------------------------------------------- the stack
    def push(self, g: int) -> float:
        """Append group ``g`` to the support; returns the new loss."""
        added = []
        for o, (rows, _) in enumerate(self._rows[g]):
            s = rows.size
            added.append(s)
            if s == 0:
                continue
            m = self._size[o]
            self._reserve(o, m + s)
            C, Xs, z = self._factor[o], self._columns[o], self._z[o]
            Xg = self._X[:, rows]
            block = (Xg.T @ Xg) / self._n + self._ridge * np.eye(s)
            b_new = self._b[rows, o]
            if m:
                cross = solve_triangular(
                    C[:m, :m], (Xs[:, :m].T @ Xg) / self._n, lower=True,
                    check_finite=False,
                ).T
                block = block - cross @ cross.T
                b_new = b_new - cross @ z[:m]
                C[m : m + s, :m] = cross
            C[m : m + s, m : m + s] = self._cholesky(block)
            z[m : m + s] = solve_triangular(
                C[m : m + s, m : m + s], b_new, lower=True, check_finite=False
            )
            Xs[:, m : m + s] = Xg
            self._size[o] = m + s
        self._sizes.append(added)
        self.order = (*self.order, int(g))
        return self._update_loss()

    def pop(self) -> float:
        """Remove the last appended group; returns the new loss."""
        for o, s in enumerate(self._sizes.pop()):
            self._size[o] -= s
        self.order = self.order[:-1]
        return self._update_loss()

    def remove(self, position: int) -> float:
        """Remove the group at ``position`` of ``order``; returns the new loss.

        With the factor split at that group's rows into blocks 1 (before),
        2 (the group) and 3 (after), the factor without block 2 keeps ``C_11``
        and ``C_31`` and replaces ``C_33`` by ``chol(C_33 C_33^T + C_32 C_32^T)``;
        then ``z_3' = C_33'^{-1} (C_32 z_2 + C_33 z_3)``. This costs
        ``O(t^3)`` for ``t`` trailing rows, against ``O(n m s)`` per group for
        popping and re-appending the trailing groups.
        """
        starts = self._starts()
        for o in range(self._n_outputs):
            a, e, m = starts[position, o], starts[position + 1, o], self._size[o]
            if a == e:
                continue
            C, Xs, z = self._factor[o], self._columns[o], self._z[o]
            if e < m:
                C32, C33 = C[e:m, a:e], C[e:m, e:m]
                trailing = self._cholesky(C33 @ C33.T + C32 @ C32.T)
                z_tail = solve_triangular(
                    trailing, C32 @ z[a:e] + C33 @ z[e:m], lower=True,
                    check_finite=False,
                )
                C[a : m - (e - a), :a] = C[e:m, :a]
                C[a : m - (e - a), a : m - (e - a)] = trailing
                z[a : m - (e - a)] = z_tail
                Xs[:, a : m - (e - a)] = Xs[:, e:m]
            self._size[o] = m - (e - a)
        del self._sizes[position]
        self.order = self.order[:position] + self.order[position + 1 :]
        return self._update_loss()

    def _starts(self) -> np.ndarray:
        """First row of each group of ``order`` in each output's factor."""
        return np.cumsum([[0] * self._n_outputs, *self._sizes], axis=0)

    def _update_loss(self) -> float:
        """``L(beta_S) = ||Y||^2 / (2n) - 1/2 sum_o ||z_o||^2``."""
        total = sum(
            float(z[:m] @ z[:m]) for z, m in zip(self._z, self._size, strict=True)
        )
        self.loss = self._offset - 0.5 * total
        return self.loss

    def _reserve(self, o, needed):
        """Grow the buffers of output ``o`` (doubling) to hold ``needed`` rows."""
        capacity = len(self._z[o])
        if needed <= capacity:
            return
        new = max(needed, 2 * capacity)
        m = self._size[o]
        factor = np.zeros((new, new))
        factor[:m, :m] = self._factor[o][:m, :m]
        columns = np.zeros((self._n, new))
        columns[:, :m] = self._columns[o][:, :m]
        z = np.zeros(new)
        z[:m] = self._z[o][:m]
        self._factor[o], self._columns[o], self._z[o] = factor, columns, z

    def _cholesky(self, block):
        """Lower Cholesky factor, with the documented jitter if not PD."""
        try:
            return cholesky(block, lower=True, check_finite=False)
        except LinAlgError:
            # Rank-deficient case: collinear columns or too few samples.
            self.n_jittered += 1
            scale = max(float(np.max(np.diag(block))), np.finfo(float).tiny)
            jitter = _JITTER * scale
            while True:
                try:
                    return cholesky(
                        block + jitter * np.eye(len(block)), lower=True,
                        check_finite=False,
                    )
                except LinAlgError:
                    jitter *= 10.0

    # ----------------------------------------------------------- the API
    def fit(self, order) -> float:
        """Fit the ordered support ``order``.

        Groups that left are removed in place, last first (:meth:`remove`; a
        group at the end is a plain :meth:`pop`), then the longest common prefix
        is kept and the rest appended.
        """
        order = tuple(int(g) for g in order)
        wanted = set(order)
        for position in reversed(range(len(self.order))):
            if self.order[position] not in wanted:
                self.remove(position)
        common = 0
        while (
            common < min(len(order), len(self.order))
            and order[common] == self.order[common]
        ):
            common += 1
        while len(self.order) > common:
            self.pop()
        for g in order[common:]:
            self.push(g)
        return self.loss

    def swap_loss(self, entering, leaving) -> float:
        """``L(beta_S')`` for ``S' = S + entering - leaving``; the fit is unchanged.

        Appends ``entering``, then adds the exact price of zeroing the leaving
        groups, per output (partial minimization of a quadratic):
        ``1/2 beta_J^T [(H^{-1})_{JJ}]^{-1} beta_J`` with ``beta`` the fit on
        ``S + entering`` and ``J`` the leaving rows; ``(H^{-1})_{JJ} = W^T W`` with
        ``W = C^{-1} E_J``, which is zero above the first leaving row.
        """
        for g in entering:
            self.push(g)
        loss = self.loss
        starts = self._starts()
        position = {g: p for p, g in enumerate(self.order)}
        for o, beta in enumerate(self._solution()):
            rows = [
                np.arange(starts[position[g], o], starts[position[g] + 1, o])
                for g in leaving
            ]
            rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
            if rows.size == 0:
                continue
            m = self._size[o]
            first = int(rows.min())
            unit = np.zeros((m - first, rows.size))
            unit[rows - first, np.arange(rows.size)] = 1.0
            W = solve_triangular(
                self._factor[o][first:m, first:m], unit, lower=True,
                check_finite=False,
            )
            price = np.linalg.solve(W.T @ W, beta[rows])
            loss += 0.5 * float(beta[rows] @ price)
        for _ in entering:
            self.pop()
        return loss

    def _solution(self) -> list:
        """``C_o^{-T} z_o`` per output, in stack order."""
        return [
            solve_triangular(
                self._factor[o][:m, :m], self._z[o][:m], lower=True, trans="T",
                check_finite=False,
            )
            for o, m in enumerate(self._size)
        ]

    def coef(self) -> np.ndarray:
        """``beta_S`` scattered into a flat vector."""
        beta = np.zeros(self.datafit.n_features)
        for o, values in enumerate(self._solution()):
            if values.size:
                beta[np.concatenate([self._rows[g][o][1] for g in self.order])] = values
        return beta

    def gradient(self) -> np.ndarray:
        """``X^T (X B - Y) / n + ridge beta``, the residual from the stacked columns."""
        residual = -self._Y.copy()
        for o, values in enumerate(self._solution()):
            if values.size:
                residual[:, o] += self._columns[o][:, : values.size] @ values
        gradient = (self._X.T @ residual).ravel() / self._n
        if self._ridge:
            gradient += self._ridge * self.coef()
        return gradient


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
_CURVATURE = {Logistic: _binary_curvature, Multinomial: _multinomial_curvature}


class _IterativeRefit(_Refit):
    """Warm-started restricted solves on ``datafit.restrict(coords)``."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups)
        self.tol = tol
        self.max_iter = max_iter
        self._beta = np.zeros(datafit.n_features)
        self._trial = None

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


class _NewtonRefit(_IterativeRefit):
    """Damped Newton with Armijo backtracking (logistic and multinomial)."""

    def __init__(self, datafit, groups, tol, max_iter):
        super().__init__(datafit, groups, tol, max_iter)
        self._curvature = _CURVATURE[type(datafit)]
        self._columns, self._outputs, _ = _layout(datafit)

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


class _LbfgsRefit(_IterativeRefit):
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
    QuadraticRefit or an iterative engine
        An object with ``fit(order) -> loss``, ``coef()``, ``gradient()``,
        ``loss``, ``order``, ``loss_at_zero`` and ``failures``.
    """
    plain = _has_plain_layout(datafit)
    if plain and isinstance(datafit, LeastSquares | MultiResponse):
        return QuadraticRefit(datafit, groups)
    if plain and type(datafit) in _CURVATURE:
        return _NewtonRefit(datafit, groups, tol, max_iter)
    return _LbfgsRefit(datafit, groups, tol, max_iter)
