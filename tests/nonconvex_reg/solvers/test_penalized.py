import numpy as np
import pytest

from nonconvex_reg import (
    GroupLassoPenalty,
    LogPenalty,
    LqPenalty,
    PowerPropPenalty,
    SoftmaxPenalty,
    make_problem,
    solve_group_lasso,
    solve_penalized,
    tau,
)
from nonconvex_reg.solvers.objectives import objective_value


@pytest.fixture(scope="module")
def problem():
    return make_problem("least_squares", n_groups=6, n_active=2, seed=4)


@pytest.mark.parametrize("form", ["sum", "inverse"])
def test_group_lasso_penalty_matches_group_lasso_solver(problem, form):
    datafit, groups = problem.datafit, problem.groups
    lam = 0.2 * tau(datafit, groups)
    reference = solve_group_lasso(datafit, groups, lam, tol=1e-13)
    res = solve_penalized(
        datafit, groups, GroupLassoPenalty(), lam, form=form, tol=1e-11
    )
    # The inverse form is solved down to its double-precision floor (a decrease of
    # 4 ulps of objective (1)), which pins beta to ~1e-7 here.
    assert res.converged or form == "inverse"
    assert res.kkt_residual <= 1e-7 * tau(datafit, groups)
    np.testing.assert_allclose(res.beta, reference.beta, atol=1e-6)
    assert res.support.tolist() == reference.support.tolist()


def test_squared_penalty_is_ridge_in_closed_form(problem):
    # PowerPropPenalty(1) is q(a) = a^2: lam * sum q = lam ||beta||^2 (convex).
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3
    res = solve_penalized(datafit, groups, PowerPropPenalty(1.0), lam)
    X, y, n = datafit.X, datafit.y, datafit.n_samples
    hessian = X.T @ X / n + (datafit.ridge + 2 * lam) * np.eye(X.shape[1])
    np.testing.assert_allclose(
        res.beta, np.linalg.solve(hessian, X.T @ y / n), atol=1e-8
    )
    assert res.status == "converged"


@pytest.mark.parametrize("penalty", [LqPenalty(0.5), LogPenalty(), SoftmaxPenalty()])
@pytest.mark.parametrize("form", ["sum", "inverse"])
def test_nonconvex_reaches_certified_stationary_point_that_descends(
    problem, penalty, form
):
    datafit, groups = problem.datafit, problem.groups
    lam = 0.3 * tau(datafit, groups)
    start = solve_group_lasso(datafit, groups, lam).beta
    res = solve_penalized(datafit, groups, penalty, lam, form=form, beta0=start)
    # "stalled": objective (1) stops decreasing measurably near 1e-8 tau
    assert res.status in ("stationary", "stalled")
    assert res.kkt_residual <= 1e-7 * tau(datafit, groups)
    assert (
        res.objective
        <= objective_value(datafit, groups, penalty, lam, start, form) + 1e-12
    )


def test_inverse_form_zero_is_stationary_iff_lam_at_least_tau(problem):
    datafit, groups = problem.datafit, problem.groups
    threshold = tau(datafit, groups)
    res = solve_penalized(
        datafit,
        groups,
        LqPenalty(0.5),
        1.01 * threshold,
        form="inverse",
        beta0=np.zeros(groups.n_features),
    )
    assert res.group_sparsity == 0 and res.kkt_residual == 0.0
    res = solve_penalized(
        datafit, groups, LqPenalty(0.5), 0.5 * threshold, form="inverse"
    )
    assert res.group_sparsity >= 1


def test_bad_input(problem):
    with pytest.raises(TypeError, match="`penalty`"):
        solve_penalized(problem.datafit, problem.groups, "l1", 0.1)
    with pytest.raises(ValueError, match="`form`"):
        solve_penalized(problem.datafit, problem.groups, LogPenalty(), 0.1, form="max")
