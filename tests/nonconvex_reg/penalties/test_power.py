"""Power penalties c·a^p: lemmas 2.0, 2.2, 2.3 (generalized) and the scale-free prox."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from nonconvex_reg.penalties import (
    GroupLassoPenalty,
    L1MaskPenalty,
    LqPenalty,
    PowerPropPenalty,
)

A = np.logspace(-12, 6, 19)
STEP = np.logspace(-10, 8, 19)


def _objective(penalty, b, a, step):
    return 0.5 * (b - a) ** 2 + step * penalty.value(b)


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("p", [0.0, -0.5, 1.5, np.nan, np.inf])
def test_lq_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"`p` must be .*\(0, 1\]"):
        LqPenalty(p)


@pytest.mark.parametrize("alpha", [0.0, -1.0, np.nan, np.inf])
def test_powerprop_rejects_non_positive_alpha(alpha):
    with pytest.raises(ValueError, match="`alpha`"):
        PowerPropPenalty(alpha)


@pytest.mark.parametrize("make", [LqPenalty, PowerPropPenalty])
def test_non_real_hyperparameter_is_a_type_error(make):
    with pytest.raises(TypeError):
        make("0.5")


# ------------------------------------------------------- lemmas and identities
def test_group_lasso_is_the_identity_mask_regularizer():
    # Hoff identity (arXiv:2402.17902, Section 2): min_w (1/2)(w^2 + a^2 / w^2) = a,
    # at w^2 = a.
    pen = GroupLassoPenalty()
    for a in [0.01, 1.0, 37.0]:
        mask = minimize_scalar(
            lambda w, a=a: 0.5 * (w**2 + a**2 / w**2),
            bounds=(1e-6, 1e3),
            method="bounded",
            options={"xatol": 1e-12},
        )
        np.testing.assert_allclose(mask.fun, pen.value(a), rtol=1e-9)
        np.testing.assert_allclose(mask.x**2, a, rtol=1e-5)


def test_l1_mask_penalty_is_lemma_2_2():
    # Lemma 2.2: min_w |w| + a^2 / w^2 = (3/2) 2^{1/3} a^{2/3} at w = 2^{1/3} a^{2/3}.
    pen = L1MaskPenalty()
    a = np.array([1e-3, 0.2, 1.0, 5.0, 1e3])
    w_star = 2 ** (1 / 3) * a ** (2 / 3)
    np.testing.assert_allclose(w_star + a**2 / w_star**2, pen.value(a), rtol=1e-14)
    w = w_star[:, None] * np.linspace(0.2, 5.0, 2001)
    assert np.all(
        (w + a[:, None] ** 2 / w**2).min(axis=1) >= pen.value(a) * (1 - 1e-12)
    )
    assert pen.coef == 1.5 * 2 ** (1 / 3) and pen.exponent == 2 / 3


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
def test_powerprop_is_generalized_lemma_2_3(alpha):
    # Masking beta_T by ||beta_T||^(alpha-1) gives ||u_T|| = ||beta_T||^alpha, so
    # the weight decay ||beta_T||^2 equals q(||u_T||) = ||u_T||^(2/alpha).
    rng = np.random.default_rng(0)
    beta = rng.standard_normal((5, 3))
    norms = np.linalg.norm(beta, axis=1)
    u = norms[:, None] ** (alpha - 1) * beta
    np.testing.assert_allclose(
        PowerPropPenalty(alpha).value(np.linalg.norm(u, axis=1)), norms**2, rtol=1e-12
    )


def test_powerprop_special_cases():
    a = np.logspace(-6, 6, 13)
    np.testing.assert_array_equal(PowerPropPenalty(2.0).value(a), a)
    np.testing.assert_array_equal(
        PowerPropPenalty(2.0).prox(a, 0.3), GroupLassoPenalty().prox(a, 0.3)
    )
    np.testing.assert_array_equal(
        PowerPropPenalty(4.0).prox(a, 0.3), LqPenalty(0.5).prox(a, 0.3)
    )
    np.testing.assert_allclose(PowerPropPenalty(1.0).value(a), a**2, rtol=1e-15)


@pytest.mark.parametrize(
    ("penalty", "convex", "concave", "subadditive"),
    [
        (GroupLassoPenalty(), True, True, True),
        (LqPenalty(1.0), True, True, True),
        (LqPenalty(0.3), False, True, True),
        (L1MaskPenalty(), False, True, True),
        (PowerPropPenalty(2.0), True, True, True),
        (PowerPropPenalty(3.0), False, True, True),
        (PowerPropPenalty(1.5), True, False, False),
        (PowerPropPenalty(1.0), True, False, False),
    ],
    ids=repr,
)
def test_shape_flags_follow_the_exponent(penalty, convex, concave, subadditive):
    assert penalty.is_increasing
    assert (penalty.is_convex, penalty.is_concave) == (convex, concave)
    assert penalty.is_subadditive == subadditive


def test_derivative_at_zero_follows_the_exponent():
    assert GroupLassoPenalty().derivative_at_zero == 1.0
    assert LqPenalty(0.5).derivative_at_zero == np.inf
    assert L1MaskPenalty().derivative_at_zero == np.inf
    assert PowerPropPenalty(1.0).derivative_at_zero == 0.0
    assert PowerPropPenalty(1.0).second_derivative(0.0) == 2.0
    assert np.all(GroupLassoPenalty().second_derivative([0.0, 1.0]) == 0.0)


# ----------------------------------------------------------------------- prox
def test_closed_forms_for_p_equal_1_and_2():
    a, step = np.meshgrid(A, STEP)
    np.testing.assert_array_equal(
        GroupLassoPenalty().prox(a, step), np.maximum(a - step, 0.0)
    )
    np.testing.assert_allclose(
        PowerPropPenalty(1.0).prox(a, step), a / (1 + 2 * step), rtol=1e-15
    )


@pytest.mark.parametrize("p", [0.1, 0.5, 2 / 3, 0.9, 0.999])
@pytest.mark.parametrize("step", [1e-6, 0.7, 1e4])
def test_lq_jump_threshold(p, step):
    # Derived here: at the jump, h(t) = 1 and phi(t) = phi(0) together give
    # t* = 2(1-p)/(2-p) and kappa* = p/(2-p) * t*^(1-p), i.e.
    # a* = (step p / kappa*)^(1/(2-p)). Below a* the prox is 0, above it jumps
    # to t* a*.
    pen = LqPenalty(p)
    t_star = 2 * (1 - p) / (2 - p)
    kappa_star = p / (2 - p) * t_star ** (1 - p)
    a_star = (step * p / kappa_star) ** (1 / (2 - p))
    below, above = pen.prox([a_star * (1 - 1e-9), a_star * (1 + 1e-9)], step)
    assert below == 0.0
    np.testing.assert_allclose(above, t_star * a_star, rtol=1e-3)


def test_half_thresholding_matches_known_threshold():
    # For q = a^(1/2) the threshold is a* = (3/2) step^(2/3) (half thresholding).
    step = np.array([1e-3, 0.5, 2.0, 1e3])
    a_star = 1.5 * step ** (2 / 3)
    pen = LqPenalty(0.5)
    assert np.all(pen.prox(a_star * (1 - 1e-9), step) == 0)
    assert np.all(pen.prox(a_star * (1 + 1e-9), step) > 0.66 * a_star)


@pytest.mark.parametrize(
    "penalty",
    [
        LqPenalty(0.5),
        LqPenalty(0.05),
        L1MaskPenalty(),
        PowerPropPenalty(1.5),
        PowerPropPenalty(1.99),
        PowerPropPenalty(0.3),
    ],
    ids=repr,
)
def test_prox_relative_accuracy_at_extreme_scales(penalty):
    # The scale-free bisection keeps b accurate in relative terms even where it is
    # many orders of magnitude below a (p > 1, huge step) and never overflows
    # kappa = step c p a^(p-2) (tiny a, p < 1).
    a, step = np.meshgrid(A, STEP)
    b = penalty.prox(a, step)
    assert np.all(np.isfinite(b)) and np.all((b >= 0) & (b <= a))
    positive = b > 0
    p = penalty.exponent
    if p > 1:  # b ~ a kappa^(-1/(p-1)) is positive unless it underflows
        log_kappa = np.log(step * penalty.coef * p) + (p - 2) * np.log(a)
        assert np.all(positive[np.log(a) - log_kappa / (p - 1) > -700])
    slope = b - a + step * penalty.derivative(b)
    scale = a + step * np.abs(penalty.derivative(b))
    assert np.all(np.abs(slope[positive]) <= 1e-12 * scale[positive])


def test_prox_of_tiny_norm_with_concave_power_is_zero():
    pen = LqPenalty(0.5)
    np.testing.assert_array_equal(pen.prox(np.full(3, 1e-300), [1e-10, 1.0, 1e8]), 0.0)


def test_prox_beats_local_minimum_near_the_origin():
    # p < 1: b = 0 is always a local minimum; at a = 1.2 a* the nonzero local
    # minimum is the global one, at a = 0.9 a* it is not.
    pen = L1MaskPenalty()
    step = 1.0
    p, c = pen.exponent, pen.coef
    t_star = 2 * (1 - p) / (2 - p)
    a_star = (step * c * p / (p / (2 - p) * t_star ** (1 - p))) ** (1 / (2 - p))
    for a, nonzero in [(0.9 * a_star, False), (1.2 * a_star, True)]:
        b = pen.prox(a, step)
        assert (b > 0) == nonzero
        grid = np.linspace(0, a, 100001)
        assert _objective(pen, b, a, step) <= _objective(pen, grid, a, step).min()
