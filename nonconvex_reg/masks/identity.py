"""The Hoff identity (arXiv:2402.17902, Section 2): the identity mask is group LASSO.

Masking each group by a scalar, ``u_T = w_T beta_T``, with weight decay
``(lam/2)(||w||^2 + ||beta||^2)`` (note ``lam/2``) equals the group LASSO,

    min_{w, beta} L({w_T beta_T}) + (lam/2)(||w||^2 + ||beta||^2)
        = min_u L(u) + lam sum_T ||u_T||_2        (Hoff 2017; Axiotis & Yasuda 2023),

because per group ``min_w (1/2)(w^2 + a^2 / w^2) = a``, reached at ``w^2 = a``
(AM-GM). The optimal split is ``w_T = sqrt(a_T)``, ``beta_T = u_T / sqrt(a_T)``.
"""

from __future__ import annotations

import numpy as np

from ..penalties import GroupLassoPenalty
from .base import ScalarGroupMask

__all__ = ["IdentityMask"]


class IdentityMask(ScalarGroupMask):
    r"""Identity (Hadamard) mask ``u_T = w_T beta_T``, decay ``(1/2)(w^2 + beta^2)``.

    .. math::

        P(w, \beta) = \tfrac12 (\|w\|_2^2 + \|\beta\|_2^2), \qquad
        \min \{P : u(w, \beta) = u\} = \sum_T \|u_T\|_2.

    Attributes
    ----------
    nonnegative_w : bool
        False: the mask is smooth, so solvers leave ``w`` free (a negative
        ``w_T`` is equivalent to ``-w_T`` with ``-beta_T``).
    beta_decay : float
        1/2.

    See Also
    --------
    nonconvex_reg.penalties.GroupLassoPenalty : the equivalent penalty.

    Notes
    -----
    The Hoff identity as arXiv:2402.17902 (Section 2) states it: the factor is
    ``lam/2``, not ``lam``. Optimal split ``w_T = sqrt(a_T)``,
    ``beta_T = u_T / sqrt(a_T)``, and ``beta_T = 0`` where ``a_T = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg.groups import Groups
    >>> groups = Groups.equal(4, 2)
    >>> mask = IdentityMask()
    >>> w, beta = mask.optimal_split(np.array([3.0, 4.0, 0.0, 0.0]), groups)
    >>> w.round(6).tolist(), mask.mask_penalty(w, beta)
    ([2.236068, 0.0], 5.0...)
    >>> mask.effective(w, beta, groups).round(12).tolist()
    [3.0, 4.0, 0.0, 0.0]
    """

    nonnegative_w = False
    beta_decay = 0.5

    def equivalent_penalty(self) -> GroupLassoPenalty:
        """``q(a) = a``: the group LASSO."""
        return GroupLassoPenalty()

    def _mask(self, w) -> np.ndarray:
        """``m(w) = w``."""
        return np.asarray(w, dtype=np.float64)

    def _mask_derivative(self, w) -> np.ndarray:
        """``m'(w) = 1``."""
        return np.ones_like(np.asarray(w, dtype=np.float64))

    def _mask_decay(self, w) -> np.ndarray:
        """``r(w) = w^2 / 2``."""
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * w * w

    def _mask_decay_derivative(self, w) -> np.ndarray:
        """``r'(w) = w``."""
        return np.asarray(w, dtype=np.float64)

    def _optimal_mask(self, a) -> np.ndarray:
        """``w*(a) = sqrt(a)``."""
        return np.sqrt(np.asarray(a, dtype=np.float64))
