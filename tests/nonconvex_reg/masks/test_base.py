"""Contract tests run on every mask of the registry (see masks/base.py)."""

import json

import numpy as np
import pytest
from scipy.special import lambertw

from nonconvex_reg.datafits import LeastSquares, Logistic
from nonconvex_reg.groups import Groups
from nonconvex_reg.masks import (
    GroupMask,
    IdentityMask,
    L1Mask,
    PowerPropMask,
    SoftmaxMask,
)
from nonconvex_reg.penalties import (
    GroupLassoPenalty,
    L1MaskPenalty,
    PowerPropPenalty,
    SoftmaxPenalty,
)
from nonconvex_reg.testing import MASK_REGISTRY

# Adding a mask to MASK_REGISTRY enrols it in every contract test below.
REGISTRY = list(MASK_REGISTRY)
IDS = [repr(mask) for mask in REGISTRY]
by_mask = pytest.mark.parametrize("mask", REGISTRY, ids=IDS)

GROUPS = Groups.from_sizes([2, 3, 1, 2])  # unequal sizes, one singleton
SHUFFLED = Groups.from_indices([[5, 0], [2, 7, 4], [1], [3, 6]], 8)  # not contiguous


def random_u(rng, groups, zero_group=None):
    """Random u with group norms spread over 1e-3 .. 1e3."""
    u = rng.standard_normal(groups.n_features)
    scales = 10.0 ** rng.uniform(-3, 3, groups.n_groups)
    u = u * groups.expand(scales / groups.norms(u))
    if zero_group is not None:
        u[groups[zero_group]] = 0.0
    return u


def random_pair(mask, rng, groups):
    """A generic (w, beta): w > 0 where the mask keeps w >= 0, else signed."""
    n_w = mask.n_mask_params(groups)
    w = rng.uniform(0.2, 1.5, n_w)
    if not mask.nonnegative_w:
        w *= rng.choice([-1.0, 1.0], n_w)
    return w, rng.standard_normal(groups.n_features)


def datafits(groups, rng):
    X = rng.standard_normal((15, groups.n_features))
    return [
        LeastSquares(X, rng.standard_normal(15), ridge=0.1),
        Logistic(X, rng.choice([-1.0, 1.0], 15), ridge=0.0),
    ]


# ------------------------------------------------------------------ declarations
def test_registry_is_complete():
    assert all(isinstance(mask, GroupMask) for mask in REGISTRY)


@pytest.mark.parametrize(
    ("mask", "penalty", "n_w"),
    [
        (IdentityMask(), GroupLassoPenalty(), 4),
        (SoftmaxMask(), SoftmaxPenalty(), 4),
        (L1Mask(), L1MaskPenalty(), 4),
        (PowerPropMask(1.5), PowerPropPenalty(1.5), 0),
        (PowerPropMask(), PowerPropPenalty(2.0), 0),
    ],
    ids=repr,
)
def test_declared_penalty_and_size(mask, penalty, n_w):
    equivalent = mask.equivalent_penalty()
    assert type(equivalent) is type(penalty)
    assert vars(equivalent) == vars(penalty)
    assert mask.n_mask_params(GROUPS) == n_w


@by_mask
def test_to_dict_is_json(mask):
    record = json.loads(json.dumps(mask.to_dict()))
    assert record["mask"] == type(mask).__name__
    assert type(mask).__name__ in repr(mask)


# ------------------------------------------------------------- optimal split
@by_mask
@pytest.mark.parametrize("groups", [GROUPS, SHUFFLED], ids=["contiguous", "shuffled"])
def test_optimal_split_reproduces_u_and_attains_sum_q(mask, groups):
    rng = np.random.default_rng(0)
    for trial in range(5):
        u = random_u(rng, groups, zero_group=trial % groups.n_groups)
        w, beta = mask.optimal_split(u, groups)
        assert w.shape == (mask.n_mask_params(groups),)
        assert beta.shape == u.shape
        # effective is invariant under the optimal split: u(split(u)) = u
        np.testing.assert_allclose(
            mask.effective(w, beta, groups), u, rtol=1e-13, atol=0
        )
        expected = np.sum(mask.equivalent_penalty().value(groups.norms(u)))
        np.testing.assert_allclose(mask.mask_penalty(w, beta), expected, rtol=1e-12)
        assert np.all(beta[groups[trial % groups.n_groups]] == 0)


