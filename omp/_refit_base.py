"""The contract of the restricted re-optimization engines of :mod:`omp._refit`.

An engine holds the last fitted ordered support ``S`` (``order``) and
``beta_S = argmin {L(beta) : beta zero outside S}``. ``fit(order)`` refits and
returns ``L(beta_S)``; ``swap_loss(entering, leaving)`` prices the support
``S + entering - leaving`` (exactly, or by an upper bound) without changing the
fit; ``coef()`` and ``gradient()`` return ``beta_S`` and ``grad L(beta_S)`` over
all coordinates. ``loss_at_zero = L(0)`` scales the searches' loss improvements
and ``gradient_scale = ||grad L(0)||_2`` the engines' gradient tolerance; a
restricted solve that misses its tolerance is counted in ``failures``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["Refit", "coefficient_layout"]


def coefficient_layout(datafit):
    """Column of ``X`` and output column of every coordinate (C-order ``B``)."""
    n_outputs = datafit.coef_shape[1] if len(datafit.coef_shape) == 2 else 1
    coords = np.arange(datafit.n_features)
    return coords // n_outputs, coords % n_outputs, n_outputs


class Refit(ABC):
    """Shared state: the last fitted ordered support, its loss and the scales."""

    def __init__(self, datafit, groups):
        self.datafit = datafit
        self.groups = groups
        zero = np.zeros(datafit.n_features)
        value, gradient = datafit.value_and_gradient(zero)
        #: ``L(0)``, the scale of loss improvements.
        self.loss_at_zero = float(value)
        #: ``grad L(0)``.
        self.gradient_at_zero = gradient
        #: ``||grad L(0)||_2``, the scale of the gradient tolerance.
        self.gradient_scale = float(np.linalg.norm(gradient))
        self.order: tuple = ()
        self.loss = self.loss_at_zero
        self.failures = 0

    def gradient(self) -> np.ndarray:
        """``grad L(beta_S)`` over all coordinates (one product with ``X^T``)."""
        return self.datafit.gradient(self.coef())

    @abstractmethod
    def fit(self, order) -> float:
        """Fit the ordered support ``order``; returns ``L(beta_S)``."""

    @abstractmethod
    def swap_loss(self, entering, leaving) -> float:
        """``L`` (or an upper bound) on ``S + entering - leaving``; fit unchanged."""

    @abstractmethod
    def coef(self) -> np.ndarray:
        """``beta_S`` as a flat vector of length ``n_features``."""
