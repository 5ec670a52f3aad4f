"""LogPenalty: q(a) = log(1 + a) and its closed-form prox (derived here)."""

import numpy as np
import pytest

from nonconvex_reg.penalties import LogPenalty

PEN = LogPenalty()


def _objective(b, a, step):
    return 0.5 * (b - a) ** 2 + step * np.log1p(b)


def test_calculus_is_elementary_and_accurate_near_zero():
    a = np.array([0.0, 1e-20, 1e-8, 1.0, 1e6])
    np.testing.assert_array_equal(PEN.value(a), np.log1p(a))
    np.testing.assert_array_equal(PEN.derivative(a), 1 / (1 + a))
    np.testing.assert_array_equal(PEN.second_derivative(a), -1 / (1 + a) ** 2)
    assert PEN.value(1e-20) == 1e-20 and PEN.inverse(1e-20) == 1e-20
    assert PEN.derivative_at_zero == 1.0
    assert (PEN.is_convex, PEN.is_concave, PEN.is_subadditive) == (False, True, True)


def test_prox_solves_the_quadratic():
    # The nonzero prox is the larger root of b^2 + (1 - a) b + (step - a) = 0.
    a = np.array([2.0, 3.0, 10.0, 1e4])
    step = np.array([1.0, 0.5, 4.0, 1e3])
    b = PEN.prox(a, step)
    assert np.all(b > 0)
    residual = b**2 + (1 - a) * b + (step - a)
    assert np.all(np.abs(residual) <= 1e-12 * a**2)
    np.testing.assert_allclose(PEN.prox(2.0, 1.0), (1 + np.sqrt(5)) / 2, rtol=1e-15)


def test_prox_small_norms_no_cancellation():
    # a < 1 uses r+ = 2(a - step) / ((1 - a) + sqrt(D)); for a, step << 1 this is
    # close to a - step: from b = a - step / (1 + b), r+ = (a - s)(1 + s) + O(s^3).
    a = np.array([1e-12, 1e-9, 1e-6])
    step = 0.5 * a
    b = PEN.prox(a, step)
    series = (a - step) * (1 + step)
    np.testing.assert_allclose(b, series, rtol=1e-10)


@pytest.mark.parametrize("step", [1e-8, 0.1, 0.5, 1.0])
def test_no_shrinkage_to_zero_beyond_the_step_for_small_steps(step):
    # For step <= 1, g(b) = b - a + step/(1+b) is increasing on b >= 0, so the
    # prox is 0 exactly when a <= step (soft-thresholding-like threshold).
    a = step * np.array([0.5, 1.0, 1.0 + 1e-6, 2.0])
    b = PEN.prox(a, step)
    assert np.all(b[:2] == 0) and np.all(b[2:] > 0)


def test_nonzero_prox_below_the_step_for_large_steps():
    # Unlike soft thresholding, for step > 1 a norm a < step can still have a
    # nonzero prox: phi rises near 0 but dips below phi(0) further out.
    a, step = 3.9, 4.0
    b = PEN.prox(a, step)
    grid = np.linspace(0, a, 100001)
    assert b > 2.8
    assert _objective(b, a, step) <= _objective(grid, a, step).min()


@pytest.mark.parametrize("step", [1.5, 4.0, 100.0])
def test_jump_threshold(step):
    # For step > 1 the prox jumps from 0 to a positive value where
    # phi(r+) = phi(0); locate it on a fine grid of a and check both sides.
    a = np.linspace(2 * np.sqrt(step) - 1, step + 1, 20001)
    b = PEN.prox(a, step)
    jump = np.flatnonzero(b > 0)[0]
    assert jump > 0 and np.all(b[jump:] > 0) and np.all(b[:jump] == 0)
    assert b[jump] > np.sqrt(step) - 1  # lands past the tangency point
    gain_after = b[jump] * (0.5 * b[jump] - a[jump]) + step * np.log1p(b[jump])
    assert gain_after < 0


def test_tangency_is_stable():
    # D = (a + 1)^2 - 4 step = 0: a double root, phi'(b) >= 0, so the prox is 0.
    step = np.array([1.0, 4.0, 25.0])
    a = 2 * np.sqrt(step) - 1
    assert np.all(PEN.prox(a, step) == 0)
    assert np.all(PEN.prox(a * (1 - 1e-12), step) == 0)
