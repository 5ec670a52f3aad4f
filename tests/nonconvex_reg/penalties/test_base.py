"""Contract tests run on every penalty of the registry (see penalties/base.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nonconvex_reg.groups import Groups
from nonconvex_reg.penalties import (
    PENALTY_REGISTRY,
    GroupPenalty,
    LogPenalty,
    group_prox,
)
from nonconvex_reg.penalties._scalar_prox import bisect_root, certified_prox

# Adding a family to PENALTY_REGISTRY enrols every registered instance (examples
# and edge cases) below, with the breakpoints where its q'' changes monotonicity.
REGISTRY = [
    (penalty, family.curvature_breakpoints)
    for family in PENALTY_REGISTRY
    for penalty in family.penalties()
]
PENALTIES = [penalty for penalty, _ in REGISTRY]
IDS = [repr(penalty) for penalty in PENALTIES]
by_penalty = pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)

A_GRID = np.logspace(-12, 6, 13)
STEP_GRID = np.logspace(-10, 8, 13)
SMOOTH_GRID = np.logspace(-3, 3, 25)


def phi(penalty, b, a, step):
    return 0.5 * (b - a) ** 2 + step * penalty.value(b)


def gain(penalty, b, a, step):
    """phi(b) - phi(0), without cancellation."""
    return b * (0.5 * b - a) + step * penalty.value(b)


def grid_min_phi(penalty, a, step, n_points):
    """Brute-force min of phi over n_points in [0, a] (endpoints included)."""
    a, step = np.broadcast_arrays(np.asarray(a, float), np.asarray(step, float))
    b = a[..., None] * np.linspace(0.0, 1.0, n_points)
    return phi(penalty, b, a[..., None], step[..., None]).min(axis=-1)


def assert_global_prox(penalty, a, step, n_points):
    a, step = np.broadcast_arrays(np.asarray(a, float), np.asarray(step, float))
    b = penalty.prox(a, step)
    assert b.shape == a.shape
    assert np.all(np.isfinite(b))
    assert np.all((b >= 0) & (b <= a))
    best = grid_min_phi(penalty, a, step, n_points)
    excess = phi(penalty, b, a, step) - best
    assert np.all(excess <= 1e-10 * a**2 + 1e-300), excess.max()
    return b


# ------------------------------------------------------------- declared facts
@by_penalty
def test_declared_facts_and_description(penalty):
    assert isinstance(penalty, GroupPenalty)
    for flag in ("is_increasing", "is_convex", "is_concave", "is_subadditive"):
        assert isinstance(getattr(penalty, flag), bool)
    params = penalty.to_dict()
    assert params.pop("penalty") == type(penalty).__name__
    assert repr(type(penalty)(**params)) == repr(penalty)


@by_penalty
def test_value_zero_at_origin_and_increasing(penalty):
    assert penalty.value(0.0) == 0.0
    assert penalty.is_increasing
    a = np.concatenate([[0.0], np.logspace(-6, 6, 200)])
    assert np.all(np.diff(penalty.value(a)) > 0)
    assert np.all(penalty.derivative(a[1:]) > 0)
    assert penalty.derivative_at_zero == penalty.derivative(np.zeros(1))[0] >= 0


@by_penalty
def test_methods_finite_on_wide_range(penalty):
    values = penalty.value(A_GRID)
    for result in (
        values,
        penalty.derivative(A_GRID),
        penalty.second_derivative(A_GRID),
        penalty.inverse(values),
    ):
        assert np.all(np.isfinite(result))


@by_penalty
def test_inverse_round_trip(penalty):
    round_trip = penalty.inverse(penalty.value(A_GRID))
    np.testing.assert_allclose(round_trip, A_GRID, rtol=1e-10)
    assert penalty.inverse(0.0) == 0.0


@by_penalty
def test_derivatives_match_finite_differences(penalty):
    a = SMOOTH_GRID
    h = 1e-5 * a
    first = penalty.derivative(a)
    central = (penalty.value(a + h) - penalty.value(a - h)) / (2 * h)
    np.testing.assert_allclose(central, first, rtol=1e-7)
    central = (penalty.derivative(a + h) - penalty.derivative(a - h)) / (2 * h)
    second = penalty.second_derivative(a)
    assert np.all(np.abs(central - second) <= 1e-6 * np.abs(second) + 1e-9 * first / a)


# -------------------------------------------------- shape claims, numerically
SHAPE_GRID = np.logspace(-4, 4, 41)
X, Y = np.meshgrid(SHAPE_GRID, SHAPE_GRID)


@by_penalty
def test_subadditivity_claim(penalty):
    slack = penalty.value(X) + penalty.value(Y) - penalty.value(X + Y)
    scale = penalty.value(X) + penalty.value(Y)
    if penalty.is_subadditive:
        assert np.all(slack >= -1e-12 * scale)
    else:
        assert np.any(slack < -1e-6 * scale)


@pytest.mark.parametrize("claim", ["is_convex", "is_concave"])
@by_penalty
def test_convexity_claims(penalty, claim):
    sign = 1.0 if claim == "is_convex" else -1.0
    # Midpoint test on pairs: sign * (chord - graph) >= 0 iff the claim holds.
    chord = 0.5 * (penalty.value(X) + penalty.value(Y))
    gap = sign * (chord - penalty.value(0.5 * (X + Y)))
    curvature = sign * penalty.second_derivative(SHAPE_GRID)
    if getattr(penalty, claim):
        assert np.all(gap >= -1e-12 * chord)
        assert np.all(curvature >= 0)
    else:
        assert np.any(gap < -1e-6 * chord)
        assert np.any(curvature < 0)


# ----------------------------------------------------------------------- prox
@by_penalty
def test_prox_is_global_minimizer_on_wide_grid(penalty):
    a, step = np.meshgrid(A_GRID, STEP_GRID)
    assert_global_prox(penalty, a, step, n_points=20001)


@by_penalty
def test_prox_is_stationary_where_positive(penalty):
    a, step = np.meshgrid(A_GRID, STEP_GRID)
    b = penalty.prox(a, step)
    positive = b > 0
    a, step, b = a[positive], step[positive], b[positive]
    pull = step * penalty.derivative(b)
    # Relative to the size of the terms of g(b) = b - a + step q'(b); observed
    # residuals are below 1e-14.
    assert np.all(np.abs(b - a + pull) <= 1e-12 * (a + pull))


@pytest.mark.parametrize(("penalty", "breakpoints"), REGISTRY, ids=IDS)
def test_prox_matches_certified_mechanism(penalty, breakpoints):
    a, step = np.meshgrid(A_GRID, STEP_GRID)
    b = penalty.prox(a, step)
    b_certified = certified_prox(penalty, a, step, breakpoints)
    gain_prox = gain(penalty, b, a, step)
    gain_certified = gain(penalty, b_certified, a, step)
    assert np.all(np.abs(gain_prox - gain_certified) <= 1e-12 * a**2)
    clear = np.abs(gain_prox) > 1e-9 * a**2  # away from a tie with b = 0
    # certified_prox bisects on [0, a]: its roots are exact to ~a 2^-100 absolute.
    assert np.all(np.abs(b - b_certified)[clear] <= (1e-9 * b + 1e-29 * a)[clear])


@by_penalty
def test_prox_zero_broadcast_and_group_form(penalty):
    assert penalty.prox(0.0, 1.0) == 0.0
    a = np.array([[0.0], [0.3], [2.0]])
    step = np.array([0.1, 1.0, 10.0, 100.0])
    b = penalty.prox(a, step)
    assert b.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(b[i, j], penalty.prox(a[i, 0], step[j]), 1e-14)
    # One scalar step for every norm is the same as that step repeated.
    np.testing.assert_array_equal(
        penalty.prox(a[:, 0], 10.0), penalty.prox(a[:, 0], np.full(3, 10.0))
    )
    assert penalty.prox(0.3, step).shape == (4,)
    groups = Groups.from_sizes([2, 3, 1])
    beta = np.array([3.0, -4.0, 0.0, 0.0, 0.0, -0.5])
    out = group_prox(penalty, beta, groups, 1.5)
    np.testing.assert_allclose(groups.norms(out), penalty.prox(groups.norms(beta), 1.5))
    assert out[5] <= 0 and out[0] >= 0 and out[1] <= 0


@pytest.mark.parametrize(
    ("a", "step", "name"),
    [
        (1.0, 0.0, "`step`"),
        (1.0, -1.0, "`step`"),
        (1.0, np.nan, "`step`"),
        (1.0, np.inf, "`step`"),
        ([1.0, 2.0], [1.0, 0.0], "`step`"),
        ([1.0, 2.0], [1.0, np.nan], "`step`"),
        (-1.0, 1.0, "`a`"),
        ([1.0, np.nan], 1.0, "`a`"),
        ([1.0, np.inf], 1.0, "`a`"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "`step`"),
    ],
)
@by_penalty
def test_prox_rejects_bad_input(penalty, a, step, name):
    with pytest.raises(ValueError, match=name):
        penalty.prox(a, step)


@by_penalty
def test_prox_rejects_non_real(penalty):
    with pytest.raises(TypeError, match="`step`"):
        penalty.prox(1.0, "1")
    with pytest.raises(TypeError, match="`a`"):
        penalty.prox(np.array([1j]), 1.0)


def test_bisect_root_either_direction_and_missing_roots():
    lo, hi = np.zeros(4), np.array([1.0, 1.0, 1.0, 1e-12])
    target = np.array([0.3, 0.3, 2.0, 1e-30])
    root, has_root = bisect_root(lambda x: x - target, lo, hi)
    np.testing.assert_array_equal(has_root, [True, True, False, True])
    np.testing.assert_allclose(root[0], target[0], rtol=1e-15)
    # MAX_HALVINGS = 100 halvings: absolute accuracy width * 2^-100.
    assert abs(root[3] - target[3]) <= 1e-12 * 2.0**-99
    assert root[2] == 0.0  # no root: the bracket collapses to lo
    falling, has_root = bisect_root(lambda x: target - x, lo, hi)
    np.testing.assert_allclose(falling, root, rtol=1e-15, atol=1e-40)
    assert has_root[0]


# ----------------------------------------------------------------- hypothesis
log_norms = st.floats(min_value=-12, max_value=6)
log_steps = st.floats(min_value=-10, max_value=8)


@by_penalty
@settings(max_examples=40, deadline=None)
@given(log_a=log_norms, log_step=log_steps)
def test_prox_global_random(penalty, log_a, log_step):
    assert_global_prox(penalty, 10.0**log_a, 10.0**log_step, n_points=2001)


@by_penalty
@settings(max_examples=40, deadline=None)
@given(log_a=st.lists(log_norms, min_size=2, max_size=8), log_step=log_steps)
def test_prox_nondecreasing_in_a(penalty, log_a, log_step):
    a = np.sort(10.0 ** np.asarray(log_a))
    b = penalty.prox(a, 10.0**log_step)
    # Monotone up to the roots' rounding (64 ulps relative): inputs one ulp apart
    # (hypothesis found a = 1 - 2**-52 and 1 for a^4 at step 10**4.63) may give
    # outputs about 10 ulps the wrong way.
    assert np.all(np.diff(b) >= -64 * np.finfo(float).eps * b[1:])


def test_log_prox_stays_below_a_when_the_shrinkage_is_under_an_ulp():
    # Issue 2, found by hypothesis: a = 10**4.90, step = 1e-8 gave b one ulp above a.
    a = 10.0**4.902336612473267
    assert LogPenalty().prox(a, 1e-8) <= a
