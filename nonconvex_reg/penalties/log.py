"""The log penalty q(a) = log(1 + a) of Theorem 1.1 (v1); prox in closed form.

``q(a) = log(1 + a)`` is one of the example penalties the paper lists for
Theorem 1.1 (arXiv:2402.17902): strictly increasing, concave with ``q(0) = 0``
and hence subadditive. It is the group analogue of the log-sum penalty that the
paper says the softmax mask of Lemma 2.1 roughly matches. Its calculus is elementary:
``q'(a) = 1 / (1 + a)``, ``q''(a) = -1 / (1 + a)^2`` and ``q^{-1}(v) = e^v - 1``.

Prox (derived here). On ``b > -1`` the slope of
``phi(b) = 1/2 (b - a)^2 + s log(1 + b)`` is

    phi'(b) = (b^2 + (1 - a) b + (s - a)) / (1 + b),

so its sign is that of a quadratic with discriminant ``D = (a + 1)^2 - 4 s``.
phi is increasing on ``b >= 0`` (prox 0) when ``D < 0`` or when the larger root

    r+ = ((a - 1) + sqrt(D)) / 2 = 2 (a - s) / ((1 - a) + sqrt(D))

is ``<= 0``; the second form avoids cancellation when ``a < 1``, and
``D = (a + 1 - 2 sqrt(s)) (a + 1 + 2 sqrt(s))`` is computed as a product so it
neither cancels nor overflows. Otherwise ``r+`` is the only local minimum on
``b > 0`` and is compared with ``b = 0`` through
``phi(b) - phi(0) = b^2/2 - a b + s log(1 + b)`` (ties go to 0).
"""

from __future__ import annotations

import numpy as np

from ._scalar_prox import check_prox_args
from .base import GroupPenalty

__all__ = ["LogPenalty"]


class LogPenalty(GroupPenalty):
    """Log penalty ``q(a) = log(1 + a)`` (example of Theorem 1.1, v1).

    Strictly increasing, concave and subadditive with ``q(0) = 0`` and
    ``q'(0) = 1``, so Theorem 1.1 applies. The prox is the closed form of the
    module docstring (derived here).

    Attributes
    ----------
    is_increasing, is_concave, is_subadditive : bool
        True.
    is_convex : bool
        False.

    See Also
    --------
    LqPenalty : the other concave example of Theorem 1.1.

    Examples
    --------
    >>> pen = LogPenalty()
    >>> pen.value([0.0, np.e - 1])
    array([0., 1.])
    >>> pen.inverse([1.0])
    array([1.71828...])
    >>> pen.prox([0.5, 2.0], 1.0)  # b^2 - b - 1 = 0: the golden ratio
    array([0.        , 1.6180...])
    """

    is_increasing = True
    is_convex = False
    is_concave = True
    is_subadditive = True
    order_at_zero = 1.0  # log(1 + a) = a + O(a^2)

    def value(self, a) -> np.ndarray:
        """``log(1 + a)``, via ``log1p``."""
        return np.log1p(np.asarray(a, dtype=np.float64))

    def derivative(self, a) -> np.ndarray:
        """``1 / (1 + a)``."""
        return 1.0 / (1.0 + np.asarray(a, dtype=np.float64))

    def second_derivative(self, a) -> np.ndarray:
        """``-1 / (1 + a)^2``."""
        return -1.0 / (1.0 + np.asarray(a, dtype=np.float64)) ** 2

    def inverse(self, v) -> np.ndarray:
        """``exp(v) - 1``, via ``expm1``."""
        return np.expm1(np.asarray(v, dtype=np.float64))

    def prox(self, a, step) -> np.ndarray:
        """Closed-form prox: the larger stationary point or 0 (module docstring)."""
        a, step = check_prox_args(a, step)
        two_sqrt_step = 2.0 * np.sqrt(step)
        # case D < 0: no stationary point, phi is increasing on b >= 0
        real = a + 1.0 >= two_sqrt_step
        sqrt_d = np.sqrt(np.where(real, a + 1.0 - two_sqrt_step, 0.0)) * np.sqrt(
            a + 1.0 + two_sqrt_step
        )
        # r+ in the cancellation-free form for each sign of a - 1; the second
        # form's denominator (1 - a) + sqrt(D) is only used, and positive, if a < 1
        below_one = a < 1.0
        denominator = np.where(below_one, (1.0 - a) + sqrt_d, 1.0)
        root = np.where(
            below_one, 2.0 * (a - step) / denominator, 0.5 * ((a - 1.0) + sqrt_d)
        )
        # case r+ <= 0: phi is increasing on b >= 0; else compare r+ with b = 0
        candidate = real & (root > 0)
        root = np.where(candidate, root, 0.0)
        # The exact root is below a (q is increasing); when the shrinkage
        # step / (1 + a) is under half an ulp of a, rounding can land one ulp
        # above it, so the root is capped at a.
        root = np.minimum(root, a)
        gain = root * (0.5 * root - a) + step * np.log1p(root)
        return np.where(candidate & (gain < 0), root, 0.0)
