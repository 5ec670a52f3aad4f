import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from nonconvex_reg import Groups, LeastSquares, make_problem
from nonconvex_reg.testing import problems
from omp._cholesky_refit import QuadraticRefit, _lower_cholesky, _solve_lower
from omp.refit import make_refit


def _reference_loss(datafit, groups, order):
    """L(beta_S) by L-BFGS on the restricted datafit, independent of omp."""
    if len(order) == 0:
        return datafit.value(np.zeros(datafit.n_features))
    sub = datafit.restrict(groups.coords(np.array(order)))
    result = minimize(
        sub.value_and_gradient,
        np.zeros(sub.n_features),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 0.0, "maxiter": 5000},
    )
    return float(result.fun)


@settings(max_examples=25, deadline=None)
@given(problems(), st.data())
def test_restricted_optimum_matches_an_independent_solver(problem, data):
    datafit, groups = problem.datafit, problem.groups
    refit = make_refit(datafit, groups, tol=1e-10)
    for _ in range(3):
        order = data.draw(st.permutations(range(groups.n_groups)))
        order = order[: data.draw(st.integers(0, groups.n_groups))]
        loss = refit.fit(order)
        assert refit.order == tuple(order)
        assert loss == pytest.approx(
            _reference_loss(datafit, groups, order), rel=1e-8, abs=1e-12
        )
        coef = refit.coef()
        assert loss == pytest.approx(datafit.value(coef), rel=1e-10, abs=1e-14)
        outside = ~np.isin(groups.group_of, order)
        assert np.all(coef[outside] == 0)
        np.testing.assert_allclose(refit.gradient(), datafit.gradient(coef), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(problems(kinds=("least_squares", "multi_response", "logistic")), st.data())
def test_swap_loss_prices_the_swap_without_moving_the_fit(problem, data):
    datafit, groups = problem.datafit, problem.groups
    n = groups.n_groups
    order = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, n - 1))]
    refit = make_refit(datafit, groups, tol=1e-10)
    loss = refit.fit(order)
    leaving = (order[data.draw(st.integers(0, len(order) - 1))],)
    entering = (data.draw(st.sampled_from([g for g in range(n) if g not in order])),)
    price = refit.swap_loss(entering, leaving)
    assert refit.order == tuple(order) and refit.loss == loss
    exact = refit.fit([g for g in order if g not in leaving] + list(entering))
    if isinstance(refit, QuadraticRefit):
        assert price == pytest.approx(exact, rel=1e-9, abs=1e-13)
    else:  # a few Newton steps bound the restricted minimum from above
        assert price >= exact - 1e-12


def test_quadratic_refit_is_exact_least_squares_and_grows_its_buffers():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 200))
    y = rng.standard_normal(300)
    groups = Groups.equal(200, 10)
    refit = make_refit(LeastSquares(X, y), groups)
    assert isinstance(refit, QuadraticRefit)
    order = list(rng.permutation(20))
    refit.fit(order)  # 200 columns: past the initial buffer of 64
    np.testing.assert_allclose(
        refit.coef(), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9, atol=1e-11
    )
    refit.remove(3)  # from the middle: trailing factor updated in place
    refit.pop()
    kept = [order[i] for i in range(19) if i != 3]
    assert refit.order == tuple(kept)
    cols = groups.coords(np.array(kept))
    expected = np.zeros(200)
    expected[cols] = np.linalg.lstsq(X[:, cols], y, rcond=None)[0]
    np.testing.assert_allclose(refit.coef(), expected, rtol=1e-9, atol=1e-11)


def test_rank_deficient_support_is_jittered_not_failed():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 12))  # more columns than samples, no ridge
    y = rng.standard_normal(5)
    refit = make_refit(LeastSquares(X, y), Groups.equal(12, 3))
    loss = refit.fit([0, 1, 2, 3])
    assert refit.n_jittered >= 1
    assert loss == pytest.approx(0.0, abs=1e-8)  # interpolation


