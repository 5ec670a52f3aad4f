"""Squared loss (multiple-response linear regression, an example of arXiv:2402.17902).

Single response ``y`` of shape ``(n_samples,)``, coefficients ``beta`` of shape
``(n_features_in,)``; or responses ``Y`` of shape ``(n_samples, K)`` and the C-order
flattening of a ``(n_features_in, K)`` coefficient matrix ``B``:

    L(beta) = ||Y - X B||_F^2 / (2 n_samples) + ridge / 2 * ||beta||_2^2.

Dual point and conjugate (standard Fenchel calculus; see
:mod:`nonconvex_reg.datafits.base`):

    theta = (Y - X B) / n_samples,
    -F^*(-theta) = <theta, Y> - n_samples / 2 * ||theta||_F^2    (every theta).

Constants: the Hessian is ``(X^T X / n_samples) (x) I_K + ridge``, so
``lipschitz = ||X||_2^2 / n_samples + ridge`` and
``strong_convexity = lambda_min(X^T X) / n_samples + ridge`` are both exact; per
group, ``||X[:, R_g]||_2^2 / n_samples + ridge`` with ``R_g`` the rows of ``B`` that
the group touches.
"""

from __future__ import annotations

import numpy as np

from ..design import check_design
from ..validation import check_array
from ._glm import _GLM, check_rows

__all__ = ["LeastSquares", "MultiResponse"]


class _SquaredLoss(_GLM):
    """Data part ``F(Z) = ||Y - Z||_F^2 / (2 n_samples)`` shared by both shapes."""

    _curvature = 1.0
    is_quadratic = True

    def loss_from_predictor(self, z) -> float:
        """``F(Z) = ||Y - Z||_F^2 / (2 n_samples)``."""
        residual = self.y - z
        return float(np.sum(residual * residual) / (2.0 * self.n_samples))

    def dual_point_from_predictor(self, z) -> np.ndarray:
        """``theta = (Y - Z) / n_samples``."""
        return (self.y - z) / self.n_samples

    def hessian_blocks_from_predictor(self, z) -> np.ndarray:
        """``I / n_samples`` for every sample: F is a quadratic."""
        n_outputs = 1 if np.ndim(z) == 1 else np.shape(z)[1]
        blocks = np.eye(n_outputs) / self.n_samples
        return np.broadcast_to(blocks, (self.n_samples, n_outputs, n_outputs)).copy()

    def dual_value(self, theta) -> float:
        """``-F^*(-theta) = <theta, Y> - n_samples / 2 * ||theta||_F^2``."""
        theta = np.asarray(theta, dtype=np.float64)
        return float(
            np.sum(theta * self.y) - 0.5 * self.n_samples * np.sum(theta * theta)
        )