@by_mask
def test_optimal_split_is_the_fiber_minimum(mask):
    """Any other split of the same u costs at least sum q (strictly, if distinct)."""
    rng = np.random.default_rng(1)
    u = random_u(rng, GROUPS)
    best = mask.mask_penalty(*mask.optimal_split(u, GROUPS))
    n_w = mask.n_mask_params(GROUPS)
    if n_w == 0:  # case no mask parameter: the split is the only preimage
        _, beta = mask.optimal_split(u, GROUPS)
        np.testing.assert_allclose(GROUPS.norms(beta) ** mask.alpha, GROUPS.norms(u))
        return
    w_star, _ = mask.optimal_split(u, GROUPS)
    for _ in range(50):
        w = w_star + rng.normal(0.0, 0.3, n_w) * np.maximum(np.abs(w_star), 0.1)
        if mask.nonnegative_w:
            w = np.abs(w)
        m = mask.effective(w, np.ones(GROUPS.n_features), GROUPS)
        beta = u / m
        assert mask.mask_penalty(w, beta) >= best * (1 - 1e-14)


@by_mask
def test_resplitting_keeps_u_and_lowers_the_penalty(mask):
    rng = np.random.default_rng(8)
    for _ in range(10):
        w, beta = random_pair(mask, rng, GROUPS)
        u = mask.effective(w, beta, GROUPS)
        w2, beta2 = mask.optimal_split(u, GROUPS)
        np.testing.assert_allclose(mask.effective(w2, beta2, GROUPS), u, rtol=1e-13)
        assert mask.mask_penalty(w2, beta2) <= mask.mask_penalty(w, beta) * (1 + 1e-14)


def _closed_form_mask(mask, a):
    if isinstance(mask, IdentityMask):
        return np.sqrt(a)  # Hoff: w^2 = a
    if isinstance(mask, SoftmaxMask):
        return lambertw(2 * a**2).real / 2  # Lemma 2.1
    return 2 ** (1 / 3) * a ** (2 / 3)  # Lemma 2.2


@pytest.mark.parametrize("mask", REGISTRY[:3], ids=IDS[:3])
def test_optimal_mask_matches_lemma_proofs(mask):
    rng = np.random.default_rng(2)
    u = random_u(rng, GROUPS)
    w, _ = mask.optimal_split(u, GROUPS)
    np.testing.assert_allclose(w, _closed_form_mask(mask, GROUPS.norms(u)), rtol=1e-14)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_powerprop_norm_identity(alpha):
    """||u_T|| = ||beta_T||^alpha and ||beta||^2 = sum_T ||u_T||^{2/alpha}."""
    rng = np.random.default_rng(3)
    mask = PowerPropMask(alpha)
    beta = random_u(rng, GROUPS, zero_group=2)
    u = mask.effective(np.zeros(0), beta, GROUPS)
    np.testing.assert_allclose(GROUPS.norms(u), GROUPS.norms(beta) ** alpha, rtol=1e-13)
    np.testing.assert_allclose(
        mask.mask_penalty(np.zeros(0), beta),
        np.sum(PowerPropPenalty(alpha).value(GROUPS.norms(u))),
        rtol=1e-12,
    )
    # direction is kept
    cosine = u @ beta / (np.linalg.norm(u) * np.linalg.norm(beta))
    assert cosine > 0


# ------------------------------------------------------------ masked objective
def finite_difference(fun, x, step=1e-6):
    grad = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step * max(1.0, abs(x[i]))
        grad[i] = (fun(x + e) - fun(x - e)) / (2 * e[i])
    return grad


