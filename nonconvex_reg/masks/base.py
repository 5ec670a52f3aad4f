"""The contract of a differentiable-pruning mask (arXiv:2402.17902, Section 2).

A mask reparameterizes each group ``beta_T`` of the weights by a masked copy, the
*effective* weights ``u``, and puts weight decay on the mask parameters ``w`` and
on ``beta``:

    masked objective:  M(w, beta) = L(u(w, beta)) + lam * P(w, beta).

Minimizing ``P`` over the pairs with the same ``u`` leaves a group penalty on the
effective weights (the Hoff identity and Lemmas 2.1-2.3 of the paper, v1),

    min { P(w, beta) : u(w, beta) = u } = sum_T q(||u_T||_2),

so ``min_{w, beta} M = min_u L(u) + lam sum_T q(||u_T||)``: the masked problem and
the sum-form problem have the same optimal value and the same effective minimizers.

Fixed method set (all subclasses):

* ``n_mask_params(groups)``: the length of ``w`` (one scalar per group, or 0);
* ``effective(w, beta, groups)``: ``u``;
* ``mask_penalty(w, beta)``: ``P(w, beta)``, without ``lam``;
* ``equivalent_penalty()``: the :class:`~nonconvex_reg.penalties.GroupPenalty` ``q``;
* ``optimal_split(u, groups)``: the minimizer of ``P`` on the fiber ``u(w, beta) = u``,
  in closed form, so that ``mask_penalty(*optimal_split(u)) = sum_T q(||u_T||)``;
* ``masked_objective(datafit, groups, lam, w, beta)``: ``M`` and its exact gradient.

Declared attribute ``nonnegative_w``: whether :func:`~.minimize.minimize_masked`
keeps ``w >= 0``. That loses nothing when the mask is odd in ``w`` (``w_T beta_T``:
the sign moves into ``beta``) and makes ``|w|`` smooth on the feasible set.

``ScalarGroupMask`` implements the whole method set for masks of the form
``u_T = m(w_T) beta_T`` with ``P = sum_T r(w_T) + c ||beta||^2`` from five scalar
functions; the chain rule gives (derived here)

    grad_beta M = m(w)_T grad L(u)_T + 2 c lam beta_T,
    d M / d w_T = m'(w_T) <grad L(u)_T, beta_T> + lam r'(w_T).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..groups import Groups
from ..penalties import GroupPenalty
from ..validation import check_array, check_scalar

__all__ = ["GroupMask", "ScalarGroupMask"]


def _check_groups(groups) -> Groups:
    """Validate that ``groups`` is a :class:`Groups`."""
    if not isinstance(groups, Groups):
        raise TypeError(f"`groups` must be a Groups; got {type(groups).__name__}.")
    return groups


def _check_problem(datafit, groups, lam):
    """Validate ``groups`` against ``datafit`` and ``lam > 0``; return ``lam``."""
    _check_groups(groups)
    if groups.n_features != datafit.n_features:
        raise ValueError(
            f"`groups` must partition the datafit's {datafit.n_features} "
            f"coefficients; got a partition of {groups.n_features}."
        )
    return check_scalar(lam, "lam", low=0.0, low_inclusive=False)


class GroupMask(ABC):
    """Base class of group masks ``u_T = mask(w, beta_T) beta_T`` with weight decay.

    Subclasses store hyperparameters in ``__init__`` and implement the fixed method
    set of the module docstring. :meth:`masked_objective` validates its input and
    delegates to the unvalidated ``_value_and_gradient`` that solvers call in
    their loops.

    Attributes
    ----------
    nonnegative_w : bool
        Whether solvers may restrict the mask parameters to ``w >= 0``.
    """

    nonnegative_w: bool = False

    @abstractmethod
    def n_mask_params(self, groups) -> int:
        """Length of the mask parameter vector ``w`` for ``groups``."""

    @abstractmethod
    def effective(self, w, beta, groups) -> np.ndarray:
        """Effective weights ``u``, shape ``(n_features,)``."""

    @abstractmethod
    def mask_penalty(self, w, beta) -> float:
        """Weight decay ``P(w, beta)`` on masks and weights, without ``lam``."""

    @abstractmethod
    def equivalent_penalty(self) -> GroupPenalty:
        """The group penalty q with ``min {P : u(w, beta) = u} = sum_T q(||u_T||)``."""

    @abstractmethod
    def optimal_split(self, u, groups) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form ``(w, beta)`` minimizing ``P`` subject to ``u(w, beta) = u``."""

    @abstractmethod
    def _value_and_gradient(self, datafit, groups, lam, w, beta):
        """``(M, grad_w M, grad_beta M)`` without input validation."""

    def masked_objective(self, datafit, groups, lam, w, beta):
        """``L(u(w, beta)) + lam P(w, beta)`` and its gradients in ``w`` and ``beta``.

        Parameters
        ----------
        datafit : Datafit
        groups : Groups
            Partition of the datafit's ``n_features`` coefficients.
        lam : float
            Regularization strength, ``> 0``.
        w : array-like of shape (n_mask_params,)
        beta : array-like of shape (n_features,)

        Returns
        -------
        value : float
        grad_w : ndarray of shape (n_mask_params,)
        grad_beta : ndarray of shape (n_features,)

        Raises
        ------
        ValueError
            If ``groups`` does not match ``datafit``, ``lam <= 0``, or ``w`` or
            ``beta`` has the wrong shape.
        """
        lam = _check_problem(datafit, groups, lam)
        w, beta = self._check_split(w, beta, groups)
        return self._value_and_gradient(datafit, groups, lam, w, beta)

    def _check_split(self, w, beta, groups):
        """Validate a pair ``(w, beta)`` for ``groups``; return float64 arrays."""
        groups = _check_groups(groups)
        w = check_array(w, "w", shape=(self.n_mask_params(groups),))
        beta = check_array(beta, "beta", shape=(groups.n_features,))
        return w, beta

    def to_dict(self) -> dict:
        """JSON-ready description: the class name and its hyperparameters."""
        return {"mask": type(self).__name__, **vars(self)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class ScalarGroupMask(GroupMask):
    """Masks ``u_T = m(w_T) beta_T`` with ``P = sum_T r(w_T) + c ||beta||^2``.

    One mask scalar per group. A subclass defines the mask ``m`` and its
    derivative, the mask decay ``r`` and its derivative, the weight-decay
    coefficient ``c`` (``beta_decay``) and the closed-form optimal mask
    ``w*(a)`` of a group of norm ``a``; everything else is shared.

    Attributes
    ----------
    beta_decay : float
        The coefficient ``c`` of ``c ||beta||^2`` in the mask penalty.
    """

    beta_decay: float = 1.0

    @abstractmethod
    def _mask(self, w) -> np.ndarray:
        """``m(w)``, elementwise."""

    @abstractmethod
    def _mask_derivative(self, w) -> np.ndarray:
        """``m'(w)``, elementwise."""

    @abstractmethod
    def _mask_decay(self, w) -> np.ndarray:
        """``r(w)``, elementwise."""

    @abstractmethod
    def _mask_decay_derivative(self, w) -> np.ndarray:
        """``r'(w)``, elementwise (the right derivative where r has a kink)."""

    @abstractmethod
    def _optimal_mask(self, a) -> np.ndarray:
        """``w*(a) = argmin_w r(w) + c a^2 / m(w)^2``, elementwise in ``a >= 0``."""

    def n_mask_params(self, groups) -> int:
        """One mask scalar per group: ``groups.n_groups``."""
        return _check_groups(groups).n_groups

    def effective(self, w, beta, groups) -> np.ndarray:
        """``u_T = m(w_T) beta_T``."""
        w, beta = self._check_split(w, beta, groups)
        return groups.expand(self._mask(w)) * beta

    def mask_penalty(self, w, beta) -> float:
        """``sum_T r(w_T) + c ||beta||^2``."""
        w = check_array(w, "w", ndim=1)
        beta = check_array(beta, "beta", ndim=1)
        return float(np.sum(self._mask_decay(w)) + self.beta_decay * beta @ beta)

    def optimal_split(self, u, groups) -> tuple[np.ndarray, np.ndarray]:
        """``w_T = w*(||u_T||)`` and ``beta_T = u_T / m(w_T)`` (0 where ``u_T = 0``)."""
        groups = _check_groups(groups)
        u = groups.check_coef(u, "u")
        norms = groups.norms(u)
        w = self._optimal_mask(norms)
        mask = self._mask(w)
        # case u_T = 0: beta_T = 0 (m(w*(0)) may vanish, e.g. the identity mask)
        inverse = np.divide(1.0, mask, out=np.zeros_like(mask), where=norms > 0)
        return w, u * groups.expand(inverse)

    def _value_and_gradient(self, datafit, groups, lam, w, beta):
        """Chain rule of the module docstring."""
        mask = groups.expand(self._mask(w))
        value, grad_u = datafit.value_and_gradient(mask * beta)
        value += lam * (np.sum(self._mask_decay(w)) + self.beta_decay * beta @ beta)
        inner = np.bincount(
            groups.group_of, weights=grad_u * beta, minlength=groups.n_groups
        )
        grad_w = self._mask_derivative(w) * inner + lam * self._mask_decay_derivative(w)
        grad_beta = mask * grad_u + 2.0 * self.beta_decay * lam * beta
        return float(value), grad_w, grad_beta