@pytest.mark.parametrize("kind", ["logistic", "multinomial"])
def test_newton_curvature_from_declared_factors_equals_the_blocks(kind):
    # Issue 16: the engine reads the datafit's declared capabilities, never its
    # class; without declared factors it builds the curvature from the blocks.
    problem = make_problem(kind, n_groups=5, group_size=2, seed=3)

    class BlocksOnly(type(problem.datafit)):
        def hessian_factors_from_predictor(self, z):
            return None

    undeclared = copy.copy(problem.datafit)
    undeclared.__class__ = BlocksOnly
    factored = make_refit(problem.datafit, problem.groups, tol=1e-10)
    blocks = make_refit(undeclared, problem.groups, tol=1e-10)
    assert type(factored).__name__ == type(blocks).__name__ == "NewtonRefit"
    coords = problem.groups.coords(np.array([0, 3]))
    A = problem.datafit.X[:, factored._columns[coords]]
    outputs = factored._outputs[coords]
    z = np.random.default_rng(0).standard_normal(
        (problem.datafit.n_samples,) + problem.datafit.coef_shape[1:]
    )
    lower = np.tril_indices(coords.size)
    np.testing.assert_allclose(
        factored._curvature(A, outputs, z)[lower],
        blocks._curvature(A, outputs, z)[lower],
        rtol=1e-12,
        atol=1e-15,
    )
    assert blocks.fit([0, 3]) == pytest.approx(factored.fit([0, 3]), rel=1e-12)


def test_a_datafit_not_declared_quadratic_gets_the_newton_engine():
    problem = make_problem("least_squares", n_groups=5, group_size=2, seed=3)

    class Undeclared(LeastSquares):
        is_quadratic = False

    X, y = problem.datafit.X, problem.datafit.y
    exact = make_refit(LeastSquares(X, y), problem.groups)
    newton = make_refit(Undeclared(X, y), problem.groups, tol=1e-12)
    assert isinstance(exact, QuadraticRefit)
    assert type(newton).__name__ == "NewtonRefit"
    assert newton.fit([1, 4]) == pytest.approx(exact.fit([1, 4]), rel=1e-10)


def test_a_layout_newton_cannot_read_falls_back_to_lbfgs():
    # A multinomial datafit restricted to coordinates that cover no whole row of
    # B: its beta embeds into the rows instead of flattening them.
    problem = make_problem("multinomial", n_groups=4, group_size=2, seed=1)
    coords = np.arange(0, problem.datafit.n_features, 2)
    datafit = problem.datafit.restrict(coords)
    groups = Groups.equal(datafit.n_features, 2)
    refit = make_refit(datafit, groups, tol=1e-10)
    assert type(refit).__name__ == "LbfgsRefit"
    expected = _reference_loss(datafit, groups, [0, 2])
    assert refit.fit([0, 2]) == pytest.approx(expected, rel=1e-8)


def test_newton_refit_counts_failures():
    problem = make_problem("multinomial", n_groups=4, group_size=2, seed=0)
    refit = make_refit(problem.datafit, problem.groups, tol=1e-14, max_iter=1)
    refit.fit([0, 1, 2])
    assert refit.failures == 1


def _swap_case(problem, data):
    """An engine fitted on a random support S, one group outside and S itself."""
    n = problem.groups.n_groups
    order = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, n - 1))]
    refit = make_refit(problem.datafit, problem.groups, tol=1e-11)
    refit.fit(order)
    outside = [g for g in range(n) if g not in order]
    return refit, list(order), outside


