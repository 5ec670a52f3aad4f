"""Logistic and multinomial logistic losses (the latter an example in arXiv:2402.17902).

Binary labels ``y_i`` in {-1, +1}, ``z = X beta``:

    L(beta) = (1/n) sum_i log(1 + exp(-y_i z_i)) + ridge / 2 * ||beta||_2^2,
    theta_i = y_i * sigmoid(-y_i z_i) / n,
    -F^*(-theta) = (1/n) sum_i [H(t_i) + H(1 - t_i)],   t_i = n y_i theta_i in [0, 1].

Integer labels ``y_i`` in ``[0, K)``, one-hot ``Y``, ``Z = X B`` with ``B`` the
``(n_features_in, K)`` C-order reshape of ``beta``:

    L(beta) = (1/n) sum_i [logsumexp(Z_i) - Z_{i, y_i}] + ridge / 2 * ||beta||_2^2,
    theta = (Y - softmax(Z)) / n,
    -F^*(-theta) = (1/n) sum_i sum_k H(P_ik),   P = Y - n theta (rows in the simplex),

with ``H(p) = -p log p`` and ``H(0) = 0``; outside the domain ``-F^* = -inf``. The
conjugates are the standard ones of the binary and multiclass log-sum-exp (Fenchel
calculus, derived here). Curvature: the per-sample Hessian is at most 1/4 (binary)
and 1/2 in spectral norm (``diag(p) - p p^T``, multinomial), which gives the
constants of :meth:`Datafit.lipschitz` and :meth:`Datafit.lipschitz_group`.
Neither loss has a uniform strong convexity constant (the multinomial loss is even
invariant to adding one vector to every class, our observation), so
``strong_convexity() = ridge``.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import entr, expit, softmax

from ..design import check_design
from ..validation import check_array
from ._glm import _DUAL_DOMAIN_TOL, _GLM, check_rows

__all__ = ["Logistic", "Multinomial"]


def _mean_row_entropy(P, n_samples: int) -> float:
    """``(1/n) sum_i entropy(P_i)`` if each row of ``P`` is in the simplex, else -inf.

    Rows off the simplex by at most ``_DUAL_DOMAIN_TOL`` (rounding in ``theta``)
    count as on it, with negative entries read as 0.
    """
    if np.any(P < -_DUAL_DOMAIN_TOL) or np.any(
        np.abs(P.sum(axis=1) - 1.0) > _DUAL_DOMAIN_TOL
    ):
        return -np.inf
    return float(np.sum(entr(np.maximum(P, 0.0))) / n_samples)


def _sigmoid_curvature(z) -> np.ndarray:
    """``sigmoid(z) sigmoid(-z)``: the second derivative of ``log(1 + e^{-y z})``."""
    z = np.asarray(z, dtype=np.float64)
    return expit(z) * expit(-z)


def _logsumexp_rows(z) -> np.ndarray:
    """``log sum_k exp(Z_ik)`` per row: ``scipy.special.logsumexp(z, axis=1)``.

    The same operations as SciPy's (the row maximum ``m`` and its ``c`` ties
    taken out, ``log1p(sum_{k: Z_ik < m} exp(Z_ik - m) / c) + log(c) + m``), so
    the same floats, without the array-API dispatch that made it several times
    slower than the arithmetic on the small ``Z`` of the solvers' inner loops.
    """
    z_max = z.max(axis=1, keepdims=True)
    at_max = z == z_max
    count = at_max.sum(axis=1, dtype=z.dtype)
    rest = np.exp(np.where(at_max, -np.inf, z) - z_max).sum(axis=1)
    return np.log1p(rest / count) + np.log(count) + z_max[:, 0]


class Logistic(_GLM):
    r"""Binary logistic loss with labels in {-1, +1} and optional ridge.

    .. math::

        L(\beta) = \frac{1}{n} \sum_{i=1}^n \log(1 + e^{-y_i x_i^T \beta})
        + \frac{\mathrm{ridge}}{2} \|\beta\|_2^2

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix; finite, dense or sparse as in
        :class:`~nonconvex_reg.LeastSquares`.
    y : array-like of shape (n_samples,)
        Labels, each exactly -1 or +1.
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
        If ``X`` is not finite, ``y`` is not of shape ``(n_samples,)`` or holds a
        label other than -1 and +1 (0/1 labels are not converted: pass
        ``2 * y - 1``), or ``ridge`` is negative or not finite.

    See Also
    --------
    Multinomial : K classes; with K = 2 it is this loss in ``B[:, 1] - B[:, 0]``.

    Notes
    -----
    The loss uses ``logaddexp(0, -y z)`` and the dual point ``expit``, so neither
    overflows. ``lipschitz() = ||X||_2^2 / (4 n) + ridge`` is attained at
    ``beta = 0``; ``strong_convexity() = ridge``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> f = Logistic(X, np.array([1, 1, 1]))
    >>> f.value(np.zeros(2))  # doctest: +ELLIPSIS
    0.6931...
    >>> f.gradient(np.zeros(2))  # doctest: +ELLIPSIS
    array([-0.333..., -0.333...])
    >>> f.dual_value(f.dual_point_from_predictor(np.zeros(3)))  # doctest: +ELLIPSIS
    0.6931...
    """

    _curvature = 0.25

    def __init__(self, X, y, ridge=0.0):
        X = check_design(X)
        check_rows(y, "y", X)
        self._set_design(X, ridge, n_outputs=None)
        y = check_array(y, "y", shape=(self.n_samples,))
        bad = (y != 1.0) & (y != -1.0)
        if np.any(bad):
            raise ValueError(
                "`y` must contain only the labels -1 and +1; got "
                f"{np.unique(y[bad])[:5].tolist()}. For 0/1 labels pass 2 * y - 1."
            )
        self.y = y

    def loss_from_predictor(self, z) -> float:
        """``F(z) = (1/n) sum_i log(1 + exp(-y_i z_i))``."""
        return float(np.sum(np.logaddexp(0.0, -self.y * z)) / self.n_samples)

    def dual_point_from_predictor(self, z) -> np.ndarray:
        """``theta_i = y_i * sigmoid(-y_i z_i) / n``."""
        return self.y * expit(-self.y * z) / self.n_samples

    def hessian_factors_from_predictor(self, z) -> tuple[np.ndarray, None]:
        """``D = sigmoid(z) sigmoid(-z)`` and no rank-one term."""
        return _sigmoid_curvature(z), None

    def hessian_blocks_from_predictor(self, z) -> np.ndarray:
        """``sigmoid(z_i) sigmoid(-z_i) / n``, the curvature of each sample's loss."""
        return (_sigmoid_curvature(z) / self.n_samples)[:, None, None]

    def dual_value(self, theta) -> float:
        """``(1/n) sum_i [H(t_i) + H(1 - t_i)]``, ``t = n y theta``; -inf off [0, 1]."""
        t = self.n_samples * self.y * np.asarray(theta, dtype=np.float64)
        return _mean_row_entropy(np.column_stack([t, 1.0 - t]), self.n_samples)


