"""SoftmaxPenalty: Lemma 2.1, its calculus (derived here) and the certified prox."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import lambertw

from nonconvex_reg.penalties import SoftmaxPenalty
from nonconvex_reg.penalties.softmax import CURVATURE_BREAKPOINT

PEN = SoftmaxPenalty()


def _objective(b, a, step):
    return 0.5 * (b - a) ** 2 + step * PEN.value(b)


@pytest.mark.parametrize("a", [1e-3, 0.3, 1.0, 2.5, 40.0])
def test_value_is_lemma_2_1_mask_minimum(a):
    # Lemma 2.1: q(a) = min_w w^2 + a^2 exp(-2w), attained at w = W(2a^2)/2.
    mask = minimize_scalar(
        lambda w: w**2 + a**2 * np.exp(-2 * w),
        bounds=(-1.0, 10.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    np.testing.assert_allclose(mask.fun, PEN.value(a), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(mask.x, lambertw(2 * a**2).real / 2, atol=1e-5)


def test_asymptotics():
    a = np.array([1e-8, 1e-5, 1e-3])
    np.testing.assert_allclose(PEN.value(a), a**2, rtol=1e-5)  # q = a^2 + O(a^4)
    # W(x) ~ log x, so q ~ W^2/4 ~ (2 log a)^2 / 4 = (log a)^2 (our derivation; the
    # paper gives no rate for Lemma 2.1's q); the log log correction fades slowly.
    big = np.array([1e50, 1e100])
    ratio = PEN.value(big) / np.log(big) ** 2
    assert np.all(np.abs(ratio - 1) < 0.05) and ratio[0] < ratio[1] < 1


def test_not_subadditive_near_origin():
    # Our observation on Lemma 2.1 of arXiv:2402.17902 (not in the paper):
    # q(2a) - 2q(a) = +0.0187 at a = 0.1 and +0.2315 at a = 1, and it turns
    # negative only for a >~ 2.
    excess = PEN.value([0.2, 2.0]) - 2 * PEN.value([0.1, 1.0])
    np.testing.assert_allclose(excess, [0.0187, 0.2315], atol=5e-5)
    a = np.linspace(0.01, 1.0, 100)
    assert np.all(PEN.value(2 * a) > 2 * PEN.value(a))
    assert PEN.value(10.0) < 2 * PEN.value(5.0)
    assert not PEN.is_subadditive


def test_derivative_forms_agree():
    a = np.logspace(-6, 6, 61)
    w = lambertw(2 * a**2).real
    np.testing.assert_allclose(PEN.derivative(a), w / a, rtol=1e-13)
    assert PEN.derivative_at_zero == 0.0
    assert PEN.second_derivative(0.0) == 2.0


def test_convex_then_concave_at_sqrt_e_over_2():
    turn = np.sqrt(np.e / 2)
    np.testing.assert_allclose(PEN.second_derivative(turn), 0.0, atol=1e-15)
    assert np.all(PEN.second_derivative(np.linspace(0, turn * (1 - 1e-9), 50)) > 0)
    assert np.all(PEN.second_derivative(np.logspace(np.log10(turn) + 1e-9, 8, 50)) < 0)
    assert not PEN.is_convex and not PEN.is_concave


def test_curvature_breakpoint():
    # q'' decreases while W(2a^2) < sqrt(3) and increases (towards 0) after.
    np.testing.assert_allclose(
        lambertw(2 * CURVATURE_BREAKPOINT**2).real, np.sqrt(3), rtol=1e-14
    )
    left = np.linspace(0, CURVATURE_BREAKPOINT, 400)
    right = np.linspace(CURVATURE_BREAKPOINT, 1e4, 400)
    assert np.all(np.diff(PEN.second_derivative(left)) < 0)
    assert np.all(np.diff(PEN.second_derivative(right)) > 0)
    assert np.all(PEN.second_derivative(right) < 0)


def test_inverse_stable_for_tiny_and_large_values():
    v = np.array([1e-300, 1e-30, 1e-10])
    np.testing.assert_allclose(PEN.inverse(v), np.sqrt(v), rtol=1e-9)
    a = np.array([1e20, 1e100, 1e150])
    np.testing.assert_allclose(PEN.inverse(PEN.value(a)), a, rtol=1e-10)


@pytest.mark.parametrize(
    ("a", "expected"), [(16.75, 0.7073351357), (17.5, 9.2938073241)]
)
def test_prox_picks_the_global_of_two_local_minima(a, expected):
    # At step = 20 phi has two local minima for a in about [16.5, 18.3]; the
    # global one switches from the small to the large between a = 17 and 17.25,
    # so a local method started at either end fails on one of these cases.
    step = 20.0
    grid = np.linspace(0.0, a, 400001)
    slope = grid - a + step * PEN.derivative(grid)
    upcrossings = grid[1:][(slope[:-1] < 0) & (slope[1:] >= 0)]
    assert upcrossings.size == 2
    b = PEN.prox(a, step)
    np.testing.assert_allclose(b, expected, rtol=1e-9)
    assert _objective(b, a, step) <= _objective(grid, a, step).min()


def test_prox_near_origin_is_ridge_like():
    # q = a^2 + O(a^4): the prox of a tiny norm is a / (1 + 2 step), never 0.
    a = np.array([1e-12, 1e-9, 1e-6])
    step = np.array([1e-3, 1.0, 1e8])[:, None]
    np.testing.assert_allclose(PEN.prox(a, step), a / (1 + 2 * step), rtol=1e-10)


@pytest.mark.parametrize("step", [11.0, 20.0, 50.0, 300.0])
def test_prox_global_across_the_two_minima_region(step):
    # Sweep a through the region where phi has two local minima (q'' < -1/step
    # somewhere needs step > 1 / 0.0948...) and compare with a dense grid.
    a = np.geomspace(0.5, 2 * step, 120)
    b = PEN.prox(a, step)
    grid = a[:, None] * np.linspace(0.0, 1.0, 4001)
    best = _objective(grid, a[:, None], step).min(axis=1)
    assert np.all(_objective(b, a, step) <= best + 1e-12 * a**2)
    assert np.all(np.diff(b) >= 0)
