"""Block coordinate descent on group LASSO with a quadratic data term.

The inner problem of the prox-Newton solver (:mod:`._prox_newton`) is, around a
predictor ``Z0 = X B0`` of shape ``(n_samples, n_outputs)``,

    min_beta  M(beta) = <G, D> + 1/2 sum_i D_i^T H_i D_i + ridge/2 ||beta||^2
                        + lam * sum_g ||beta_g||,          D = X B - Z0,

with ``G = grad F(Z0)`` and ``H_i`` the Hessian blocks of F at ``Z0``
(:meth:`~nonconvex_reg.datafits.base.Datafit.hessian_blocks_from_predictor`); for the
squared loss M is the objective itself up to a constant. Coordinate ``c`` acts on
column ``j_c`` of X and column ``k_c`` of Z
(:meth:`~nonconvex_reg.datafits.base.Datafit.coordinate_layout`), so

    grad_c M = sum_i X[i, j_c] R[i, k_c] + ridge beta_c,   R_i = G_i + H_i D_i,

and the Hessian of M in the block ``beta_g`` is ``A_g + ridge I`` with
``A_g[c, c'] = sum_i H_i[k_c, k_c'] X[i, j_c] X[i, j_c']``.

Cyclic block coordinate descent (Tseng 2001) visits the groups in order and
replaces ``beta_g`` by the minimizer of M's majorizer with curvature
``L_g = lambda_max(A_g) + ridge``, the group soft-threshold

    beta_g <- (1 - lam / (L_g ||v||))_+ v,    v = beta_g - grad_g M(beta) / L_g,

then updates ``D`` and ``R`` in place: ``n`` operations per changed coordinate, or
``n * n_outputs`` when the blocks ``H_i`` are not diagonal (multinomial).
Every ``_ANDERSON_MEMORY`` epochs, Anderson extrapolation (Bertrand & Massias 2021,
"Anderson acceleration of coordinate descent"): the point ``sum_i c_i beta_i`` with
``c`` minimizing ``||sum_i c_i (beta_{i+1} - beta_i)||`` subject to ``sum_i c_i = 1``
replaces the iterate if it lowers M (D and R are affine in beta and extrapolate with
the same weights). An epoch's *violation* is ``max_g L_g ||beta_g^new - beta_g||``,
the block prox-gradient mapping, which vanishes exactly at a minimizer of M; the
descent stops once it is below a tolerance, or after ``_STALL_EPOCHS`` epochs
without a new smallest violation (its double-precision floor is reached).

The loops over samples are compiled with numba (``cache=True``), once per
storage of the design: dense (a column is a contiguous row of ``X^T``, ``n``
operations) or scipy.sparse CSC (a column is its stored values, ``nnz`` operations;
float32 values are read as they are and every sum accumulates in float64), through
the column primitives of :mod:`nonconvex_reg._design_kernels`. An epoch on a CSC
design costs ``O(nnz(X_S) * n_outputs)`` for the working set's columns ``X_S``, plus
``O(n * n_outputs^2)`` per Newton step for the model.
"""

from __future__ import annotations

import numba
import numpy as np

from .._design_kernels import (
    FASTMATH,
    column_axpy,
    column_axpy_weighted,
    column_dot,
    weighted_group_gram_tops,
)
from ..design import kernel_design
from ._prox_gradient import anderson_weights

__all__ = ["BlockLayout", "minimize_model", "model_lipschitz"]

_ANDERSON_MEMORY = 5
_STALL_EPOCHS = 5 * _ANDERSON_MEMORY


