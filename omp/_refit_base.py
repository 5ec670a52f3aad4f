"""The contract of the restricted re-optimization engines of :mod:`omp.refit`.

An engine holds the last fitted ordered support ``S`` (``order``) and
``beta_S = argmin {L(beta) : beta zero outside S}``. ``fit(order)`` refits and
returns ``L(beta_S)``; ``swap_loss(entering, leaving)`` prices the support
``S + entering - leaving`` (exactly, or by an upper bound) without changing the
fit; ``try_swap(entering, leaving, bar)`` moves the fit there only if its loss
is below ``bar``; ``snapshot()`` and ``restore(snapshot)`` come back to an
earlier fit; ``coef()`` and ``gradient()`` (computed once per fit) return
``beta_S`` and ``grad L(beta_S)`` over all coordinates. ``loss_at_zero = L(0)``
scales the searches' loss improvements and ``gradient_scale = ||grad L(0)||_2``
the engines' gradient tolerance; a restricted solve that misses its tolerance
is counted in ``failures``.

:meth:`Refit.swap_prices` prices many single swaps ``S + i - j`` at once by the
second-order model of ``L`` at ``beta_S`` (a derivation of ours, see its
Notes): the model's minimum over ``S + i`` plus the model's exact price of
zeroing group ``j`` there, the group form of the Optimal Brain Surgeon's
deletion price (Hassibi & Stork 1993). It is exact for the squared losses and a
prediction, neither bound, otherwise, so a search verifies the swaps it picks
with ``try_swap``, which the iterative engines start from the model's point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk as syrk
from scipy.linalg.lapack import dpotrf as potrf
from scipy.linalg.lapack import dpotri as potri

from nonconvex_reg.design import gram as design_gram

__all__ = ["Refit", "coefficient_layout", "restricted_predictor"]

#: Relative diagonal jitter of a curvature block that is not numerically PD.
_JITTER = 1e-10


def coefficient_layout(datafit):
    """Column of ``X`` and output column of every coordinate (C-order ``B``)."""
    n_outputs = datafit.coef_shape[1] if len(datafit.coef_shape) == 2 else 1
    coords = np.arange(datafit.n_features)
    return coords // n_outputs, coords % n_outputs, n_outputs


def _weighted_gram(left, left_outputs, right, right_outputs, blocks):
    """``sum_n X[n, l] X[n, r] blocks[n, o_l, o_r]`` for the given columns.

    Dense or sparse columns; the result is a dense array.
    """
    n_outputs = blocks.shape[1]
    if n_outputs == 1:
        # Single-output case: one weighted product.
        return design_gram(left, right, blocks[:, 0, 0])
    gram = np.zeros((left.shape[1], right.shape[1]))
    for a in range(n_outputs):
        rows = left_outputs == a
        for b in range(n_outputs):
            cols = right_outputs == b
            if rows.any() and cols.any():
                gram[np.ix_(rows, cols)] = design_gram(
                    left[:, rows], right[:, cols], blocks[:, a, b]
                )
    return gram


def _symmetric_gram(columns, outputs, blocks):
    """:func:`_weighted_gram` of ``columns`` with itself; lower triangle only."""
    if blocks.shape[1] == 1 and not sp.issparse(columns):
        # Dense single-output case: one symmetric rank-n update (BLAS syrk).
        return syrk(1.0, columns * np.sqrt(blocks[:, 0, 0])[:, None], trans=1, lower=1)
    return _weighted_gram(columns, outputs, columns, outputs, blocks)


def restricted_predictor(columns, outputs, values, n_outputs):
    """``Z = X B`` of the coefficients ``values`` on the given columns of ``X``."""
    if n_outputs == 1:
        return columns @ values
    Z = np.zeros((columns.shape[0], n_outputs))
    for o in range(n_outputs):
        mask = outputs == o
        Z[:, o] = columns[:, mask] @ values[mask]
    return Z


def _inverse(matrix):
    """Inverse of a symmetric PSD matrix (lower triangle read), jittered if not PD.

    The jitter is relative, ``1e-10`` times the largest diagonal entry, and
    grows tenfold until the Cholesky factorization succeeds.
    """
    size = len(matrix)
    scale = max(float(np.max(np.diag(matrix), initial=0.0)), np.finfo(float).tiny)
    jitter = 0.0
    while True:
        factor, info = potrf(matrix + jitter * np.eye(size), lower=1, clean=1)
        if info == 0:
            inverse, _ = potri(factor, lower=1)
            return np.tril(inverse) + np.tril(inverse, -1).T
        # Rank-deficient case: collinear columns or too few samples.
        jitter = _JITTER * scale if jitter == 0.0 else 10.0 * jitter


def _diagonal_blocks(columns, weights, count, size):
    """The ``count`` diagonal ``size x size`` blocks of ``columns^T W columns``."""
    if sp.issparse(columns):
        # Sparse case: the whole (small) weighted Gram, then its diagonal blocks.
        full = design_gram(columns, weights=weights).reshape(count, size, count, size)
        return full[np.arange(count), :, np.arange(count), :]
    scaled = (columns * np.sqrt(weights)[:, None]).reshape(-1, count, size)
    return np.einsum("nca,ncb->cab", scaled, scaled)


class Refit(ABC):
    """Shared state: the last fitted ordered support, its loss and the scales."""

    #: Whether ``swap_loss`` is exact (then it equals ``swap_prices``).
    exact_swap_loss = False

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
        # Columns of Z = X B (1 for a vector Z), for the model's curvature.
        self._n_outputs = int(np.prod(datafit.linear_predictor(zero).shape[1:]))
        self.order: tuple = ()
        self.loss = self.loss_at_zero
        self.failures = 0
        self._changed()

    def _changed(self) -> None:
        """Forget what was computed from the previous fit (engines call it)."""
        self._gradient = None
        self._model = None
        self._steps = {}

    def gradient(self) -> np.ndarray:
        """``grad L(beta_S)`` over all coordinates, computed once per fit."""
        if self._gradient is None:
            self._gradient = self._full_gradient()
        return self._gradient.copy()

    def _full_gradient(self) -> np.ndarray:
        """``grad L(beta_S)`` by one product with ``X^T``."""
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

    def snapshot(self):
        """What :meth:`restore` needs to come back to the current fit."""
        return self.order

    def restore(self, snapshot) -> float:
        """Come back to a fit taken by :meth:`snapshot`; returns its loss."""
        return self.fit(snapshot)

    def try_swap(self, entering, leaving, bar) -> bool:
        """Fit ``S + entering - leaving`` and keep it if ``L < bar``; else stay on S.

        Returns whether the swap was kept.
        """
        order = self.order
        trial = [g for g in order if g not in leaving] + list(entering)
        if self.fit(trial) < bar:
            return True
        # Rejected case: the refit disagrees with the price; go back.
        self.fit(order)
        return False

    # ------------------------------------------------- second-order prices
    def _support_model(self):
        """The part of the model shared by every swap: H_SS^{-1} and the step."""
        if self._model is not None:
            return self._model
        datafit = self.datafit
        columns, outputs = datafit.coordinate_layout()
        beta, gradient = self.coef(), self.gradient()
        support = [np.sort(self.groups[g]) for g in self.order]
        coords = np.concatenate(support)
        X_support, out_support = datafit.X[:, columns[coords]], outputs[coords]
        blocks = datafit.hessian_blocks_from_predictor(
            restricted_predictor(X_support, out_support, beta[coords], self._n_outputs)
        )
        inverse = self._support_inverse(coords, X_support, out_support, blocks)
        g_support = gradient[coords]
        newton = inverse @ g_support
        self._model = {
            "columns": columns,
            "outputs": outputs,
            "blocks": blocks,
            "coords": coords,
            "X": X_support,
            "out": out_support,
            "inverse": inverse,
            "gradient": gradient,
            "g": g_support,
            "starts": np.cumsum([0] + [c.size for c in support]),
            "position": {g: p for p, g in enumerate(self.order)},
            # Model minimum and minimizer on S (beta_S up to the refit tolerance).
            "base": self.loss - 0.5 * float(g_support @ newton),
            "beta": beta[coords] - newton,
        }
        return self._model

    def _support_inverse(self, coords, X_support, out_support, blocks):
        """``H_SS^{-1}`` at ``beta_S``, rows and columns in the order of ``coords``."""
        hessian = _symmetric_gram(X_support, out_support, blocks)
        hessian[np.diag_indices(coords.size)] += self.datafit.ridge
        return _inverse(hessian)

    def _entering_steps(self, entering):
        """``(U, V = U Sigma^{-1}, t, b_S)`` of each entering group, memoized."""
        model = self._support_model()
        new = [g for g in dict.fromkeys(entering) if g not in self._steps]
        if new:
            datafit, blocks = self.datafit, model["blocks"]
            parts = [np.sort(self.groups[g]) for g in new]
            spans = np.cumsum([0] + [c.size for c in parts])
            coords = np.concatenate(parts)
            X_new = datafit.X[:, model["columns"][coords]]
            out_new = model["outputs"][coords]
            crosses = _weighted_gram(model["X"], model["out"], X_new, out_new, blocks)
            Us = model["inverse"] @ crosses
            schurs = self._schur_inverses(X_new, out_new, spans, crosses, Us)
            for a, g in enumerate(new):
                cols = slice(spans[a], spans[a + 1])
                U, schur_inverse = Us[:, cols], schurs[a]
                residual = model["gradient"][parts[a]] - U.T @ model["g"]
                step = schur_inverse @ residual
                self._steps[g] = {
                    "U": U,
                    "V": U @ schur_inverse,
                    "step": step,
                    "b": model["beta"] + U @ step,
                    "coords": parts[a],
                    "added": model["base"] - 0.5 * float(residual @ step),
                }
        return [self._steps[g] for g in entering]

    def _schur_inverses(self, X_new, out_new, spans, crosses, Us):
        """``Sigma_i^{-1} = (H_ii - H_iS A^{-1} H_Si)^{-1}`` of each entering group."""
        blocks, ridge = self._model["blocks"], self.datafit.ridge
        sizes = np.diff(spans)
        if blocks.shape[1] == 1 and np.all(sizes == sizes[0]):
            # Single-output, equal-size case: batched products and inversions.
            size, count = int(sizes[0]), sizes.size
            gram = _diagonal_blocks(X_new, blocks[:, 0, 0], count, size)
            cross = crosses.T.reshape(count, size, -1)
            U = Us.T.reshape(count, size, -1)
            schur = gram - np.einsum("cam,cbm->cab", cross, U)
            schur[:, np.arange(size), np.arange(size)] += ridge
            try:
                factor_inverse = np.linalg.inv(np.linalg.cholesky(schur))
                return factor_inverse.transpose(0, 2, 1) @ factor_inverse
            except np.linalg.LinAlgError:
                pass  # Not numerically PD somewhere: the jittered loop below.
        out = []
        for a in range(sizes.size):
            cols = slice(spans[a], spans[a + 1])
            block = _weighted_gram(
                X_new[:, cols], out_new[cols], X_new[:, cols], out_new[cols], blocks
            )
            block[np.diag_indices(sizes[a])] += ridge
            out.append(_inverse(block - crosses[:, cols].T @ Us[:, cols]))
        return out

    def swap_prices(self, entering, leaving) -> np.ndarray:
        r"""Second-order prices of the single swaps ``S + i - j``; fit unchanged.

        .. math::

            \hat L(S + i - j) = L(\beta_S) - \tfrac12 g_P^T H_{PP}^{-1} g_P
            + \tfrac12 b_j^T [(H_{PP}^{-1})_{jj}]^{-1} b_j,
            \qquad P = S \cup T_i,\; b = \beta_P - H_{PP}^{-1} g_P

        with ``g`` and ``H`` the gradient and Hessian of ``L`` at ``beta_S``.

        Parameters
        ----------
        entering : sequence of int
            Groups outside ``S``.
        leaving : sequence of int
            Groups of ``S``.

        Returns
        -------
        ndarray of shape (len(entering), len(leaving))
            The predicted losses: exact (up to rounding) for the squared losses,
            where the model is ``L`` itself, a prediction otherwise.

        Notes
        -----
        A derivation of ours. The first two terms are the model's minimum over
        ``P`` (one Newton step from ``beta_S``), the last the model's exact cost
        of forcing ``beta_j = 0`` there (partial minimization of a quadratic, the
        group form of the Optimal Brain Surgeon's price). With ``A = H_SS``,
        ``U = A^{-1} H_Si``, the Schur complement ``Sigma = H_ii - H_iS U``,
        ``r = g_i - U^T g_S`` and ``t = Sigma^{-1} r``, block inversion of
        ``H_PP`` gives ``g_P^T H_PP^{-1} g_P = g_S^T A^{-1} g_S + r^T t``,
        ``b_S = beta_S - A^{-1} g_S + U t``, ``b_i = -t`` and ``(H_PP^{-1})_jj
        = (A^{-1})_jj + U_j Sigma^{-1} U_j^T``. Cost: one inversion of ``A``
        per fit (memoized; from the engine's Cholesky factor of ``A`` when it
        has one, else after an ``O(n m^2)`` Hessian), then ``O(n m d + m^2 d)``
        per entering group of ``d`` coordinates, for ``m`` support coordinates
        and ``n`` samples.
        """
        entering = [int(g) for g in entering]
        leaving = [int(g) for g in leaving]
        prices = np.full((len(entering), len(leaving)), np.inf)
        if not entering or not leaving:
            return prices
        model = self._support_model()
        inverse, starts, position = model["inverse"], model["starts"], model["position"]
        spans = [slice(starts[position[j]], starts[position[j] + 1]) for j in leaving]
        same_size = len({s.stop - s.start for s in spans}) == 1
        if same_size:
            rows = np.stack([np.arange(s.start, s.stop) for s in spans])
            inverse_blocks = inverse[rows[:, :, None], rows[:, None, :]]
        for a, steps in enumerate(self._entering_steps(entering)):
            U, V, b = steps["U"], steps["V"], steps["b"]
            if same_size:
                # Equal-size leaving groups: one batched solve.
                M = inverse_blocks + np.einsum("jad,jbd->jab", V[rows], U[rows])
                v = b[rows]
                solved = np.linalg.solve(M, v[:, :, None])[:, :, 0]
                prices[a] = steps["added"] + 0.5 * np.einsum("ja,ja->j", v, solved)
                continue
            for q, span in enumerate(spans):
                M = inverse[span, span] + V[span] @ U[span].T
                v = b[span]
                prices[a, q] = steps["added"] + 0.5 * float(v @ np.linalg.solve(M, v))
        return prices

    def swap_point(self, entering, leaving) -> np.ndarray:
        """The model's minimizer on ``S + i - j`` (full length), a warm start.

        ``b - (H_PP^{-1})_{:, j} [(H_PP^{-1})_jj]^{-1} b_j`` in the notation of
        :meth:`swap_prices`, zero on ``j`` and outside ``S + i``.
        """
        (i,), (j,) = entering, leaving
        model = self._support_model()
        steps = self._entering_steps([int(i)])[0]
        p = model["position"][int(j)]
        span = slice(model["starts"][p], model["starts"][p + 1])
        U, V, b = steps["U"], steps["V"], steps["b"]
        column = model["inverse"][:, span] + V @ U[span].T
        w = np.linalg.solve(column[span], b[span])
        point = np.zeros(self.datafit.n_features)
        point[model["coords"]] = b - column @ w
        point[model["coords"][span]] = 0.0
        point[steps["coords"]] = -steps["step"] + V[span].T @ w
        return point
