"""Lemma 2.2 (v1): the ℓ1-regularized mask and the ℓ_{2/3} group quasi-norm.

Masking each group by a scalar, ``u_T = w_T beta_T``, with ``lam (||w||_1 +
||beta||^2)`` equals

    min_{w, beta} L({w_T beta_T}) + lam (||w||_1 + ||beta||_2^2)
        = min_u L(u) + (3/2) 2^{1/3} lam sum_T ||u_T||_2^{2/3}.

Proof (v1): per group, ``w -> w + a^2 / w^2`` on ``w > 0`` is minimized where
``1 - 2 a^2 w^{-3} = 0``, i.e. at ``w = 2^{1/3} a^{2/3}``, with value
``(3/2) w = (3/2) 2^{1/3} a^{2/3}``. The optimal split is ``w_T = 2^{1/3}
a_T^{2/3}``, ``beta_T = u_T / w_T``.

Sign convention (derived here): ``(w_T, beta_T)`` and ``(-w_T, -beta_T)`` give the
same ``u`` and the same penalty, so restricting to ``w >= 0`` loses nothing; on
that set ``|w| = w`` is smooth, and :func:`~.minimize.minimize_masked` imposes it
as an L-BFGS-B bound.
"""

from __future__ import annotations

import numpy as np

from ..penalties import L1MaskPenalty
from .base import ScalarGroupMask

__all__ = ["L1Mask"]

_CUBE_ROOT_2 = 2.0 ** (1.0 / 3.0)


class L1Mask(ScalarGroupMask):
    r"""ℓ1-regularized mask ``u_T = w_T beta_T`` with decay ``|w| + beta^2``.

    .. math::

        P(w, \beta) = \|w\|_1 + \|\beta\|_2^2, \qquad
        \min \{P : u(w, \beta) = u\} = \tfrac32\, 2^{1/3} \sum_T
        \|u_T\|_2^{2/3}.

    Attributes
    ----------
    nonnegative_w : bool
        True: solvers keep ``w >= 0`` (the sign moves into ``beta``), where
        ``|w|`` is smooth.
    beta_decay : float
        1.

    See Also
    --------
    nonconvex_reg.penalties.L1MaskPenalty : the equivalent penalty.

    Notes
    -----
    Lemma 2.2 (v1). Optimal split ``w_T = 2^{1/3} a_T^{2/3}``,
    ``beta_T = u_T / w_T`` (0 where ``a_T = 0``). The gradient of ``|w_T|`` at
    ``w_T = 0`` is reported as the right derivative ``+1``, the derivative on
    the feasible set ``w >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg.groups import Groups
    >>> groups = Groups.equal(2, 1)
    >>> mask = L1Mask()
    >>> w, beta = mask.optimal_split(np.array([1.0, -8.0]), groups)
    >>> w.round(6).tolist()
    [1.259921, 5.039684]
    >>> mask.mask_penalty(w, beta), float(np.sum(L1MaskPenalty().value([1.0, 8.0])))
    (9.449..., 9.449...)
    """

    nonnegative_w = True
    beta_decay = 1.0

    def equivalent_penalty(self) -> L1MaskPenalty:
        """``q(a) = (3/2) 2^{1/3} a^{2/3}`` (Lemma 2.2)."""
        return L1MaskPenalty()

    def _mask(self, w) -> np.ndarray:
        """``m(w) = w``."""
        return np.asarray(w, dtype=np.float64)

    def _mask_derivative(self, w) -> np.ndarray:
        """``m'(w) = 1``."""
        return np.ones_like(np.asarray(w, dtype=np.float64))

    def _mask_decay(self, w) -> np.ndarray:
        """``r(w) = |w|``."""
        return np.abs(np.asarray(w, dtype=np.float64))

    def _mask_decay_derivative(self, w) -> np.ndarray:
        """``r'(w) = sign(w)``, and the right derivative ``+1`` at ``w = 0``."""
        return np.where(np.asarray(w, dtype=np.float64) < 0, -1.0, 1.0)

    def _optimal_mask(self, a) -> np.ndarray:
        """``w*(a) = 2^{1/3} a^{2/3}``."""
        return _CUBE_ROOT_2 * np.cbrt(np.asarray(a, dtype=np.float64)) ** 2
