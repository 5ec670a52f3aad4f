import numpy as np
import pytest

from nonconvex_reg import (
    LeastSquares,
    cvxpy_group_lasso,
    make_problem,
    solve_group_lasso,
    tau,
)
from nonconvex_reg.datasets import DATAFIT_KINDS


def _problem_and_lam(kind, fraction=0.3):
    # seed 11, 8 groups, 3 planted: at 0.3 tau every kind keeps some groups at zero
    problem = make_problem(kind, n_groups=8, n_active=3, seed=11)
    datafit, groups = problem.datafit, problem.groups
    return datafit, groups, fraction * tau(datafit, groups)


@pytest.fixture(scope="module", params=DATAFIT_KINDS)
def solved(request):
    datafit, groups, lam = _problem_and_lam(request.param)
    ours = solve_group_lasso(datafit, groups, lam, tol=1e-12)
    oracle = cvxpy_group_lasso(datafit, groups, lam)
    return groups, ours, oracle


def test_support_matches_our_solver(solved):
    groups, ours, oracle = solved
    assert ours.status == "converged"
    assert oracle.status == "oracle"
    assert oracle.uncertain.size == 0
    # a proper, nonempty support, so the comparison is not vacuous
    assert 0 < ours.support.size < groups.n_groups
    assert oracle.support.tolist() == ours.support.tolist()


def test_objective_matches_our_solver(solved):
    _, ours, oracle = solved
    # ours is certified to a 1e-12 relative gap, so it cannot be beaten by much
    assert oracle.objective >= ours.objective - 1e-10 * abs(ours.objective)
    assert abs(oracle.objective - ours.objective) <= 1e-6 * abs(ours.objective)


def test_certified_zero_groups_are_exactly_zero(solved):
    groups, _, oracle = solved
    zero = np.setdiff1d(np.arange(groups.n_groups), oracle.support)
    assert zero.size > 0
    # Interior-point iterates are never exactly zero; these zeros come from KKT.
    for g in zero:
        assert np.all(oracle.beta[groups[g]] == 0.0)
    assert np.all(groups.norms(oracle.beta)[oracle.support] > 0)


def test_oracle_solution_is_close_to_ours(solved):
    _, ours, oracle = solved
    distance = np.linalg.norm(oracle.beta - ours.beta) / np.linalg.norm(ours.beta)
    assert distance <= 1e-3


def test_scs_solver_gives_same_support_on_least_squares():
    datafit, groups, lam = _problem_and_lam("least_squares")
    ours = solve_group_lasso(datafit, groups, lam, tol=1e-12)
    oracle = cvxpy_group_lasso(datafit, groups, lam, solver="SCS")
    assert oracle.info["solver_attempts"][0].startswith("SCS")
    assert oracle.support.tolist() == ours.support.tolist()
    assert abs(oracle.objective - ours.objective) <= 1e-6 * abs(ours.objective)


def test_above_tau_oracle_is_exactly_zero():
    datafit, groups, lam = _problem_and_lam("logistic", fraction=1.2)
    oracle = cvxpy_group_lasso(datafit, groups, lam)
    assert oracle.support.tolist() == []
    assert np.all(oracle.beta == 0.0)


def test_unknown_solver_is_rejected():
    datafit, groups, lam = _problem_and_lam("least_squares")
    with pytest.raises(ValueError, match="`solver`"):
        cvxpy_group_lasso(datafit, groups, lam, solver="ECOS")


def test_unsupported_datafit_is_rejected():
    class ScaledLeastSquares(LeastSquares):
        """Same math, another class: the oracle has no formula written for it."""

    datafit, groups, lam = _problem_and_lam("least_squares")
    subclass = ScaledLeastSquares(datafit.X, datafit.y, ridge=datafit.ridge)
    with pytest.raises(TypeError, match="`datafit`"):
        cvxpy_group_lasso(subclass, groups, lam)


def test_nonpositive_lam_is_rejected():
    datafit, groups, _ = _problem_and_lam("least_squares")
    with pytest.raises(ValueError, match="`lam`"):
        cvxpy_group_lasso(datafit, groups, 0.0)
