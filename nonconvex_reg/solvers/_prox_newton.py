"""Proximal Newton iterations for group LASSO, stopped on a duality gap.

    min_beta  P(beta) = F(X B) + ridge/2 ||beta||^2 + lam * sum_g ||beta_g||

At the current point ``B0`` with predictor ``Z0 = X B0`` one iteration

1. evaluates the duality gap
   (:func:`~nonconvex_reg.solvers.optimality.group_lasso_primal_dual`) and stops
   once it is below the target, or once an iteration failed to lower it (its
   double-precision floor lies above the target);
2. minimizes the second-order model M of :mod:`._bcd` (``G = grad F(Z0)`` and the
   exact Hessian blocks ``H_i`` of F at ``Z0``) from ``B0`` by block coordinate
   descent, until its violation is below ``_FORCING`` times the largest KKT
   residual of P at ``B0`` (an inexact proximal Newton method; Lee, Sun &
   Saunders 2014), but not below ``_VIOLATION_FLOOR * lam``, about the rounding
   error of a gradient of norm ``lam``;
3. moves along ``d = B_M - B0`` by the Armijo rule of Tseng & Yun (2009): the
   largest ``t`` in ``{1, 1/2, 1/4, ...}`` with
   ``P(B0 + t d) <= P(B0) + _ARMIJO * t * Delta``, where
   ``Delta = <grad L(B0), d> + lam sum_g (||B0_g + d_g|| - ||B0_g||)``, negative
   for any ``d`` that lowers M. The BCD also returns ``X d``, so each trial costs
   no product with X, and the next predictor is ``Z0 + t X d``.

For the squared loss M is P up to a constant and the full step is accepted: the
iterations then only check the gap every time the BCD has reduced the KKT
residual tenfold. For the logistic and multinomial losses the line search is
rarely active once the working set is right.

The block curvatures of M (:func:`~._bcd.model_lipschitz`) are formed once per
iteration, from the Gram matrices of the groups weighted by ``H``, or from the
given group norms of X when every ``H_i = h I`` (squared loss).
"""

from __future__ import annotations

import numpy as np

from ..penalties import GroupLassoPenalty
from ._bcd import minimize_model, model_lipschitz
from .optimality import group_lasso_primal_dual, kkt_residual

__all__ = ["solve_prox_newton"]

_FORCING = 0.1
_ARMIJO = 1e-4
_MAX_HALVINGS = 40
_ROUNDING = 1e-14
#: Gradients of active groups have norm lam; their rounding error is ~100 eps lam.
_VIOLATION_FLOOR = 1e-13


def solve_prox_newton(
    datafit,
    layout,
    lam,
    beta,
    target_gap,
    max_epochs,
    *,
    forcing=_FORCING,
    max_steps=None,
):
    """Prox-Newton iterations from ``beta`` until the duality gap is at most target.

    Parameters
    ----------
    datafit : Datafit
    layout : BlockLayout
        The datafit's design and groups (:class:`~._bcd.BlockLayout`).
    lam : float
    beta : ndarray of shape (n_features,)
        Starting point (not modified).
    target_gap : float
    max_epochs : int
        Budget of BCD epochs over all iterations.
    forcing : float, default=_FORCING
        Solve each model until its violation is ``forcing`` times the KKT residual.
    max_steps : int, optional
        Stop after this many Newton steps, without evaluating the gap again.

    Returns
    -------
    beta : ndarray of shape (n_features,)
    n_epochs : int
    done : bool
        Whether the gap reached ``target_gap``.
    """
    groups, ridge = layout.groups, datafit.ridge
    n_epochs = n_steps = 0
    z = datafit.linear_predictor(beta)
    previous_gap = np.inf
    while True:
        pd = group_lasso_primal_dual(datafit, groups, beta, lam)
        if pd.gap <= target_gap:
            return beta, n_epochs, True
        if n_epochs >= max_epochs or pd.gap >= previous_gap:
            # Budget spent, or stalled: the last step did not lower the gap (its
            # double-precision floor may lie above the target).
            return beta, n_epochs, False
        previous_gap = pd.gap
        grad = -datafit.dual_point_from_predictor(z).reshape(z.shape[0], -1)
        hessian = datafit.hessian_blocks_from_predictor(z)
        lipschitz = model_lipschitz(layout, hessian, ridge)
        kkt = kkt_residual(
            pd.gradient, beta, pd.norms, groups, GroupLassoPenalty(), lam
        )
        tol = max(forcing * kkt.max(), _VIOLATION_FLOOR * lam)
        candidate, shift, epochs = minimize_model(
            layout,
            beta,
            grad,
            hessian,
            lipschitz,
            lam,
            ridge,
            tol,
            max_epochs - n_epochs,
        )
        n_epochs += max(epochs, 1)
        n_steps += 1
        direction, shift = candidate - beta, shift.reshape(z.shape)
        t = _armijo_step(datafit, groups, lam, beta, direction, z, shift, pd.gradient)
        if t is None:
            # Stalled case: no decrease of P is possible in double precision.
            return beta, n_epochs, False
        # The predictor follows the step (the gap above recomputes it exactly).
        beta, z = beta + t * direction, z + t * shift
        if n_steps == max_steps:
            return beta, n_epochs, False


def _penalty_change(groups, beta, direction, t):
    """``sum_g ||beta_g + t d_g|| - ||beta_g||``, without cancellation.

    Each term is ``(||a||^2 - ||b||^2) / (||a|| + ||b||)`` with the numerator
    ``<2 beta_g + t d_g, t d_g>`` summed directly, so tiny steps keep their digits.
    """
    moved = t * direction
    ordered = ((2.0 * beta + moved) * moved)[groups.indices]
    numerator = np.add.reduceat(ordered, groups.ptr[:-1])
    denominator = groups.norms(beta + moved) + groups.norms(beta)
    return float(
        np.sum(
            np.divide(
                numerator,
                denominator,
                out=np.zeros_like(numerator),
                where=denominator > 0,
            )
        )
    )


def _armijo_step(datafit, groups, lam, beta, direction, z, shift, gradient):
    """The Armijo step ``t`` of the module docstring, or None if there is none.

    ``Delta`` takes ``<grad L(B0), d>`` from the gradient, not ``<G, X d>`` from
    the BCD's ``X d``: the stored ``B0 + d`` rounds ``d`` to ``eps |B0|``, and only
    the former sees the step actually taken. The change of P is summed from its
    parts (data, ridge, penalty), and may exceed the Armijo bound by
    ``_ROUNDING |F(Z0)|``, the rounding error of a difference of two values of F:
    near the solution the decrease falls below it, and exact Newton steps would
    otherwise be rejected.
    """
    ridge = datafit.ridge
    loss = datafit.loss_from_predictor(z)
    penalty_change = _penalty_change(groups, beta, direction, 1.0)
    decrease = gradient @ direction + lam * penalty_change
    if not decrease < 0:
        return None
    t = 1.0
    for _ in range(_MAX_HALVINGS):
        change = datafit.loss_from_predictor(z + t * shift) - loss
        change += ridge * t * (beta @ direction + 0.5 * t * direction @ direction)
        change += lam * _penalty_change(groups, beta, direction, t)
        if change <= _ARMIJO * t * decrease + _ROUNDING * abs(loss):
            return t
        t *= 0.5
    return None
