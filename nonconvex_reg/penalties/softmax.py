"""Lemma 2.1 (v1): the unnormalized-softmax-mask penalty q(a) = W(2a²)²/4 + W(2a²)/2.

Masking each group by ``exp(w_T)`` and putting ``lam (||w||^2 + ||beta||^2)`` on
masks and weights equals ``lam sum_T q(||u_T||)`` with

    q(a) = min_w  w^2 + a^2 exp(-2 w) = W^2 / 4 + W / 2,    W = W(2 a^2),

where ``W`` is the principal branch of the Lambert W function; the minimizing mask
logit is ``w = W / 2``. Near 0, ``q(a) = a^2 + O(a^4)``; for large ``a``,
``W(2a^2) ~ 2 log a`` so q grows like ``(log a)^2`` (derived here; the paper calls
the penalty log-sum-like and gives no rate).

Calculus (derived here), writing ``W = W(2a^2)`` and using ``W e^W = 2 a^2``:

* ``q'(a) = W / a = 2 a exp(-W)``, so ``q'(0) = 0``: zero groups are never
  enforced by the sum form, which acts like ridge near 0;
* ``q''(a) = 2 (1 - W) exp(-W) / (1 + W)``, so ``q''(0) = 2``: q is convex on
  ``[0, sqrt(e/2)]`` (where ``W <= 1``) and concave after;
* ``d/dW [(1 - W) e^{-W} / (1 + W)] = e^{-W} (W^2 - 3) / (1 + W)^2``, so q'' decreases
  until ``W(2a^2) = sqrt(3)``, i.e. ``a = b_m = sqrt(sqrt(3) e^{sqrt(3)} / 2)``,
  and increases (towards 0) after;
* ``q^{-1}(v)``: ``W = -1 + sqrt(1 + 4v) = 4v / (1 + sqrt(1 + 4v))`` and
  ``a = sqrt(W/2) exp(W/2)``.

Shape facts: q is increasing but neither convex nor concave, and *not subadditive*:
``q(2a) > 2 q(a)`` for ``a <= 1`` (``q(0.2) - 2 q(0.1) = +0.0187...``,
``q(2) - 2 q(1) = +0.2315...``), so Theorem 1.1 does not apply to it (our
observation; arXiv:2402.17902 does not discuss it).

The prox has no closed form and phi can have two local minima; since q'' is
monotone on ``[0, b_m]`` and on ``[b_m, inf)``, ``certified_prox`` finds the
global minimizer with the single breakpoint ``b_m``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import lambertw

from ._scalar_prox import certified_prox
from .base import GroupPenalty

__all__ = ["SoftmaxPenalty"]

#: Norm where q'' turns from decreasing to increasing: W(2 b_m^2) = sqrt(3).
CURVATURE_BREAKPOINT = float(np.sqrt(np.sqrt(3.0) * np.exp(np.sqrt(3.0)) / 2.0))


def _lambert_w_of_2a2(a) -> np.ndarray:
    """``W(2 a^2)`` on the principal branch, elementwise and real."""
    a = np.asarray(a, dtype=np.float64)
    return lambertw(2.0 * a * a).real


class SoftmaxPenalty(GroupPenalty):
    """Unnormalized-softmax-mask penalty ``q(a) = W(2a^2)^2 / 4 + W(2a^2) / 2``.

    The regularizer that the exponential mask ``exp(w_T) beta_T`` with weight
    decay ``lam (||w||^2 + ||beta||^2)`` induces on the effective weights
    (Lemma 2.1, v1). It is smooth with ``q'(0) = 0``, convex near 0 and concave
    for ``a > sqrt(e/2)``; it is not subadditive, so Theorem 1.1 does not cover
    it.

    Attributes
    ----------
    is_increasing : bool
        True.
    is_convex, is_concave, is_subadditive : bool
        False.

    Notes
    -----
    Derivatives and inverse are derived here (module docstring). The prox is the
    certified global minimizer, with the single breakpoint
    ``b_m = sqrt(sqrt(3) e^{sqrt(3)} / 2) ~= 2.21`` where ``q''`` changes
    monotonicity.

    Examples
    --------
    >>> pen = SoftmaxPenalty()
    >>> pen.value([0.1, 1.0])
    array([0.0099..., 0.6080...])
    >>> pen.derivative([0.0, 1.0])
    array([0.        , 0.8526...])
    >>> pen.prox([0.5, 4.0], 1.0)
    array([0.1730..., 3.3151...])
    """

    is_increasing = True
    is_convex = False
    is_concave = False
    is_subadditive = False
    order_at_zero = 2.0  # q(a) = a^2 + O(a^4)

    def value(self, a) -> np.ndarray:
        """``W^2 / 4 + W / 2`` with ``W = W(2a^2)``."""
        w = _lambert_w_of_2a2(a)
        return 0.25 * w * (w + 2.0)

    def derivative(self, a) -> np.ndarray:
        """``2 a exp(-W(2a^2))`` (``= W(2a^2) / a``, and 0 at ``a = 0``)."""
        a = np.asarray(a, dtype=np.float64)
        return 2.0 * a * np.exp(-_lambert_w_of_2a2(a))

    def second_derivative(self, a) -> np.ndarray:
        """``2 (1 - W) exp(-W) / (1 + W)`` with ``W = W(2a^2)``; 2 at ``a = 0``."""
        w = _lambert_w_of_2a2(a)
        return 2.0 * (1.0 - w) * np.exp(-w) / (1.0 + w)

    def inverse(self, v) -> np.ndarray:
        """``sqrt(W/2) exp(W/2)`` with ``W = 4v / (1 + sqrt(1 + 4v))``."""
        v = np.asarray(v, dtype=np.float64)
        w = 4.0 * v / (1.0 + np.sqrt(1.0 + 4.0 * v))
        return np.sqrt(0.5 * w) * np.exp(0.5 * w)

    def prox(self, a, step) -> np.ndarray:
        """Certified global prox (``certified_prox`` with breakpoint ``b_m``)."""
        return certified_prox(self, a, step, (CURVATURE_BREAKPOINT,))
