"""Per-group variational identities of arXiv:2402.17902, Section 2, numerically."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg.masks import (
    IdentityMask,
    L1Mask,
    PowerPropMask,
    check_mask_identity,
)
from nonconvex_reg.testing import MASK_REGISTRY

MASKS = list(MASK_REGISTRY)
NORMS = np.logspace(-4, 3, 29)
RTOL = 1e-8


@pytest.mark.parametrize("mask", MASKS, ids=repr)
def test_identity_on_a_log_grid(mask):
    """min_w P_T(w, a) = q(a) for a in [1e-4, 1e3] (Hoff identity, Lemmas 2.1-2.3)."""
    assert check_mask_identity(mask, NORMS) < RTOL


@settings(max_examples=40, deadline=None)
@given(
    mask=st.sampled_from(MASKS[:3]),
    log10_a=st.floats(-4.0, 3.0),
)
def test_identity_random_norm(mask, log10_a):
    assert check_mask_identity(mask, [10.0**log10_a]) < RTOL


@settings(max_examples=40, deadline=None)
@given(
    alpha=st.floats(0.25, 6.0),
    log10_a=st.lists(st.floats(-4.0, 3.0), min_size=1, max_size=4),
)
def test_powerprop_identity_random_alpha(alpha, log10_a):
    """||u_T|| = ||beta_T||^alpha and ||beta||^2 = sum_T ||u_T||^{2/alpha}."""
    assert check_mask_identity(PowerPropMask(alpha), 10.0 ** np.array(log10_a)) < RTOL


class _HalfMissingIdentityMask(IdentityMask):
    """The identity mask with lam instead of lam/2 (a wrong Hoff identity)."""

    beta_decay = 1.0

    def _mask_decay(self, w):
        return w * w

    def _mask_decay_derivative(self, w):
        return 2.0 * w


def test_check_is_discriminating():
    """Without the 1/2, min_w w^2 + a^2 / w^2 = 2a, not a: relative error 1."""
    error = check_mask_identity(_HalfMissingIdentityMask(), [0.01, 1.0, 100.0])
    np.testing.assert_allclose(error, 1.0, rtol=1e-8)


@pytest.mark.parametrize("norms", [[], [0.0, 1.0], [-1.0], [[1.0]], [np.inf]])
def test_bad_norms(norms):
    with pytest.raises(ValueError, match="`norms`"):
        check_mask_identity(L1Mask(), norms)


def test_bad_mask():
    with pytest.raises(TypeError, match="`mask`"):
        check_mask_identity("identity", [1.0])