class BlockLayout:
    """A datafit's design and groups in the arrays the kernels read.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
        A partition of the datafit's coordinates.
    squared_norms : ndarray of shape (n_groups,)
        ``||X[:, R_g]||_2^2``, ``R_g`` the columns of X that group g touches
        (:meth:`~nonconvex_reg.datafits.base.Datafit.group_operator_norms` squared).
    """

    def __init__(self, datafit, groups, squared_norms):
        self.design = kernel_design(datafit.X)
        self.n_samples = datafit.n_samples
        self.squared_norms = squared_norms
        columns, outputs = datafit.coordinate_layout()
        self.columns = np.ascontiguousarray(columns, dtype=np.intp)
        self.outputs = np.ascontiguousarray(outputs, dtype=np.intp)
        self.ptr = np.ascontiguousarray(groups.ptr, dtype=np.intp)
        self.indices = np.ascontiguousarray(groups.indices, dtype=np.intp)
        self.groups = groups


# The kernels take the design as a tuple ((X^T,) or the CSC arrays, see
# nonconvex_reg._design_kernels) and every other array with the samples on its
# last axis, in C order: model_grad = R^T and shift = D^T of shape
# (n_outputs, n_samples), and hessian[l, k, i] = H_i[l, k]. Rows are then
# contiguous, and numba compiles one specialization per storage whatever the
# number of columns or outputs.


@numba.njit(cache=True, fastmath=FASTMATH)
def _epoch(
    design,
    columns,
    outputs,
    ptr,
    indices,
    hessian,
    coupled,
    model_grad,
    shift,
    beta,
    lipschitz,
    lam,
    ridge,
):  # pragma: no cover - compiled
    """One cyclic pass over the groups, in place; returns the violation."""
    n_outputs = model_grad.shape[0]
    n_groups = ptr.size - 1
    largest = 0
    for g in range(n_groups):
        largest = max(largest, ptr[g + 1] - ptr[g])
    proposal = np.empty(largest)
    violation = 0.0
    for g in range(n_groups):
        L = lipschitz[g]
        if L <= 0.0:
            continue  # the group does not change M
        start, stop = ptr[g], ptr[g + 1]
        squared = 0.0
        for a in range(start, stop):
            c = indices[a]
            grad = ridge * beta[c] + column_dot(
                design, columns[c], model_grad[outputs[c]]
            )
            proposal[a - start] = beta[c] - grad / L
            squared += proposal[a - start] ** 2
        norm = np.sqrt(squared)
        scale = 1.0 - lam / (L * norm) if L * norm > lam else 0.0
        moved = 0.0
        for a in range(start, stop):
            c = indices[a]
            delta = scale * proposal[a - start] - beta[c]
            if delta == 0.0:
                continue
            beta[c] += delta
            moved += delta * delta
            j, k = columns[c], outputs[c]
            column_axpy(design, j, delta, shift[k])
            # R_i += H_i[:, k] X[i, j] delta, only entry k if H_i is diagonal.
            first, last = (0, n_outputs) if coupled else (k, k + 1)
            for m in range(first, last):
                column_axpy_weighted(design, j, delta, hessian[m, k], model_grad[m])
        violation = max(violation, L * np.sqrt(moved))
    return violation


def model_lipschitz(layout, hessian, ridge) -> np.ndarray:
    """Per-group curvature ``L_g = lambda_max(A_g) + ridge`` of the model M.

    When every ``H_i = h I`` (squared loss), ``A_g <= h X[:, R_g]^T X[:, R_g]`` and
    the bound ``h ||X[:, R_g]||^2 + ridge`` (exact for single-output models) is read
    from ``layout.squared_norms``; otherwise ``A_g`` is formed and diagonalized.

    Parameters
    ----------
    layout : BlockLayout
    hessian : ndarray of shape (n_samples, n_outputs, n_outputs)
        The blocks ``H_i`` of the module docstring.
    ridge : float

    Returns
    -------
    ndarray of shape (n_groups,)
    """
    scale = hessian[0, 0, 0]
    if np.all(hessian == scale * np.eye(hessian.shape[1])):
        # Isotropic case: no Gram matrix to form.
        return scale * layout.squared_norms + ridge
    top = weighted_group_gram_tops(
        layout.design,
        layout.n_samples,
        layout.columns,
        layout.outputs,
        layout.ptr,
        layout.indices,
        _samples_last(hessian),
    )
    return np.maximum(top, 0.0) + ridge


