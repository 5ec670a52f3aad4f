"""The two regularized objectives built from a group penalty q (arXiv:2402.17902).

* ``form="sum"``: ``L(beta) + lam * sum_g q(a_g)``, the regularizer each
  differentiable-pruning mask is equivalent to (Lemmas 2.1-2.3);
* ``form="inverse"``: ``L(beta) + lam * q^{-1}(sum_g q(a_g))``, objective (1) of
  Theorem 1.1.

Both have the same first-order conditions up to a scalar weight (derived here): on
nonzero groups, ``grad_g L + w * q'(a_g) beta_g / a_g = 0`` with ``w = lam`` for the
sum form and ``w = lam / q'(q^{-1}(sum_g q(a_g)))`` for the inverse form, since
``(q^{-1})'(v) = 1 / q'(q^{-1}(v))``. :func:`effective_weight` returns ``w``.
"""

from __future__ import annotations

import numpy as np

from ..penalties import GroupPenalty
from ..validation import check_choice

__all__ = [
    "FORMS",
    "effective_weight",
    "inverse_form_zero_residual",
    "objective_value",
    "penalty_value",
    "penalty_value_and_weight",
]

FORMS = ("sum", "inverse")


def check_form(form) -> str:
    """Validate the ``form`` argument."""
    return check_choice(form, "form", FORMS)


def check_penalty(penalty):
    """Validate that ``penalty`` is a :class:`GroupPenalty`."""
    if not isinstance(penalty, GroupPenalty):
        raise TypeError(
            f"`penalty` must be a GroupPenalty; got {type(penalty).__name__}."
        )
    return penalty


def penalty_value(penalty, norms, lam, form) -> float:
    """``lam * sum q(a)`` (sum form) or ``lam * q^{-1}(sum q(a))`` (inverse form)."""
    total = float(penalty.value(norms).sum())
    if form == "sum":
        return lam * total
    return lam * float(penalty.inverse(np.array([total]))[0])


def objective_value(datafit, groups, penalty, lam, beta, form) -> float:
    """Objective of the given form at ``beta``."""
    return datafit.value(beta) + penalty_value(penalty, groups.norms(beta), lam, form)


def effective_weight(penalty, norms, lam, form) -> float:
    """Weight ``w`` with which the first-order conditions read as the sum form's.

    For the inverse form at ``beta = 0`` with ``q'(0+) = 0`` the weight is infinite
    (the penalty is not differentiable there); ``inf`` is returned.
    """
    if form == "sum":
        return lam
    return penalty_value_and_weight(penalty, norms, lam, form)[1]


def penalty_value_and_weight(penalty, norms, lam, form) -> tuple[float, float]:
    """:func:`penalty_value` and :func:`effective_weight` from one ``sum q(a)``.

    For the inverse form both read ``v = q^{-1}(sum_g q(a_g))``: the value is
    ``lam * v`` and the weight ``lam / q'(v)``.
    """
    total = float(penalty.value(norms).sum())
    if form == "sum":
        return lam * total, lam
    root = penalty.inverse(np.array([total]))
    slope = float(penalty.derivative(root)[0])
    return lam * float(root[0]), (np.inf if slope == 0 else lam / slope)


def inverse_form_zero_residual(gradient, groups, penalty, lam) -> np.ndarray:
    """First-order residual of objective (1) at ``beta = 0``, per group.

    Derived here. If ``q(a) ~ c a^r`` near zero (``r = penalty.order_at_zero``),
    then ``q^{-1}(sum_g q(t a_g)) / t -> (sum_g a_g^r)^{1/r}`` as ``t -> 0``, and zero
    is stationary iff ``grad L(0) . d + lam (sum_g ||d_g||^r)^{1/r} >= 0`` for all d:

    * ``r <= 1`` (group LASSO, l_p, l1 mask, log): the quasi-norm is at least the
      group-l1 norm with equality on one-group directions, so the condition is
      ``||grad_g L(0)|| <= lam`` for every g, with residual
      ``max(0, ||grad_g L(0)|| - lam)``.
    * ``r > 1`` (``a^2``, the Lemma 2.1 penalty with ``r = 2``): it is a norm with
      dual exponent ``r* = r / (r - 1)``, so the condition is
      ``||(||grad_g L(0)||)_g||_{r*} <= lam``; that one residual is reported for
      every group.
    """
    gradient_norms = groups.norms(gradient)
    order = penalty.order_at_zero
    if order <= 1:
        return np.maximum(gradient_norms - lam, 0.0)
    dual_norm = np.linalg.norm(gradient_norms, ord=order / (order - 1))
    return np.full(groups.n_groups, max(float(dual_norm) - lam, 0.0))
