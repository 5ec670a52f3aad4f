"""Proximal gradient iterations on ``L(beta) + lam * sum_g q(||beta_g||)``.

One update is ``beta+ = prox_{step lam q}(y - step grad L(y))`` with the exact group
prox of :func:`nonconvex_reg.penalties.group_prox` and ``step = 1/Lip``. Two
variants share this loop:

* ``accelerated=True``: FISTA (Beck & Teboulle 2009) with the gradient-based adaptive
  restart of O'Donoghue & Candes (2015); for convex penalties.
* ``accelerated=False``: the plain, monotone proximal gradient method, which
  decreases the objective for any penalty whose prox is exact because the datafit
  is ``Lip``-smooth; used for nonconvex penalties, where it converges to
  first-order stationary points.

The loop stops when a caller-supplied ``converged(beta)`` says so (checked every
``check_every`` iterations), or at ``max_iter``.

:func:`run_anderson` iterates any monotone descent map with Anderson extrapolation
every ``_ANDERSON_MEMORY`` steps (Bertrand & Massias 2021, "Anderson acceleration of
coordinate descent"): the extrapolated point ``sum_i c_i x_i``, with ``c``
minimizing ``||sum_i c_i (x_{i+1} - x_i)||`` subject to ``sum_i c_i = 1``, replaces
the iterate only if it lowers the objective, so the method stays monotone.
"""

from __future__ import annotations

import numpy as np

from ..penalties import group_prox

__all__ = ["run_anderson", "run_prox_gradient"]


def run_prox_gradient(
    datafit,
    groups,
    penalty,
    lam,
    beta,
    *,
    lipschitz,
    accelerated,
    converged,
    max_iter,
    check_every=10,
):
    """Iterate proximal gradient steps from ``beta``.

    Parameters
    ----------
    datafit : Datafit
    groups : Groups
    penalty : GroupPenalty
    lam : float
        Regularization strength (scalar or per-group array).
    beta : ndarray of shape (n_features,)
        Starting point (not modified).
    lipschitz : float
        Upper bound on the Lipschitz constant of ``grad L``; the step is its inverse.
    accelerated : bool
        FISTA with adaptive restart (convex penalties), or plain monotone steps.
    converged : callable
        ``converged(beta) -> bool``, evaluated every ``check_every`` iterations.
    max_iter : int
    check_every : int, default=10

    Returns
    -------
    beta : ndarray of shape (n_features,)
    n_iter : int
    done : bool
        Whether ``converged`` returned True.
    """
    step = 1.0 / lipschitz
    x = beta.copy()
    y = x
    momentum = 1.0
    for it in range(1, max_iter + 1):
        grad = datafit.gradient(y)
        x_new = group_prox(penalty, y - step * grad, groups, step * lam)
        if accelerated:
            if (y - x_new) @ (x_new - x) > 0:
                # Restart case: the momentum direction points uphill.
                momentum = 1.0
                y = x_new
            else:
                next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
                y = x_new + ((momentum - 1.0) / next_momentum) * (x_new - x)
                momentum = next_momentum
        else:
            y = x_new
        x = x_new
        if it % check_every == 0 and converged(x):
            return x, it, True
    return x, max_iter, bool(converged(x))


_ANDERSON_MEMORY = 5


def run_anderson(step_map, objective, x, converged, max_iter, check_every=10):
    """Iterate a descent map with monotone Anderson extrapolation.

    Parameters
    ----------
    step_map : callable
        ``x -> x_next``, a map that does not increase ``objective``; returning
        ``x`` itself means no decrease is possible and stops the loop.
    objective : callable
        ``x -> float``.
    x : ndarray
        Starting point.
    converged : callable
        ``x -> bool``, checked every ``check_every`` iterations.
    max_iter : int
    check_every : int, default=10

    Returns
    -------
    x : ndarray
    n_iter : int
    done : bool
    """
    history = [x]
    for it in range(1, max_iter + 1):
        previous, x = x, step_map(x)
        if x is previous:
            # Stalled case: no decrease is possible from here.
            return x, it, bool(converged(x))
        history.append(x)
        if len(history) == _ANDERSON_MEMORY + 1:
            x = _extrapolate(np.array(history), objective, x)
            history = [x]
        if it % check_every == 0 and converged(x):
            return x, it, True
    return x, max_iter, bool(converged(x))


def anderson_weights(iterates):
    """Anderson weights ``c`` (summing to 1) over ``iterates[1:]``, or ``None``.

    ``c`` minimizes ``||sum_i c_i (x_{i+1} - x_i)||`` subject to ``sum_i c_i = 1``
    (Bertrand & Massias 2021); ``None`` when that system is singular.
    """
    diffs = np.diff(iterates, axis=0)
    try:
        weights = np.linalg.solve(diffs @ diffs.T, np.ones(len(diffs)))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(weights)) or weights.sum() == 0:
        return None
    return weights / weights.sum()


def _extrapolate(iterates, objective, x):
    """Anderson point of ``iterates`` if it lowers ``objective``, else ``x``.

    The point is restricted to the support of ``x``.
    """
    weights = anderson_weights(iterates)
    if weights is None:
        return x
    # Extrapolate within the support of the last iterate: a combination of
    # iterates would otherwise revive groups the prox has just set to zero.
    candidate = np.where(x != 0, weights @ iterates[1:], 0.0)
    # Accept case: keep the extrapolation only if it lowers the objective.
    return candidate if objective(candidate) < objective(x) else x