class LeastSquares(_SquaredLoss):
    r"""Least squares with optional ridge.

    .. math::

        L(\beta) = \frac{1}{2 n} \|y - X \beta\|_2^2 + \frac{\mathrm{ridge}}{2}
        \|\beta\|_2^2

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix; finite. Arrays are converted to float64; a sparse
        matrix (float32 or float64) is kept in CSC format without a copy, or
        converted to it once (:func:`~nonconvex_reg.design.check_design`).
    y : array-like of shape (n_samples,)
        Finite targets.
    ridge : float, default=0.0
        Ridge strength ``>= 0``.

    Attributes
    ----------
    n_samples, n_features : int
        Sizes; ``beta`` has shape ``(n_features,)``.
    coef_shape : tuple of int
        ``(n_features,)``.

    Raises
    ------
    ValueError
        If ``X`` or ``y`` is not finite, ``y`` does not have shape
        ``(n_samples,)``, or ``ridge`` is negative or not finite.

    See Also
    --------
    MultiResponse : the same loss with a matrix of responses.

    Notes
    -----
    ``lipschitz()`` and ``strong_convexity()`` are the exact extreme eigenvalues of
    the Hessian ``X^T X / n + ridge`` (the smallest is ``ridge`` when
    ``n_samples < n_features``). :meth:`restrict` returns the least squares of
    ``X[:, coords]``.

    Sparse ``X`` (issue 18): a CSR or other non-CSC matrix is converted to CSC
    once, a copy (a note, not a warning: pass CSC to avoid it); values,
    gradients and restrictions read the stored values only, in float64
    arithmetic whatever their dtype. ``lipschitz_group`` stays exact (group
    Gram matrices); ``lipschitz()`` of a matrix whose both sides exceed 1024
    uses Lanczos iterations to a relative tolerance of 1e-10, and
    ``strong_convexity()`` of a sparse design with more than 4096 columns a
    Gershgorin lower bound (see :mod:`nonconvex_reg.design`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> f = LeastSquares(X, np.array([1.0, 2.0, 0.0]), ridge=0.1)
    >>> f.value(np.zeros(2))  # doctest: +ELLIPSIS
    0.8333...
    >>> f.gradient(np.zeros(2))  # doctest: +ELLIPSIS
    array([-0.333..., -1.333...])
    >>> f.restrict([1]).X.ravel()
    array([0., 2., 1.])
    """

    def __init__(self, X, y, ridge=0.0):
        X = check_design(X)
        check_rows(y, "y", X)
        self._set_design(X, ridge, n_outputs=None)
        self.y = check_array(y, "y", shape=(self.n_samples,))


class MultiResponse(_SquaredLoss):
    r"""Multiple-response least squares on a ``(n_features_in, K)`` coefficient matrix.

    .. math::

        L(\beta) = \frac{1}{2 n} \|Y - X B\|_F^2 + \frac{\mathrm{ridge}}{2}
        \|\beta\|_2^2, \qquad B = \beta\text{.reshape}(n_{features\_in}, K)

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features_in)
        Design matrix; finite, dense or sparse as in :class:`LeastSquares`.
    Y : array-like of shape (n_samples, K)
        Finite responses, ``K >= 1``; stored as the attribute ``y``.
    ridge : float, default=0.0
        Ridge strength ``>= 0``.

    Attributes
    ----------
    n_samples : int
    n_features : int
        ``n_features_in * K``, the length of the flat ``beta``.
    coef_shape : tuple of int
        ``(n_features_in, K)``; entry ``(i, k)`` of ``B`` is coordinate
        ``i * K + k``.

    Raises
    ------
    ValueError
        If ``X`` or ``Y`` is not finite, ``Y`` is not of shape ``(n_samples, K)``
        with ``K >= 1``, or ``ridge`` is negative or not finite.

    See Also
    --------
    LeastSquares : the single-response case; the loss is the sum over the K
        columns of ``Y`` of single-response losses.

    Notes
    -----
    Groups such as the blocks of :meth:`Groups.from_blocks` get the bound
    ``||X[:, R_g]||_2^2 / n + ridge`` from the rows ``R_g`` they touch.
    :meth:`restrict` keeps the touched columns of ``X`` only; see
    :meth:`_GLM.restrict <nonconvex_reg.datafits._glm._GLM.restrict>`.

    Examples
    --------
    >>> import numpy as np
    >>> f = MultiResponse(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> f.coef_shape, f.n_features
    ((2, 2), 4)
    >>> f.value(np.zeros(4))
    7.5
    >>> f.gradient(np.zeros(4))
    array([-0.5, -1. , -1.5, -2. ])
    """

    def __init__(self, X, Y, ridge=0.0):
        Y = check_array(Y, "Y", ndim=2)
        if Y.shape[1] == 0:
            raise ValueError(f"`Y` must have at least one column; got shape {Y.shape}.")
        X = check_design(X)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"`Y` must have shape ({X.shape[0]}, K), one row per row of `X` "
                f"(shape {X.shape}); got {Y.shape}."
            )
        self._set_design(X, ridge, n_outputs=Y.shape[1])
        self.y = Y