@by_mask
@pytest.mark.parametrize("groups", [GROUPS, SHUFFLED], ids=["contiguous", "shuffled"])
def test_masked_objective_value_and_gradient(mask, groups):
    rng = np.random.default_rng(4)
    lam = 0.3
    n_w = mask.n_mask_params(groups)
    for datafit in datafits(groups, rng):
        for _ in range(2):
            w, beta = random_pair(mask, rng, groups)
            value, grad_w, grad_beta = mask.masked_objective(
                datafit, groups, lam, w, beta
            )
            u = mask.effective(w, beta, groups)
            expected = datafit.value(u) + lam * mask.mask_penalty(w, beta)
            np.testing.assert_allclose(value, expected, rtol=1e-13)

            def fun(x, datafit=datafit):
                return mask.masked_objective(datafit, groups, lam, x[:n_w], x[n_w:])[0]

            numeric = finite_difference(fun, np.concatenate([w, beta]))
            np.testing.assert_allclose(
                np.concatenate([grad_w, grad_beta]), numeric, rtol=1e-6, atol=1e-8
            )


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
def test_powerprop_gradient_at_a_zero_group(alpha):
    """Jacobian at beta_T = 0: I for alpha = 1, 0 for alpha > 1."""
    rng = np.random.default_rng(5)
    mask = PowerPropMask(alpha)
    datafit = datafits(GROUPS, rng)[0]
    beta = rng.standard_normal(GROUPS.n_features)
    beta[GROUPS[1]] = 0.0
    _, _, grad_beta = mask.masked_objective(datafit, GROUPS, 0.3, np.zeros(0), beta)
    u = mask.effective(np.zeros(0), beta, GROUPS)
    expected = datafit.gradient(u)[GROUPS[1]] if alpha == 1 else 0.0
    np.testing.assert_allclose(grad_beta[GROUPS[1]], expected, atol=1e-15)

    def fun(x):
        return mask.masked_objective(datafit, GROUPS, 0.3, np.zeros(0), x)[0]

    numeric = finite_difference(fun, beta, step=1e-7)
    np.testing.assert_allclose(grad_beta, numeric, rtol=1e-5, atol=1e-6)


def test_l1_mask_gradient_at_zero_is_the_right_derivative():
    rng = np.random.default_rng(6)
    datafit = datafits(GROUPS, rng)[0]
    w = np.array([0.0, 0.5, -0.5, 1.0])
    beta = rng.standard_normal(GROUPS.n_features)
    _, grad_w, _ = L1Mask().masked_objective(datafit, GROUPS, 0.3, w, beta)

    def fun(x):
        return L1Mask().masked_objective(datafit, GROUPS, 0.3, x, beta)[0]

    h = 1e-7
    e0 = np.eye(4)[0] * h
    np.testing.assert_allclose(grad_w[0], (fun(w + e0) - fun(w)) / h, rtol=1e-5)
    np.testing.assert_allclose(grad_w[1:], finite_difference(fun, w)[1:], rtol=1e-6)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("alpha", [0.0, -1.0, np.inf, np.nan])
def test_powerprop_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="`alpha`"):
        PowerPropMask(alpha)


def test_powerprop_rejects_non_numeric_alpha():
    with pytest.raises(TypeError, match="`alpha`"):
        PowerPropMask("2")


@by_mask
def test_shape_errors_name_the_argument(mask):
    rng = np.random.default_rng(7)
    w, beta = random_pair(mask, rng, GROUPS)
    datafit = datafits(GROUPS, rng)[0]
    with pytest.raises(ValueError, match="`w`"):
        mask.effective(np.append(w, 1.0), beta, GROUPS)
    with pytest.raises(ValueError, match="`beta`"):
        mask.effective(w, beta[:-1], GROUPS)
    with pytest.raises(ValueError, match="`u`"):
        mask.optimal_split(beta[:-1], GROUPS)
    with pytest.raises(ValueError, match="`beta`"):
        mask.mask_penalty(w, beta.reshape(2, -1))
    with pytest.raises(ValueError, match="`beta`"):
        mask.masked_objective(datafit, GROUPS, 0.3, w, np.append(beta, 0.0))
    with pytest.raises(ValueError, match="`lam`"):
        mask.masked_objective(datafit, GROUPS, 0.0, w, beta)
    with pytest.raises(ValueError, match="`groups`"):
        mask.masked_objective(datafit, Groups.equal(4, 2), 0.3, w, beta)
    with pytest.raises(TypeError, match="`groups`"):
        mask.effective(w, beta, [2, 3, 1, 2])
    with pytest.raises(ValueError, match="`beta`"):
        mask.effective(w, np.full_like(beta, np.nan), GROUPS)


def test_powerprop_mask_penalty_requires_empty_w():
    with pytest.raises(ValueError, match="`w`"):
        PowerPropMask().mask_penalty(np.ones(1), np.ones(3))