def _samples_last(array):
    """``array`` with its first (sample) axis moved last, in C order."""
    return np.ascontiguousarray(np.moveaxis(array, 0, -1), dtype=np.float64)


def minimize_model(layout, beta, grad, hessian, lipschitz, lam, ridge, tol, max_epochs):
    """Minimize the model M of the module docstring by BCD with Anderson steps.

    Parameters
    ----------
    layout : BlockLayout
    beta : ndarray of shape (n_features,)
        Starting point ``B0`` (not modified).
    grad : ndarray of shape (n_samples, n_outputs)
        ``G`` of the module docstring.
    hessian : ndarray of shape (n_samples, n_outputs, n_outputs)
        The blocks ``H_i``.
    lipschitz : ndarray of shape (n_groups,)
        Block curvatures ``L_g`` (:func:`model_lipschitz`, or any upper bound).
    lam, ridge : float
    tol : float
        Stop after the first epoch whose violation is at most ``tol``, or after
        ``_STALL_EPOCHS`` epochs in a row that do not lower the smallest violation
        seen (the double-precision floor of the violation is above ``tol``).
    max_epochs : int

    Returns
    -------
    beta : ndarray of shape (n_features,)
    shift : ndarray of shape (n_samples, n_outputs)
        ``D = X B - Z0`` at the returned ``beta``.
    n_epochs : int
    """
    beta = beta.astype(np.float64, copy=True)
    grad_t, hessian_t = _samples_last(grad), _samples_last(hessian)
    n_outputs = grad.shape[1]
    coupled = bool(np.any(hessian[:, ~np.eye(n_outputs, dtype=bool)]))
    shift_t = np.zeros_like(grad_t)
    model_grad_t = grad_t.copy()

    def model_gradient(point_shift_t):
        return grad_t + np.einsum("lki,ki->li", hessian_t, point_shift_t)

    def value(point, point_shift_t):
        # <G, D> + 1/2 <D, H D> = 1/2 <D, G + R>.
        data = 0.5 * np.vdot(point_shift_t, grad_t + model_gradient(point_shift_t))
        norms = layout.groups.norms(point)
        return data + 0.5 * ridge * point @ point + lam * norms.sum()

    history = [(beta.copy(), shift_t.copy())]
    best, best_epoch, epoch = np.inf, 0, 0
    for epoch in range(1, max_epochs + 1):
        violation = _epoch(
            layout.design,
            layout.columns,
            layout.outputs,
            layout.ptr,
            layout.indices,
            hessian_t,
            coupled,
            model_grad_t,
            shift_t,
            beta,
            lipschitz,
            lam,
            ridge,
        )
        if violation < best:
            best, best_epoch = violation, epoch
        if violation <= tol or epoch - best_epoch >= _STALL_EPOCHS:
            # Done, or stalled at the double-precision floor of the violation.
            break
        history.append((beta.copy(), shift_t.copy()))
        if len(history) == _ANDERSON_MEMORY + 1:
            candidate = _extrapolate(history)
            if candidate is not None and value(*candidate) < value(beta, shift_t):
                # Accept case: the extrapolated point lowers M.
                beta, shift_t = candidate
                model_grad_t = model_gradient(shift_t)
            history = [(beta.copy(), shift_t.copy())]
    return beta, shift_t.T, epoch


def _extrapolate(history):
    """Anderson combination of ``(beta, shift)`` iterates, or None if degenerate.

    With weights summing to one, ``sum_i c_i x_i = x_last + sum_i c_i (x_i -
    x_last)``; summing the small differences keeps ``beta`` and ``shift``
    consistent to rounding even when the weights are large.
    """
    iterates = np.array([point for point, _ in history])
    weights = anderson_weights(iterates)
    if weights is None:
        return None
    last, last_shift = history[-1]
    shifts = np.array([point_shift for _, point_shift in history[1:]])
    beta = last + weights @ (iterates[1:] - last)
    return beta, last_shift + np.tensordot(weights, shifts - last_shift, 1)