@settings(max_examples=25, deadline=None)
@given(problems(), st.data())
def test_swap_prices_are_exact_for_squared_losses_and_leave_the_fit(problem, data):
    refit, order, outside = _swap_case(problem, data)
    loss, coef = refit.loss, refit.coef()
    prices = refit.swap_prices(outside, order)
    assert prices.shape == (len(outside), len(order))
    assert np.all(np.isfinite(prices))
    assert refit.order == tuple(order) and refit.loss == loss
    np.testing.assert_array_equal(refit.coef(), coef)
    if isinstance(refit, QuadraticRefit):
        exact = np.array(
            [[refit.swap_loss((i,), (j,)) for j in order] for i in outside]
        )
        np.testing.assert_allclose(prices, exact, rtol=1e-8, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(problems(), st.data())
def test_swap_point_is_the_model_minimizer_on_the_new_support(problem, data):
    refit, order, outside = _swap_case(problem, data)
    i, j = data.draw(st.sampled_from(outside)), data.draw(st.sampled_from(order))
    point = refit.swap_point((i,), (j,))
    allowed = np.isin(problem.groups.group_of, [g for g in order if g != j] + [i])
    assert np.all(point[~allowed] == 0)
    if isinstance(refit, QuadraticRefit):
        # The model is the loss: its minimizer is the exact refit.
        price = refit.swap_prices([i], [j])[0, 0]
        assert problem.datafit.value(point) == pytest.approx(price, rel=1e-8, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(problems(), st.data())
def test_try_swap_keeps_a_swap_only_below_the_bar(problem, data):
    refit, order, outside = _swap_case(problem, data)
    i, j = data.draw(st.sampled_from(outside)), data.draw(st.sampled_from(order))
    loss, coef = refit.loss, refit.coef()
    refit.swap_prices([i], [j])  # the iterative engines start from the model
    assert not refit.try_swap((i,), (j,), -np.inf)  # nothing is below -inf
    assert refit.order == tuple(order) and refit.loss == pytest.approx(loss)
    np.testing.assert_allclose(refit.coef(), coef, rtol=1e-9, atol=1e-12)
    assert refit.try_swap((i,), (j,), np.inf)
    new = [g for g in order if g != j] + [i]
    assert set(refit.order) == set(new)
    assert refit.loss == pytest.approx(
        _reference_loss(problem.datafit, problem.groups, sorted(new)),
        rel=1e-8,
        abs=1e-12,
    )


def test_snapshot_restores_the_fit():
    problem = make_problem("logistic", n_groups=6, group_size=2, seed=2)
    for datafit in (
        problem.datafit,
        LeastSquares(problem.datafit.X, problem.datafit.y),
    ):
        refit = make_refit(datafit, problem.groups)
        loss = refit.fit([0, 2, 4])
        coef, snapshot = refit.coef(), refit.snapshot()
        refit.fit([1, 3])
        assert refit.restore(snapshot) == pytest.approx(loss, rel=1e-12)
        assert set(refit.order) == {0, 2, 4}
        np.testing.assert_allclose(refit.coef(), coef, rtol=1e-10, atol=1e-14)


def test_swap_prices_survive_a_rank_deficient_support():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 12))  # more columns than samples, no ridge
    refit = make_refit(LeastSquares(X, rng.standard_normal(5)), Groups.equal(12, 3))
    refit.fit([0, 1])
    assert np.all(np.isfinite(refit.swap_prices([2, 3], [0, 1])))


def test_the_direct_lapack_calls_match_scipy_and_refuse_what_scipy_refused():
    import scipy.linalg as sla

    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    block = A @ A.T + 6 * np.eye(6)
    factor = _lower_cholesky(block)
    np.testing.assert_allclose(factor, sla.cholesky(block, lower=True), rtol=1e-14)
    assert np.all(np.triu(factor, 1) == 0)
    C = factor[1:5, 1:5]  # a non-contiguous slice, as the refit passes
    for b in (rng.standard_normal(4), rng.standard_normal((4, 3))):
        for transpose in (False, True):
            expected = sla.solve_triangular(
                C, b, lower=True, trans="T" if transpose else "N"
            )
            np.testing.assert_allclose(
                _solve_lower(C, b, transpose), expected, rtol=1e-13
            )
    with pytest.raises(sla.LinAlgError, match="not positive definite"):
        _lower_cholesky(-block)
    with pytest.raises(sla.LinAlgError, match="singular"):
        _solve_lower(np.diag([1.0, 0.0]), np.ones(2))
    with pytest.raises(ValueError, match="does not match"):
        _solve_lower(C, np.ones(3))
    assert _solve_lower(np.zeros((0, 0)), np.zeros(0)).shape == (0,)
