"""The per-group variational identities, checked numerically (our test design).

For a group of norm ``a = ||u_T||`` every mask of the paper's Section 2 satisfies
(the Hoff identity and Lemmas 2.1-2.3, v1)

    min_w  P_T(w, a) = q(a),    P_T(w, a) = P(w, beta) with ||m(w) beta|| = a,

where only the norm of ``beta`` matters, so a one-coordinate group suffices:
``beta = a / m(w)``. :func:`check_mask_identity` minimizes ``w -> P_T(w, a)``
with :func:`scipy.optimize.minimize_scalar` (bounded Brent) on a bracket that knows
nothing of the closed form, and compares the minimum with ``q(a)`` from the
equivalent penalty:

* identity mask: ``min_w (1/2)(w^2 + a^2 / w^2) = a``;
* softmax mask: ``min_w w^2 + a^2 e^{-2w} = W(2a^2)^2 / 4 + W(2a^2) / 2``;
* ℓ1 mask: ``min_w |w| + a^2 / w^2 = (3/2) 2^{1/3} a^{2/3}``;
* powerprop (no ``w``): ``||u_T|| = ||beta_T||^alpha`` and ``||beta_T||^2 = q(a)``
  at the unique preimage of ``u_T``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..groups import Groups
from ..validation import check_array
from .base import GroupMask

__all__ = ["check_mask_identity"]

#: Direction of the two-coordinate test groups of masks without ``w``.
_DIRECTION = np.array([0.6, -0.8])
#: Cap on the doublings that search for the right edge of the bracket.
_MAX_DOUBLINGS = 64


def _group_penalty(mask, groups, a):
    """``w -> P_T(w, a)`` for one one-coordinate group (inf where ``m(w) = 0``)."""

    def penalty(w):
        w = np.array([w])
        m = mask.effective(w, np.ones(1), groups)[0]
        if m == 0:  # case m(w) = 0: no beta reaches norm a
            return np.inf
        return mask.mask_penalty(w, np.array([a / abs(m)]))

    return penalty


def _right_edge(penalty):
    """Smallest ``2^k``, ``k >= 0``, past which the penalty increases on ``w > 0``."""
    edge = 1.0
    for _ in range(_MAX_DOUBLINGS):
        if penalty(2.0 * edge) > penalty(edge):
            return 2.0 * edge
        edge *= 2.0
    return edge


def _powerprop_errors(mask, norms, q):
    """Relative errors of the powerprop identities, both ways round, per norm.

    From ``u``: its preimage ``beta`` maps back to ``u``, ``||u_T|| =
    ||beta_T||^alpha`` and ``||beta_T||^2 = q(a)``. From ``beta`` with
    ``||beta_T|| = a``: ``||u_T|| = a^alpha`` and ``||beta_T||^2 = q(||u_T||)``.
    """
    groups = Groups.equal(2 * norms.size, 2)
    empty = np.zeros(0)
    u = np.outer(norms, _DIRECTION).ravel()
    _, beta = mask.optimal_split(u, groups)
    u_back = mask.effective(empty, beta, groups)
    u_from_beta = mask.effective(empty, u, groups)  # now u plays beta, norms a
    q_from_beta = mask.equivalent_penalty().value(groups.norms(u_from_beta))
    errors = [
        np.abs(groups.norms(u_back) - groups.norms(beta) ** mask.alpha) / norms,
        groups.norms(u_back - u) / norms,
        np.abs(groups.norms(u_from_beta) - norms**mask.alpha) / norms**mask.alpha,
    ]
    for g in range(norms.size):
        block = slice(2 * g, 2 * g + 2)
        errors.append(abs(mask.mask_penalty(empty, beta[block]) - q[g]) / q[g])
        errors.append(
            abs(mask.mask_penalty(empty, u[block]) - q_from_beta[g]) / q_from_beta[g]
        )
    return max(float(np.max(e)) for e in errors)


def check_mask_identity(mask, norms) -> float:
    """Largest relative error of the per-group identity ``min_w P_T(w, a) = q(a)``.

    Parameters
    ----------
    mask : GroupMask
    norms : array-like of shape (n_norms,)
        Group norms ``a > 0`` to test.

    Returns
    -------
    float
        ``max_a |min_w P_T(w, a) - q(a)| / q(a)``; for masks without ``w``
        (``n_mask_params = 0``), the largest relative error among
        ``||u_T|| = ||beta_T||^alpha``, ``u(beta) = u`` and ``P = q(a)``.

    Raises
    ------
    TypeError
        If ``mask`` is not a :class:`GroupMask`.
    ValueError
        If ``norms`` is not a 1-D array of positive finite numbers.

    Notes
    -----
    The bracket knows nothing of the closed form: its right edge ``h`` is the
    first ``2^k`` (``k >= 0``) with ``P_T(2h) > P_T(h)``, so the minimizer lies
    below it (each ``w -> P_T(w, a)`` here is unimodal on ``w > 0``); the bracket
    is ``[0, h]`` when the mask declares ``nonnegative_w`` and ``[-h, h]``
    otherwise. Bounded Brent stops at ``xatol = 1e-13 h`` (plus its built-in
    relative ``sqrt(eps) |w|``), far below what a relative value error of
    ``1e-8`` needs, since the value is flat to second order at the minimum.
    The check is ours; the identities are those of Section 2 of arXiv:2402.17902.

    Examples
    --------
    >>> from nonconvex_reg.masks import L1Mask, PowerPropMask
    >>> check_mask_identity(L1Mask(), [1e-3, 1.0, 1e3]) < 1e-10
    True
    >>> check_mask_identity(PowerPropMask(3.0), [0.5, 2.0]) < 1e-12
    True
    """
    if not isinstance(mask, GroupMask):
        raise TypeError(f"`mask` must be a GroupMask; got {type(mask).__name__}.")
    norms = check_array(norms, "norms", ndim=1)
    if norms.size == 0 or np.any(norms <= 0):
        raise ValueError(
            f"`norms` must be a nonempty array of positive group norms; got {norms!r}."
        )
    q = mask.equivalent_penalty().value(norms)
    one_group = Groups.from_sizes([1])
    if mask.n_mask_params(one_group) == 0:
        # case no mask parameter: the fiber of u is one point
        return _powerprop_errors(mask, norms, q)
    worst = 0.0
    for a, target in zip(norms, q, strict=True):
        penalty = _group_penalty(mask, one_group, a)
        high = _right_edge(penalty)
        low = 0.0 if mask.nonnegative_w else -high
        result = minimize_scalar(
            penalty,
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-13 * high, "maxiter": 2000},
        )
        worst = max(worst, abs(float(result.fun) - target) / target)
    return float(worst)
