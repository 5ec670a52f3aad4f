"""Lemma 2.1 (v1): the unnormalized softmax mask and the Lambert-W penalty.

Masking each group by ``exp(w_T)`` with weight decay ``lam (||w||^2 + ||beta||^2)``
(scaling ``lam``, not ``lam/2``) equals the sum-form problem

    min_{w, beta} L({exp(w_T) beta_T}) + lam (||w||^2 + ||beta||^2)
        = min_u L(u) + lam sum_T q(||u_T||),   q(a) = W(2a^2)^2 / 4 + W(2a^2) / 2,

with ``W`` the principal Lambert W function. Proof (Appendix A, v1): per group,
``w -> w^2 + a^2 exp(-2w)`` is minimized where ``w = a^2 exp(-2w)``, i.e. at
``w = W(2a^2) / 2``, where its value is ``w^2 + w = q(a)``. The optimal split is
``w_T = W(2 a_T^2) / 2``, ``beta_T = u_T exp(-w_T)``.

This q is ridge-like near 0 (``q(a) = a^2 + O(a^4)``), so minimizers of the
equivalent problem are typically dense (our observation, not in the paper).
"""

from __future__ import annotations

import numpy as np
from scipy.special import lambertw

from ..penalties import SoftmaxPenalty
from .base import ScalarGroupMask

__all__ = ["SoftmaxMask"]


class SoftmaxMask(ScalarGroupMask):
    r"""Unnormalized softmax mask ``u_T = exp(w_T) beta_T`` with decay ``w^2 + beta^2``.

    .. math::

        P(w, \beta) = \|w\|_2^2 + \|\beta\|_2^2, \qquad
        \min \{P : u(w, \beta) = u\} = \sum_T \Big[\frac{W(2a_T^2)^2}{4}
        + \frac{W(2a_T^2)}{2}\Big], \quad a_T = \|u_T\|_2.

    Attributes
    ----------
    nonnegative_w : bool
        False: ``w`` is a free logit.
    beta_decay : float
        1.

    See Also
    --------
    nonconvex_reg.penalties.SoftmaxPenalty : the equivalent penalty.

    Notes
    -----
    Lemma 2.1 (v1) and its proof in Appendix A. Optimal split
    ``w_T = W(2 a_T^2) / 2`` (0 where ``a_T = 0``), ``beta_T = u_T exp(-w_T)``.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg.groups import Groups
    >>> from nonconvex_reg.penalties import SoftmaxPenalty
    >>> groups = Groups.equal(2, 1)
    >>> mask = SoftmaxMask()
    >>> w, beta = mask.optimal_split(np.array([1.0, 0.0]), groups)
    >>> w
    array([0.42630275, 0.        ])
    >>> mask.mask_penalty(w, beta), float(SoftmaxPenalty().value(1.0))
    (0.6080..., 0.6080...)
    """

    nonnegative_w = False
    beta_decay = 1.0

    def equivalent_penalty(self) -> SoftmaxPenalty:
        """``q(a) = W(2a^2)^2 / 4 + W(2a^2) / 2`` (Lemma 2.1)."""
        return SoftmaxPenalty()

    def _mask(self, w) -> np.ndarray:
        """``m(w) = exp(w)``."""
        return np.exp(np.asarray(w, dtype=np.float64))

    def _mask_derivative(self, w) -> np.ndarray:
        """``m'(w) = exp(w)``."""
        return np.exp(np.asarray(w, dtype=np.float64))

    def _mask_decay(self, w) -> np.ndarray:
        """``r(w) = w^2``."""
        w = np.asarray(w, dtype=np.float64)
        return w * w

    def _mask_decay_derivative(self, w) -> np.ndarray:
        """``r'(w) = 2 w``."""
        return 2.0 * np.asarray(w, dtype=np.float64)

    def _optimal_mask(self, a) -> np.ndarray:
        """``w*(a) = W(2a^2) / 2``."""
        a = np.asarray(a, dtype=np.float64)
        return 0.5 * lambertw(2.0 * a * a).real
