"""Differentiable-pruning masks and the group penalties they equal (arXiv:2402.17902).

Each mask reparameterizes a group ``beta_T`` as ``u_T = m(w_T, beta_T) beta_T`` with
weight decay ``P(w, beta)``; minimizing ``P`` over the splits of a fixed ``u`` gives
``sum_T q(||u_T||)`` (the Hoff identity and Lemmas 2.1-2.3, v1):

* :class:`IdentityMask`: ``w_T beta_T``, ``(1/2)(||w||^2 + ||beta||^2)`` -> group LASSO;
* :class:`SoftmaxMask`: ``exp(w_T) beta_T``, ``||w||^2 + ||beta||^2`` -> Lambert-W q;
* :class:`L1Mask`: ``w_T beta_T``, ``||w||_1 + ||beta||^2`` -> ``ℓ_{2/3}`` quasi-norm;
* :class:`PowerPropMask`: ``||beta_T||^{alpha-1} beta_T``, ``||beta||^2`` ->
  ``a^{2/alpha}``.

:func:`minimize_masked` solves the masked problem end to end and
:func:`check_mask_identity` checks the per-group identity numerically.
"""

from .base import GroupMask, ScalarGroupMask
from .checks import check_mask_identity
from .identity import IdentityMask
from .l1 import L1Mask
from .minimize import MaskedResult, minimize_masked
from .powerprop import PowerPropMask
from .softmax import SoftmaxMask

__all__ = [
    "GroupMask",
    "IdentityMask",
    "L1Mask",
    "MaskedResult",
    "PowerPropMask",
    "ScalarGroupMask",
    "SoftmaxMask",
    "check_mask_identity",
    "minimize_masked",
]