class Multinomial(_GLM):
    r"""Multinomial logistic loss on a ``(n_features_in, n_classes)`` weight matrix.

    .. math::

        L(\beta) = \frac{1}{n} \sum_{i=1}^n \Big[\log \sum_{k} e^{(X B)_{ik}}
        - (X B)_{i y_i}\Big] + \frac{\mathrm{ridge}}{2} \|\beta\|_2^2

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features_in)
        Design matrix; finite, dense or sparse as in
        :class:`~nonconvex_reg.LeastSquares`.
    y : array-like of int, shape (n_samples,)
        Class labels in ``[0, n_classes)``; an integer dtype is required.
    n_classes : int, default=None
        Number of classes K; defaults to ``y.max() + 1``. Must be ``>= 2`` and
        ``> y.max()`` (classes absent from ``y`` are allowed).
    ridge : float, default=0.0
        Ridge strength ``>= 0``.

    Attributes
    ----------
    n_samples : int
    n_classes : int
    n_features : int
        ``n_features_in * n_classes``, the length of the flat ``beta``.
    coef_shape : tuple of int
        ``(n_features_in, n_classes)``; entry ``(i, k)`` is coordinate
        ``i * n_classes + k``.

    Raises
    ------
    TypeError
        If ``y`` does not have an integer dtype or ``n_classes`` is not an int.
    ValueError
        If ``X`` is not finite, ``y`` is not of shape ``(n_samples,)`` or has a
        negative label, ``n_classes`` is too small, or ``ridge`` is invalid.

    See Also
    --------
    Logistic : the binary case with labels in {-1, +1}.

    Notes
    -----
    Without ridge the loss is not strictly convex (our observation; the paper
    names this model as an example): add ``ridge > 0`` for the regime of
    Theorem 1.1.
    ``lipschitz() = ||X||_2^2 / (2 n) + ridge``.

    Examples
    --------
    >>> import numpy as np
    >>> f = Multinomial(np.eye(2), np.array([0, 2]), ridge=0.5)
    >>> f.n_classes, f.coef_shape
    (3, (2, 3))
    >>> f.value(np.zeros(6))  # doctest: +ELLIPSIS
    1.0986...
    >>> theta = f.dual_point_from_predictor(np.zeros((2, 3)))
    >>> f.dual_value(theta)  # doctest: +ELLIPSIS
    1.0986...
    """

    _curvature = 0.5

    def __init__(self, X, y, n_classes=None, ridge=0.0):
        X = check_design(X)
        check_rows(y, "y", X)
        y, n_classes = _check_labels(y, X.shape[0], n_classes)
        self._set_design(X, ridge, n_outputs=n_classes)
        self.y = y
        self.n_classes = n_classes
        self._onehot = np.zeros((self.n_samples, n_classes))
        self._onehot[np.arange(self.n_samples), y] = 1.0

    def loss_from_predictor(self, z) -> float:
        """``F(Z) = (1/n) sum_i [logsumexp(Z_i) - Z_{i, y_i}]``."""
        picked = z[np.arange(self.n_samples), self.y]
        return float(np.sum(_logsumexp_rows(z) - picked) / self.n_samples)

    def dual_point_from_predictor(self, z) -> np.ndarray:
        """``theta = (Y_onehot - softmax(Z)) / n``."""
        return (self._onehot - softmax(z, axis=1)) / self.n_samples

    def hessian_factors_from_predictor(self, z) -> tuple[np.ndarray, np.ndarray]:
        """``D = U = P = softmax(Z)``: the blocks are ``diag(P_i) - P_i P_i^T``."""
        probabilities = softmax(z, axis=1)
        return probabilities, probabilities

    def hessian_blocks_from_predictor(self, z) -> np.ndarray:
        """``(diag(P_i) - P_i P_i^T) / n`` with ``P = softmax(Z)``."""
        probabilities = softmax(z, axis=1)
        blocks = -probabilities[:, :, None] * probabilities[:, None, :]
        diagonal = np.arange(self.n_classes)
        blocks[:, diagonal, diagonal] += probabilities
        return blocks / self.n_samples

    def dual_value(self, theta) -> float:
        """``(1/n) sum_i entropy(P_i)``, ``P = Y_onehot - n theta``; -inf off domain."""
        P = self._onehot - self.n_samples * np.asarray(theta, dtype=np.float64)
        return _mean_row_entropy(P, self.n_samples)


def _check_labels(y, n_samples: int, n_classes) -> tuple[np.ndarray, int]:
    """Validate integer labels in ``[0, n_classes)`` and resolve ``n_classes``."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"`y` must hold integer class labels; got dtype {y.dtype}. Encode "
            "labels explicitly, e.g. np.unique(y, return_inverse=True)[1]."
        )
    if y.shape != (n_samples,):
        raise ValueError(f"`y` must have shape ({n_samples},); got {y.shape}.")
    if y.min() < 0:
        raise ValueError(f"`y` must hold labels >= 0; got {int(y.min())}.")
    top = int(y.max())
    if n_classes is None:
        if top < 1:
            raise ValueError(
                "`y` must contain at least 2 classes when `n_classes` is not "
                f"given; got only label {top}."
            )
        return y.astype(np.intp), top + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"`n_classes` must be an integer; got {n_classes!r}.")
    if n_classes < max(2, top + 1):
        raise ValueError(
            f"`n_classes` must be an integer >= max(2, y.max() + 1) = "
            f"{max(2, top + 1)}; got {n_classes}."
        )
    return y.astype(np.intp), int(n_classes)
