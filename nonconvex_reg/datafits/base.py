"""The contract of a datafit L (the loss of arXiv:2402.17902, Sections 1-2).

Every datafit of the toolkit is a generalized linear loss averaged over samples,
plus an optional ridge term:

    L(beta) = F(X B) + ridge / 2 * ||beta||_2^2,

where ``B`` is ``beta`` itself (single response) or ``beta`` reshaped in C order to
the ``(n_features_in, n_outputs)`` coefficient matrix (multinomial and multi-response
models), and ``F`` averages a per-sample loss over the ``n_samples`` rows. With
``ridge > 0`` every datafit is strongly convex, the regime of Theorem 1.1.

Duality (used for certified stopping of group LASSO, objective (2)). With the
*dual point* ``theta = -grad F(X B)`` (same shape as ``X B``), the Fenchel dual of
``L(beta) + lam * sum_g ||beta_g||`` is

    D(theta) = -F^*(-theta) - h^*(X^T theta),
    h^*(v) = sum_g (||v_g|| - lam)_+^2 / (2 ridge)     (ridge > 0),
    h^*(v) = 0 if max_g ||v_g|| <= lam, else +inf      (ridge = 0),

so each datafit provides ``-F^*(-theta)`` as :meth:`Datafit.dual_value`, valid for
every ``theta`` of the form ``c * (-grad F(X B))`` with ``c`` in ``[0, 1]`` (the
rescaling that makes ``theta`` dual feasible when ``ridge = 0``).

Declared capabilities. Callers choose their algorithm from what a datafit
declares, never from its class:

* ``is_quadratic``: whether F is the squared loss, so that restricted
  minimizers solve linear normal equations exactly;
* :meth:`Datafit.hessian_factors_from_predictor`: the per-sample Hessian of F
  as a diagonal minus a rank-one term, when F has that form (``None``
  otherwise; :meth:`Datafit.hessian_blocks_from_predictor` always applies).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["Datafit"]


class Datafit(ABC):
    """Base class of datafits ``L(beta) = F(X B) + ridge/2 ||beta||^2``.

    Attributes
    ----------
    X : ndarray or scipy.sparse CSC matrix of shape (n_samples, n_features_in)
        Design matrix (validated finite; see :mod:`nonconvex_reg.design`):
        float64 when dense, float32 or float64 when sparse.
    y : ndarray
        Targets, validated by the subclass.
    ridge : float
        Ridge strength ``>= 0``.
    n_samples : int
    n_features : int
        Length of the flat coefficient vector ``beta``.
    coef_shape : tuple of int
        ``(n_features_in,)`` or ``(n_features_in, n_outputs)``; ``beta`` is the C-order
        flattening of a coefficient array of this shape.
    is_quadratic : bool
        Declared capability: whether the data part is the squared loss
        ``F(Z) = ||Y - Z||_F^2 / (2 n_samples)`` with ``Y`` the targets ``y``
        (shaped like ``Z``). Then L is quadratic with the constant Hessian
        ``(X^T X / n_samples) (x) I + ridge I``, and a minimizer restricted to
        some coordinates solves linear normal equations (the exact refits of
        :mod:`omp` use them). ``False`` (the default) is always safe: callers
        then take their general path.
    """

    X: np.ndarray
    y: np.ndarray
    ridge: float
    n_samples: int
    n_features: int
    coef_shape: tuple[int, ...]
    is_quadratic: bool = False

    # ----------------------------------------------------------- data part F
    @abstractmethod
    def linear_predictor(self, beta) -> np.ndarray:
        """``Z = X B``: shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""

    @abstractmethod
    def loss_from_predictor(self, z) -> float:
        """``F(Z)``: the averaged data loss."""

    @abstractmethod
    def dual_point_from_predictor(self, z) -> np.ndarray:
        """``theta = -grad F(Z)``, same shape as ``Z``."""

    @abstractmethod
    def hessian_blocks_from_predictor(self, z) -> np.ndarray:
        """The Hessian of F at ``Z``, one block per sample.

        F sums a loss of each row ``Z_i``, so ``grad^2 F(Z)`` is block diagonal
        with the ``n_outputs x n_outputs`` blocks ``d^2 F / dZ_i^2``.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_outputs)
            ``n_outputs = 1`` for single-output models.
        """

    def hessian_factors_from_predictor(self, z):
        """The per-sample Hessian of F as a diagonal minus a rank-one term, or None.

        A declared capability: when every block of
        :meth:`hessian_blocks_from_predictor` has the form

            d^2 F / dZ_i^2 = (diag(D_i) - U_i U_i^T) / n_samples,

        the datafit returns ``(D, U)`` and callers build restricted Hessians
        with two matrix products instead of one per pair of outputs. The
        default, ``None``, declares no such form.

        Parameters
        ----------
        z : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The linear predictor ``Z = X B``.

        Returns
        -------
        tuple of (ndarray, ndarray or None), or None
            ``D`` and ``U``, each shaped like ``z``; ``U = None`` stands for 0.
        """
        return None

    @abstractmethod
    def dual_value(self, theta) -> float:
        """``-F^*(-theta)`` for ``theta = c * (-grad F(Z))``, ``c`` in ``[0, 1]``."""

    @abstractmethod
    def transpose_product(self, theta) -> np.ndarray:
        """``X^T theta`` flattened to a vector of length ``n_features``."""

    @abstractmethod
    def lipschitz_group(self, groups) -> np.ndarray:
        """Per-group Lipschitz bounds, shape ``(n_groups,)``.

        ``L_g`` bounds the Lipschitz constant of ``grad_g L`` in ``beta_g`` (ridge
        included).
        """

    @abstractmethod
    def lipschitz(self) -> float:
        """Upper bound on the Lipschitz constant of ``grad L`` (ridge included)."""

    @abstractmethod
    def group_operator_norms(self, groups, selected=None) -> np.ndarray:
        """``||X_g||``: the norm of ``theta -> (X^T theta)_g``, per group.

        Shape ``(n_groups,)``, or ``(len(selected),)`` for the group ids
        ``selected``; used by gap-safe support certification and as the block
        curvatures of coordinate descent.
        """

    @abstractmethod
    def dual_strong_concavity(self) -> float:
        """Strong concavity ``gamma > 0`` of ``theta -> -F^*(-theta)``.

        Valid on the dual points of the form ``c * (-grad F(Z))``.
        """

    @abstractmethod
    def strong_convexity(self) -> float:
        """Lower bound ``mu >= 0`` on the strong convexity constant of L."""

    @abstractmethod
    def coordinate_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Column of ``X`` and column of ``Z = X B`` of every coordinate.

        Coordinate ``c`` adds ``X[:, columns[c]] * beta_c`` to ``Z[:, outputs[c]]``
        (``outputs`` is all zeros for single-output models).

        Returns
        -------
        columns, outputs : ndarray of int, shape (n_features,)
        """

    @abstractmethod
    def restrict(self, coords) -> Datafit:
        """The datafit of ``beta_S = beta[coords]``, other coordinates fixed at 0.

        ``L_S(beta_S) = L(beta)`` where ``beta`` equals ``beta_S`` on the sorted,
        unique ``coords`` and zero elsewhere; ``n_features = len(coords)``.
        """

    # ------------------------------------------------------------ derived API
    def group_operator_norm_bounds(self, groups) -> tuple[np.ndarray, np.ndarray]:
        """Cheap ``(lower, upper)`` bounds on :meth:`group_operator_norms`, per group.

        Screening and working-set scores read these in place of the exact norms,
        which cost a spectral norm per group. The default returns the exact norms
        twice; a datafit with cheaper bounds overrides it.
        """
        norms = self.group_operator_norms(groups)
        return norms, norms

    def restricted_strong_convexity(self, coords) -> float:
        """``mu >= 0`` for L restricted to ``coords`` (as :meth:`restrict` builds it).

        The default restricts and asks; a datafit that can answer without copying
        the columns overrides it.
        """
        return float(self.restrict(coords).strong_convexity())

    def value(self, beta) -> float:
        """``L(beta)``."""
        beta = np.asarray(beta, dtype=np.float64)
        data = self.loss_from_predictor(self.linear_predictor(beta))
        return float(data + 0.5 * self.ridge * beta @ beta)

    def gradient(self, beta) -> np.ndarray:
        """``grad L(beta) = -X^T theta + ridge * beta``, shape ``(n_features,)``."""
        beta = np.asarray(beta, dtype=np.float64)
        theta = self.dual_point_from_predictor(self.linear_predictor(beta))
        return self.ridge * beta - self.transpose_product(theta)

    def value_and_gradient(self, beta) -> tuple[float, np.ndarray]:
        """``(L(beta), grad L(beta))`` sharing one product ``X B``."""
        beta = np.asarray(beta, dtype=np.float64)
        z = self.linear_predictor(beta)
        theta = self.dual_point_from_predictor(z)
        value = self.loss_from_predictor(z) + 0.5 * self.ridge * beta @ beta
        return float(value), self.ridge * beta - self.transpose_product(theta)

    def to_dict(self) -> dict:
        """JSON-ready description (sizes and ridge, not the data)."""
        return {
            "datafit": type(self).__name__,
            "n_samples": self.n_samples,
            "coef_shape": list(self.coef_shape),
            "ridge": self.ridge,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_samples={self.n_samples}, "
            f"coef_shape={self.coef_shape}, ridge={self.ridge:g})"
        )
