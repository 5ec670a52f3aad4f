"""Lemma 2.3 (v1): group powerpropagation is the group LASSO; exponent alpha.

Each group is masked by a power of its own norm, ``u_T = ||beta_T||^{alpha-1}
beta_T``, so ``||u_T|| = ||beta_T||^alpha`` and weight decay becomes a group
penalty with no mask parameter to optimize:

    min_beta L({||beta_T||^{alpha-1} beta_T}) + lam ||beta||_2^2
        = min_u L(u) + lam sum_T ||u_T||_2^{2/alpha}.

``alpha = 2`` is Lemma 2.3 (v1), the group LASSO; a general ``alpha`` is derived
here (our extension; v1 of the paper states only ``alpha = 2``). The map
``beta_T -> u_T`` is a bijection for ``alpha > 0`` with inverse
``beta_T = u_T ||u_T||^{1/alpha - 1}``, so the "optimal split" is the only split.

Jacobian (derived here): for ``b = beta_T != 0`` with ``n = ||b||``,

    d u_T / d b = n^{alpha-1} (I + (alpha - 1) b b^T / n^2),

symmetric, so ``grad_{beta_T} M = n^{alpha-1} (g + (alpha - 1) <b, g> b / n^2)
+ 2 lam b`` with ``g = grad L(u)_T``. At ``b = 0`` the Jacobian is 0 for
``alpha > 1`` and ``I`` for ``alpha = 1``; for ``alpha < 1`` it is unbounded (the
masked objective has a cusp there) and 0 is returned.
"""

from __future__ import annotations

import numpy as np

from ..penalties import PowerPropPenalty
from ..validation import check_array, check_scalar
from .base import GroupMask, _check_groups

__all__ = ["PowerPropMask"]


class PowerPropMask(GroupMask):
    r"""Group powerpropagation ``u_T = ||beta_T||^{alpha-1} beta_T``, decay ``beta^2``.

    .. math::

        u_T = \|\beta_T\|_2^{\alpha-1} \beta_T, \qquad P(\beta) = \|\beta\|_2^2
        = \sum_T \|u_T\|_2^{2/\alpha}.

    Parameters
    ----------
    alpha : float, default=2.0
        Exponent, ``> 0``. ``alpha = 2`` is the paper's group powerpropagation
        (each block multiplied by its Frobenius norm).

    Attributes
    ----------
    nonnegative_w : bool
        False (there is no ``w``: ``n_mask_params`` is 0 and ``w`` is the empty
        array).

    Raises
    ------
    ValueError
        If ``alpha`` is not a positive finite number.

    See Also
    --------
    nonconvex_reg.penalties.PowerPropPenalty : the equivalent penalty.

    Notes
    -----
    Lemma 2.3 (v1) for ``alpha = 2``; the exponent is our generalization. The
    Jacobian is in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from nonconvex_reg.groups import Groups
    >>> groups = Groups.equal(4, 2)
    >>> mask = PowerPropMask()
    >>> beta = np.array([3.0, 4.0, 0.0, 1.0])
    >>> mask.effective(np.zeros(0), beta, groups).tolist()
    [15.0, 20.0, 0.0, 1.0]
    >>> mask.mask_penalty(np.zeros(0), beta)
    26.0
    """

    def __init__(self, alpha=2.0):
        self.alpha = check_scalar(alpha, "alpha", low=0.0, low_inclusive=False)

    def n_mask_params(self, groups) -> int:
        """No mask parameter: 0."""
        _check_groups(groups)
        return 0

    def equivalent_penalty(self) -> PowerPropPenalty:
        """``q(a) = a^{2/alpha}``."""
        return PowerPropPenalty(self.alpha)

    def _scale(self, norms) -> np.ndarray:
        """``||beta_T||^{alpha-1}``, and 0 where ``beta_T = 0`` (then ``u_T = 0``)."""
        positive = norms > 0
        safe = np.where(positive, norms, 1.0)
        return np.where(positive, safe ** (self.alpha - 1.0), 0.0)

    def effective(self, w, beta, groups) -> np.ndarray:
        """``u_T = ||beta_T||^{alpha-1} beta_T``."""
        _, beta = self._check_split(w, beta, groups)
        return groups.expand(self._scale(groups.norms(beta))) * beta

    def mask_penalty(self, w, beta) -> float:
        """``||beta||^2`` (``w`` must be empty)."""
        check_array(w, "w", shape=(0,))
        beta = check_array(beta, "beta", ndim=1)
        return float(beta @ beta)

    def optimal_split(self, u, groups) -> tuple[np.ndarray, np.ndarray]:
        """The only preimage, ``beta_T = u_T ||u_T||^{1/alpha - 1}``; ``w`` is empty."""
        groups = _check_groups(groups)
        u = groups.check_coef(u, "u")
        norms = groups.norms(u)
        positive = norms > 0
        # case u_T = 0: beta_T = 0; otherwise rescale to norm ||u_T||^{1/alpha}
        factor = np.where(
            positive, np.where(positive, norms, 1.0) ** (1.0 / self.alpha - 1.0), 0.0
        )
        return np.zeros(0), u * groups.expand(factor)

    def _value_and_gradient(self, datafit, groups, lam, w, beta):
        """Chain rule with the Jacobian of the module docstring."""
        norms = groups.norms(beta)
        scale = self._scale(norms)
        value, grad_u = datafit.value_and_gradient(groups.expand(scale) * beta)
        value += lam * float(beta @ beta)
        inner = np.bincount(
            groups.group_of, weights=grad_u * beta, minlength=groups.n_groups
        )
        positive = norms > 0
        radial = np.where(positive, inner / np.where(positive, norms, 1.0) ** 2, 0.0)
        # case beta_T = 0: Jacobian I for alpha = 1, else 0 (alpha > 1) or unbounded
        zero_jacobian = 1.0 if self.alpha == 1 else 0.0
        scale = np.where(positive, scale, zero_jacobian)
        grad_beta = groups.expand(scale) * (
            grad_u + (self.alpha - 1.0) * groups.expand(radial) * beta
        )
        return float(value), np.zeros(0), grad_beta + 2.0 * lam * beta
