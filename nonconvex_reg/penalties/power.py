"""Power penalties q(a) = c·a^p: group LASSO, ℓ_p, the ℓ1-mask and powerprop penalties.

Every penalty here is a multiple of a power of the group norm:

* :class:`GroupLassoPenalty`, ``q(a) = a``: the Hoff identity (identity mask) and
  Lemma 2.3 (v1, group powerpropagation);
* :class:`LqPenalty`, ``q(a) = a^p`` with ``0 < p <= 1``: the example penalty of
  Theorem 1.1 (v1);
* :class:`L1MaskPenalty`, ``q(a) = (3/2)·2^{1/3}·a^{2/3}``: Lemma 2.2 (v1), the
  ℓ1-regularized mask;
* :class:`PowerPropPenalty`, ``q(a) = a^{2/alpha}``: Lemma 2.3 generalized (derived
  here, not in the paper). Masking each group by ``||beta_T||^{alpha - 1}`` gives
  ``||u_T|| = ||beta_T||^alpha``, so ``lam ||beta||^2 = lam sum_T ||u_T||^{2/alpha}``.
  ``alpha = 2`` is the paper's group powerpropagation (group LASSO); ``alpha = 1``
  gives ``a^2``, plain weight decay, a convex and *non*-subadditive negative control.

Shape facts follow the exponent: ``p < 1`` is concave and subadditive, ``p = 1``
is linear (convex, concave and subadditive), ``p > 1`` is convex and not
subadditive.

Prox, scale-free (derived here). Write ``b = a t`` with ``t`` in ``[0, 1]`` and
``kappa = step·c·p·a^{p-2}``. Then ``phi(b) / a^2 = 1/2 (t - 1)^2 + (kappa/p) t^p``
and the stationary equation is ``h(t) = t + kappa t^{p-1} = 1``.

* ``p = 1``: soft thresholding ``max(a - step·c, 0)``; ``p = 2``: ridge shrinkage
  ``a / (1 + 2 step·c)``.
* ``p > 1``: h is increasing from ``h(0) = 0`` to ``h(1) = 1 + kappa``, so there is
  one root, bracketed by ``min(1/2, (2 kappa)^{-1/(p-1)}) <= t <= min(1,
  kappa^{-1/(p-1)})`` (one of the two terms of h is at least 1/2). The bracket is
  widened by a factor e on each side (within ``t <= 1``) so that ``h - 1`` has a
  clear sign at its ends even when ``t`` is below the resolution of ``h = 1``.
* ``p < 1``: h is convex with its minimum at ``t0 = (kappa (1-p))^{1/(2-p)}``,
  where ``h(t0) = t0 (2-p)/(1-p)``. If ``t0 >= (1-p)/(2-p)`` then ``h >= 1``, phi is
  increasing and the prox is 0. Otherwise the larger root of ``h = 1`` is the only
  local minimum in ``(0, 1]``; it lies in ``[(1-p)/(2-p), 1]`` and is compared with
  ``b = 0`` (ties go to 0).

The root is found by bisection on ``u = log t`` with ``log kappa`` computed in log
space, so neither ``a = 1e-12`` nor ``a = 1e6`` overflows and ``t`` keeps a relative
accuracy of ``~1e-15 / |p - 1|`` (the conditioning of ``h = 1``) however small it
is.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from ..validation import check_scalar
from ._scalar_prox import bisect_root, check_prox_args
from .base import GroupPenalty

__all__ = ["GroupLassoPenalty", "L1MaskPenalty", "LqPenalty", "PowerPropPenalty"]

_LOG_2 = np.log(2.0)


class _PowerPenalty(GroupPenalty):
    """Shared machinery of ``q(a) = coef * a**exponent``.

    Subclasses store their own hyperparameters and define the properties
    ``coef`` and ``exponent``; the shape facts are read off the exponent.
    """

    @property
    def coef(self) -> float:
        """The multiplier c of ``c a^p``."""
        return 1.0

    @property
    @abstractmethod
    def exponent(self) -> float:
        """The power p of ``c a^p``."""

    @property
    def order_at_zero(self) -> float:
        """``p``: the penalty is exactly ``c a^p``."""
        return self.exponent

    @property
    def is_convex(self) -> bool:
        """``p >= 1``."""
        return self.exponent >= 1

    @property
    def is_concave(self) -> bool:
        """``p <= 1``."""
        return self.exponent <= 1

    @property
    def is_subadditive(self) -> bool:
        """``p <= 1`` (for ``p > 1``, ``q(2a) = 2^p q(a) > 2 q(a)``)."""
        return self.exponent <= 1

    def value(self, a) -> np.ndarray:
        """``c a^p``."""
        return self.coef * np.asarray(a, dtype=np.float64) ** self.exponent

    def derivative(self, a) -> np.ndarray:
        """``c p a^{p-1}``; at 0 it is inf for ``p < 1``, c for ``p = 1``, else 0."""
        p = self.exponent
        with np.errstate(divide="ignore"):  # 0 ** (p - 1) = inf for p < 1
            return self.coef * p * np.asarray(a, dtype=np.float64) ** (p - 1)

    def second_derivative(self, a) -> np.ndarray:
        """``c p (p-1) a^{p-2}`` (identically 0 for ``p = 1``)."""
        a = np.asarray(a, dtype=np.float64)
        p = self.exponent
        if p == 1:
            return np.zeros_like(a)
        with np.errstate(divide="ignore"):  # 0 ** (p - 2) = inf for p < 2
            return self.coef * p * (p - 1) * a ** (p - 2)

    def inverse(self, v) -> np.ndarray:
        """``(v / c)^{1/p}``."""
        return (np.asarray(v, dtype=np.float64) / self.coef) ** (1 / self.exponent)

    def prox(self, a, step) -> np.ndarray:
        """Prox by closed form (p = 1, 2) or scale-free bisection; see the module."""
        a, step = check_prox_args(a, step)
        p, coef = self.exponent, self.coef
        if p == 1:  # case p = 1: soft thresholding
            return np.maximum(a - step * coef, 0.0)
        if p == 2:  # case p = 2: ridge shrinkage
            return a / (1.0 + 2.0 * step * coef)
        positive = a > 0
        log_a = np.log(np.where(positive, a, 1.0))
        log_kappa = np.log(step) + np.log(coef * p) + (p - 2) * log_a
        if p > 1:  # case p > 1: unique root, bracketed in log space
            # Each end is pushed out by 1 in u (see the module docstring).
            u_lo = np.minimum(-_LOG_2, -(_LOG_2 + log_kappa) / (p - 1)) - 1.0
            u_hi = np.minimum(0.0, 1.0 - log_kappa / (p - 1))
            local_min = positive
        else:  # case p < 1: a local minimum exists iff t0 < (1 - p) / (2 - p)
            log_t_lo = np.log((1 - p) / (2 - p))
            log_t0 = (log_kappa + np.log(1 - p)) / (2 - p)
            local_min = positive & (log_t0 < log_t_lo)
            # There kappa < 1; elsewhere use kappa = 1 to keep exp() finite.
            log_kappa = np.where(local_min, log_kappa, 0.0)
            u_lo = np.full_like(a, log_t_lo)
            u_hi = np.zeros_like(a)

        def stationarity(u):
            return np.exp(u) + np.exp(log_kappa + (p - 1) * u) - 1.0

        u, _ = bisect_root(stationarity, u_lo, u_hi)
        t = np.exp(u)
        if p < 1:  # keep the local minimum only if it beats b = 0 (tie -> 0)
            gain = t * (0.5 * t - 1.0) + np.exp(log_kappa + p * u) / p
            local_min &= gain < 0
        return np.where(local_min, a * t, 0.0)


class GroupLassoPenalty(_PowerPenalty):
    """Group LASSO penalty ``q(a) = a`` (the Hoff identity and Lemma 2.3, v1).

    The regularizer of the identity (Hadamard) mask and of group
    powerpropagation; the convex reference of Theorem 1.1. Its prox is soft
    thresholding, ``max(a - step, 0)``.

    Examples
    --------
    >>> pen = GroupLassoPenalty()
    >>> pen.value([0.5, 2.0])
    array([0.5, 2. ])
    >>> pen.prox([0.5, 2.0], 1.0)
    array([0., 1.])
    """

    exponent = 1.0


class LqPenalty(_PowerPenalty):
    """The ℓ_p quasi-norm penalty ``q(a) = a^p``, ``0 < p <= 1`` (Theorem 1.1, v1).

    Parameters
    ----------
    p : float
        Exponent, in ``(0, 1]``; ``p = 1`` is the group LASSO.

    Raises
    ------
    ValueError
        If ``p`` is not in ``(0, 1]``.

    Examples
    --------
    >>> pen = LqPenalty(0.5)
    >>> pen.value([0.25, 4.0])
    array([0.5, 2. ])
    >>> pen.prox([0.5, 2.0], 0.5)
    array([0.        , 1.81...])
    """

    def __init__(self, p):
        self.p = check_scalar(p, "p", low=0, high=1, low_inclusive=False)

    @property
    def exponent(self) -> float:
        """``p``."""
        return self.p


class L1MaskPenalty(_PowerPenalty):
    """The ℓ1-mask penalty ``q(a) = (3/2)·2^{1/3}·a^{2/3}`` (Lemma 2.2, v1).

    Putting ``lam ||w||_1`` on the masks and ``lam ||beta||^2`` on the weights
    equals ``lam sum_T q(||u_T||)``, since ``min_w |w| + a^2 / w^2 = q(a)`` at
    ``w = 2^{1/3} a^{2/3}``.

    Examples
    --------
    >>> pen = L1MaskPenalty()
    >>> pen.value([1.0, 8.0])
    array([1.88..., 7.55...])
    """

    coef = 1.5 * 2 ** (1 / 3)
    exponent = 2 / 3


class PowerPropPenalty(_PowerPenalty):
    """Group powerpropagation with exponent alpha: ``q(a) = a^{2/alpha}``.

    Lemma 2.3 (v1) generalized (derived here): masking each group by
    ``||beta_T||^{alpha - 1}`` makes ``||u_T|| = ||beta_T||^alpha``, so weight
    decay ``lam ||beta||^2`` equals ``lam sum_T ||u_T||^{2/alpha}``.

    Parameters
    ----------
    alpha : float, default=2.0
        Powerprop exponent, ``> 0``. ``alpha = 2`` is the paper's group
        powerpropagation (group LASSO), ``alpha > 2`` a concave ℓ_{2/alpha}
        penalty, ``alpha < 2`` a convex, non-subadditive one (``alpha = 1`` is
        plain weight decay ``a^2``).

    Raises
    ------
    ValueError
        If ``alpha`` is not positive.

    Examples
    --------
    >>> pen = PowerPropPenalty(alpha=1.0)
    >>> pen.value([3.0]), pen.is_subadditive
    (array([9.]), False)
    >>> pen.prox([3.0], 1.0)
    array([1.])
    """

    def __init__(self, alpha=2.0):
        self.alpha = check_scalar(alpha, "alpha", low=0, low_inclusive=False)

    @property
    def exponent(self) -> float:
        """``2 / alpha``."""
        return 2 / self.alpha
