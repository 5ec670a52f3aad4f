"""Exact restricted least squares by block Cholesky factors (see :mod:`omp.refit`).

For the squared losses (``LeastSquares``, ``MultiResponse``), ``L(beta) =
||Y - X B||_F^2 / (2n) + ridge/2 ||beta||^2`` decouples over the ``K`` output
columns; for output ``o`` with rows ``R`` of ``B`` in the support,

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

Memory grows with the support, never with ``n_features``: the factors take
``O(m^2)`` for ``m`` support rows, plus ``X^T y`` (one entry per column). A
dense design keeps a copy of the support's columns, ``O(n m)``, for BLAS
products; a sparse (CSC) design keeps their indices only and slices them from
X when needed, ``O(nnz)`` of those columns per product, with the Gram blocks
formed as sparse products (a support block at density 1e-3 holds a thousandth
of the dense copy's values).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError
from scipy.linalg.lapack import dpotrf, dtrtrs
from scipy.linalg.lapack import dpotri as potri

from nonconvex_reg.design import gram, rmatmul

from ._refit_base import Refit, coefficient_layout

__all__ = ["QuadraticRefit"]

_JITTER = 1e-10
_INITIAL_CAPACITY = 64


# The factors are small and the searches factor and solve thousands of times, so
# LAPACK is called directly: scipy.linalg's cholesky and solve_triangular spend
# several microseconds per call on argument handling, more than the work itself.
def _lower_cholesky(block) -> np.ndarray:
    """Lower Cholesky factor of ``block``; LinAlgError if it is not PD."""
    factor, info = dpotrf(block, lower=1, clean=1)
    if info < 0:  # an illegal argument: a bug of the caller, not of the data
        raise ValueError(f"dpotrf rejected argument {-info}")
    if info > 0:
        raise LinAlgError(f"the block is not positive definite (dpotrf info {info})")
    return factor


def _solve_lower(C, b, transpose=False) -> np.ndarray:
    """``C^{-1} b`` (``C^{-T} b`` if ``transpose``) for a lower-triangular ``C``."""
    if C.shape[0] != b.shape[0]:
        raise ValueError(f"`b` of shape {b.shape} does not match `C` of {C.shape}.")
    if C.shape[0] == 0:
        return np.zeros(b.shape)
    solution, info = dtrtrs(C, b, lower=1, trans=int(transpose))
    if info < 0:  # an illegal argument: a bug of the caller, not of the data
        raise ValueError(f"dtrtrs rejected argument {-info}")
    if info > 0:
        raise LinAlgError(f"the factor is singular (dtrtrs info {info})")
    return solution


class QuadraticRefit(Refit):
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

    exact_swap_loss = True

    def __init__(self, datafit, groups):
        super().__init__(datafit, groups)
        columns, outputs, n_outputs = coefficient_layout(datafit)
        self._X = datafit.X
        self._n = datafit.n_samples
        self._ridge = datafit.ridge
        self._Y = datafit.y.reshape(self._n, n_outputs)
        self._b = rmatmul(self._X, self._Y) / self._n  # X^T y_o / n per column and o
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
        # The support's columns of X in stack order, along the last axis: their
        # values (dense X) or their indices (sparse X).
        self._sparse = sp.issparse(self._X)
        stack_shape = (capacity,) if self._sparse else (self._n, capacity)
        stack_dtype = np.intp if self._sparse else np.float64
        self._columns = [np.zeros(stack_shape, stack_dtype) for _ in range(n_outputs)]
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
            block = gram(Xg) / self._n + self._ridge * np.eye(s)
            b_new = self._b[rows, o]
            if m:
                cross = _solve_lower(
                    C[:m, :m], gram(self._stacked(o, m), Xg) / self._n
                ).T
                block = block - cross @ cross.T
                b_new = b_new - cross @ z[:m]
                C[m : m + s, :m] = cross
            C[m : m + s, m : m + s] = self._cholesky(block)
            z[m : m + s] = _solve_lower(C[m : m + s, m : m + s], b_new)
            Xs[..., m : m + s] = rows if self._sparse else Xg
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
                z_tail = _solve_lower(trailing, C32 @ z[a:e] + C33 @ z[e:m])
                C[a : m - (e - a), :a] = C[e:m, :a]
                C[a : m - (e - a), a : m - (e - a)] = trailing
                z[a : m - (e - a)] = z_tail
                Xs[..., a : m - (e - a)] = Xs[..., e:m]
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
        self._changed()
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
        stack = self._columns[o]
        columns = np.zeros((*stack.shape[:-1], new), stack.dtype)
        columns[..., :m] = stack[..., :m]
        z = np.zeros(new)
        z[:m] = self._z[o][:m]
        self._factor[o], self._columns[o], self._z[o] = factor, columns, z

    def _stacked(self, o, m):
        """The first ``m`` stacked support columns of output ``o``."""
        stack = self._columns[o]
        return self._X[:, stack[:m]] if self._sparse else stack[:, :m]

    def _cholesky(self, block):
        """Lower Cholesky factor, with the documented jitter if not PD."""
        try:
            return _lower_cholesky(block)
        except LinAlgError:
            # Rank-deficient case: collinear columns or too few samples.
            self.n_jittered += 1
            scale = max(float(np.max(np.diag(block))), np.finfo(float).tiny)
            jitter = _JITTER * scale
            while True:
                try:
                    return _lower_cholesky(block + jitter * np.eye(len(block)))
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
            W = _solve_lower(self._factor[o][first:m, first:m], unit)
            price = np.linalg.solve(W.T @ W, beta[rows])
            loss += 0.5 * float(beta[rows] @ price)
        for _ in entering:
            self.pop()
        return loss

    def _support_inverse(self, coords, X_support, out_support, blocks):
        """``H_SS^{-1}`` from the block Cholesky factor (single output, exact).

        For one output the factor's rows are the model's coordinates, in the
        same order (groups in ``order``, each group's coordinates sorted).
        """
        if self._n_outputs != 1:
            return super()._support_inverse(coords, X_support, out_support, blocks)
        m = self._size[0]
        inverse, _ = potri(self._factor[0][:m, :m], lower=1)
        return np.tril(inverse) + np.tril(inverse, -1).T

    def _solution(self) -> list:
        """``C_o^{-T} z_o`` per output, in stack order."""
        return [
            _solve_lower(self._factor[o][:m, :m], self._z[o][:m], transpose=True)
            for o, m in enumerate(self._size)
        ]

    def coef(self) -> np.ndarray:
        """``beta_S`` scattered into a flat vector."""
        beta = np.zeros(self.datafit.n_features)
        for o, values in enumerate(self._solution()):
            if values.size:
                beta[np.concatenate([self._rows[g][o][1] for g in self.order])] = values
        return beta

    def _full_gradient(self) -> np.ndarray:
        """``X^T (X B - Y) / n + ridge beta``, the residual from the stacked columns."""
        residual = -self._Y.copy()
        for o, values in enumerate(self._solution()):
            if values.size:
                residual[:, o] += self._stacked(o, values.size) @ values
        gradient = rmatmul(self._X, residual).ravel() / self._n
        if self._ridge:
            gradient += self._ridge * self.coef()
        return gradient
