"""Contract tests run on every datafit of the registry, with and without ridge."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from nonconvex_reg.datafits import (
    Datafit,
    LeastSquares,
    Logistic,
    Multinomial,
    MultiResponse,
)
from nonconvex_reg.groups import Groups


def _least_squares_data(rng, n_samples, n_features_in):
    return rng.standard_normal(n_samples), {}


def _multi_response_data(rng, n_samples, n_features_in):
    return rng.standard_normal((n_samples, 2)), {}


def _logistic_data(rng, n_samples, n_features_in):
    return rng.choice([-1.0, 1.0], n_samples), {}


def _multinomial_data(rng, n_samples, n_features_in):
    return rng.integers(0, 3, n_samples), {"n_classes": 3}


# Adding a datafit here enrols it in every contract test below.
REGISTRY = {
    "LeastSquares": (LeastSquares, _least_squares_data),
    "MultiResponse": (MultiResponse, _multi_response_data),
    "Logistic": (Logistic, _logistic_data),
    "Multinomial": (Multinomial, _multinomial_data),
}
NAMES = sorted(REGISTRY)
RIDGES = [0.0, 0.3]
PROPERTY = settings(max_examples=30, deadline=None)


def make(name, rng, ridge=0.0, n_samples=7, n_features_in=3):
    cls, data = REGISTRY[name]
    X = rng.standard_normal((n_samples, n_features_in))
    y, kwargs = data(rng, n_samples, n_features_in)
    return cls(X, y, ridge=ridge, **kwargs)


def random_groups(rng, n_features):
    """A random partition into groups of random, possibly scattered coordinates."""
    order = rng.permutation(n_features)
    n_cuts = rng.integers(0, min(4, n_features))
    cuts = np.sort(rng.choice(np.arange(1, n_features), n_cuts, replace=False))
    return Groups.from_indices(np.split(order, cuts), n_features)


def fd_gradient(datafit, beta, step=1e-6):
    eye = np.eye(beta.size)
    return np.array(
        [
            (datafit.value(beta + step * e) - datafit.value(beta - step * e))
            / (2 * step)
            for e in eye
        ]
    )


def fd_hessian(datafit, beta, step=1e-5):
    eye = np.eye(beta.size)
    columns = [
        (datafit.gradient(beta + step * e) - datafit.gradient(beta - step * e))
        / (2 * step)
        for e in eye
    ]
    hessian = np.array(columns)
    return 0.5 * (hessian + hessian.T)


def dual_point(datafit, beta):
    return datafit.dual_point_from_predictor(datafit.linear_predictor(beta))


def primal(datafit, beta, groups, lam):
    """Group-LASSO objective (2): L(beta) + lam * sum_g ||beta_g||."""
    return datafit.value(beta) + lam * groups.norms(beta).sum()


def dual(datafit, theta, groups, lam):
    """D(theta) = -F*(-theta) - h*(X^T theta), h* as in datafits/base.py."""
    norms = groups.norms(datafit.transpose_product(theta))
    if datafit.ridge > 0:
        excess = np.maximum(norms - lam, 0.0)
        return datafit.dual_value(theta) - np.sum(excess**2) / (2 * datafit.ridge)
    assert norms.max() <= lam * (1 + 1e-12), "theta is not dual feasible"
    return datafit.dual_value(theta)


def feasible_dual_point(datafit, beta, groups, lam):
    """The dual point at beta, rescaled into the feasible set when ridge = 0."""
    theta = dual_point(datafit, beta)
    if datafit.ridge == 0:
        top = groups.norms(datafit.transpose_product(theta)).max()
        theta = theta * min(1.0, lam / top) if top > 0 else theta
    return theta


# ----------------------------------------------------------------- calculus
@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 3.0))
def test_gradient_matches_finite_differences(name, ridge, seed, scale):
    rng = np.random.default_rng(seed)
    datafit = make(name, rng, ridge)
    beta = scale * rng.standard_normal(datafit.n_features)
    np.testing.assert_allclose(
        datafit.gradient(beta), fd_gradient(datafit, beta), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_is_consistent(name, ridge):
    rng = np.random.default_rng(0)
    datafit = make(name, rng, ridge)
    beta = rng.standard_normal(datafit.n_features)
    value, gradient = datafit.value_and_gradient(beta)
    assert value == pytest.approx(datafit.value(beta), rel=1e-14)
    np.testing.assert_allclose(gradient, datafit.gradient(beta), rtol=1e-14)
    assert isinstance(datafit, Datafit)
    assert datafit.n_features == int(np.prod(datafit.coef_shape))


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), c=st.floats(0.0, 1.0))
def test_fenchel_young(name, seed, c):
    """F(z) + F*(-theta) >= -<theta, z>, with equality at theta = -grad F(z)."""
    rng = np.random.default_rng(seed)
    datafit = make(name, rng)
    z = datafit.linear_predictor(rng.standard_normal(datafit.n_features))
    other = datafit.linear_predictor(rng.standard_normal(datafit.n_features))
    theta = c * datafit.dual_point_from_predictor(other)
    slack = (
        datafit.loss_from_predictor(z) - datafit.dual_value(theta) + np.sum(theta * z)
    )
    assert slack >= -1e-12
    theta = datafit.dual_point_from_predictor(z)
    equality = (
        datafit.loss_from_predictor(z) - datafit.dual_value(theta) + np.sum(theta * z)
    )
    assert equality == pytest.approx(0.0, abs=1e-12)


# ----------------------------------------------------------------- duality
@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    lam=st.floats(1e-3, 2.0),
    scale=st.floats(0.0, 3.0),
)
def test_weak_duality(name, ridge, seed, lam, scale):
    rng = np.random.default_rng(seed)
    datafit = make(name, rng, ridge)
    groups = random_groups(rng, datafit.n_features)
    beta = scale * rng.standard_normal(datafit.n_features)
    theta = feasible_dual_point(datafit, beta, groups, lam)
    assert (
        dual(datafit, theta, groups, lam) <= primal(datafit, beta, groups, lam) + 1e-12
    )


@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("factor", [1.0, 1.5])
def test_zero_gap_at_zero_above_lam_max(name, ridge, factor):
    """For lam >= lam_max = max_g ||grad_g L(0)||, beta = 0 is optimal: gap 0."""
    rng = np.random.default_rng(1)
    datafit = make(name, rng, ridge)
    groups = random_groups(rng, datafit.n_features)
    zero = np.zeros(datafit.n_features)
    lam = factor * groups.norms(datafit.gradient(zero)).max()
    theta = feasible_dual_point(datafit, zero, groups, lam)
    gap = primal(datafit, zero, groups, lam) - dual(datafit, theta, groups, lam)
    assert gap == pytest.approx(0.0, abs=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_zero_gap_at_ridge_optimum(name):
    """lam = 0: at the minimizer of L (ridge > 0) the duality gap vanishes."""
    rng = np.random.default_rng(2)
    datafit = make(name, rng, ridge=0.3)
    groups = random_groups(rng, datafit.n_features)
    result = minimize(
        datafit.value_and_gradient,
        np.zeros(datafit.n_features),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    beta = result.x
    assert np.abs(datafit.gradient(beta)).max() < 1e-8
    theta = dual_point(datafit, beta)
    gap = primal(datafit, beta, groups, 0.0) - dual(datafit, theta, groups, 0.0)
    assert -1e-12 <= gap <= 1e-12
    # Away from the optimum the gap is positive.
    shifted = beta + 0.1
    theta = dual_point(datafit, shifted)
    assert (
        primal(datafit, shifted, groups, 0.0) - dual(datafit, theta, groups, 0.0) > 1e-6
    )


# --------------------------------------------------- declared capabilities
def _predictor_like(datafit, rng):
    return rng.standard_normal((datafit.n_samples,) + datafit.coef_shape[1:])


@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
def test_is_quadratic_is_declared_and_true_to_the_loss(name, ridge):
    # Issue 16: callers (omp's exact refits) trust the declaration, not the class.
    rng = np.random.default_rng(5)
    datafit = make(name, rng, ridge)
    assert type(datafit.is_quadratic) is bool
    first, second = (
        datafit.hessian_blocks_from_predictor(_predictor_like(datafit, rng))
        for _ in range(2)
    )
    if datafit.is_quadratic:
        # The squared loss with targets y, hence a constant curvature.
        beta = rng.standard_normal(datafit.n_features)
        z = datafit.linear_predictor(beta)
        residual = datafit.y.reshape(z.shape) - z
        expected = np.sum(residual**2) / (2 * datafit.n_samples)
        expected += 0.5 * ridge * beta @ beta
        assert datafit.value(beta) == pytest.approx(expected, rel=1e-13)
        np.testing.assert_array_equal(first, second)
    else:
        # The curvature moves with the predictor: not a quadratic.
        assert not np.allclose(first, second)
    coords = np.arange(0, datafit.n_features, 2)
    assert datafit.restrict(coords).is_quadratic is datafit.is_quadratic


@pytest.mark.parametrize("name", NAMES)
def test_declared_hessian_factors_rebuild_the_blocks(name):
    rng = np.random.default_rng(6)
    datafit = make(name, rng)
    z = _predictor_like(datafit, rng)
    blocks = datafit.hessian_blocks_from_predictor(z)
    factors = datafit.hessian_factors_from_predictor(z)
    if factors is None:
        # Undeclared: only the base default returns None.
        assert (
            type(datafit).hessian_factors_from_predictor
            is Datafit.hessian_factors_from_predictor
        )
        return
    diagonal, rank_one = factors
    assert diagonal.shape == z.shape
    n_outputs = blocks.shape[1]
    diagonal = diagonal.reshape(-1, n_outputs)
    rebuilt = diagonal[:, :, None] * np.eye(n_outputs)
    if rank_one is not None:
        assert rank_one.shape == z.shape
        rank_one = rank_one.reshape(-1, n_outputs)
        rebuilt = rebuilt - rank_one[:, :, None] * rank_one[:, None, :]
    np.testing.assert_allclose(
        rebuilt / datafit.n_samples, blocks, rtol=1e-13, atol=1e-17
    )


# ----------------------------------------------------------------- constants
@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scale", [0.0, 1.0, 4.0])
def test_constants_bound_the_hessian(name, ridge, scale):
    rng = np.random.default_rng(3)
    datafit = make(name, rng, ridge, n_samples=9, n_features_in=4)
    beta = scale * rng.standard_normal(datafit.n_features)
    hessian = fd_hessian(datafit, beta)
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert eigenvalues.max() <= datafit.lipschitz() + 1e-7
    assert eigenvalues.min() >= datafit.strong_convexity() - 1e-7
    assert datafit.strong_convexity() >= ridge
    for groups in (
        random_groups(rng, datafit.n_features),
        Groups.from_sizes([1] * datafit.n_features),
        Groups.from_sizes([datafit.n_features]),
    ):
        bounds = datafit.lipschitz_group(groups)
        assert bounds.shape == (groups.n_groups,)
        assert np.all(bounds <= datafit.lipschitz() * (1 + 1e-12))
        for g in range(groups.n_groups):
            block = hessian[np.ix_(groups[g], groups[g])]
            assert np.linalg.eigvalsh(block).max() <= bounds[g] + 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_one_group_bound_is_lipschitz(name):
    rng = np.random.default_rng(4)
    datafit = make(name, rng, ridge=0.3)
    whole = Groups.from_sizes([datafit.n_features])
    assert datafit.lipschitz_group(whole)[0] == pytest.approx(datafit.lipschitz())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_samples", [2, 9])
def test_operator_norm_bounds_bracket_the_exact_norms(name, n_samples):
    # Solvers screen with the cheap bounds and pay the exact norms only where
    # the bounds cannot decide, so the bracket must hold for every group.
    rng = np.random.default_rng(5)
    datafit = make(name, rng, n_samples=n_samples, n_features_in=5)
    for groups in (
        random_groups(rng, datafit.n_features),
        Groups.from_sizes([1] * datafit.n_features),
        Groups.from_sizes([datafit.n_features]),
    ):
        exact = datafit.group_operator_norms(groups)
        lower, upper = datafit.group_operator_norm_bounds(groups)
        assert lower.shape == upper.shape == (groups.n_groups,)
        assert np.all(lower <= exact * (1 + 1e-12))
        assert np.all(exact <= upper * (1 + 1e-12))
    singles = Groups.from_sizes([1] * datafit.n_features)
    lower, upper = datafit.group_operator_norm_bounds(singles)
    np.testing.assert_allclose(lower, upper, rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_operator_norms_of_selected_groups_match_all_groups(name):
    rng = np.random.default_rng(6)
    datafit = make(name, rng, n_samples=9, n_features_in=5)
    groups = random_groups(rng, datafit.n_features)
    everything = datafit.group_operator_norms(groups)
    fresh = make(name, np.random.default_rng(6), n_samples=9, n_features_in=5)
    selected = np.array([groups.n_groups - 1, 0, groups.n_groups - 1])
    np.testing.assert_array_equal(
        fresh.group_operator_norms(groups, selected), everything[selected]
    )
    # Asked again, partly cached: the same values.
    np.testing.assert_array_equal(fresh.group_operator_norms(groups), everything)
    for bad in ([groups.n_groups], [-1], [[0]], [0.5]):
        with pytest.raises(ValueError, match="`selected`"):
            fresh.group_operator_norms(groups, np.array(bad))


@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [2, 5, 9])
def test_restricted_strong_convexity_matches_the_restriction(name, ridge, size):
    # 9 samples: with more columns than samples the restricted Gram is singular
    # and the answer needs no copy of the columns.
    rng = np.random.default_rng(7)
    datafit = make(name, rng, ridge, n_samples=9, n_features_in=12)
    coords = np.sort(rng.choice(datafit.n_features, size, replace=False))
    expected = datafit.restrict(coords).strong_convexity()
    assert datafit.restricted_strong_convexity(coords) == pytest.approx(
        expected, rel=1e-10, abs=1e-12
    )


# ----------------------------------------------------------------- restrict
def _embed(datafit, coords, beta_sub):
    beta = np.zeros(datafit.n_features)
    beta[coords] = beta_sub
    return beta


@pytest.mark.parametrize("ridge", RIDGES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(4))
def test_restrict_agrees_with_embedding(name, ridge, seed):
    rng = np.random.default_rng(seed)
    datafit = make(name, rng, ridge, n_features_in=4)
    size = rng.integers(1, datafit.n_features)
    coords = np.sort(rng.choice(datafit.n_features, size, replace=False))
    restricted = datafit.restrict(coords)
    assert restricted.n_features == coords.size
    assert int(np.prod(restricted.coef_shape)) == coords.size
    beta_sub = rng.standard_normal(coords.size)
    beta = _embed(datafit, coords, beta_sub)
    assert restricted.value(beta_sub) == pytest.approx(datafit.value(beta), rel=1e-13)
    np.testing.assert_allclose(
        restricted.gradient(beta_sub), datafit.gradient(beta)[coords], rtol=1e-12
    )
    theta = dual_point(restricted, beta_sub)
    np.testing.assert_allclose(theta, dual_point(datafit, beta), rtol=1e-12)
    assert restricted.dual_value(theta) == pytest.approx(datafit.dual_value(theta))
    # The restricted Hessian is a principal submatrix: the constants still hold.
    hessian = fd_hessian(restricted, beta_sub)
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert eigenvalues.max() <= restricted.lipschitz() + 1e-7
    assert eigenvalues.min() >= restricted.strong_convexity() - 1e-7
    # Groups of the restricted problem get the bound of the same rows in the parent.
    sub_groups = random_groups(rng, coords.size)
    rest = np.setdiff1d(np.arange(datafit.n_features), coords)
    lists = [coords[sub_groups[g]] for g in range(sub_groups.n_groups)]
    parent_groups = Groups.from_indices(
        lists + ([rest] if rest.size else []), datafit.n_features
    )
    np.testing.assert_allclose(
        restricted.lipschitz_group(sub_groups),
        datafit.lipschitz_group(parent_groups)[: sub_groups.n_groups],
        rtol=1e-12,
    )
    # Restricting twice is restricting once to the composed coordinates.
    inner = np.arange(0, coords.size, 2)
    twice = restricted.restrict(inner)
    assert twice.value(beta_sub[inner]) == pytest.approx(
        datafit.restrict(coords[inner]).value(beta_sub[inner]), rel=1e-13
    )


@pytest.mark.parametrize("name", NAMES)
def test_restrict_to_nothing_and_everything(name):
    rng = np.random.default_rng(5)
    datafit = make(name, rng, ridge=0.3)
    empty = datafit.restrict(np.array([], dtype=int))
    assert empty.n_features == 0
    assert empty.value(np.zeros(0)) == pytest.approx(
        datafit.value(np.zeros(datafit.n_features))
    )
    assert empty.lipschitz() == pytest.approx(0.3)
    full = datafit.restrict(np.arange(datafit.n_features))
    assert full.coef_shape == datafit.coef_shape
    beta = rng.standard_normal(datafit.n_features)
    assert full.value(beta) == pytest.approx(datafit.value(beta), rel=1e-14)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_are_rejected(name):
    rng = np.random.default_rng(6)
    cls, data = REGISTRY[name]
    X = rng.standard_normal((7, 3))
    y, kwargs = data(rng, 7, 3)
    bad_X = X.copy()
    bad_X[2, 1] = np.nan
    with pytest.raises(ValueError, match="`X`"):
        cls(bad_X, y, **kwargs)
    with pytest.raises(ValueError, match="`X`"):
        cls(X[0], y, **kwargs)
    with pytest.raises(ValueError, match=r"`[yY]`.*7.*got \(6"):
        cls(X, y[:-1], **kwargs)
    for ridge in (-0.1, np.inf, np.nan):
        with pytest.raises(ValueError, match="`ridge`"):
            cls(X, y, ridge=ridge, **kwargs)
    datafit = cls(X, y, **kwargs)
    n = datafit.n_features
    for method in (datafit.value, datafit.gradient, datafit.value_and_gradient):
        with pytest.raises(ValueError, match=rf"`beta`.*\({n},\)"):
            method(np.zeros(n + 1))
        with pytest.raises(ValueError, match="`beta`"):
            method(np.full(n, np.nan))
    with pytest.raises(ValueError, match="`groups`"):
        datafit.lipschitz_group(Groups.from_sizes([n + 1]))
    with pytest.raises(TypeError, match="`groups`"):
        datafit.lipschitz_group([np.arange(n)])
    for coords in ([1, 0], [0, 0], [n], [-1], [0.0, 1.0], [[0, 1]]):
        with pytest.raises(ValueError, match="`coords`"):
            datafit.restrict(coords)


@pytest.mark.parametrize("name", NAMES)
def test_descriptions(name):
    datafit = make(name, np.random.default_rng(7), ridge=0.3)
    described = datafit.to_dict()
    assert described["datafit"] == name
    assert described["coef_shape"] == list(datafit.coef_shape)
    assert name in repr(datafit) and "ridge=0.3" in repr(datafit)
