"""The contract of a group penalty q acting on group norms (arXiv:2402.17902).

A penalty is a scalar function ``q: R_+ -> R_+`` applied to the group norms
``a_g = ||beta|_{T_g}||_2``. Solvers use it in two forms:

* the *sum form* of the paper's Section 2, ``lam * sum_g q(a_g)``, the regularizer
  that each differentiable-pruning mask is equivalent to (Lemmas 2.1-2.3);
* the *inverse form* of objective (1), ``lam * q^{-1}(sum_g q(a_g))``, the form of
  Theorem 1.1.

Prox convention (written once, here): for a norm ``a >= 0`` and a step ``s > 0``,

    prox(a, s) = argmin_{b >= 0}  1/2 (b - a)^2 + s * q(b).

Because q is increasing, the minimizer lies in ``[0, a]``. The *group* prox applies
the scalar prox to the norm along the direction of the group,
``prox_g(beta_T) = prox(||beta_T||, s) * beta_T / ||beta_T||`` (:func:`group_prox`).
Where the scalar problem has several global minimizers (a measure-zero set of
``(a, s)``), the smallest one is returned, so a tie resolves to zero.

Each penalty declares the shape facts the theory needs as class attributes:
``is_increasing``, ``is_convex``, ``is_concave`` and ``is_subadditive`` (Theorem 1.1
requires increasing + subadditive + ``q(0) = 0``). The test suite checks each claim
numerically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["GroupPenalty", "group_prox"]


class GroupPenalty(ABC):
    """Base class of penalties ``q`` on group norms.

    Subclasses store hyperparameters in ``__init__`` and implement the fixed method
    set below. All methods are vectorized over arrays of norms ``a >= 0``.

    Attributes
    ----------
    is_increasing, is_convex, is_concave, is_subadditive : bool
        Shape facts of ``q`` on ``[0, inf)``.
    order_at_zero : float
        Exponent r of the behaviour ``q(a) ~ c a^r`` near zero.
    """

    is_increasing: bool = True
    is_convex: bool
    is_concave: bool
    is_subadditive: bool
    #: Exponent r with ``q(a) ~ c a^r`` as ``a -> 0``; it fixes the first-order
    #: condition of objective (1) at ``beta = 0`` (see ``solvers.objectives``).
    order_at_zero: float

    @abstractmethod
    def value(self, a) -> np.ndarray:
        """``q(a)``, elementwise."""

    @abstractmethod
    def derivative(self, a) -> np.ndarray:
        """``q'(a)``, elementwise; at ``a = 0`` the right derivative (may be inf)."""

    @abstractmethod
    def second_derivative(self, a) -> np.ndarray:
        """``q''(a)``, elementwise for ``a > 0``."""

    @abstractmethod
    def inverse(self, v) -> np.ndarray:
        """``q^{-1}(v)`` for ``v >= 0``, elementwise (q is strictly increasing)."""

    @abstractmethod
    def prox(self, a, step) -> np.ndarray:
        """``argmin_{b >= 0} 1/2 (b - a)^2 + step * q(b)``, elementwise in ``a``."""

    @property
    def derivative_at_zero(self) -> float:
        """``q'(0+)``, the right derivative at zero.

        A zero group is a local minimizer of the sum form iff
        ``||grad_g L|| <= lam * q'(0+)``; inf means zero is always locally optimal.
        """
        return float(self.derivative(np.zeros(1))[0])

    def to_dict(self) -> dict:
        """JSON-ready description: the class name and its hyperparameters."""
        return {"penalty": type(self).__name__, **vars(self)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def group_prox(penalty: GroupPenalty, beta, groups, step) -> np.ndarray:
    """Group prox: shrink each group's norm by the scalar prox, keep its direction.

    Solves ``argmin_x 1/2 ||x - beta||^2 + step * sum_g q(||x_g||)`` exactly,
    since the problem separates over groups and, within a group, only the norm of
    ``x_g`` is penalized.

    Parameters
    ----------
    penalty : GroupPenalty
    beta : ndarray of shape (n_features,)
    groups : Groups
    step : float or ndarray of shape (n_groups,)
        Prox step (``lam`` times the gradient step size), possibly per group.

    Returns
    -------
    ndarray of shape (n_features,)
    """
    norms = groups.norms(beta)
    shrunk = penalty.prox(norms, step)
    ratio = np.divide(shrunk, norms, out=np.zeros_like(norms), where=norms > 0)
    return beta * groups.expand(ratio)
